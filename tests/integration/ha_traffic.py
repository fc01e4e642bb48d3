#!/usr/bin/python3
"""The fake DI pair and the clients of the HA test and benchmark (helper processes).

Each runs as a process of its own in a namespace ha_topology.py makes, started by the
test through this module's classes.

Owns:
- the fake DI pair (`python3 ha_traffic.py fake-di ADDRESS...`, run in the DI
  namespace by FakeDI): fake_upstream's FakeUpstream on each address, every A query
  answered with the address of the node that asked;
- the clients (`python3 ha_traffic.py clients ...`, run in the LAN namespace by Load):
  distinct DI names at a fixed rate, each send and answer timed, with the node that
  answered; LoadResult reads their records.

Both helpers refuse to run outside the test's namespaces or on an address outside
198.18.0.0/15.
"""

import argparse
import ipaddress
import json
import os
import re
import select
import signal
import socket
import struct
import sys
import threading
import time
from array import array
from collections import deque
from pathlib import Path

from harness import _in_initial_netns
from ha_topology import DI_ADDRS, DI_NS, DI_ZONE, LAN_NS, MARK, PROBE_NAME, TEST_NET

HERE = Path(__file__).resolve().parent


# ---- the fake DI pair (run in the DI namespace) ------------------------------------------------

def serve_fake_di(addresses):
    """Fake DI servers on addresses (UDP and TCP 53) until SIGTERM: fake_upstream's
    FakeUpstream, with every A answer naming the node that asked."""
    sys.path.insert(0, str(HERE))
    import dns.rcode
    from fake_upstream import FakeUpstream

    class WhoamiDI(FakeUpstream):
        """Answers each A query over UDP with the asking node's own address; counts
        rather than records the queries (a benchmark sends tens of thousands)."""

        def __init__(self, address):
            super().__init__(address, answer_ip="198.18.0.99", benchmarking_net=True)
            self._asker = threading.local()
            self.count = 0

        def _record(self, msg, transport, source_port):
            self.count += 1

        def _response(self, query, rcode=dns.rcode.NOERROR, ip=None):
            return super()._response(query, rcode, ip or getattr(self._asker, "address", None))

        def _received(self, data, peer):
            wire = fast_answer(data, peer[0])
            if wire is not None:     # a client name's A query: answered without dnspython
                self.count += 1
                self._udp_send(wire, False, peer)
                return True
            self._asker.address = peer[0]  # the answer dnspython builds names the asker too
            return False

    probe_label = PROBE_NAME.split(".")[0].encode()

    def fast_answer(data, asker):
        """The answer to a plain query (one question, type A, class IN, not a health
        probe, at most an OPT record besides) built from its bytes: the question as
        asked, one A record (TTL 300) with the asker's address, an OPT (1232) if the
        query had one. None for anything else (dnspython answers those)."""
        if len(data) < 17 or data[2] & 0xF8 or int.from_bytes(data[4:6], "big") != 1 \
                or data[6:10] != b"\0\0\0\0" or int.from_bytes(data[10:12], "big") > 1:
            return None
        pos = 12
        while pos < len(data) and data[pos]:
            if data[pos] & 0xC0:
                return None
            pos += data[pos] + 1
        end = pos + 5
        if end > len(data) or data[pos + 1:end] != b"\0\x01\0\x01":
            return None
        if data[13:13 + data[12]].lower() == probe_label:
            return None
        has_opt = data[11] == 1
        flags = 0x8400 | (data[2] & 0x01) << 8 | 0x0080   # QR AA, RD copied, RA
        header = data[:2] + struct.pack("!HHHHH", flags, 1, 1, 0, 1 if has_opt else 0)
        answer = b"\xc0\x0c\0\x01\0\x01" + struct.pack("!IH", 300, 4) + socket.inet_aton(asker)
        opt = b"\0\0\x29\x04\xd0\0\0\0\0\0\0" if has_opt else b""
        return header + data[12:end] + answer + opt

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    servers = [WhoamiDI(a).start() for a in addresses]
    print("ready", flush=True)
    while not stop.wait(0.5):
        pass
    for server in servers:
        server.stop()
    print("queries " + " ".join(f"{s.address}={s.count}" for s in servers), flush=True)


class FakeDI:
    def __init__(self, topo):
        self.topo = topo
        self.proc = None
        topo.fake_di = self

    def start(self):
        self.proc = self.topo.start("fake-di", [sys.executable, HERE / "ha_traffic.py", "fake-di",
                                                *DI_ADDRS], netns=DI_NS)
        if not self.proc.wait_log(r"^ready$", 10):
            raise AssertionError(f"fake DI pair did not start:\n{self.proc.log_text()[-3000:]}")
        return self


# ---- the clients (run in the LAN namespace) ------------------------------------------------

SOCKETS = 16


def _name_wire(name):
    return b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0"


def _a_address(data, qlen):
    """The last octet of the first A record of the answer (0 if there is none)."""
    if len(data) < 12 or int.from_bytes(data[6:8], "big") == 0:
        return 0
    pos = 12 + qlen
    try:
        if data[pos] & 0xC0 == 0xC0:
            pos += 2
        else:
            while data[pos]:
                pos += data[pos] + 1
            pos += 1
        rtype, _, _, rdlen = struct.unpack("!HHIH", data[pos:pos + 10])
        if rtype == 1 and rdlen == 4:
            return data[pos + 13]
    except (IndexError, struct.error):
        pass
    return 0


def run_clients(target, rate, duration, timeout, tag, out_path):
    """Query i (a distinct DI name) goes out at start + i / rate on socket i % 16 with
    ID i // 16; records its send and answer times, rcode and the answering node. The
    start time (monotonic) goes to stdout first; the records to out_path at the end."""
    n = int(rate * duration)
    send_t, recv_t = array("d", bytes(8 * n)), array("d", bytes(8 * n))
    rcode, node = array("b", b"\xff" * n), array("B", bytes(n))
    questions = {}

    def question(i):
        q = questions.get(i)
        if q is None:
            q = questions[i] = _name_wire(f"q{i}-{tag}.{DI_ZONE}") + b"\x00\x01\x00\x01"
        return q

    socks, ep = [], select.epoll()
    for _ in range(SOCKETS):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.connect((target, 53))
        s.setblocking(False)
        ep.register(s.fileno(), select.EPOLLIN)
        socks.append(s)
    by_fd = {s.fileno(): k for k, s in enumerate(socks)}
    pending, in_flight = {}, deque()
    stats = {"late": 0, "max_lag": 0.0, "unmatched": 0, "send_errors": 0}
    start = time.monotonic()
    print(f"start {start:.6f}", flush=True)
    sent = 0
    hard_end = start + duration + timeout + 2
    while True:
        now = time.monotonic()
        due = min(n, int((now - start) * rate) + 1)
        while sent < due:
            i = sent
            k, qid = i % SOCKETS, (i // SOCKETS) & 0xFFFF
            wire = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + question(i)
            t = time.monotonic()
            lag = t - (start + i / rate)
            stats["max_lag"] = max(stats["max_lag"], lag)
            stats["late"] += lag > 0.010
            try:
                socks[k].send(wire)
            except OSError:
                stats["send_errors"] += 1
            send_t[i] = t
            pending[(k, qid)] = i
            in_flight.append(i)
            sent += 1
        now = time.monotonic()
        while in_flight and now - send_t[in_flight[0]] > timeout:
            i = in_flight.popleft()
            pending.pop((i % SOCKETS, (i // SOCKETS) & 0xFFFF), None)
            questions.pop(i, None)
        if (sent >= n and not pending) or now > hard_end:
            break
        wake = start + sent / rate if sent < n else now + 0.05
        for fd, _ in ep.poll(max(0.0, wake - now)):
            k = by_fd[fd]
            while True:
                try:
                    data = socks[k].recv(4096)
                except BlockingIOError:
                    break
                except OSError:      # ICMP port unreachable: the query is lost
                    continue
                t = time.monotonic()
                if len(data) < 12 or not data[2] & 0x80:
                    stats["unmatched"] += 1
                    continue
                i = pending.get((k, int.from_bytes(data[:2], "big")))
                if i is None:
                    stats["unmatched"] += 1
                    continue
                q = question(i)
                if data[12:12 + len(q)].lower() != q:
                    stats["unmatched"] += 1
                    continue
                del pending[(k, int.from_bytes(data[:2], "big"))]
                recv_t[i], rcode[i], node[i] = t, data[3] & 0x0F, _a_address(data, len(q))
                questions.pop(i, None)
    with open(out_path, "wb") as f:
        f.write((json.dumps({"n": n, "start": start, "rate": rate, **stats}) + "\n").encode())
        send_t.tofile(f)
        recv_t.tofile(f)
        rcode.tofile(f)
        node.tofile(f)


class Load:
    """The clients as a process in the LAN namespace; result() reads their records."""

    def __init__(self, topo, target, rate, duration, timeout, tag):
        self.topo, self.target, self.rate, self.duration, self.timeout = topo, target, rate, duration, timeout
        self.tag = tag
        self.out = topo.run_dir / f"load-{tag}.bin"
        self.proc = None
        self.start_t = None

    def start(self):
        self.proc = self.topo.start(
            f"clients-{self.tag}",
            [sys.executable, HERE / "ha_traffic.py", "clients", "--target", self.target,
             "--rate", self.rate, "--duration", self.duration, "--timeout", self.timeout,
             "--tag", self.tag, "--out", self.out],
            netns=LAN_NS, log_name=f"clients-{self.tag}.err", pipe=True)
        line = self.proc.proc.stdout.readline().decode()
        match = re.match(r"start (\S+)", line)
        if not match:
            raise AssertionError(f"clients did not start: {line!r} {self.proc.log_text()}")
        self.start_t = float(match.group(1))
        return self

    def wait(self):
        self.proc.proc.wait(timeout=self.duration + self.timeout + 15)
        self.proc.close()
        if self.proc.proc.returncode != 0:
            raise AssertionError(f"clients exited {self.proc.proc.returncode}: {self.proc.log_text()[-2000:]}")
        return LoadResult(self.out)


class LoadResult:
    def __init__(self, path):
        with open(path, "rb") as f:
            self.meta = json.loads(f.readline())
            n = self.n = self.meta["n"]
            self.send_t, self.recv_t = array("d"), array("d")
            self.rcode, self.node = array("b"), array("B")
            self.send_t.fromfile(f, n)
            self.recv_t.fromfile(f, n)
            self.rcode.fromfile(f, n)
            self.node.fromfile(f, n)

    def indexes(self, t_from=None, t_to=None):
        return [i for i in range(self.n)
                if (t_from is None or self.send_t[i] >= t_from) and (t_to is None or self.send_t[i] < t_to)]

    def lost(self, t_from=None, t_to=None):
        return [i for i in self.indexes(t_from, t_to) if self.recv_t[i] == 0]

    def answered(self, t_from=None, t_to=None):
        return [i for i in self.indexes(t_from, t_to) if self.recv_t[i] > 0]

    def rcodes(self, t_from=None, t_to=None):
        counts = {}
        for i in self.answered(t_from, t_to):
            counts[self.rcode[i]] = counts.get(self.rcode[i], 0) + 1
        return counts

    def by_node(self, t_from=None, t_to=None):
        counts = {}
        for i in self.answered(t_from, t_to):
            counts[self.node[i]] = counts.get(self.node[i], 0) + 1
        return counts

    def latency(self, i):
        return self.recv_t[i] - self.send_t[i]

    def worst(self, t_from=None, t_to=None):
        return max((self.latency(i) for i in self.answered(t_from, t_to)), default=0.0)

    def first_answer_from(self, node, t_from):
        """Send time of the first query sent at or after t_from that node answered."""
        for i in self.indexes(t_from):
            if self.recv_t[i] > 0 and self.node[i] == node:
                return self.send_t[i]
        return None

    def outage(self, t_from):
        """(first, last) send time of the queries sent from t_from on that got no
        NOERROR answer from a node; None if there were none."""
        bad = [i for i in self.indexes(t_from) if self.recv_t[i] == 0 or self.rcode[i] != 0]
        if not bad:
            return None
        return self.send_t[bad[0]], self.send_t[bad[-1]]


# ---- entry point for the helper processes ------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    di = sub.add_parser("fake-di")
    di.add_argument("addresses", nargs="+")
    clients = sub.add_parser("clients")
    clients.add_argument("--target", required=True)
    clients.add_argument("--rate", type=int, required=True)
    clients.add_argument("--duration", type=float, required=True)
    clients.add_argument("--timeout", type=float, required=True)
    clients.add_argument("--tag", required=True)
    clients.add_argument("--out", required=True)
    args = parser.parse_args()
    # Both run only inside the test's namespaces, on the test's addresses.
    if os.environ.get(MARK) != "1" or _in_initial_netns():
        sys.exit("ha_traffic: helpers run only inside the HA test's namespaces")
    if args.command == "fake-di":
        for a in args.addresses:
            if ipaddress.ip_address(a) not in TEST_NET:
                sys.exit(f"ha_traffic: {a} is not in 198.18.0.0/15")
        serve_fake_di(args.addresses)
    else:
        if ipaddress.ip_address(args.target) not in TEST_NET:
            sys.exit(f"ha_traffic: {args.target} is not in 198.18.0.0/15")
        run_clients(args.target, args.rate, args.duration, args.timeout, args.tag, args.out)


if __name__ == "__main__":
    main()
