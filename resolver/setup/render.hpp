// The files `diresolver setup` writes from the answers: diresolver.toml, the
// systemd-networkd config of the appliance's interface, and resolv.conf for
// its own lookups (with a static address; DHCP brings its own).
#pragma once

#include <string>

#include "setup/answers.hpp"

namespace diresolver {

// Listens on every address (the ACL decides who is answered) and serves the
// admin pages on every address too, for Prometheus.
std::string render_config(const SetupAnswers& answers);
std::string render_network(const SetupAnswers& answers);
std::string render_resolv_conf(const SetupAnswers& answers);

}  // namespace diresolver
