// Exchanges whose outcome the test decides, on manual time: each start() is
// an attempt, numbered in order; it answers or fails when the test says so,
// or times out on its own at its request's timeout, as a real one would.
// Everything that happens is written to a shared log, "12: ..." at each
// manual millisecond, so a test compares one list of lines.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "transport/exchange.hpp"
#include "uv/timer_list.hpp"

namespace diresolver::test {

// A log line stamped with the manual time since `start`.
struct EventLog {
  const uv::ManualTime& time;
  Instant start;
  std::vector<std::string> lines;
  void add(const std::string& what) {
    lines.push_back(std::to_string((time.now().ns - start.ns) / 1'000'000) + ": " + what);
  }
};

class ScriptedExchanges final : public ExchangeFactory {
  class Scripted;

 public:
  struct Attempt {
    std::string server;
    Transport transport;
    ExchangeDone done;  // empty once it has ended
    Scripted* exchange;
  };

  ScriptedExchanges(uv::ManualTime& time, EventLog& log) : timeouts_(uv::TimeSource::manual(time)), log_(log) {}

  std::unique_ptr<Exchange> make(Transport transport) override {
    ++made;
    return std::make_unique<Scripted>(*this, transport);
  }
  size_t made = 0;

  // start() fails at once for these servers (a socket that cannot be opened).
  std::set<std::string> unreachable;
  std::deque<Attempt> attempts;

  bool running(size_t n) const { return n < attempts.size() && attempts[n].done; }
  // Attempt `n` gets `answer`, its ID set to 100 + n so the log can tell whose it is.
  void answer(size_t n, std::vector<uint8_t> answer) {
    dns::set_id(answer, static_cast<uint16_t>(100 + n));
    end(n, ExchangeResult::answered(answer));
  }
  void fail(size_t n, UpstreamError error) { end(n, ExchangeResult::failed(error)); }

 private:
  class Scripted final : public Exchange {
   public:
    Scripted(ScriptedExchanges& owner, Transport transport) : owner_(owner), transport_(transport) {}
    ~Scripted() override { abandon(); }
    std::optional<UpstreamError> start(const ExchangeRequest& request, ExchangeDone done) override {
      const auto& name = request.server->name();
      auto where = name + "/" + std::string(name_of(transport_));
      if (owner_.unreachable.count(name)) {
        owner_.log_.add(where + " fails at once");
        return UpstreamError::network;
      }
      owner_.log_.add("#" + std::to_string(owner_.attempts.size()) + " " + where + " " +
                      std::to_string(request.timeout_ms) + "ms");
      number_ = owner_.attempts.size();
      owner_.attempts.push_back({name, transport_, std::move(done), this});
      owner_.timeouts_.start(timeout_, request.timeout_ms, on_timeout, this);
      return std::nullopt;
    }
    void abandon() override {
      if (number_ < owner_.attempts.size() && owner_.attempts[number_].done) {
        owner_.log_.add("#" + std::to_string(number_) + " abandoned");
        owner_.attempts[number_].done = nullptr;
      }
      timeout_.stop();
    }

   private:
    static void on_timeout(void* self) {
      auto* scripted = static_cast<Scripted*>(self);
      scripted->owner_.fail(scripted->number_, UpstreamError::timeout);
    }
    ScriptedExchanges& owner_;
    Transport transport_;
    size_t number_ = SIZE_MAX;
    uv::ListTimer timeout_;
    friend class ScriptedExchanges;
  };

  void end(size_t n, ExchangeResult&& result) {
    REQUIRE_MESSAGE(running(n), "attempt #", n, " is not running");
    if (!result.ok()) log_.add("#" + std::to_string(n) + " " + std::string(name_of(result.error())));
    attempts[n].exchange->timeout_.stop();
    auto done = std::move(attempts[n].done);
    attempts[n].done = nullptr;
    done(std::move(result));
  }

  uv::TimerList timeouts_;
  EventLog& log_;
};

}  // namespace diresolver::test

// Logs print line by line when a comparison fails.
template <>
struct doctest::StringMaker<std::vector<std::string>> {
  static doctest::String convert(const std::vector<std::string>& lines) {
    std::string out = "\n";
    for (const auto& line : lines) out += "    " + line + "\n";
    return out.c_str();
  }
};
