#include "control_client.hpp"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "config/config.hpp"
#include "config/toml_reader.hpp"
#include "net/address.hpp"

namespace diresolver {

namespace {

using nlohmann::json;

// The config names the socket. A file the loader refuses (the very reason to
// `reload` may be to hear why) is still read for [control] socket alone; one
// that is not even TOML gets the default, where the unit puts it.
std::string socket_path(const std::string& config_file) {
  try {
    return load_config(config_file).control.socket;
  } catch (const ConfigError&) {
  }
  try {
    auto root = TomlTable::parse_file(config_file);  // outlives `top`, which points into it
    TomlTable top(root, config_file, "");
    if (auto control = top.table("control"))
      if (auto socket = control->string("socket")) return *socket;
  } catch (const ConfigError&) {
  }
  return ControlSettings{}.socket;
}

// The whole reply, or nullopt after printing why the daemon could not be asked.
std::optional<std::string> ask_daemon(const std::string& path, const std::string& request, time_t wait_s = 30) {
  auto fail = [&](const char* what) {
    std::cerr << "error: cannot reach diresolver at " << path << ": " << what << ": " << std::strerror(errno) << "\n";
    return std::nullopt;
  };
  auto address = unix_socket_address(path);
  if (!address) {
    std::cerr << "error: no control socket (set [control] socket in the config)\n";
    return std::nullopt;
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail("socket");
  timeval wait{wait_s, 0};  // a reload reads a file and builds a runtime: well under 30 s
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &wait, sizeof wait);  // bounds connect() on a full backlog too
  std::string line = request + "\n", reply;
  bool sent = ::connect(fd, reinterpret_cast<const sockaddr*>(&*address), sizeof *address) == 0 &&
              ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  char buffer[4096];
  for (ssize_t n; sent && (n = ::read(fd, buffer, sizeof buffer)) > 0;) reply.append(buffer, static_cast<size_t>(n));
  int saved = errno;
  ::close(fd);
  errno = saved;
  if (!sent) return fail("connect");
  return reply;
}

std::string age(int64_t seconds) {
  if (seconds < 120) return std::to_string(seconds) + " s";
  if (seconds < 7200) return std::to_string(seconds / 60) + " min";
  return std::to_string(seconds / 3600) + " h " + std::to_string(seconds % 3600 / 60) + " min";
}

void print_servers(const json& zone) {
  for (const auto& s : zone["servers"]) {
    char rtt[32];
    std::snprintf(rtt, sizeof rtt, "%.1f ms", s["srtt_ms"].get<double>());
    auto name = s["name"].get<std::string>(), address = s["address"].get<std::string>();
    std::cout << "  " << (name == address ? address : name + "  " + address) << "  "
              << s["state"].get<std::string>() << "  RTT " << rtt << "  changed "
              << age(s["last_change_age_ms"].get<int64_t>() / 1000) << " ago\n";
  }
}

void print_status(const json& status) {
  std::cout << "diresolver " << status["version"].get<std::string>() << ", up "
            << age(status["uptime_s"].get<int64_t>()) << "\n"
            << "readiness: " << status["readiness"]["state"].get<std::string>() << " ("
            << status["readiness"]["detail"].get<std::string>() << ")\n";
  for (const auto& zone : status["zones"]) {
    std::cout << zone["route"].get<std::string>() << " " << zone["zone"].get<std::string>() << "\n";
    print_servers(zone);
  }
  const auto& cache = status["cache"];
  if (cache.is_null())
    std::cout << "cache: off\n";
  else
    std::cout << "cache: " << cache["entries"] << " entries, hit ratio "
              << static_cast<int>(cache["hit_ratio"].get<double>() * 1000 + 0.5) / 10.0 << " %\n";
  const auto& reload = status["last_reload"];
  if (reload.is_null())
    std::cout << "last reload: none since start\n";
  else
    std::cout << "last reload: " << reload["result"].get<std::string>() << ", " << age(reload["age_s"].get<int64_t>())
              << " ago" << (reload.contains("error") ? ": " + reload["error"].get<std::string>() : "") << "\n";
}

}  // namespace

// keepalived runs this every second: a daemon that cannot say within two has no business holding the address.
int address_command(const std::string& config_file) {
  constexpr time_t hung_control_loop_s = 2;
  auto reply = ask_daemon(socket_path(config_file), "address", hung_control_loop_s);
  if (!reply || !reply->starts_with("ok\n")) {
    if (reply) std::cerr << (reply->empty() ? "error: no answer from diresolver\n" : *reply);
    return 2;
  }
  auto line = reply->substr(3);
  std::cout << line;
  return line.starts_with("hold:") ? 0 : 1;
}

int control_command(const std::string& config_file, const std::string& request, bool json_output) {
  auto path = socket_path(config_file);
  auto reply = ask_daemon(path, request);
  if (!reply) return 1;
  auto first_line_end = reply->find('\n');
  auto verdict = reply->substr(0, first_line_end);
  auto body = first_line_end == std::string::npos ? std::string() : reply->substr(first_line_end + 1);
  if (verdict != "ok") {
    std::cerr << (verdict.empty() ? "error: no answer from diresolver at " + path : verdict) << "\n";
    return 1;
  }
  if (request != "status" || json_output) {
    std::cout << body;
    return 0;
  }
  print_status(json::parse(body));
  return 0;
}

}  // namespace diresolver
