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

}  // namespace diresolver
