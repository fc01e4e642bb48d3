#include "setup/validate.hpp"

#include <arpa/inet.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <fstream>

#include "config/config.hpp"
#include "setup/render.hpp"

namespace diresolver {

namespace {

// 4 or 6, or 0 when `text` is not an IP address alone (no port, no prefix).
int ip_family(const std::string& text) {
  unsigned char buffer[16];
  if (inet_pton(AF_INET, text.c_str(), buffer) == 1) return 4;
  if (inet_pton(AF_INET6, text.c_str(), buffer) == 1) return 6;
  return 0;
}

std::optional<SetupProblem> address_problem(const SetupAnswers& a) {
  if (a.dhcp()) return std::nullopt;
  auto slash = a.address.find('/');
  int family = ip_family(a.address.substr(0, slash));
  int length = -1;
  if (slash != std::string::npos) {
    auto digits = std::string_view(a.address).substr(slash + 1);
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
    if (error != std::errc{} || end != digits.data() + digits.size()) length = -1;
  }
  if (!family || length < 0 || length > (family == 4 ? 32 : 128))
    return SetupProblem{"address", "\"" + a.address + "\" is neither \"dhcp\" nor an address with its prefix length "
                                   "(e.g. 10.0.0.53/24)"};
  if (a.gateway.empty()) return SetupProblem{"gateway", "a static address needs the gateway to the DI peering"};
  if (ip_family(a.gateway) != family)
    return SetupProblem{"gateway", "\"" + a.gateway + "\" is not an IPv" + std::to_string(family) + " address"};
  return std::nullopt;
}

std::optional<SetupProblem> dns_problem(const SetupAnswers& a) {
  for (size_t i = 0; i < a.dns.size(); ++i)
    if (!ip_family(a.dns[i]))
      return SetupProblem{"dns[" + std::to_string(i) + "]", "\"" + a.dns[i] + "\" is not an IP address"};
  return std::nullopt;
}

// The loader's key for what setup calls differently: acl.allow[2] is client_networks[0]
// (loopback's two prefixes come first), default.servers[i] is default_upstream[i].
std::string answer_key(const std::string& config_key) {
  constexpr std::string_view acl = "acl.allow[", upstream = "default.servers";
  if (config_key.starts_with(acl)) {
    int index = std::atoi(config_key.c_str() + acl.size());
    return "client_networks[" + std::to_string(index - 2) + "]";
  }
  if (config_key.starts_with(upstream)) return "default_upstream" + config_key.substr(upstream.size());
  return config_key;
}

std::optional<SetupProblem> config_problem(const SetupAnswers& a) {
  char path[] = "/tmp/diresolver-setup-XXXXXX.toml";
  int fd = ::mkstemps(path, 5);
  if (fd < 0) return SetupProblem{"(setup)", "cannot write a scratch file in /tmp"};
  ::close(fd);
  std::ofstream(path) << render_config(a);
  std::optional<SetupProblem> problem;
  try {
    load_config(path);
  } catch (const ConfigError& e) {
    problem = SetupProblem{answer_key(e.key()), e.reason()};
  }
  ::unlink(path);
  return problem;
}

}  // namespace

std::optional<SetupProblem> find_problem(const SetupAnswers& answers) {
  if (auto problem = config_problem(answers)) return problem;
  if (auto problem = address_problem(answers)) return problem;
  return dns_problem(answers);
}

}  // namespace diresolver
