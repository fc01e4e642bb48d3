// Routing is one lookup: longest matching suffix, case-insensitive, label-wise.
#include <doctest/doctest.h>

#include "dns/name.hpp"
#include "router/router.hpp"

using namespace diresolver;

namespace {

std::vector<ZoneSpec> zones(bool with_default) {
  std::vector<ZoneSpec> out = {
      {"acme.amer.wxc-di.webex.com.", RouteKind::di, "amer", {}, {}},
      {"acme.eu.wxc-di.webex.com.", RouteKind::di, "eu", {}, {}},
      {"webex.com.", RouteKind::forward, "", {}, {}},
      {"corp.example.", RouteKind::forward, "", {}, {}},
  };
  if (with_default) out.push_back({".", RouteKind::fallback, "", {}, {}});
  return out;
}

// Slots deliberately differ from indexes: the router must carry what it is given.
Router make_router(const std::vector<ZoneSpec>& zones) {
  std::vector<unsigned> slots;
  for (size_t i = 0; i < zones.size(); ++i) slots.push_back(static_cast<unsigned>(100 + i));
  return Router(zones, slots);
}

// The parser hands the router lower-cased wire names; do the same here.
std::string wire(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return zone_name_to_wire(*normalize_zone_name(text));
}

const char* zone_for(const Router& router, const char* name) {
  const Route* route = router.lookup(wire(name));
  return route ? route->zone.c_str() : "(none)";
}

}  // namespace

TEST_CASE("longest suffix wins") {
  Router router = make_router(zones(true));
  struct Case {
    const char* name;
    const char* zone;
  };
  const Case cases[] = {
      {"acme.amer.wxc-di.webex.com", "acme.amer.wxc-di.webex.com."},                  // exact zone
      {"_cisco-uds._tcp.acme.amer.wxc-di.webex.com", "acme.amer.wxc-di.webex.com."},  // child
      {"ACME.Amer.WXC-DI.webex.COM", "acme.amer.wxc-di.webex.com."},                  // case
      {"cucm.acme.eu.wxc-di.webex.com", "acme.eu.wxc-di.webex.com."},                 // second region
      {"badacme.amer.wxc-di.webex.com", "webex.com."},                                // not a label boundary
      {"amer.wxc-di.webex.com", "webex.com."},                                        // parent of the DI zone
      {"other.amer.wxc-di.webex.com", "webex.com."},                                  // another customer
      {"www.webex.com", "webex.com."},
      {"corp.example", "corp.example."},
      {"notcorp.example", "."},
      {"example", "."},
      {".", "."},  // root
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CHECK(std::string(zone_for(router, c.name)) == c.zone);
  }
}

TEST_CASE("without a default set, names outside every zone have no route") {
  Router router = make_router(zones(false));
  CHECK(std::string(zone_for(router, "www.example.org")) == "(none)");
  CHECK(std::string(zone_for(router, ".")) == "(none)");
  CHECK(std::string(zone_for(router, "x.acme.amer.wxc-di.webex.com")) == "acme.amer.wxc-di.webex.com.");
  const Route* route = router.lookup(wire("x.corp.example"));
  REQUIRE(route);
  CHECK(route->set_index == 3);
  CHECK(route->counter_slot == 103);
  CHECK(route->kind == RouteKind::forward);
}
