// Whether the answers make an appliance that starts: the network answers are
// checked here, everything that goes into diresolver.toml by the config
// loader itself, on the file setup would write, so the wizard, the answers
// file and a hand-edited config all get the same messages.
#pragma once

#include <optional>
#include <string>

#include "setup/answers.hpp"

namespace diresolver {

struct SetupProblem {
  std::string key;  // the answer's name: customer, regions[1], client_networks[0], ...
  std::string reason;
  std::string line() const { return key + ": " + reason; }
};

// `config_file`: where the config is to be written (its folder is relative paths' base).
std::optional<SetupProblem> find_problem(const SetupAnswers& answers, const std::string& config_file);

}  // namespace diresolver
