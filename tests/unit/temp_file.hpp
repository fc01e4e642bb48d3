// A config file in a fresh temporary directory, removed when the test ends.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

namespace diresolver::test {

class TempConfig {
 public:
  explicit TempConfig(const std::string& text, const std::string& name = "diresolver.toml") {
    char pattern[] = "/tmp/diresolver-unit-XXXXXX";
    dir_ = mkdtemp(pattern);
    path_ = dir_ + "/" + name;
    std::ofstream(path_) << text;
  }
  ~TempConfig() { std::filesystem::remove_all(dir_); }
  const std::string& path() const { return path_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_, path_;
};

inline std::string zone_map_line() {
  return std::string("zone_map = \"") + DIRESOLVER_SOURCE_DIR + "/zones/wxc-di.toml\"\n";
}

}  // namespace diresolver::test
