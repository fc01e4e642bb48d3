// The zone table: which upstream set answers a name.
//
// One lookup, as Unbound's forward zones do it: zones are stored as lower-case
// wire names; the query name (already lower-cased by the parser) is tried
// whole, then with its first label removed, down to the root. The first hit is
// the longest matching suffix, so "acme.amer.wxc-di.webex.com" beats a
// "webex.com" forward zone, and "badacme..." never matches "acme...".
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"

namespace diresolver {

struct Route {
  std::string zone;  // text form, for logs and metrics labels
  RouteKind kind;
  std::string region;
  size_t set_index;       // index into the worker's upstream sets (same order as Config::zones)
  unsigned counter_slot;  // index of its per-worker route counter
};

class Router {
 public:
  // `counter_slots[i]` is zones[i]'s route counter slot.
  Router(const std::vector<ZoneSpec>& zones, const std::vector<unsigned>& counter_slots);
  // nullptr when no zone covers the name (and there is no default set).
  const Route* lookup(std::string_view lower_wire_name) const;

 private:
  // Transparent: a lookup takes a view of the query name, so routing allocates nothing.
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view name) const { return std::hash<std::string_view>{}(name); }
  };
  std::unordered_map<std::string, Route, NameHash, std::equal_to<>> routes_;
};

}  // namespace diresolver
