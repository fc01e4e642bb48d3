#include "setup/validate.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstdlib>

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

int prefix_length(std::string_view digits) {
  int length = -1;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
  return error == std::errc{} && end == digits.data() + digits.size() ? length : -1;
}

std::optional<SetupProblem> address_problem(const SetupAnswers& a) {
  if (a.dhcp()) return std::nullopt;
  auto slash = a.address.find('/');
  int family = ip_family(a.address.substr(0, slash));
  int length = slash == std::string::npos ? -1 : prefix_length(std::string_view(a.address).substr(slash + 1));
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

// The loader reads the text setup would write, as that file: relative paths
// resolve where they will. An error in another file (the zone map) is the
// zone_map answer's, and names that file.
std::optional<SetupProblem> config_problem(const SetupAnswers& a, const std::string& config_file) {
  try {
    load_config_text(render_config(a), config_file);
  } catch (const ConfigError& e) {
    if (e.file() != config_file) return SetupProblem{"zone_map", e.what()};
    return SetupProblem{answer_key(e.key()), e.reason()};
  }
  return std::nullopt;
}

}  // namespace

std::optional<SetupProblem> find_problem(const SetupAnswers& answers, const std::string& config_file) {
  if (auto problem = address_problem(answers)) return problem;
  if (auto problem = dns_problem(answers)) return problem;
  return config_problem(answers, config_file);
}

}  // namespace diresolver
