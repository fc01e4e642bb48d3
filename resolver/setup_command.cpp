#include "setup_command.hpp"

#include <sys/wait.h>
#include <unistd.h>

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
std::optional<SetupAnswers> gather(const SetupOptions& options) {
  if (!options.answers_file) {
    SetupAnswers start;
    start.zone_map = options.zone_map.value_or("");
    auto answers = ask_answers(start, std::cin, std::cout);
    if (!answers) std::cerr << "setup: stopped; nothing written\n";
    return answers;
  }
  try {
    auto answers = read_answers(*options.answers_file);
    if (options.zone_map) answers.zone_map = *options.zone_map;
    if (auto problem = find_problem(answers)) {
      std::cerr << "error: " << *options.answers_file << ": " << problem->line() << "\n";
      return std::nullopt;
    }
    return answers;
  } catch (const ConfigError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return std::nullopt;
  }
}

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out.flush()) throw std::runtime_error("cannot write " + path.string());
  std::cout << "wrote " << path.string() << "\n";
}

int run(std::vector<std::string> command) {
  std::cout << "running:";
  for (const auto& word : command) std::cout << " " << word;
  std::cout << std::endl;
  pid_t child = ::fork();
  if (child == 0) {
    std::vector<char*> argv;
    for (auto& word : command) argv.push_back(word.data());
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  if (child < 0 || ::waitpid(child, &status, 0) < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// On the running system: enable and start now; under another root: enable only.
int enable_unit(const SetupOptions& options, const std::string& unit) {
  if (options.root == "/") return run({"systemctl", "enable", "--now", unit});
  return run({"systemctl", "--root=" + options.root, "enable", unit});
}

void write_files(const SetupAnswers& answers, const fs::path& root, const fs::path& config) {
  write_file(config, render_config(answers));
  write_file(root / "etc/systemd/network/10-diresolver.network", render_network(answers));
  if (!answers.dhcp() && !answers.dns.empty()) write_file(root / "etc/resolv.conf", render_resolv_conf(answers));
}

}  // namespace

int setup_command(const SetupOptions& options) {
  auto answers = gather(options);
  if (!answers) return 1;
  fs::path root = options.root;
  auto config = root / "etc/diresolver/diresolver.toml";
  try {
    write_files(*answers, root, config);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  if (config_test_command(config) != 0) return 1;
  if (options.check && check_command(config, false) != 0)
    std::cout << "check: not every region validates yet; the readiness gate holds DI queries until it does\n";
  if (options.root == "/") run({"systemctl", "try-restart", "systemd-networkd"});
  if (answers->ssh && enable_unit(options, "ssh") != 0) std::cerr << "setup: could not enable ssh\n";
  if (enable_unit(options, "diresolver") != 0) {
    std::cerr << "error: could not enable diresolver\n";
    return 1;
  }
  write_file(root / "etc/diresolver/.setup-done", "");
  std::cout << "setup: done\n";
  return 0;
}

}  // namespace diresolver
