// Giving up root: a daemon started as root (outside systemd, which starts it
// as its own user with CAP_NET_BIND_SERVICE instead) binds port 53 first,
// then becomes `server.user` for good, as Unbound and NSD do.
#pragma once

#include <string>

namespace diresolver {

// Switches uid, gid and supplementary groups to `user`'s when running as
// root; returns what it did, for the log. Throws std::runtime_error if the
// switch fails or root could be regained afterwards.
std::string drop_privileges(const std::string& user);

}  // namespace diresolver
