// Config loading: a table of good inputs and what they produce, and a table of
// bad inputs with the exact error each must give (file, key, reason).
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "config/config.hpp"
#include "temp_file.hpp"

using namespace diresolver;
using test::TempConfig;
using test::zone_map_line;

namespace {

Config load(const std::string& body) {
  TempConfig file(zone_map_line() + body);
  return load_config(file.path());
}

// The error message without the temp path: "KEY: REASON".
std::string error_of(const std::string& body) {
  TempConfig file(zone_map_line() + body);
  try {
    load_config(file.path());
  } catch (const ConfigError& e) {
    CHECK(e.file() == file.path());
    std::string what = e.what();
    CHECK(what.rfind(file.path() + ": ", 0) == 0);
    return e.key() + ": " + e.reason();
  }
  return "no error";
}

const char* base = "customer = \"acme\"\nregions = [\"amer\"]\n";

}  // namespace

TEST_CASE("a minimal config routes the DI domain to the shipped pair") {
  auto config = load(base);
  CHECK(config.customer == "acme");
  REQUIRE(config.zones.size() == 1);
  CHECK(config.zones[0].zone == "acme.amer.wxc-di.webex.com.");
  CHECK(config.zones[0].kind == RouteKind::di);
  REQUIRE(config.zones[0].servers.size() == 2);
  CHECK(config.zones[0].servers[0].address.to_string() == "69.168.17.100:53");
  CHECK(config.zones[0].servers[0].name == "IAD");
  CHECK(config.server.listen.size() == 2);
  CHECK(config.server.listen[0].to_string() == "127.0.0.1:53");
  CHECK(config.upstream.attempt_timeout_ms == 500);
}

TEST_CASE("overrides, forward zones and a default set build the routing table in order") {
  auto config = load(std::string(base) + R"(
[server]
listen = ["127.0.0.1:5300", "[::1]:5300"]
workers = 2
[acl]
allow = ["127.0.0.0/8"]
[upstream]
attempt_timeout_ms = 250
[region.amer]
servers = ["127.0.0.11", "127.0.0.12:5353"]
[[forward]]
zone = "Corp.Example"
servers = ["127.0.0.21"]
[default]
servers = ["127.0.0.13"]
)");
  REQUIRE(config.zones.size() == 3);
  CHECK(config.zones[0].servers[0].address.to_string() == "127.0.0.11:53");
  CHECK(config.zones[0].servers[0].name == "IAD");  // stands in for the shipped server
  CHECK(config.zones[0].servers[1].address.to_string() == "127.0.0.12:5353");
  CHECK(config.zones[1].zone == "corp.example.");
  CHECK(config.zones[1].kind == RouteKind::forward);
  CHECK(config.zones[2].zone == ".");
  CHECK(config.zones[2].kind == RouteKind::fallback);
  CHECK(config.server.workers == 2);
  CHECK(config.server.listen[1].to_string() == "[::1]:5300");
  CHECK(config.upstream.attempt_timeout_ms == 250);
  CHECK(config.acl.size() == 1);
}

TEST_CASE("several regions, upper-case input normalised") {
  auto config = load("customer = \"ACME\"\nregions = [\"EU\", \"uk\", \"sa\"]\n");
  REQUIRE(config.zones.size() == 3);
  CHECK(config.zones[0].zone == "acme.eu.wxc-di.webex.com.");
  CHECK(config.zones[1].zone == "acme.uk.wxc-di.webex.com.");
  CHECK(config.zones[2].zone == "acme.sa.wxc-di.webex.com.");
  CHECK(config.zones[2].servers[1].name == "RHU");
}

TEST_CASE("bad configs name the key and the reason") {
  struct Case {
    const char* body;
    const char* error;
  };
  const Case cases[] = {
      {"regions = [\"amer\"]\n", "customer: missing required key"},
      {"customer = \"ac_me\"\nregions = [\"amer\"]\n",
       "customer: \"ac_me\" is not a valid DNS label (letters, digits and '-', 1 to 63 characters, "
       "not starting or ending with '-')"},
      {"customer = \"-acme\"\nregions = [\"amer\"]\n",
       "customer: \"-acme\" is not a valid DNS label (letters, digits and '-', 1 to 63 characters, "
       "not starting or ending with '-')"},
      {"customer = 7\nregions = [\"amer\"]\n", "customer: expected a string, got an integer"},
      {"customer = \"acme\"\n", "regions: missing required key"},
      {"customer = \"acme\"\nregions = []\n", "regions: name at least one region"},
      {"customer = \"acme\"\nregions = [\"mars\"]\n",
       "regions[0]: unknown region \"mars\" (known: amer, emea, eu, apjc, aus, uk, sa)"},
      {"customer = \"acme\"\nregions = [\"eu\", \"eu\"]\n", "regions[1]: region \"eu\" listed twice"},
      {"customer = \"acme\"\nregions = [\"amer\"]\ncolour = \"blue\"\n", "colour: unknown key"},
      {"customer = \"acme\"\nregions = [\"amer\"]\n[server]\nlisten = [\"300.1.1.1\"]\n",
       "server.listen[0]: bad address \"300.1.1.1\": not an IPv4 or IPv6 address"},
      {"customer = \"acme\"\nregions = [\"amer\"]\n[server]\nlisten = [\"127.0.0.1:99999\"]\n",
       "server.listen[0]: bad address \"127.0.0.1:99999\": port must be a number from 1 to 65535"},
      {"customer = \"acme\"\nregions = [\"amer\"]\n[server]\nworkers = 1000\n",
       "server.workers: must be from 0 to 256, got 1000"},
      {"customer = \"acme\"\nregions = [\"amer\"]\n[server]\nthreads = 2\n", "server.threads: unknown key"},
      {"customer = \"acme\"\nregions = [\"amer\"]\n[acl]\nallow = [\"10.0.0.0/33\"]\n",
       "acl.allow[0]: bad prefix \"10.0.0.0/33\": prefix length must be 0 to 32"},
      {"customer = \"acme\"\nregions = [\"amer\"]\n[acl]\nallow = []\n",
       "acl.allow: an empty list would refuse every client"},
      {"customer = \"acme\"\nregions = [\"amer\"]\n[region.eu]\nservers = [\"127.0.0.1\"]\n",
       "region.eu: region \"eu\" is not listed in regions"},
      {"customer = \"acme\"\nregions = [\"amer\"]\n[region.amer]\nservers = [\"127.0.0.1\", \"nope\"]\n",
       "region.amer.servers[1]: bad address \"nope\": not an IPv4 or IPv6 address"},
      {"customer = \"acme\"\nregions = [\"amer\"]\n[region.amer]\nservers = []\n",
       "region.amer.servers: needs at least one server"},
      {"customer = \"acme\"\nregions = [\"amer\"]\n[[forward]]\nzone = \"a.example\"\nservers = [\"127.0.0.1\"]\n"
       "[[forward]]\nzone = \"A.example.\"\nservers = [\"127.0.0.2\"]\n",
       "forward[1].zone: duplicate zone \"a.example.\" (also forward[0].zone)"},
      {"customer = \"acme\"\nregions = [\"amer\"]\n[[forward]]\nzone = \"acme.amer.wxc-di.webex.com\"\n"
       "servers = [\"127.0.0.1\"]\n",
       "forward[0].zone: duplicate zone \"acme.amer.wxc-di.webex.com.\" (also regions (amer))"},
      {"customer = \"acme\"\nregions = [\"amer\"]\n[[forward]]\nservers = [\"127.0.0.1\"]\n",
       "forward[0].zone: missing required key"},
      {"customer = \"acme\"\nregions = [\"amer\"]\n[[forward]]\nzone = \"x.example\"\n",
       "forward[0].servers: missing required key"},
      {"customer = \"acme\"\nregions = [\"amer\"]\n[default]\nserver = [\"127.0.0.1\"]\n",
       "default.server: unknown key"},
      {"customer = \"acme\"\nregions = [\"amer\"]\n[upstream]\nattempt_timeout_ms = 0\n",
       "upstream.attempt_timeout_ms: must be from 10 to 10000, got 0"},
      {"customer = \"acme\"\nregions = [\"amer\"]\n[region.amer]\nservers = [\"127.0.0.1\", \"127.0.0.1:53\"]\n",
       "region.amer.servers[1]: server 127.0.0.1:53 listed twice (also servers[0])"},
      {"customer = \"acme\"\nregions = [\"amer\"]\n[region.amer]\nservers = [\"127.0.0.1\", \"127.0.0.2\", "
       "\"127.0.0.3\", \"127.0.0.4\", \"127.0.0.5\", \"127.0.0.6\", \"127.0.0.7\", \"127.0.0.8\", \"127.0.0.9\"]\n",
       "region.amer.servers: at most 8 servers per zone"},
      {"customer = \"acme\"\nregions = [\"amer\"]\n[log]\nqueries = \"some\"\n",
       "log.queries: expected \"none\", \"failures\" or \"all\", got \"some\""},
      {"customer = \"acme\"\nregions = [\"amer\"]\n[log]\nmax_lines_per_second = 0\n",
       "log.max_lines_per_second: must be from 1 to 1000000, got 0"},
      {"customer = \"acme\"\nregions = [\"amer\"]\n[dnstap]\nfile = \"dnstap.fstrm\"\n",
       "dnstap.file: expected an absolute path, got \"dnstap.fstrm\""},
      {"customer = \"acme\"\nregions = [\"amer\"]\n[dnstap]\nfile = \"/var/log/a.fstrm\"\nsocket = \"/run/a.sock\"\n",
       "dnstap.socket: set either file or socket, not both"},
      {"customer = \"acme\"\nregions = [\"amer\"]\n[dnstap]\nsocket = \"/run/a.sock\"\nqueue_size = 1000\n",
       "dnstap.queue_size: expected a power of two, got 1000"},
      {"customer = \"acme\"\nregions = [\"amer\"]\n[dnstap]\nsocket = \"/run/a.sock\"\nqueue_size = 32768\n",
       "dnstap.queue_size: must be from 2 to 16384, got 32768"},
      {"customer = \"acme\"\nregions = [\"amer\"]\n[dnstap]\nfile = \"/var/log/a.fstrm\"\nclient_query = true\n",
       "dnstap.client_query: unknown key"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.body);
    CHECK(error_of(c.body) == c.error);
  }
}

TEST_CASE("a validation name too long under the DI zone is refused") {
  std::string label(60, 'a');
  std::string name = label + "." + label + "." + label + "." + label;  // 243 characters: fine alone
  auto error = error_of(std::string(base) + "[readiness]\nqueries = [\"" + name + " A\"]\n");
  CHECK(error == "readiness.queries[0]: \"" + name +
                     "\" under acme.amer.wxc-di.webex.com. is longer than a DNS name may be (255 octets)");
}

TEST_CASE("a TOML syntax error names the file and the line") {
  TempConfig file("customer = \"acme\nregions = [\"amer\"]\n");
  try {
    load_config(file.path());
    FAIL("expected an error");
  } catch (const ConfigError& e) {
    CHECK(e.file() == file.path());
    CHECK(e.key() == "(syntax)");
    CHECK(e.reason().find("TOML syntax error") == 0);
    CHECK(e.reason() == "TOML syntax error at line 1: the next token is not a valid string");
  }
}

TEST_CASE("invalid UTF-8 is refused before the TOML parser sees it, with its line") {
  // toml11 3.7 reads past its buffer on a byte like 0xff inside a literal string.
  for (const std::string bad : {"'\xff'", "\"\xc0\xaf\"", "'\xed\xa0\x80'", "'\xf4\x90\x80\x80'", "'\xe2\x82'"}) {
    CAPTURE(bad.size());
    CHECK(error_of(std::string(base) + "# a comment\ncustomer_note = " + bad + "\n") ==
          "(encoding): line 5: not valid UTF-8 (TOML files are UTF-8)");  // after zone_map and base
  }
  CHECK(error_of(std::string(base) + "# caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\n") ==
        "no error");  // valid UTF-8 passes
}

TEST_CASE("a missing file or zone map is reported with its path") {
  CHECK_THROWS_WITH_AS(load_config("/nonexistent/diresolver.toml"),
                       "/nonexistent/diresolver.toml: (file): cannot open: No such file or directory", ConfigError);
  TempConfig file("customer = \"acme\"\nregions = [\"amer\"]\nzone_map = \"missing.toml\"\n");
  try {
    load_config(file.path());
    FAIL("expected an error");
  } catch (const ConfigError& e) {
    CHECK(e.file() == file.dir() + "/missing.toml");  // relative to the config's directory
  }
}

namespace {

// A shipped example config, made to use the source tree's zone map (the
// examples rely on the installed path or a path relative to config/).
std::string shipped_config(const char* name) {
  std::ifstream in(std::string(DIRESOLVER_SOURCE_DIR) + "/config/" + name);
  std::stringstream text;
  text << in.rdbuf();
  std::string body = text.str();
  auto start = body.find("\nzone_map =");
  if (start == std::string::npos) return zone_map_line() + body;
  auto end = body.find('\n', start + 1);
  return body.substr(0, start + 1) + zone_map_line() + (end == std::string::npos ? "" : body.substr(end + 1));
}

void check_loads_with_di_zone(const std::string& body) {
  TempConfig file(body);
  auto config = load_config(file.path());
  CHECK(config.zones[0].kind == RouteKind::di);
  CHECK(config.zones[0].zone.find(".amer.wxc-di.webex.com.") != std::string::npos);
}

}  // namespace

TEST_CASE("the lab config loads") { check_loads_with_di_zone(shipped_config("lab.toml")); }

// The production example is the package's conffile: with no customer in it a
// fresh install must refuse to start, with one clear line, rather than
// forward some example customer's domain.
TEST_CASE("the production config leaves customer unset, and loads once it is set") {
  std::string body = shipped_config("diresolver.toml");
  CHECK(body.find("\n# customer = ") != std::string::npos);
  TempConfig file(body);
  CHECK_THROWS_WITH_AS(load_config(file.path()), (file.path() + ": customer: missing required key").c_str(),
                       ConfigError);
  check_loads_with_di_zone("customer = \"acme\"\n" + body);
}
