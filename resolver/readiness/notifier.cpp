#include "readiness/notifier.hpp"

#include <systemd/sd-daemon.h>

#include <cstdlib>
#include <memory>
#include <vector>

#include "util/log.hpp"
#include "uv/boundary.hpp"

extern char** environ;

namespace diresolver {

namespace {

// STATUS= is one line; systemd shows it in `systemctl status`.
std::string one_line(std::string text) {
  for (auto& c : text)
    if (c == '\n') c = ' ';
  return text;
}

}  // namespace

void notify_ready(const std::string& status) { sd_notify(0, ("READY=1\nSTATUS=" + one_line(status)).c_str()); }

void notify_status(const std::string& status) { sd_notify(0, ("STATUS=" + one_line(status)).c_str()); }

void notify_watchdog() { sd_notify(0, "WATCHDOG=1"); }

std::optional<uint64_t> watchdog_interval_usec() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) return usec;
  return std::nullopt;
}

void run_hook(uv_loop_t* loop, const std::string& command, const std::string& state) {
  if (command.empty()) return;
  std::vector<std::string> env_strings = {"DIRESOLVER_STATE=" + state};
  for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
  std::vector<char*> env;
  for (auto& s : env_strings) env.push_back(s.data());
  env.push_back(nullptr);
  std::string shell = "/bin/sh", flag = "-c", script = command;
  char* args[] = {shell.data(), flag.data(), script.data(), nullptr};
  uv_process_options_t options{};
  options.file = "/bin/sh";
  options.args = args;
  options.env = env.data();
  options.exit_cb = [](uv_process_t* process, int64_t status, int) noexcept {
    uv::at_boundary("readiness hook exit", [&] {
      if (status != 0) log::warn("readiness hook exited with status ", status);
    });
    uv_close(reinterpret_cast<uv_handle_t*>(process),
             [](uv_handle_t* h) noexcept { delete reinterpret_cast<uv_process_t*>(h); });
  };
  auto process = std::make_unique<uv_process_t>();
  int rc = uv_spawn(loop, process.get(), &options);
  if (rc != 0) {
    log::warn("readiness hook did not start: ", uv_strerror(rc));
    uv_close(reinterpret_cast<uv_handle_t*>(process.release()),
             [](uv_handle_t* h) noexcept { delete reinterpret_cast<uv_process_t*>(h); });
    return;
  }
  log::info("readiness hook started for ", state, ": ", command);
  (void)process.release();  // freed by its close callback after exit
}

}  // namespace diresolver
