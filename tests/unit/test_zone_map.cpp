// The shipped zone map must match DESIGN.md's regional table address for
// address: a typo here sends a site's phones to the wrong country.
#include <doctest/doctest.h>

#include "config/zone_map.hpp"
#include "temp_file.hpp"

using namespace diresolver;

TEST_CASE("zones/wxc-di.toml matches the regional table") {
  struct Row {
    const char* label;
    const char* name_a;
    const char* address_a;
    const char* name_b;
    const char* address_b;
  };
  const Row table[] = {
      {"amer", "IAD", "69.168.17.100", "DFW", "69.168.17.228"},
      {"emea", "LON", "178.215.138.100", "AMS", "178.215.138.228"},
      {"eu", "FRA", "178.215.131.100", "AMS", "178.215.131.228"},
      {"apjc", "SIN", "103.232.71.100", "TYO", "103.232.71.228"},
      {"aus", "MEL", "178.215.128.100", "SYD", "178.215.128.228"},
      {"uk", "LON", "178.215.135.100", "MAN", "178.215.135.228"},
      {"sa", "JED", "178.215.140.100", "RHU", "178.215.140.228"},
  };
  auto map = load_zone_map(std::string(DIRESOLVER_SOURCE_DIR) + "/zones/wxc-di.toml");
  REQUIRE(map.size() == std::size(table));
  for (const auto& row : table) {
    CAPTURE(row.label);
    const auto* region = find_region(map, row.label);
    REQUIRE(region != nullptr);
    REQUIRE(region->servers.size() == 2);
    CHECK(region->servers[0].name == row.name_a);
    CHECK(region->servers[0].address.host_string() == row.address_a);
    CHECK(region->servers[0].address.port() == 53);
    CHECK(region->servers[1].name == row.name_b);
    CHECK(region->servers[1].address.host_string() == row.address_b);
    CHECK_FALSE(region->source.empty());
  }
  CHECK(di_zone("xyz", "amer") == "xyz.amer.wxc-di.webex.com.");
}

TEST_CASE("a bad zone map names the file and the key") {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"[[region]]\nlabel = \"x\"\nservers = [{ name = \"A\", address = \"1.2.3\" }]\n",
       "region[0].servers[0].address: not an IPv4 or IPv6 address"},
      {"[[region]]\nlabel = \"x\"\nservers = []\n", "region[0].servers: a region needs at least one server"},
      {"[[region]]\nlabel = \"x\"\nservers = [{ name = \"A\", address = \"127.0.0.1\" }]\n"
       "[[region]]\nlabel = \"x\"\nservers = [{ name = \"B\", address = \"127.0.0.2\" }]\n",
       "region[1].label: duplicate region \"x\""},
      {"[[region]]\nlabel = \"x\"\nserver = []\n", "region[0].server: unknown key"},
      {"", "region: the zone map lists no regions"},
      {"[[region]]\nlabel = \"a_b\"\nservers = [{ name = \"A\", address = \"127.0.0.1\" }]\n",
       "region[0].label: \"a_b\" is not a lower-case DNS label (letters, digits and '-')"},
      {"[[region]]\nlabel = \"AMER\"\nservers = [{ name = \"A\", address = \"127.0.0.1\" }]\n",
       "region[0].label: \"AMER\" is not a lower-case DNS label (letters, digits and '-')"},
      {"[[region]]\nlabel = \"x\"\nservers = [{ name = \"A\", address = \"127.0.0.1\" }, "
       "{ name = \"B\", address = \"127.0.0.1\" }]\n",
       "region[0].servers[1]: server 127.0.0.1:53 listed twice (also servers[0])"},
      {"[[region]]\nlabel = \"x\"\nservers = [{ name = \"A\", address = \"127.0.0.1\" }, "
       "{ name = \"B\", address = \"127.0.0.2\" }, { name = \"C\", address = \"127.0.0.3\" }, "
       "{ name = \"D\", address = \"127.0.0.4\" }, { name = \"E\", address = \"127.0.0.5\" }, "
       "{ name = \"F\", address = \"127.0.0.6\" }, { name = \"G\", address = \"127.0.0.7\" }, "
       "{ name = \"H\", address = \"127.0.0.8\" }, { name = \"I\", address = \"127.0.0.9\" }]\n",
       "region[0].servers: at most 8 servers per zone"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    test::TempConfig file(c.text, "zones.toml");
    try {
      load_zone_map(file.path());
      FAIL("expected an error");
    } catch (const ConfigError& e) {
      CHECK(e.file() == file.path());
      CHECK(e.key() + ": " + e.reason() == c.error);
    }
  }
}
