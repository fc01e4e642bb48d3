// The client side of the control socket (daemon/control_socket.hpp), for
// `diresolver status|flush|reload`: finds the socket from the config, sends
// one request line, and turns the reply into output and an exit status.
#pragma once

#include <string>

namespace diresolver {

// Prints the daemon's answer to `request` ("status", "flush name x", "reload");
// status as text unless `json`. 0 when the daemon said ok, 1 when it said why
// not or could not be reached (printed either way).
int control_command(const std::string& config_file, const std::string& request, bool json);

// `diresolver status --for address`: prints the daemon's one-line verdict
// (readiness/address_verdict.hpp); 0 hold the service address, 1 give it up,
// 2 the daemon could not be asked (not running, or silent for 2 s).
int address_command(const std::string& config_file);

}  // namespace diresolver
