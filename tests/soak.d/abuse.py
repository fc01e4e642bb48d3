#!/usr/bin/python3
"""The soak test's abusive clients (tests/soak runs it; read that file's header first).

One process, one epoll loop (10 ms ticks), on a fixed schedule relative to --t0:

  malformed flood  --flood-rate packets/s from 4 UDP sockets between --flood-start and
                   --flood-end, cycling through MALFORMED (each is a packet the daemon
                   must count as `malformed`: dropped, or answered FORMERR); the replies
                   are read and counted by kind (the query ID says which).
  idle TCP         connections that connect and never send a byte (each from its own
                   source address in 127.1.0.0/16); the daemon closes
                   them after its idle timeout (or at once, at its fd or connection
                   limit), and each reconnects RECONNECT_S later while the schedule still
                   wants it.
  non-readers      TCP connections (receive buffer 4 KiB) that send well-formed queries
                   for one cached name with a 1.1 KB TXT answer, --nonreader-rate per
                   second each, and never read an answer: the daemon must stop reading them (RFC 7766 back-pressure)
                   and close them when idle, without holding unbounded memory.
  --tcp-phases     JSON [[t, idle, nonreaders], ...]: from second t on, keep that many
                   of each open; [t, 0, 0] closes them all ("the clients go away").

Every rate is bounded: at most NEW_PER_TICK connection attempts per tick, a reconnect
waits RECONNECT_S, an attempt still unconnected after CONNECT_TIMEOUT_S is dropped.
Writes a JSON summary to --out: packets sent and replies by kind, connection counts,
lifetimes, per-second open counts.
"""

import argparse
import errno
import json
import random
import resource
import select
import socket
import struct
import sys
import time
from collections import Counter, deque

TICK = 0.01
RECONNECT_S = 1.0
CONNECT_TIMEOUT_S = 3.0
NEW_PER_TICK = 10                # at most 1000 connection attempts per second
DI_QNAME = b"\x02m1\x04acme\x04amer\x06wxc-di\x05webex\x03com\x00"
BIG_QNAME = b"\x03big\x04acme\x04amer\x06wxc-di\x05webex\x03com\x00"   # TXT, ~1.1 KB answer


def header(qid, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


# name -> (builder(qid) -> bytes, does the daemon answer it (FORMERR) or drop it)
MALFORMED = {
    "short":      (lambda qid: struct.pack("!H", qid) + b"\x01\x00\x00", False),       # 5 bytes
    "qr_set":     (lambda qid: header(qid, 0x8100) + DI_QNAME + b"\x00\x01\x00\x01", False),
    "qdcount_2":  (lambda qid: header(qid, qd=2) + DI_QNAME + b"\x00\x01\x00\x01", True),
    "trailing":   (lambda qid: header(qid) + DI_QNAME + b"\x00\x01\x00\x01" + b"junk!", True),
    "label_past": (lambda qid: header(qid) + b"\x3fabc", True),                      # label runs off the end
    "ptr_loop":   (lambda qid: header(qid) + b"\xc0\x0c\x00\x01\x00\x01", True),     # points at itself
    "tc_set":     (lambda qid: header(qid, 0x0300) + DI_QNAME + b"\x00\x01\x00\x01", True),
    "qtype_opt":  (lambda qid: header(qid) + DI_QNAME + b"\x00\x29\x00\x01", True),
    "opt_owner":  (lambda qid: header(qid, ar=1) + DI_QNAME + b"\x00\x01\x00\x01"
                   + b"\x01x\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00", True),   # OPT not at the root
}
KINDS = list(MALFORMED)


class Conn:
    __slots__ = ("sock", "role", "state", "started", "opened", "out", "written")

    def __init__(self, sock, role, now):
        self.sock, self.role, self.state = sock, role, "connecting"
        self.started, self.opened, self.out, self.written = now, None, b"", 0


class Abuse:
    def __init__(self, opts):
        self.opts = opts
        self.phases = sorted(json.loads(opts.tcp_phases))
        self.poller = select.epoll()
        self.conns = {}                          # fd -> Conn
        self.tokens = {"idle": deque(), "nonreader": deque()}   # reconnect-not-before times
        self.stats = {role: Counter() for role in ("idle", "nonreader")}
        self.lifetimes = {role: [] for role in ("idle", "nonreader")}
        self.next_source = {"idle": 0, "nonreader": 0}
        self.series = []                         # per second: [t, idle open, nonreaders open]
        self.flood_sent = Counter()
        self.flood_replies = Counter()
        self.flood_rcodes = Counter()
        self.flood_socks = []
        for _ in range(4):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            s.connect((opts.server, opts.port))
            s.setblocking(False)
            self.flood_socks.append(s)
        self.flood_fds = {s.fileno() for s in self.flood_socks}
        for s in self.flood_socks:
            self.poller.register(s.fileno(), select.EPOLLIN)
        frame_query = header(0x4242) + BIG_QNAME + b"\x00\x10\x00\x01"     # TXT IN
        self.frame = struct.pack("!H", len(frame_query)) + frame_query

    # ---- schedule -----------------------------------------------------------------

    def targets(self, t):
        idle = nonreaders = 0
        for start, i, n in self.phases:
            if t >= start:
                idle, nonreaders = i, n
        return {"idle": idle, "nonreader": nonreaders}

    # ---- malformed flood ------------------------------------------------------------

    def flood(self, seq):
        kind = KINDS[seq % len(KINDS)]
        qid = KINDS.index(kind) << 12 | (seq // len(KINDS)) & 0xFFF
        wire = MALFORMED[kind][0](qid)
        try:
            self.flood_socks[seq % len(self.flood_socks)].send(wire)
            self.flood_sent[kind] += 1
        except OSError:
            self.flood_sent["send_failed"] += 1

    def drain(self, fd):
        sock = next(s for s in self.flood_socks if s.fileno() == fd)
        while True:
            try:
                data = sock.recv(4096)
            except BlockingIOError:
                return
            except OSError:
                continue
            if len(data) < 4:
                continue
            qid, flags = struct.unpack("!HH", data[:4])
            kind = KINDS[qid >> 12] if qid >> 12 < len(KINDS) else "unknown"
            self.flood_replies[kind] += 1
            self.flood_rcodes[flags & 0xF] += 1

    # ---- TCP ------------------------------------------------------------------------

    def count(self, role):
        return sum(1 for c in self.conns.values() if c.role == role)

    def source(self, role):
        """Each connection its own source address in 127.0.0.0/8 (idle ones 127.1.x.y,
        non-readers 127.2.x.y), so per-client limits do not stand in for the fd limit."""
        self.next_source[role] = n = self.next_source[role] + 1
        n %= 250 * 250
        return f"127.{1 if role == 'idle' else 2}.{n // 250}.{n % 250 + 1}"

    def open_one(self, role, now):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if role == "nonreader":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        try:
            s.bind((self.source(role), 0))
        except OSError:
            self.stats[role]["bind_errors"] += 1
            s.close()
            self.tokens[role].append(now + RECONNECT_S)
            return
        s.setblocking(False)
        self.stats[role]["attempts"] += 1
        err = s.connect_ex((self.opts.server, self.opts.port))
        if err not in (0, errno.EINPROGRESS):
            self.stats[role]["connect_errors"] += 1
            s.close()
            self.tokens[role].append(now + RECONNECT_S)
            return
        conn = Conn(s, role, now)
        self.conns[s.fileno()] = conn
        self.poller.register(s.fileno(), select.EPOLLOUT | select.EPOLLRDHUP)

    def close(self, conn, why, now):
        fd = conn.sock.fileno()
        self.poller.unregister(fd)
        del self.conns[fd]
        try:
            conn.sock.close()    # a non-reader with unread answers sends RST, others FIN
        except OSError:
            pass
        st = self.stats[conn.role]
        st[why] += 1
        if why != "ours":
            if conn.opened is not None:
                life = now - conn.opened
                self.lifetimes[conn.role].append(round(life, 2))
                st["closed_within_1s"] += life < 1.0
            self.tokens[conn.role].append(now + RECONNECT_S)

    def on_event(self, conn, events, now):
        if conn.state == "connecting":
            err = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                return self.close(conn, "connect_refused" if err == errno.ECONNREFUSED
                                  else "connect_errors", now)
            conn.state, conn.opened = "open", now
            self.stats[conn.role]["established"] += 1
            mask = select.EPOLLRDHUP | (select.EPOLLIN if conn.role == "idle" else 0)
            self.poller.modify(conn.sock.fileno(), mask)
            return None
        if conn.role == "idle" and events & select.EPOLLIN:
            try:
                data = conn.sock.recv(4096)
            except ConnectionResetError:
                return self.close(conn, "peer_reset", now)
            except OSError:
                return self.close(conn, "peer_error", now)
            if data:
                self.stats["idle"]["unexpected_bytes"] += len(data)
                return None
            return self.close(conn, "peer_closed", now)
        if events & (select.EPOLLRDHUP | select.EPOLLHUP | select.EPOLLERR):
            return self.close(conn, "peer_closed", now)
        return None

    def feed_nonreaders(self, now):
        batch = max(1, int(self.opts.nonreader_rate / 10))
        for conn in list(self.conns.values()):
            if conn.role != "nonreader" or conn.state != "open":
                continue
            if not conn.out:
                conn.out = self.frame * batch
            try:
                n = conn.sock.send(conn.out)
            except BlockingIOError:
                self.stats["nonreader"]["send_blocked"] += 1
                continue
            except (BrokenPipeError, ConnectionResetError):
                self.close(conn, "peer_reset", now)
                continue
            except OSError:
                self.close(conn, "peer_error", now)
                continue
            conn.out = conn.out[n:]
            conn.written += n
            self.stats["nonreader"]["bytes_written"] += n
            if conn.out:
                self.stats["nonreader"]["send_partial"] += 1

    def manage(self, now, t):
        want = self.targets(t)
        for role, target in want.items():
            tokens = self.tokens[role]
            have = self.count(role)
            # Too many (the schedule went down): close the newest ones.
            if have > target:
                extra = sorted((c for c in self.conns.values() if c.role == role),
                               key=lambda c: -c.started)[:have - target]
                for conn in extra:
                    self.close(conn, "ours", now)
                tokens.clear()
                continue
            # Connections closed by the daemon reconnect only RECONNECT_S later.
            while tokens and tokens[0] <= now:
                tokens.popleft()
            waiting = len(tokens)
            new = min(NEW_PER_TICK, target - have - waiting)
            for _ in range(max(0, new)):
                self.open_one(role, now)
        for conn in list(self.conns.values()):
            if conn.state == "connecting" and now - conn.started > CONNECT_TIMEOUT_S:
                self.close(conn, "connect_timeouts", now)

    # ---- loop -----------------------------------------------------------------------

    def run(self):
        o = self.opts
        t0 = o.t0
        end = t0 + max(o.flood_end, max(p[0] for p in self.phases) + 1)
        flood_seq = 0
        flood_next = t0 + o.flood_start
        flood_interval = 1.0 / o.flood_rate if o.flood_rate > 0 else None
        last_feed = 0.0
        last_second = -1
        while True:
            now = time.monotonic()
            if now >= end:
                break
            t = now - t0
            if flood_interval and t0 + o.flood_start <= now < t0 + o.flood_end:
                burst = 0
                while flood_next <= now and burst < 100:
                    self.flood(flood_seq)
                    flood_seq += 1
                    burst += 1
                    flood_next += flood_interval
                if now - flood_next > 1.0:           # starved of CPU: skip, don't burst
                    flood_next = now
            self.manage(now, t)
            if now - last_feed >= 0.1:
                self.feed_nonreaders(now)
                last_feed = now
            if int(t) != last_second:
                last_second = int(t)
                self.series.append([last_second, self.open_count("idle"),
                                    self.open_count("nonreader")])
                for role in self.stats:
                    self.stats[role]["max_open"] = max(self.stats[role]["max_open"],
                                                       self.open_count(role))
            for fd, events in self.poller.poll(TICK):
                if fd in self.flood_fds:
                    self.drain(fd)
                    continue
                conn = self.conns.get(fd)
                if conn is not None:
                    self.on_event(conn, events, time.monotonic())
        now = time.monotonic()
        for conn in list(self.conns.values()):
            self.close(conn, "ours", now)
        for s in self.flood_socks:
            s.close()

    def open_count(self, role):
        return sum(1 for c in self.conns.values() if c.role == role and c.state == "open")

    def summary(self):
        def lifetimes(values):
            if not values:
                return {}
            v = sorted(values)
            return {"n": len(v), "min": v[0], "median": v[len(v) // 2], "max": v[-1]}
        return {
            "flood_sent": dict(self.flood_sent),
            "flood_sent_total": sum(v for k, v in self.flood_sent.items() if k != "send_failed"),
            "flood_expect_reply": [k for k, (_, reply) in MALFORMED.items() if reply],
            "flood_replies": dict(self.flood_replies),
            "flood_reply_rcodes": {str(k): v for k, v in self.flood_rcodes.items()},
            "tcp": {role: dict(st) for role, st in self.stats.items()},
            "lifetimes": {role: lifetimes(v) for role, v in self.lifetimes.items()},
            "series": self.series,
            "nonreader_frame_bytes": len(self.frame),
        }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--server", default="127.0.0.1")
    p.add_argument("--port", type=int, default=53)
    p.add_argument("--t0", type=float, required=True, help="CLOCK_MONOTONIC origin")
    p.add_argument("--flood-start", type=float, default=0.0)
    p.add_argument("--flood-end", type=float, required=True)
    p.add_argument("--flood-rate", type=float, default=500.0)
    p.add_argument("--tcp-phases", required=True)
    p.add_argument("--nonreader-rate", type=float, default=300.0, help="queries/s per connection")
    p.add_argument("--out", required=True)
    opts = p.parse_args()
    if not opts.server.startswith("127."):
        sys.exit("abuse: the server must be in 127.0.0.0/8")
    if not 0 <= opts.flood_rate <= 2000 or not 0 <= opts.nonreader_rate <= 5000:
        sys.exit("abuse: flood rate up to 2000/s, non-reader rate up to 5000/s")
    phases = json.loads(opts.tcp_phases)
    if any(not 0 <= i <= 2000 or not 0 <= n <= 64 for _, i, n in phases):
        sys.exit("abuse: up to 2000 idle clients and 64 non-readers")
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    random.seed()
    abuse = Abuse(opts)
    abuse.run()
    with open(opts.out, "w") as f:
        json.dump(abuse.summary(), f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
