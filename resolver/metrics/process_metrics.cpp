// The standard process_* metrics every Prometheus client library exports
// (prometheus-cpp has none), read from the kernel at scrape time, and
// diresolver_build_info.
#include <sys/resource.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>

#include "metrics/scrape.hpp"

namespace diresolver::metrics {

namespace {

struct ProcStat {
  double start_ticks = 0;
  double virtual_bytes = 0;
  double resident_bytes = 0;
};

// /proc/self/stat: the command name may hold spaces and parentheses, so the
// fields are counted from the last ')'. proc(5) numbers them from 1.
ProcStat read_proc_stat() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  ProcStat stat;
  auto end_of_name = line.rfind(')');
  if (end_of_name == std::string::npos) return stat;
  std::istringstream fields(line.substr(end_of_name + 2));
  std::vector<std::string> f{std::istream_iterator<std::string>(fields), {}};
  if (f.size() < 22) return stat;  // f[0] is field 3 (state)
  stat.start_ticks = std::stod(f[22 - 3]);
  stat.virtual_bytes = std::stod(f[23 - 3]);
  stat.resident_bytes = std::stod(f[24 - 3]) * double(sysconf(_SC_PAGESIZE));
  return stat;
}

// The wall-clock time of boot: now minus time since boot. Not /proc/stat's
// btime, which systemd's ProcSubset=pid hides.
double boot_time_seconds() {
  timespec real{}, boot{};
  clock_gettime(CLOCK_REALTIME, &real);
  clock_gettime(CLOCK_BOOTTIME, &boot);
  return double(real.tv_sec - boot.tv_sec) + double(real.tv_nsec - boot.tv_nsec) / 1e9;
}

// User and system time of all threads, to the nanosecond: /proc's clock ticks
// (10 ms) would read 0 for a daemon that has answered a few hundred queries.
double cpu_seconds() {
  timespec used{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &used);
  return double(used.tv_sec) + double(used.tv_nsec) / 1e9;
}

double open_fds() {
  std::error_code error;
  double count = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", error), end; !error && it != end; it.increment(error))
    ++count;
  return count;
}

double max_fds() {
  rlimit limit{};
  return getrlimit(RLIMIT_NOFILE, &limit) == 0 ? double(limit.rlim_cur) : 0;
}

}  // namespace

void add_process_families(FamilySet& out) {
  auto stat = read_proc_stat();
  double ticks = double(sysconf(_SC_CLK_TCK));
  out.add(Family::process_cpu, {}, cpu_seconds());
  out.add(Family::process_resident_memory, {}, stat.resident_bytes);
  out.add(Family::process_virtual_memory, {}, stat.virtual_bytes);
  out.add(Family::process_open_fds, {}, open_fds());
  out.add(Family::process_max_fds, {}, max_fds());
  out.add(Family::process_start_time, {}, boot_time_seconds() + stat.start_ticks / ticks);
  out.add(Family::build_info, {{"version", DIRESOLVER_VERSION}, {"commit", DIRESOLVER_GIT_COMMIT}}, 1);
}

}  // namespace diresolver::metrics
