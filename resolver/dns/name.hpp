// Domain names: config text ↔ wire form, label checks. Uses ldns for the text
// form (escapes, label and name limits) so we do not write our own parser.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace diresolver {

// A host name label: letters, digits, '-', 1..63 octets, no leading or trailing '-'.
bool is_host_label(std::string_view label);

// "Corp.Example" → "corp.example." (absolute, lower case); nullopt with a reason if invalid.
std::optional<std::string> normalize_zone_name(std::string_view text, std::string* why = nullptr);

// An absolute, lower-case text name → lower-case wire form (as bytes in a string).
std::string zone_name_to_wire(const std::string& normalized);

// Wire form → "a.b.c." text, for logs and tables.
std::string wire_name_to_text(std::string_view wire);

}  // namespace diresolver
