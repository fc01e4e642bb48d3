// `diresolver setup`: the appliance's first-boot configuration, from the
// console wizard or an answers file (cloud-init). Writes diresolver.toml, the
// network config and resolv.conf under `root`, runs config-test and check, and
// enables the service only when the config loads.
#pragma once

#include <optional>
#include <string>

namespace diresolver {

struct SetupOptions {
  std::optional<std::string> answers_file;  // none: ask on the console
  std::string root = "/";                   // another root: files only, units enabled with systemctl --root
  bool check = true;                        // ask the DI servers once (they may be unreachable yet)
  std::optional<std::string> zone_map;      // not installed where the package puts it (labs, tests)
};

int setup_command(const SetupOptions& options);

}  // namespace diresolver
