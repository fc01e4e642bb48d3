// diresolver: a conditional-forwarding DNS resolver for Webex Calling
// Dedicated Instance. This file only reads the command line.
#include <cstring>
#include <initializer_list>
#include <iostream>
#include <optional>
#include <string>

#include "commands.hpp"
#include "control_client.hpp"
#include "setup_command.hpp"

namespace {

constexpr const char* default_config = "/etc/diresolver/diresolver.toml";

constexpr const char* usage =
    "usage: diresolver run [-c FILE]          run the resolver in the foreground\n"
    "       diresolver config-test [-c FILE]  validate FILE and print the routing table\n"
    "       diresolver check [-c FILE] [--json]\n"
    "                                         ask every DI server the validation queries once and\n"
    "                                         report; exit 0 only if every region validates\n"
    "       diresolver snippet --for bind|unbound|dnsmasq|windows [-c FILE]\n"
    "                                         print the stanza that makes that DNS server forward\n"
    "                                         the configured zones to diresolver\n"
    "       diresolver status [-c FILE] [--json]\n"
    "                                         the running daemon: readiness, servers, cache, last reload\n"
    "       diresolver status --for address [-c FILE]\n"
    "                                         whether this node should hold the site's service address\n"
    "                                         (keepalived, BIRD): exit 0 hold, 1 give up, 2 no daemon\n"
    "       diresolver flush [--name NAME | --zone ZONE] [-c FILE]\n"
    "                                         empty the running daemon's cache (or one name, one zone)\n"
    "       diresolver reload [-c FILE]       make the running daemon reread FILE; exit 1 with the\n"
    "                                         reason if it refuses it\n"
    "       diresolver setup [--answers FILE] [--root DIR] [--no-check] [--zone-map FILE]\n"
    "                                         the appliance's first-boot setup: ask on the console (or\n"
    "                                         read FILE), write the config and network files, test\n"
    "                                         them and enable the service\n"
    "       diresolver --version\n"
    "FILE defaults to /etc/diresolver/diresolver.toml; status, flush and reload reach\n"
    "the daemon through the control socket it names ([control] socket).\n";

int usage_error(const std::string& why) {
  std::cerr << "diresolver: " << why << "\n" << usage;
  return 2;
}

// What follows the command, in any order: -c/--config FILE, --json, --for TARGET,
// --name/--zone (flush), --answers/--root/--zone-map/--no-check (setup).
struct Options {
  std::string config = default_config;
  bool config_given = false;
  bool json = false;
  std::optional<std::string> target;
  std::optional<std::string> name, zone;              // flush
  std::optional<std::string> answers, root, zone_map;  // setup
  bool no_check = false;                               // setup
};

// Where an option that takes a value (other than -c) keeps it; null for the rest.
std::optional<std::string>* setting_of(Options& options, const std::string& arg) {
  if (arg == "--for") return &options.target;
  if (arg == "--name") return &options.name;
  if (arg == "--zone") return &options.zone;
  if (arg == "--answers") return &options.answers;
  if (arg == "--root") return &options.root;
  if (arg == "--zone-map") return &options.zone_map;
  return nullptr;
}

// nullopt after printing a usage error (its status in `status`).
std::optional<Options> parse_options(int argc, char** argv, int& status) {
  Options options;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    bool takes_value = arg == "-c" || arg == "--config" || setting_of(options, arg);
    if (takes_value && i + 1 >= argc) return status = usage_error(arg + " needs a value"), std::nullopt;
    if (arg == "--json") {
      options.json = true;
    } else if (arg == "--no-check") {
      options.no_check = true;
    } else if (auto* value = setting_of(options, arg)) {
      if (*value) return status = usage_error(arg + " given twice"), std::nullopt;
      *value = argv[++i];
    } else if (takes_value) {
      if (options.config_given) return status = usage_error(arg + " given twice"), std::nullopt;
      options.config = argv[++i];
      options.config_given = true;
    } else {
      return status = usage_error("unknown option \"" + arg + "\""), std::nullopt;
    }
  }
  return options;
}

// The first option given to a command that does not take it, as a usage error.
std::optional<int> misplaced_option(const std::string& command, const Options& options) {
  auto is = [&](std::initializer_list<const char*> commands) {
    for (const char* c : commands)
      if (command == c) return true;
    return false;
  };
  if (options.json && !is({"check", "status"})) return usage_error("--json goes with check and status");
  if (options.target && !is({"snippet", "status"})) return usage_error("--for goes with snippet and status");
  if ((options.name || options.zone) && !is({"flush"})) return usage_error("--name and --zone go with flush");
  if ((options.answers || options.root || options.zone_map || options.no_check) && !is({"setup"}))
    return usage_error("--answers, --root, --zone-map and --no-check go with setup");
  if (options.config_given && is({"setup"}))
    return usage_error("setup writes /etc/diresolver/diresolver.toml (under --root): no -c");
  return std::nullopt;
}

int status(const Options& options) {
  if (!options.target) return diresolver::control_command(options.config, "status", options.json);
  if (*options.target != "address") return usage_error("status --for: address is the one there is");
  if (options.json) return usage_error("status --for address prints one line, no --json");
  return diresolver::address_command(options.config);
}

int flush(const Options& options) {
  if (options.name && options.zone) return usage_error("flush: --name or --zone, not both");
  std::string request = options.name ? "flush name " + *options.name : options.zone ? "flush zone " + *options.zone : "flush";
  return diresolver::control_command(options.config, request, false);
}

int run(const std::string& command, const Options& options) {
  if (auto error = misplaced_option(command, options)) return *error;
  if (command == "status") return status(options);
  if (command == "reload") return diresolver::control_command(options.config, "reload", false);
  if (command == "flush") return flush(options);
  if (command == "setup")
    return diresolver::setup_command({options.answers, options.root.value_or("/"), !options.no_check, options.zone_map});
  if (command == "run") return diresolver::run_command(options.config);
  if (command == "config-test") return diresolver::config_test_command(options.config);
  if (command == "check") return diresolver::check_command(options.config, options.json);
  if (command == "snippet") {
    if (!options.target) return usage_error("expected snippet --for TARGET");
    return diresolver::snippet_command(options.config, *options.target);
  }
  return usage_error("unknown command \"" + command + "\"");
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
  if (argc < 2) return usage_error("expected a command");
  int status = 2;
  auto options = parse_options(argc, argv, status);
  return options ? run(argv[1], *options) : status;
}
