// The CLI's subcommands. Each returns the process exit status:
// 0 success, 1 a config or runtime error (already printed), 2 usage.
#pragma once

#include <string>

namespace diresolver {

int run_command(const std::string& config_file);
int config_test_command(const std::string& config_file);
// Validates forwarding once and prints the report; 0 only if every region validates.
int check_command(const std::string& config_file, bool json);
// Prints the conditional-forwarding stanza for TARGET (bind, unbound, dnsmasq,
// windows) that points an existing DNS server at diresolver; 2 for an unknown TARGET.
int snippet_command(const std::string& config_file, const std::string& target);

}  // namespace diresolver
