#include "daemon/privileges.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace diresolver {

namespace {

[[noreturn]] void fail(const std::string& step, const std::string& user) {
  throw std::runtime_error("cannot switch to user \"" + user + "\": " + step + ": " + std::strerror(errno));
}

}  // namespace

std::string drop_privileges(const std::string& user) {
  if (user.empty()) return geteuid() == 0 ? "running as root (server.user is not set)" : "";
  if (geteuid() != 0) {
    const passwd* self = getpwuid(geteuid());
    if (self && user == self->pw_name) return "";  // systemd started us as that user already
    return "not started as root: cannot become server.user \"" + user + "\"";
  }
  const passwd* entry = getpwnam(user.c_str());
  if (!entry) throw std::runtime_error("cannot switch to user \"" + user + "\": no such user");
  uid_t uid = entry->pw_uid;
  gid_t gid = entry->pw_gid;
  // Groups first: once the uid changes, changing them is no longer allowed.
  if (initgroups(user.c_str(), gid) != 0) fail("initgroups", user);
  if (setresgid(gid, gid, gid) != 0) fail("setresgid", user);
  if (setresuid(uid, uid, uid) != 0) fail("setresuid", user);
  if (setuid(0) == 0 || geteuid() == 0)
    throw std::runtime_error("root could be regained after switching to \"" + user + "\"");
  return "switched to user " + user + " (uid " + std::to_string(uid) + ", gid " + std::to_string(gid) + ")";
}

}  // namespace diresolver
