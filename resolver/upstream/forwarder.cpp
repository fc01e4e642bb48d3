#include "upstream/forwarder.hpp"

#include "upstream/tcp_exchange.hpp"
#include "upstream/udp_exchange.hpp"

namespace diresolver {

class Forwarder::Transaction {
 public:
  Transaction(Forwarder& owner, dns::Bytes packet, const dns::ParsedQuery& query,
              const UpstreamSet& set, ForwardDone done)
      : owner_(owner), packet_(packet.begin(), packet.end()), query_(query), set_(set),
        order_(set.order_for_query()), done_(std::move(done)) {}

  void start() { attempt(order_[0], Transport::udp); }

 private:
  enum class Transport { udp, tcp };

  void attempt(size_t server_index, Transport transport) {
    server_index_ = server_index;
    transport_ = transport;
    dns::set_id(packet_, owner_.ids_.next());
    ExchangeRequest request{owner_.loop_, &set_.server(server_index), packet_, &query_,
                            owner_.settings_.attempt_timeout_ms, &owner_.counters_, &owner_.scratch_};
    auto done = [this](ExchangeResult&& result) { on_result(std::move(result)); };
    if (transport == Transport::udp)
      exchange_ = std::make_unique<UdpExchange>(request, done);
    else
      exchange_ = std::make_unique<TcpExchange>(request, done);
    if (!exchange_->start()) {
      owner_.counters_.upstream_network.inc();
      on_result({false, UpstreamError::network, {}});
    }
  }

  void on_result(ExchangeResult&& result) {
    owner_.retire(std::move(exchange_));
    if (result.ok && transport_ == Transport::udp && dns::is_truncated(result.answer)) {
      owner_.counters_.tcp_retries.inc();
      return attempt(server_index_, Transport::tcp);
    }
    if (result.ok) return finish({true, std::move(result.answer), result.error, packet_});
    last_error_ = result.error;
    if (++position_ < order_.size()) return attempt(order_[position_], Transport::udp);
    finish({false, {}, last_error_, packet_});
  }

  void finish(ForwardOutcome&& outcome) {
    auto done = std::move(done_);
    owner_.finished(this);
    done(std::move(outcome));
  }

  Forwarder& owner_;
  std::vector<uint8_t> packet_;
  dns::ParsedQuery query_;
  const UpstreamSet& set_;
  ServerOrder order_;
  ForwardDone done_;
  std::unique_ptr<Exchange> exchange_;
  size_t position_ = 0;
  size_t server_index_ = 0;
  Transport transport_ = Transport::udp;
  UpstreamError last_error_ = UpstreamError::timeout;
};

Forwarder::Forwarder(uv_loop_t* loop, const UpstreamSettings& settings, WorkerCounters& counters)
    : loop_(loop), settings_(settings), counters_(counters), scratch_(65536) {
  uv_check_init(loop_, graveyard_.get());
  graveyard_.adopt(this);
}

Forwarder::~Forwarder() { cancel_all(); }

void Forwarder::forward(dns::Bytes packet, const dns::ParsedQuery& query, const UpstreamSet& set,
                        ForwardDone done) {
  auto transaction = std::make_unique<Transaction>(*this, packet, query, set, std::move(done));
  auto* raw = transaction.get();
  live_.emplace(raw, std::move(transaction));
  raw->start();
}

void Forwarder::cancel_all() {
  live_.clear();
  dead_transactions_.clear();
  dead_exchanges_.clear();
  graveyard_.close();
}

void Forwarder::retire(std::unique_ptr<Exchange> exchange) {
  if (!exchange) return;
  dead_exchanges_.push_back(std::move(exchange));
  if (graveyard_.is_open()) uv_check_start(graveyard_.get(), on_check);
}

void Forwarder::finished(Transaction* transaction) {
  auto it = live_.find(transaction);
  if (it == live_.end()) return;
  dead_transactions_.push_back(std::move(it->second));
  live_.erase(it);
  if (graveyard_.is_open()) uv_check_start(graveyard_.get(), on_check);
}

void Forwarder::on_check(uv_check_t* check) {
  auto* self = uv::Handle<uv_check_t>::owner_of<Forwarder>(check);
  if (!self) return;
  self->dead_transactions_.clear();
  self->dead_exchanges_.clear();
  uv_check_stop(check);
}

}  // namespace diresolver
