#!/usr/bin/python3
"""The soak test's steady load (tests/soak runs it; read that file's header first).

Sends A queries to the daemon over UDP at a fixed rate for a fixed time, from a few
connected sockets (so SO_REUSEPORT spreads them over the workers), and accounts for
every single query: each is matched to its answer by socket, ID and question bytes.
Then it waits until every query is answered or has waited --timeout seconds, and
stops by itself.

The names, in a fixed 20-slot pattern (so the mix is the same every second):
  kind 0  di-cached   9/20  c<i>.acme.amer.wxc-di.webex.com, 150 names (TTL 3600)
  kind 1  di-short    2/20  s<i>.short.acme.amer.wxc-di.webex.com, 50 names (TTL 10:
                            they expire, are prefetched, and are served stale while
                            both DI servers are down)
  kind 2  di-unique   5/20  u<tag>n<n>.acme.amer.wxc-di.webex.com, never asked twice
                            (a cache miss that must go to the DI pair)
  kind 3  def-cached  2/20  c<i>.example, 50 names (the default upstream)
  kind 4  def-unique  2/20  u<tag>n<n>.example
Every query carries EDNS (UDP size 1232), as stub resolvers' do.

Output (--out PREFIX): PREFIX.send (float64 CLOCK_MONOTONIC send times), PREFIX.kind
(int8), PREFIX.outcome (int8: the answer's RCODE 0-15; -1 no answer within --timeout;
-2 NOERROR without an A record; -3 an answer with our ID but another question),
PREFIX.latency (float32 seconds, -1 when lost), PREFIX.ede (int16: the Extended DNS
Error code of an error answer, -1 none), one entry per query sent, in send order; PREFIX.json the summary (sent, send failures, late answers, send lag).
"""

import argparse
import json
import random
import select
import socket
import struct
import sys
import time
from array import array
from collections import deque

DI_ZONE = "acme.amer.wxc-di.webex.com"
DEFAULT_ZONE = "example"
PATTERN = [0] * 9 + [1] * 2 + [2] * 5 + [3] * 2 + [4] * 2
KINDS = ("di-cached", "di-short", "di-unique", "def-cached", "def-unique")
CACHED_DI, SHORT_DI, CACHED_DEF = 150, 50, 50
PENDING = 127
EDNS_OPT = b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"   # root, OPT, 1232, no flags


def wire_name(text):
    out = b""
    for label in text.split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def question(text):
    return wire_name(text) + b"\x00\x01\x00\x01"          # A, IN


def skip_name(data, pos):
    while pos < len(data):
        n = data[pos]
        if n == 0:
            return pos + 1
        if n & 0xC0 == 0xC0:
            return pos + 2
        pos += 1 + n
    raise ValueError("name runs off the end")


def ede_code(data, pos):
    """The INFO-CODE of the first EDE option (RFC 8914) in data's OPT record; -1 if none.
    pos: the end of the question section."""
    try:
        _, _, an, ns, ar = struct.unpack("!HHHHH", data[2:12])
        for i in range(an + ns + ar):
            pos = skip_name(data, pos)
            rtype, _, _, rdlen = struct.unpack("!HHIH", data[pos:pos + 10])
            pos += 10
            if rtype == 41 and i >= an + ns:
                end = pos + rdlen
                while pos + 4 <= end:
                    code, length = struct.unpack("!HH", data[pos:pos + 4])
                    if code == 15 and length >= 2:
                        return struct.unpack("!H", data[pos + 4:pos + 6])[0]
                    pos += 4 + length
                return -1
            pos += rdlen
    except (ValueError, struct.error):
        pass
    return -1


def interleave(pattern):
    """The pattern's slots spread out (0 2 0 1 0 ...) rather than in runs."""
    out, counts, total = [], {k: pattern.count(k) for k in set(pattern)}, len(pattern)
    acc = {k: 0.0 for k in counts}
    for _ in range(total):
        for k in acc:
            acc[k] += counts[k] / total
        best = max(acc, key=lambda k: acc[k])
        acc[best] -= 1
        out.append(best)
    return out


class Load:
    def __init__(self, opts):
        self.opts = opts
        self.tag = opts.tag
        self.questions = {
            0: [question(f"c{i}.{DI_ZONE}") for i in range(CACHED_DI)],
            1: [question(f"s{i}.short.{DI_ZONE}") for i in range(SHORT_DI)],
            3: [question(f"c{i}.{DEFAULT_ZONE}") for i in range(CACHED_DEF)],
        }
        self.pattern = interleave(PATTERN)
        self.unique = 0
        self.socks = []
        for _ in range(opts.sockets):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            s.bind(("127.0.0.1", 0))
            s.connect((opts.server, opts.port))
            s.setblocking(False)
            self.socks.append(s)
        self.fd_index = {s.fileno(): i for i, s in enumerate(self.socks)}
        self.next_id = [random.randrange(65536) for _ in self.socks]
        # Per query, in send order.
        self.send_t = array("d")
        self.kind = array("b")
        self.outcome = array("b")
        self.latency = array("f")
        self.ede = array("h")         # the first Extended DNS Error code of an error answer, -1: none
        self.qsection = []            # question bytes of queries still outstanding (by index)
        self.qkey = array("l")        # each query's key in self.outstanding
        self.outstanding = {}         # (socket index << 16 | id) -> query index
        self.order = deque()          # query indexes still outstanding, in send order
        self.send_failures = 0
        self.late = 0                 # answers that came after their query was counted lost
        self.unmatched = 0            # answers matching nothing we sent
        self.max_lag = 0.0
        self.lag_over_100ms = 0

    def next_question(self, seq):
        kind = self.pattern[seq % len(self.pattern)]
        if kind in (0, 1, 3):
            names = self.questions[kind]
            return kind, names[(seq // len(self.pattern)) % len(names)]
        self.unique += 1
        zone = DI_ZONE if kind == 2 else DEFAULT_ZONE
        return kind, question(f"u{self.tag}n{self.unique}.{zone}")

    def send_one(self, seq, now):
        kind, q = self.next_question(seq)
        si = seq % len(self.socks)
        qid = self.next_id[si]
        self.next_id[si] = (qid + 1) & 0xFFFF
        wire = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 1) + q + EDNS_OPT
        try:
            self.socks[si].send(wire)
        except (BlockingIOError, ConnectionRefusedError, OSError):
            self.send_failures += 1
            return
        index = len(self.send_t)
        self.send_t.append(now)
        self.kind.append(kind)
        self.outcome.append(PENDING)
        self.latency.append(-1.0)
        self.ede.append(-1)
        self.qsection.append(q)
        key = si << 16 | qid
        self.qkey.append(key)
        old = self.outstanding.get(key)
        if old is not None:       # an ID reused while its query still waits: cannot happen at
            self.expire_one(old)  # these rates (< 2000 outstanding per socket), but be exact
        self.outstanding[key] = index
        self.order.append(index)

    def expire_one(self, index):
        if self.outcome[index] == PENDING:
            self.outcome[index] = -1
            self.qsection[index] = None

    def receive(self, si, now):
        sock = self.socks[si]
        while True:
            try:
                data = sock.recv(4096)
            except BlockingIOError:
                return
            except (ConnectionRefusedError, OSError):
                continue
            if len(data) < 12:
                self.unmatched += 1
                continue
            qid, flags = struct.unpack("!HH", data[:4])
            key = si << 16 | qid
            index = self.outstanding.get(key)
            if index is None or not flags & 0x8000:
                self.late += index is None
                continue
            q = self.qsection[index]
            if data[12:12 + len(q)] != q:
                # Case is preserved by the daemon, so bytes compare exactly.
                self.outcome[index] = -3
            else:
                rcode = flags & 0xF
                ancount = struct.unpack("!H", data[6:8])[0]
                self.outcome[index] = -2 if rcode == 0 and ancount == 0 else rcode
                if rcode != 0:
                    self.ede[index] = ede_code(data, 12 + len(q))
            self.latency[index] = now - self.send_t[index]
            self.qsection[index] = None
            del self.outstanding[key]

    def expire(self, now):
        timeout = self.opts.timeout
        while self.order:
            index = self.order[0]
            if self.outcome[index] != PENDING:
                self.order.popleft()
                continue
            if self.send_t[index] + timeout > now:
                return
            self.order.popleft()
            self.outcome[index] = -1
            self.qsection[index] = None
            key = self.qkey[index]
            if self.outstanding.get(key) == index:
                del self.outstanding[key]

    def run(self):
        opts = self.opts
        start = opts.t0 + opts.start
        end = opts.t0 + opts.start + opts.duration
        interval = 1.0 / opts.rate
        poller = select.epoll()
        for s in self.socks:
            poller.register(s.fileno(), select.EPOLLIN)
        while time.monotonic() < start:
            time.sleep(min(0.05, max(0.0, start - time.monotonic())))
        seq = 0
        next_send = start
        last_expire = 0.0
        while True:
            now = time.monotonic()
            sending = next_send < end
            if sending:
                lag = now - next_send
                if lag > self.max_lag:
                    self.max_lag = lag
                # Catch up on a late schedule, but never more than 200 queries in one go:
                # the rate stays bounded even after this process was starved of CPU.
                burst = 0
                while next_send <= now and next_send < end and burst < 200:
                    self.send_one(seq, now)
                    seq += 1
                    burst += 1
                    next_send += interval
                if now - next_send > 0.1:
                    self.lag_over_100ms += 1
            elif not self.outstanding or now > end + opts.timeout + 1:
                break
            wait = max(0.0, min(next_send - time.monotonic(), 0.01)) if sending else 0.05
            for fd, _ in poller.poll(wait):
                self.receive(self.fd_index[fd], time.monotonic())
            if now - last_expire > 0.05:
                self.expire(time.monotonic())
                last_expire = now
        self.expire(float("inf"))
        for s in self.socks:
            s.close()

    def save(self, prefix):
        for name, arr in (("send", self.send_t), ("kind", self.kind),
                          ("outcome", self.outcome), ("latency", self.latency),
                          ("ede", self.ede)):
            with open(f"{prefix}.{name}", "wb") as f:
                arr.tofile(f)
        summary = {
            "sent": len(self.send_t), "send_failures": self.send_failures,
            "late_answers": self.late, "unmatched": self.unmatched,
            "max_send_lag_s": round(self.max_lag, 3), "lag_over_100ms": self.lag_over_100ms,
            "rate": self.opts.rate, "duration": self.opts.duration,
        }
        with open(f"{prefix}.json", "w") as f:
            json.dump(summary, f)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--server", default="127.0.0.1")
    p.add_argument("--port", type=int, default=53)
    p.add_argument("--t0", type=float, required=True, help="CLOCK_MONOTONIC origin")
    p.add_argument("--start", type=float, default=0.0, help="seconds after t0")
    p.add_argument("--duration", type=float, required=True)
    p.add_argument("--rate", type=float, required=True, help="queries per second")
    p.add_argument("--timeout", type=float, default=5.0, help="an answer later than this is lost")
    p.add_argument("--sockets", type=int, default=8)
    p.add_argument("--tag", default=f"{random.randrange(1 << 30):x}")
    p.add_argument("--out", required=True)
    opts = p.parse_args()
    if not opts.server.startswith("127."):
        sys.exit("load: the server must be in 127.0.0.0/8")
    if not 1 <= opts.rate <= 20000 or not 0 < opts.duration <= 3600:
        sys.exit("load: rate 1-20000 q/s, duration up to 3600 s")
    load = Load(opts)
    load.run()
    load.save(opts.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
