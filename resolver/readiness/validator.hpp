// One validation round: every validation query to every server of every DI
// region, over UDP and over TCP (a fresh TCP connection each round, so a
// firewall that drops TCP 53 is caught), through the control loop's transport
// kit. All checks run at once; `done` receives the report when the last one
// ends. The validator must outlive the round and be destroyed outside its
// own callbacks.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <vector>

#include "readiness/report.hpp"
#include "server/runtime.hpp"
#include "transport/kit.hpp"

namespace diresolver {

class Validator {
 public:
  using Done = std::function<void(const ValidationReport&)>;

  Validator(TransportKit& transport, RuntimePtr runtime, Done done);
  ~Validator();
  Validator(const Validator&) = delete;
  Validator& operator=(const Validator&) = delete;

  void start();

 private:
  struct Check;
  void launch(Check& check);
  void finish(Check& check, CheckResult result, double rtt_ms);

  TransportKit& transport_;
  RuntimePtr runtime_;
  Done done_;
  std::vector<std::unique_ptr<Check>> checks_;
  ValidationReport report_;
  size_t pending_ = 0;
};

// Runs one round on a private loop and returns the report (for `diresolver check`).
ValidationReport validate_once(RuntimePtr runtime);

}  // namespace diresolver
