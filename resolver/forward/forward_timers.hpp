// A worker's transaction timers, in lists of timers of about one duration
// each (uv/timer_list.hpp). The query deadline and serve-stale's client timer
// have one configured duration each. Hedge delays and attempt timeouts follow
// each server's RTT, so they get a list per server: in one shared list, every
// start of a fast server's short timer would walk past all the in-flight long
// ones of a slow server, which under load and failover is thousands of steps.
#pragma once

#include <uv.h>

#include <memory>
#include <vector>

#include "upstream/upstream.hpp"
#include "uv/timer_list.hpp"

namespace diresolver {

class ForwardTimers {
 public:
  explicit ForwardTimers(uv_loop_t* loop) : loop_(loop), deadlines_(loop), slow_(loop), closed_(loop) {
    closed_.close();
  }
  uv::TimerList& deadlines() { return is_closed_ ? closed_ : deadlines_; }
  uv::TimerList& slow() { return is_closed_ ? closed_ : slow_; }
  uv::TimerList& hedges_after(const Upstream& server) { return of(hedges_, server.id()); }
  uv::TimerList& attempts_to(const Upstream& server) { return of(attempts_, server.id()); }
  // Every timer stops; every list asked for afterwards is a closed one.
  void close() {
    deadlines_.close();
    slow_.close();
    for (auto* lists : {&hedges_, &attempts_})
      for (auto& list : *lists)
        if (list) list->close();
    is_closed_ = true;
  }

 private:
  // Made on a server's first use, so a warm worker allocates nothing here.
  uv::TimerList& of(std::vector<std::unique_ptr<uv::TimerList>>& lists, unsigned server_id) {
    if (is_closed_) return closed_;
    if (server_id >= lists.size()) lists.resize(server_id + 1);
    if (!lists[server_id]) lists[server_id] = std::make_unique<uv::TimerList>(loop_);
    return *lists[server_id];
  }

  uv_loop_t* loop_;
  uv::TimerList deadlines_, slow_;
  std::vector<std::unique_ptr<uv::TimerList>> hedges_, attempts_;
  uv::TimerList closed_;
  bool is_closed_ = false;
};

}  // namespace diresolver
