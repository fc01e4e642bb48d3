// The running daemon: builds the shared Runtime from a Config, binds every
// listen address once per worker, starts the workers, and waits on its own
// control loop for SIGTERM/SIGINT. On a signal it stops the workers, joins
// them and logs the summed counters.
#pragma once

#include "config/config.hpp"

namespace diresolver {

// Returns the process exit status.
int run_daemon(Config config);

}  // namespace diresolver
