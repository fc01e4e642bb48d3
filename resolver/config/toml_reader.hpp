// Checked access to one TOML table, for the config and zone map loaders.
//
// Every accessor knows the file and the dotted key path it reads, so any
// failure becomes a ConfigError that names the file, the key and the reason.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <toml.hpp>
#include <vector>

#include "config/config.hpp"

namespace diresolver {

class TomlTable {
 public:
  TomlTable(const toml::value& table, std::string file, std::string path);
  static toml::value parse_file(const std::string& file);  // throws ConfigError
  // `content` as if read from `file` (named in errors, and relative paths' base).
  static toml::value parse_text(const std::string& content, const std::string& file);

  // Rejects keys not in `known`, so typos do not pass silently.
  void check_keys(std::initializer_list<const char*> known) const;

  bool has(const std::string& key) const;
  std::optional<std::string> string(const std::string& key) const;
  std::string required_string(const std::string& key) const;
  std::optional<std::vector<std::string>> string_array(const std::string& key) const;
  std::optional<int64_t> integer(const std::string& key, int64_t min, int64_t max) const;
  std::optional<bool> boolean(const std::string& key) const;
  // The integer at `key` within [min, max], or `fallback` when absent.
  template <class T>
  T integer_or(const std::string& key, T fallback, int64_t min, int64_t max) const {
    return static_cast<T>(integer(key, min, max).value_or(static_cast<int64_t>(fallback)));
  }
  std::optional<TomlTable> table(const std::string& key) const;
  std::vector<TomlTable> table_array(const std::string& key) const;
  std::vector<std::pair<std::string, TomlTable>> subtables() const;

  std::string key_path(const std::string& key) const;
  [[noreturn]] void fail(const std::string& key, const std::string& reason) const;
  const std::string& file() const { return file_; }

 private:
  const toml::value* find(const std::string& key) const;
  const toml::value* table_;
  std::string file_;
  std::string path_;
};

}  // namespace diresolver
