#include "setup_command.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <vector>

#include "commands.hpp"
#include "config/config.hpp"
#include "setup/render.hpp"
#include "setup/validate.hpp"
#include "setup/wizard.hpp"

namespace diresolver {

namespace {

namespace fs = std::filesystem;

// The answers, or nullopt after saying why there are none.
std::optional<SetupAnswers> gather(const SetupOptions& options, const std::string& config_file) {
  auto zone_map = options.zone_map ? fs::absolute(*options.zone_map).string() : std::string();
  if (!options.answers_file) {
    SetupAnswers start;
    start.zone_map = zone_map;
    auto answers = ask_answers(start, std::cin, std::cout, config_file);
    if (!answers) std::cerr << "setup: stopped; nothing written\n";
    return answers;
  }
  try {
    auto answers = read_answers(*options.answers_file);
    if (!zone_map.empty()) answers.zone_map = zone_map;
    if (auto problem = find_problem(answers, config_file)) {
      std::cerr << "error: " << *options.answers_file << ": " << problem->line() << "\n";
      return std::nullopt;
    }
    return answers;
  } catch (const ConfigError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return std::nullopt;
  }
}

// Whole or not at all: a reader never sees half a config.
void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  auto next = path;
  next += ".setup-new";
  std::ofstream out(next, std::ios::trunc);
  out << text;
  if (!out.flush()) throw std::runtime_error("cannot write " + next.string() + ": " + std::strerror(errno));
  out.close();
  fs::rename(next, path);
  std::cout << "wrote " << path.string() << "\n";
}

int run_program(const std::vector<std::string>& command) {
  std::vector<char*> argv;
  std::cout << "running:";
  for (const auto& word : command) {
    std::cout << " " << word;
    argv.push_back(const_cast<char*>(word.c_str()));
  }
  std::cout << std::endl;
  argv.push_back(nullptr);
  pid_t child = ::fork();
  if (child == 0) {
    ::execvp(argv[0], argv.data());
    std::cerr << "setup: cannot run " << command[0] << ": " << std::strerror(errno) << std::endl;
    _exit(127);
  }
  int status = 0;
  if (child < 0 || ::waitpid(child, &status, 0) < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// On the running system: enabled, and (re)started on the new files; under
// another root: enabled only. Setup never changes what needs a restart
// rather than a reload, but a first run finds the unit stopped. Not waited
// for: diresolver tells systemd it started only once its DI servers
// validate, and setup must not hang on DI servers that are not reachable yet.
bool enable_unit(const SetupOptions& options, const std::string& unit) {
  if (options.root != "/") return run_program({"systemctl", "--root=" + options.root, "enable", unit}) == 0;
  return run_program({"systemctl", "enable", unit}) == 0 &&
         run_program({"systemctl", "reload-or-restart", "--no-block", unit}) == 0;
}

void write_files(const SetupAnswers& answers, const fs::path& root, const fs::path& config) {
  write_file(config, render_config(answers));
  write_file(root / "etc/systemd/network/10-diresolver.network", render_network(answers));
  // A symlink is systemd-resolved's (the appliance): the network file's DNS= feeds it.
  auto resolv = root / "etc/resolv.conf";
  if (!answers.dhcp() && !answers.dns.empty() && !fs::is_symlink(resolv))
    write_file(resolv, render_resolv_conf(answers));
}

}  // namespace

int setup_command(const SetupOptions& options) {
  fs::path root = options.root;
  auto config = root / "etc/diresolver/diresolver.toml";
  auto answers = gather(options, config);
  if (!answers) return 1;
  try {
    write_files(*answers, root, config);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  if (config_test_command(config) != 0) return 1;
  if (options.check && check_command(config, false) != 0)
    std::cout << "check: not every region validates yet; the readiness gate holds DI queries until it does\n";
  if (options.root == "/") run_program({"systemctl", "try-restart", "systemd-networkd"});
  // SSH is only ever turned on here: on a host that is not the appliance, a "no"
  // must not cut off the session the administrator may be running setup from.
  if (answers->ssh && !enable_unit(options, "ssh")) std::cerr << "setup: could not enable ssh\n";
  if (!enable_unit(options, "diresolver")) {
    std::cerr << "error: could not enable diresolver\n";
    return 1;
  }
  write_file(root / "etc/diresolver/.setup-done", "");
  std::cout << "setup: done\n";
  return 0;
}

}  // namespace diresolver
