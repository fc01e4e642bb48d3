// diresolver: a conditional-forwarding DNS resolver for Webex Calling
// Dedicated Instance. This file only reads the command line.
#include <cstring>
#include <iostream>
#include <string>

#include "commands.hpp"

namespace {

constexpr const char* usage =
    "usage: diresolver run -c FILE          run the resolver in the foreground\n"
    "       diresolver config-test -c FILE  validate FILE and print the routing table\n"
    "       diresolver check -c FILE [--json]\n"
    "                                       ask every DI server the validation queries once and\n"
    "                                       report; exit 0 only if every region validates\n"
    "       diresolver snippet --for bind|unbound|dnsmasq|windows -c FILE\n"
    "                                       print the stanza that makes that DNS server forward\n"
    "                                       the configured zones to diresolver\n"
    "       diresolver --version\n";

int usage_error(const std::string& why) {
  std::cerr << "diresolver: " << why << "\n" << usage;
  return 2;
}

bool is_config_flag(const std::string& arg) { return arg == "-c" || arg == "--config"; }

// `snippet --for TARGET -c FILE`, the two options in either order.
int snippet_main(int argc, char** argv) {
  std::string target, config;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string option = argv[i];
    std::string* value = option == "--for" ? &target : is_config_flag(option) ? &config : nullptr;
    if (!value) return usage_error("snippet: unknown option \"" + option + "\"");
    if (!value->empty()) return usage_error("snippet: " + option + " given twice");
    *value = argv[i + 1];
  }
  if (argc != 6 || target.empty() || config.empty()) return usage_error("expected snippet --for TARGET -c FILE");
  return diresolver::snippet_command(config, target);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "--version") == 0) {
    std::cout << "diresolver " << DIRESOLVER_VERSION << "\n";
    return 0;
  }
  if (argc == 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    std::cout << usage;
    return 0;
  }
  if (argc >= 2 && std::strcmp(argv[1], "snippet") == 0) return snippet_main(argc, argv);
  bool json = argc == 5 && std::strcmp(argv[4], "--json") == 0;
  if ((argc != 4 && !json) || (std::strcmp(argv[2], "-c") != 0 && std::strcmp(argv[2], "--config") != 0))
    return usage_error("expected a command and -c FILE");
  std::string command = argv[1];
  std::string config = argv[3];
  if (command == "check") return diresolver::check_command(config, json);
  if (json) return usage_error("--json goes with check only");
  if (command == "run") return diresolver::run_command(config);
  if (command == "config-test") return diresolver::config_test_command(config);
  return usage_error("unknown command \"" + command + "\"");
}
