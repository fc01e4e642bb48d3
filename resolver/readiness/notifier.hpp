// Talking to the service manager (sd_notify: READY=1, STATUS=, WATCHDOG=1)
// and to an operator's hook commands. Without NOTIFY_SOCKET, sd_notify does
// nothing, so the same code runs under systemd and by hand.
#pragma once

#include <uv.h>

#include <cstdint>
#include <optional>
#include <string>

namespace diresolver {

void notify_ready(const std::string& status);
void notify_status(const std::string& status);
void notify_watchdog();
// The watchdog interval systemd asked for (WATCHDOG_USEC), if any.
std::optional<uint64_t> watchdog_interval_usec();

// Runs `command` with /bin/sh -c in the background, DIRESOLVER_STATE=state in
// its environment; failures to start are logged. The process is not waited for.
void run_hook(uv_loop_t* loop, const std::string& command, const std::string& state);

}  // namespace diresolver
