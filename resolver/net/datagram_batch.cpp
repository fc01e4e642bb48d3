#include "net/datagram_batch.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace diresolver {

bool DatagramBatch::add(dns::Bytes datagram, const SockAddr* to) {
  if (full() || bytes_.size() + datagram.size() > byte_capacity) return false;  // never reallocate
  addressed_[count_] = to != nullptr;
  if (to) to_[count_] = *to;
  bytes_.insert(bytes_.end(), datagram.begin(), datagram.end());
  offsets_[++count_] = bytes_.size();
  return true;
}

DatagramBatch::Outcome DatagramBatch::flush(int fd) {
  Outcome outcome;
  std::array<mmsghdr, max_messages> messages{};
  std::array<iovec, max_messages> parts{};
  for (size_t i = 0; i < count_; ++i) {
    parts[i] = {bytes_.data() + offsets_[i], offsets_[i + 1] - offsets_[i]};
    auto& header = messages[i].msg_hdr;
    header.msg_name = addressed_[i] ? const_cast<sockaddr*>(to_[i].get()) : nullptr;
    header.msg_namelen = addressed_[i] ? to_[i].length() : 0;
    header.msg_iov = &parts[i];
    header.msg_iovlen = 1;
  }
  for (size_t next = 0; next < count_;) {
    int n = sendmmsg(fd, messages.data() + next, static_cast<unsigned>(count_ - next), MSG_DONTWAIT);
    if (n > 0) {
      next += static_cast<size_t>(n);
      outcome.sent += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      // sendmmsg stops at the first datagram it cannot send: that one is lost, the rest still go.
      if (n < 0 && errno == ECONNREFUSED) outcome.refused = true;
      ++outcome.failed;
      ++next;
    }
  }
  count_ = 0;
  bytes_.clear();
  return outcome;
}

}  // namespace diresolver
