#include "setup/wizard.hpp"

#include <functional>
#include <iostream>
#include <sstream>

#include "config/zone_map.hpp"
#include "setup/render.hpp"
#include "setup/validate.hpp"

namespace diresolver {

namespace {

std::vector<std::string> words(const std::string& text) {
  std::string spaced = text;
  for (char& c : spaced)
    if (c == ',') c = ' ';
  std::istringstream in(spaced);
  std::vector<std::string> out;
  for (std::string word; in >> word;) out.push_back(word);
  return out;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::string trimmed(const std::string& text) {
  auto begin = text.find_first_not_of(" \t\r");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t\r") - begin + 1);
}

struct Question {
  std::string prompt;
  const char* key;  // the answer it sets, as problems name it
  std::function<std::string(const SetupAnswers&)> shown;
  std::function<void(SetupAnswers&, const std::string&)> take;
  std::function<bool(const SetupAnswers&)> asked = [](const SetupAnswers&) { return true; };
};

// The zone map's labels, to offer; none when it does not load (the checks then
// say why, under zone_map).
std::vector<std::string> known_regions(const SetupAnswers& answers) {
  std::vector<std::string> labels;
  try {
    for (const auto& region : load_zone_map(answers.zone_map.empty() ? DIRESOLVER_ZONE_MAP_DEFAULT : answers.zone_map))
      labels.push_back(region.label);
  } catch (const ConfigError&) {
  }
  return labels;
}

std::string regions_prompt(const std::vector<std::string>& known) {
  std::string listed;
  for (const auto& label : known) listed += (listed.empty() ? "" : " ") + label;
  return listed.empty() ? "Regions" : "Regions (" + listed + ")";
}

std::vector<Question> questions(const std::vector<std::string>& known_regions) {
  auto is_static = [](const SetupAnswers& a) { return !a.dhcp(); };
  return {
      {"DI customer name", "customer", [](const SetupAnswers& a) { return a.customer; },
       [](SetupAnswers& a, const std::string& v) { a.customer = v; }},
      {regions_prompt(known_regions), "regions", [](const SetupAnswers& a) { return joined(a.regions); },
       [](SetupAnswers& a, const std::string& v) { a.regions = words(v); }},
      {"This appliance's address: dhcp, or ADDRESS/PREFIX", "address", [](const SetupAnswers& a) { return a.address; },
       [](SetupAnswers& a, const std::string& v) { a.address = v; }},
      {"Gateway", "gateway", [](const SetupAnswers& a) { return a.gateway; },
       [](SetupAnswers& a, const std::string& v) { a.gateway = v; }, is_static},
      {"DNS servers for the appliance's own lookups (blank: none)", "dns",
       [](const SetupAnswers& a) { return joined(a.dns); },
       [](SetupAnswers& a, const std::string& v) { a.dns = words(v); }, is_static},
      {"Client networks allowed to query", "client_networks",
       [](const SetupAnswers& a) { return joined(a.client_networks); },
       [](SetupAnswers& a, const std::string& v) { a.client_networks = words(v); }},
      {"Default upstream for every other name (blank: refuse them)", "default_upstream",
       [](const SetupAnswers& a) { return joined(a.default_upstream); },
       [](SetupAnswers& a, const std::string& v) { a.default_upstream = words(v); }},
      {"Enable SSH (yes/no)", "ssh", [](const SetupAnswers& a) { return std::string(a.ssh ? "yes" : "no"); },
       [](SetupAnswers& a, const std::string& v) { a.ssh = v == "yes" || v == "y" || v == "YES" || v == "Y"; }},
  };
}

bool concerns(const SetupProblem& problem, const Question& question) {
  return problem.key.starts_with(question.key);
}

struct Console {
  std::istream& in;
  std::ostream& out;
  const std::string& config_file;  // where the answers go: the checks read them as that file
};

// Asks until the answer is valid; false when the input ended.
bool ask(const Question& question, SetupAnswers& answers, Console& console) {
  auto& [in, out, config_file] = console;
  for (;;) {
    auto shown = question.shown(answers);
    out << question.prompt << (shown.empty() ? "" : " [" + shown + "]") << ": " << std::flush;
    std::string line;
    if (!std::getline(in, line)) return false;
    line = trimmed(line);
    auto candidate = answers;
    if (!line.empty()) question.take(candidate, line);
    auto problem = find_problem(candidate, config_file);
    if (!problem || !concerns(*problem, question)) {
      answers = candidate;
      return true;
    }
    out << "  " << problem->line() << "\n";
  }
}

}  // namespace

std::optional<SetupAnswers> ask_answers(SetupAnswers answers, std::istream& in, std::ostream& out,
                                        const std::string& config_file) {
  Console console{in, out, config_file};
  auto known = known_regions(answers);
  // The zone map's first region is offered, and keeps the config valid while the customer is checked.
  if (!known.empty()) answers.regions = {known.front()};
  out << "diresolver setup: answer each question; Enter keeps the value in brackets.\n";
  for (const auto& question : questions(known)) {
    if (!question.asked(answers)) continue;
    if (!ask(question, answers, console)) return std::nullopt;
  }
  if (auto problem = find_problem(answers, config_file)) {  // e.g. no zone map where the package puts it
    out << problem->line() << "\n";
    return std::nullopt;
  }
  out << "\n--- diresolver.toml ---\n" << render_config(answers) << "--- network ---\n" << render_network(answers)
      << "\nWrite these and start the resolver? (yes/no) [yes]: " << std::flush;
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  line = trimmed(line);
  if (!line.empty() && line != "yes" && line != "y") return std::nullopt;
  return answers;
}

}  // namespace diresolver
