// One name table per enum, used both ways (enum → text for logs, metrics
// labels and JSON; text → enum for config keys), and the enum's size for the
// arrays indexed by it. An enum opts in by specializing `enum_names` next to
// its definition, in declaration order:
//
//   template <>
//   inline constexpr auto enum_names<Selection> = names("lowest_rtt", "sequential", "round_robin");
//
// A table shorter or longer than the enum fails to compile where the enum's
// last enumerator is checked (see check_enum_names).
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace diresolver {

template <class E>
inline constexpr std::array<std::string_view, 0> enum_names{};

template <class... Name>
constexpr auto names(Name... name) {
  return std::array<std::string_view, sizeof...(Name)>{name...};
}

template <class E>
inline constexpr size_t enum_count = enum_names<E>.size();

template <class E>
constexpr size_t index_of(E value) {
  return static_cast<size_t>(value);
}

template <class E>
constexpr std::string_view name_of(E value) {
  return index_of(value) < enum_count<E> ? enum_names<E>[index_of(value)] : std::string_view("?");
}

template <class E>
constexpr std::optional<E> enum_from_name(std::string_view name) {
  for (size_t i = 0; i < enum_count<E>; ++i)
    if (enum_names<E>[i] == name) return static_cast<E>(i);
  return std::nullopt;
}

// Every value of E, in order: for loops over labels.
template <class E>
constexpr std::array<E, enum_count<E>> all_of() {
  std::array<E, enum_count<E>> out{};
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<E>(i);
  return out;
}

// "a, b, c": the valid names, for an error message.
template <class E>
std::string names_joined() {
  std::string out;
  for (auto name : enum_names<E>) out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

// "\"a\", \"b\" or \"c\"": the valid names as a choice, for an error message.
template <class E>
std::string names_quoted_choice() {
  std::string out;
  for (size_t i = 0; i < enum_count<E>; ++i) {
    if (i > 0) out.append(i + 1 == enum_count<E> ? " or " : ", ");
    out.append("\"").append(enum_names<E>[i]).append("\"");
  }
  return out;
}

// True when `last` is the table's last entry: put in a static_assert beside the table.
template <class E>
constexpr bool check_enum_names(E last) {
  return enum_count<E> == index_of(last) + 1;
}

}  // namespace diresolver
