// The conditional-forwarding stanza that points an existing DNS server (BIND,
// Unbound, dnsmasq, Windows DNS) at diresolver, as `diresolver snippet` prints it.
//
// A pure function of the validated Config: which zones (every DI domain and every
// [[forward]] zone, never the default "."), which diresolver address (its listen
// addresses, wildcards turned into loopback), and each server's own syntax with
// comment lines that say why (forward only, DNSSEC, port 53 for Windows).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace diresolver {

enum class SnippetTarget { bind, unbound, dnsmasq, windows };

// "bind", "unbound", "dnsmasq" or "windows"; nullopt for anything else.
std::optional<SnippetTarget> parse_snippet_target(std::string_view name);

// The valid names, for error messages: "bind, unbound, dnsmasq, windows".
std::string_view snippet_target_names();

// The whole snippet, comment lines first, ending with a newline.
std::string forwarding_snippet(const Config& config, SnippetTarget target);

// Why the snippet cannot run as printed (it holds a placeholder to fill in), for
// an error and a non-zero exit; nullopt when it can.
std::optional<std::string> snippet_gap(const Config& config, SnippetTarget target);

}  // namespace diresolver
