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
    "       diresolver --version\n";

int usage_error(const std::string& why) {
  std::cerr << "diresolver: " << why << "\n" << usage;
  return 2;
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
