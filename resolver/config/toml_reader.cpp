#include "config/toml_reader.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string_view>

namespace diresolver {

namespace {

const char* type_name(const toml::value& v) {
  if (v.is_string()) return "a string";
  if (v.is_integer()) return "an integer";
  if (v.is_floating()) return "a float";
  if (v.is_boolean()) return "a boolean";
  if (v.is_array()) return "an array";
  if (v.is_table()) return "a table";
  return "a date or time";
}

// toml11's message spans several lines with ASCII art; an operator needs the
// reason (first line) and the line number of the first quoted source line.
std::string summarize_syntax_error(const std::string& what) {
  std::string reason, line_number;
  std::istringstream lines(what);
  for (std::string line; std::getline(lines, line);) {
    if (reason.empty() && line.rfind("[error] ", 0) == 0) reason = line.substr(8);
    auto bar = line.find(" | ");
    auto digits = line.find_first_not_of(' ');
    if (line_number.empty() && bar != std::string::npos && digits < bar && std::isdigit(line[digits]))
      line_number = line.substr(digits, bar - digits);
  }
  if (reason.empty()) reason = what;
  if (auto prefix = reason.find(": "); reason.rfind("toml::", 0) == 0 && prefix != std::string::npos)
    reason = reason.substr(prefix + 2);  // "toml::parse_array: missing ..." → "missing ..."
  return "TOML syntax error" + (line_number.empty() ? "" : " at line " + line_number) + ": " + reason;
}

// The offset of the first byte that is not part of well-formed UTF-8 (no
// overlong forms, surrogates or code points past U+10FFFF), if any.
std::optional<size_t> first_invalid_utf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<uint8_t>(text[i]);
    size_t length = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (length == 0 || i + length > text.size()) return i;
    uint32_t code = length == 1 ? c : c & (0x7f >> length);
    for (size_t k = 1; k < length; ++k) {
      auto next = static_cast<uint8_t>(text[i + k]);
      if ((next & 0xc0) != 0x80) return i;
      code = code << 6 | (next & 0x3f);
    }
    constexpr uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < smallest[length] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return i;
    i += length;
  }
  return std::nullopt;
}

// toml11 3.7 reads past its buffer on some invalid UTF-8 (inside literal
// strings): what it would choke on is refused here, with its line.
std::string read_utf8(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ConfigError(file, "(file)", "cannot open: " + std::string(std::strerror(errno)));
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (auto bad = first_invalid_utf8(text)) {
    auto line = std::count(text.begin(), text.begin() + static_cast<long>(*bad), '\n') + 1;
    throw ConfigError(file, "(encoding)", "line " + std::to_string(line) + ": not valid UTF-8 (TOML files are UTF-8)");
  }
  return text;
}

}  // namespace

TomlTable::TomlTable(const toml::value& table, std::string file, std::string path)
    : table_(&table), file_(std::move(file)), path_(std::move(path)) {}

toml::value TomlTable::parse_file(const std::string& file) { return parse_text(read_utf8(file), file); }

toml::value TomlTable::parse_text(const std::string& content, const std::string& file) {
  std::istringstream text(content);
  try {
    return toml::parse(text, file);
  } catch (const toml::syntax_error& e) {
    throw ConfigError(file, "(syntax)", summarize_syntax_error(e.what()));
  } catch (const std::exception& e) {
    throw ConfigError(file, "(syntax)", summarize_syntax_error(e.what()));
  }
}

std::string TomlTable::key_path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

void TomlTable::fail(const std::string& key, const std::string& reason) const {
  throw ConfigError(file_, key_path(key), reason);
}

const toml::value* TomlTable::find(const std::string& key) const {
  const auto& table = table_->as_table();
  auto it = table.find(key);
  return it == table.end() ? nullptr : &it->second;
}

void TomlTable::check_keys(std::initializer_list<const char*> known) const {
  for (const auto& [key, value] : table_->as_table()) {
    bool ok = false;
    for (const char* k : known) ok = ok || key == k;
    if (!ok) fail(key, "unknown key");
  }
}

bool TomlTable::has(const std::string& key) const { return find(key) != nullptr; }

std::optional<std::string> TomlTable::string(const std::string& key) const {
  const auto* v = find(key);
  if (!v) return std::nullopt;
  if (!v->is_string()) fail(key, std::string("expected a string, got ") + type_name(*v));
  return v->as_string().str;
}

std::string TomlTable::required_string(const std::string& key) const {
  auto value = string(key);
  if (!value) fail(key, "missing required key");
  return *value;
}

std::optional<std::vector<std::string>> TomlTable::string_array(const std::string& key) const {
  const auto* v = find(key);
  if (!v) return std::nullopt;
  if (!v->is_array()) fail(key, std::string("expected an array of strings, got ") + type_name(*v));
  std::vector<std::string> out;
  for (const auto& item : v->as_array()) {
    auto item_key = key + "[" + std::to_string(out.size()) + "]";
    if (!item.is_string()) fail(item_key, std::string("expected a string, got ") + type_name(item));
    out.push_back(item.as_string().str);
  }
  return out;
}

std::optional<int64_t> TomlTable::integer(const std::string& key, int64_t min, int64_t max) const {
  const auto* v = find(key);
  if (!v) return std::nullopt;
  if (!v->is_integer()) fail(key, std::string("expected an integer, got ") + type_name(*v));
  auto value = v->as_integer();
  if (value < min || value > max)
    fail(key, "must be from " + std::to_string(min) + " to " + std::to_string(max) + ", got " + std::to_string(value));
  return value;
}

std::optional<bool> TomlTable::boolean(const std::string& key) const {
  const auto* v = find(key);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) fail(key, std::string("expected true or false, got ") + type_name(*v));
  return v->as_boolean();
}

std::optional<TomlTable> TomlTable::table(const std::string& key) const {
  const auto* v = find(key);
  if (!v) return std::nullopt;
  if (!v->is_table()) fail(key, std::string("expected a table, got ") + type_name(*v));
  return TomlTable(*v, file_, key_path(key));
}

std::vector<TomlTable> TomlTable::table_array(const std::string& key) const {
  const auto* v = find(key);
  if (!v) return {};
  if (!v->is_array()) fail(key, std::string("expected an array of tables, got ") + type_name(*v));
  std::vector<TomlTable> out;
  for (const auto& item : v->as_array()) {
    auto item_key = key + "[" + std::to_string(out.size()) + "]";
    if (!item.is_table()) fail(item_key, std::string("expected a table, got ") + type_name(item));
    out.emplace_back(item, file_, key_path(item_key));
  }
  return out;
}

std::vector<std::pair<std::string, TomlTable>> TomlTable::subtables() const {
  std::vector<std::pair<std::string, TomlTable>> out;
  for (const auto& [key, value] : table_->as_table()) {
    if (!value.is_table()) fail(key, std::string("expected a table, got ") + type_name(value));
    out.emplace_back(key, TomlTable(value, file_, key_path(key)));
  }
  // Deterministic order, so the first error reported does not depend on hashing.
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

}  // namespace diresolver
