// One attempt: one query sent to one upstream server over one transport,
// ending in an answer or an UpstreamError.
//
// Exchanges come from an ExchangeFactory (a loop's TransportKit, or a unit
// test's scripted one) and are kept by their owner (a transaction, a probe, a
// validation check) for attempt after attempt, so a warm worker allocates
// nothing per attempt. An exchange reports exactly once per start(), through
// `done`, as the last thing it does; its owner may start it again or abandon
// it from inside that callback, but frees it only later, outside its callbacks.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <variant>

#include "dns/query.hpp"
#include "upstream/outcome.hpp"
#include "upstream/upstream.hpp"
#include "util/enum_names.hpp"

namespace diresolver {

enum class Transport { udp, tcp };
template <>
inline constexpr auto enum_names<Transport> = names("udp", "tcp");
static_assert(check_enum_names(Transport::tcp));

struct ExchangeRequest {
  const Upstream* server;         // outlives the attempt
  std::span<uint8_t> packet;      // the query: the exchange writes its own ID into it and copies what it keeps
  const dns::ParsedQuery* query;  // what the answer must match; outlives the attempt
  uint32_t timeout_ms;
};

// A matching, well-formed answer, or the error that ended the attempt: never both.
// The answer points into the buffer it was read into: valid only during the
// `done` callback (the whole relay to the client runs inside it), and
// writable, so the client's ID can be put back in place. Whoever keeps it copies.
class ExchangeResult {
 public:
  static ExchangeResult answered(std::span<uint8_t> answer) { return ExchangeResult(answer); }
  static ExchangeResult failed(UpstreamError error) { return ExchangeResult(error); }

  bool ok() const { return std::holds_alternative<std::span<uint8_t>>(value_); }
  std::span<uint8_t> answer() const { return std::get<std::span<uint8_t>>(value_); }
  UpstreamError error() const { return std::get<UpstreamError>(value_); }

 private:
  explicit ExchangeResult(std::variant<std::span<uint8_t>, UpstreamError> value) : value_(value) {}
  std::variant<std::span<uint8_t>, UpstreamError> value_;
};

using ExchangeDone = std::function<void(ExchangeResult&&)>;

class Exchange {
 public:
  virtual ~Exchange() = default;
  // Sends the query. `done` is called exactly once, later, unless abandon() is
  // called first or this returns why nothing was sent (`network`, or `local`
  // when this host lacked a socket); then no callback comes.
  [[nodiscard]] virtual std::optional<UpstreamError> start(const ExchangeRequest& request, ExchangeDone done) = 0;
  // Stops waiting, without calling back; a finished exchange ignores it.
  virtual void abandon() = 0;
};

class ExchangeFactory {
 public:
  virtual ~ExchangeFactory() = default;
  virtual std::unique_ptr<Exchange> make(Transport transport) = 0;
};

}  // namespace diresolver
