#include "dnstap/tap.hpp"

#include <fstrm.h>
#include <netinet/in.h>
#include <time.h>

#include <cstdlib>

#include "dnstap.pb-c.h"
#include "dnstap/dnstap_log.hpp"

namespace diresolver {
namespace {

struct WallTime {
  uint64_t sec;
  uint32_t nsec;
};

int64_t ns_of(const timespec& t) { return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec; }

// Both clocks, read once per message: dnstap readers show calendar time, and
// a message's instants were taken on the monotonic clock.
class WallClock {
 public:
  WallClock() {
    timespec wall{}, mono{};
    clock_gettime(CLOCK_REALTIME, &wall);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    wall_ns_ = ns_of(wall);
    mono_ns_ = ns_of(mono);
  }
  WallTime now() const { return split(wall_ns_); }
  WallTime of(Instant instant) const { return split(wall_ns_ - (mono_ns_ - static_cast<int64_t>(instant.ns))); }

 private:
  static WallTime split(int64_t ns) {
    return {static_cast<uint64_t>(ns / 1'000'000'000), static_cast<uint32_t>(ns % 1'000'000'000)};
  }
  int64_t wall_ns_, mono_ns_;
};

ProtobufCBinaryData binary(std::span<const uint8_t> bytes) {
  return {bytes.size(), const_cast<uint8_t*>(bytes.data())};
}

ProtobufCBinaryData binary(const std::string& text) {
  return {text.size(), reinterpret_cast<uint8_t*>(const_cast<char*>(text.data()))};
}

// The address bytes (4 or 16), as dnstap carries them.
std::span<const uint8_t> ip_bytes(const SockAddr& address) {
  if (address.family() == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address.get());
    return {in6->sin6_addr.s6_addr, 16};
  }
  const auto* in4 = reinterpret_cast<const sockaddr_in*>(address.get());
  return {reinterpret_cast<const uint8_t*>(&in4->sin_addr), 4};
}

}  // namespace

struct Tap::Event {
  Dnstap__Message__Type type;
  const SockAddr& peer;  // the client, or the upstream server
  Transport protocol;
  Bytes zone;
  Bytes message;
  Instant query_time;
  bool response;
};

void Tap::use(const DnstapLog* log, unsigned index, const DnstapSettings& settings) {
  log_ = log;
  thread_ = log ? log->thread() : nullptr;
  queue_ = log ? log->queue(index) : nullptr;
  bool on = queue_ != nullptr;
  client_queries_ = on && settings.client_queries;
  client_responses_ = on && settings.client_responses;
  forwarder_queries_ = on && settings.forwarder_queries;
  forwarder_responses_ = on && settings.forwarder_responses;
}

void Tap::client_query(const SockAddr& client, Transport protocol, Bytes query, Instant received) {
  if (client_queries_)
    write({DNSTAP__MESSAGE__TYPE__CLIENT_QUERY, client, protocol, {}, query, received, false});
}

void Tap::client_response(const SockAddr& client, Transport protocol, Bytes answer, Instant received) {
  if (client_responses_)
    write({DNSTAP__MESSAGE__TYPE__CLIENT_RESPONSE, client, protocol, {}, answer, received, true});
}

void Tap::forwarder_query(const SockAddr& server, Transport protocol, Bytes zone, Bytes query, Instant sent) {
  if (forwarder_queries_)
    write({DNSTAP__MESSAGE__TYPE__FORWARDER_QUERY, server, protocol, zone, query, sent, false});
}

void Tap::forwarder_response(const SockAddr& server, Transport protocol, Bytes zone, Bytes answer, Instant sent) {
  if (forwarder_responses_)
    write({DNSTAP__MESSAGE__TYPE__FORWARDER_RESPONSE, server, protocol, zone, answer, sent, true});
}

void Tap::write(const Event& event) {
  Dnstap__Message message = DNSTAP__MESSAGE__INIT;
  message.type = event.type;
  set_peer(message, event);
  set_times(message, event);
  auto& body = event.response ? message.response_message : message.query_message;
  (event.response ? message.has_response_message : message.has_query_message) = true;
  body = binary(event.message);
  if (!event.zone.empty()) {
    message.has_query_zone = true;
    message.query_zone = binary(event.zone);
  }
  submit(message);
}

// Client messages name the client as the query's address; forwarder messages
// name the upstream as the response's, as Unbound and BIND write them.
void Tap::set_peer(Dnstap__Message& message, const Event& event) {
  message.has_socket_family = message.has_socket_protocol = true;
  message.socket_family = event.peer.family() == AF_INET6 ? DNSTAP__SOCKET_FAMILY__INET6 : DNSTAP__SOCKET_FAMILY__INET;
  message.socket_protocol =
      event.protocol == Transport::tcp ? DNSTAP__SOCKET_PROTOCOL__TCP : DNSTAP__SOCKET_PROTOCOL__UDP;
  bool from_client = event.type == DNSTAP__MESSAGE__TYPE__CLIENT_QUERY ||
                     event.type == DNSTAP__MESSAGE__TYPE__CLIENT_RESPONSE;
  (from_client ? message.has_query_address : message.has_response_address) = true;
  (from_client ? message.has_query_port : message.has_response_port) = true;
  (from_client ? message.query_address : message.response_address) = binary(ip_bytes(event.peer));
  (from_client ? message.query_port : message.response_port) = event.peer.port();
}

// A response carries its query's time too, so readers can show the latency.
void Tap::set_times(Dnstap__Message& message, const Event& event) {
  WallClock clock;
  auto query_time = clock.of(event.query_time);
  message.has_query_time_sec = message.has_query_time_nsec = true;
  message.query_time_sec = query_time.sec;
  message.query_time_nsec = query_time.nsec;
  if (!event.response) return;
  auto now = clock.now();
  message.has_response_time_sec = message.has_response_time_nsec = true;
  message.response_time_sec = now.sec;
  message.response_time_nsec = now.nsec;
}

void Tap::submit(Dnstap__Message& message) {
  Dnstap__Dnstap frame = DNSTAP__DNSTAP__INIT;
  frame.type = DNSTAP__DNSTAP__TYPE__MESSAGE;
  frame.message = &message;
  frame.has_identity = frame.has_version = true;
  frame.identity = binary(log_->identity());
  frame.version = binary(log_->version());
  size_t size = dnstap__dnstap__get_packed_size(&frame);
  auto* buffer = static_cast<uint8_t*>(std::malloc(size));  // fstrm frees it once written
  if (!buffer) return counters_.dnstap_dropped.inc();
  dnstap__dnstap__pack(&frame, buffer);
  if (fstrm_iothr_submit(thread_, queue_, buffer, size, fstrm_free_wrapper, nullptr) != fstrm_res_success) {
    std::free(buffer);
    return counters_.dnstap_dropped.inc();
  }
  counters_.dnstap_queued.inc();
}

}  // namespace diresolver
