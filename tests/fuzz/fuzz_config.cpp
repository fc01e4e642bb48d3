// Fuzz target "config": any bytes as the config file, read by load_config().
//
// The input is written to <tmp>/config/diresolver.toml, where <tmp> is this
// process's own directory (mkdtemp) holding also zones/, a link to the tree's
// zones/, so the lab config's `zone_map = "../zones/wxc-di.toml"` resolves as
// it does in config/; a config naming no zone map gets the tree's too (the
// fuzz build's DIRESOLVER_ZONE_MAP_DEFAULT). A ConfigError is the loader doing
// its job; anything else is a finding: a crash, a sanitizer report, or any
// other exception (reported here, then abort, so libFuzzer saves the input).
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>
#include <typeinfo>

#include "config/config.hpp"

#ifndef DIRESOLVER_FUZZ_ZONES_DIR
#error "DIRESOLVER_FUZZ_ZONES_DIR: the tree's zones/ (tests/fuzz/CMakeLists.txt)"
#endif

namespace {

std::string work_dir;
std::string config_file;

void remove_work_dir() {
  std::error_code ignored;
  if (!work_dir.empty()) std::filesystem::remove_all(work_dir, ignored);
}

[[noreturn]] void die(const char* what) {
  std::perror(what);
  std::abort();
}

void write_config(const uint8_t* data, size_t size) {
  int fd = ::open(config_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) die("fuzz_config: open");
  for (size_t done = 0; done < size;) {
    ssize_t n = ::write(fd, data + done, size - done);
    if (n < 0) die("fuzz_config: write");
    done += static_cast<size_t>(n);
  }
  ::close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/diresolver-fuzz-config.XXXXXX";
  if (!::mkdtemp(pattern.data())) die("fuzz_config: mkdtemp");
  work_dir = pattern;
  std::atexit(remove_work_dir);
  std::filesystem::create_directory(work_dir + "/config");
  std::filesystem::create_directory_symlink(DIRESOLVER_FUZZ_ZONES_DIR, work_dir + "/zones");
  config_file = work_dir + "/config/diresolver.toml";
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  write_config(data, size);
  try {
    (void)diresolver::load_config(config_file);
  } catch (const diresolver::ConfigError&) {
    // the loader refused it, naming file, key and reason: as it should
  } catch (const std::exception& e) {
    std::fprintf(stderr, "==%d== FINDING: load_config threw %s (not ConfigError): %s\n", static_cast<int>(getpid()),
                 typeid(e).name(), e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "==%d== FINDING: load_config threw something that is not a std::exception\n",
                 static_cast<int>(getpid()));
    std::abort();
  }
  return 0;
}
