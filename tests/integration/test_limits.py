#!/usr/bin/python3
"""Integration tests: the bounds of README "Limits" hold, and the daemon lives at them.

Owns: the file-descriptor limit (accepting pauses instead of spinning, UDP and SIGTERM
still work, one log line, no healthy server marked down; `server.fd_reserve`), client
TCP connections per address, the bytes held for a TCP client that does not read, the
per-client rate limit (`[ratelimit]`), the in-flight cap (`upstream.max_in_flight`) and
the upstream TCP connect timeout (`upstream.tcp_connect_timeout_ms`).
"""

import os
import socket
import struct
import threading
import time

import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

import harness
from harness import DI_ZONE, FORWARD, FORWARD_ZONE, Daemon, query


def cpu_seconds(pid):
    """utime + stime of the process, in seconds."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {key} in /proc/{pid}/status")


def hold_connections(count, source=None):
    """Opens `count` TCP connections to the daemon without waiting on accept
    (they complete in the kernel's backlog); returns the sockets."""
    sockets = []
    for _ in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if source:
            sock.bind((source, 0))
        sock.setblocking(False)
        sock.connect_ex((harness.DAEMON_ADDR, harness.DAEMON_PORT))
        sockets.append(sock)
    return sockets


def closed_by_peer(sock, wait=1.0):
    """True if the daemon closed (or reset) this connection within `wait` seconds."""
    sock.settimeout(wait)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


class Churn:
    """New connections keep coming while old ones go, as clients retry: in a thread,
    every 50 ms the 10 oldest of `held` are closed and 10 new ones opened."""

    def __init__(self, held):
        self.held = held
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopping.wait(0.05):
            for sock in self.held[:10]:
                sock.close()
            del self.held[:10]
            self.held.extend(hold_connections(10))

    def stop(self):
        self.stopping.set()
        self.thread.join()


class FdLimitTest(harness.IntegrationCase):
    """The issue's case: `prlimit --nofile=64:64`, 2 workers, 200 TCP connections held."""

    def config(self, fd_reserve):
        cfg = harness.base_config()
        cfg["server"].update({"workers": 2, "fd_reserve": fd_reserve, "tcp_idle_timeout_ms": 60_000})
        return cfg

    def test_at_the_limit_udp_is_answered_the_loop_idles_and_sigterm_stops_it(self):
        cached = f"cached.{DI_ZONE}"
        with Daemon(self.config(fd_reserve=0), nofile=64) as daemon:
            query(cached)
            held = hold_connections(200)
            churn = Churn(held)
            try:
                time.sleep(0.5)  # the workers meet EMFILE
                cpu_before, wall_before = cpu_seconds(daemon.proc.pid), time.monotonic()
                for i in range(20):
                    self.assertEqual(query(cached, timeout=1.0).rcode(), dns.rcode.NOERROR)
                    response = query(f"miss{i}.{DI_ZONE}", timeout=2.0)  # answered, whatever its RCODE
                    self.assertIn(response.rcode(), (dns.rcode.NOERROR, dns.rcode.SERVFAIL))
                    time.sleep(0.1)
                busy = (cpu_seconds(daemon.proc.pid) - cpu_before) / (time.monotonic() - wall_before)
                self.assertLess(busy, 0.5, f"the daemon used {busy:.0%} of a core with nothing to do")
                elapsed = daemon.stop()
            finally:
                churn.stop()
                for sock in held:
                    sock.close()
        self.assertLess(elapsed, 5.0)
        self.assertGreater(daemon.stats["fd_exhausted"], 0)
        self.assertEqual(daemon.stderr.count("out of file descriptors (limit 64)"), 1, daemon.stderr)
        self.assertNotIn(" is down ", daemon.stderr)

    def test_probes_that_find_no_descriptor_leave_servers_up(self):
        cfg = self.config(fd_reserve=0)
        cfg["health"] = {"interval_ms": 100}
        with Daemon(cfg, nofile=64) as daemon:
            held = hold_connections(200)
            try:
                # Some 30 probe rounds: each probe opens a socket; with none to be had, each is `local`.
                harness.wait_until(lambda: "out of file descriptors" in daemon.stderr, timeout=3,
                                   what="the limit met")
                time.sleep(3)
                metrics_ok = daemon.alive()
            finally:
                for sock in held:
                    sock.close()
            self.assertTrue(metrics_ok, daemon.stderr[-4000:])
            status = harness.get_status()
            for name in ("IAD", "DFW"):
                self.assertEqual(harness.server_status(status, DI_ZONE, name)["state"], "up")
        self.assertNotIn(" is down ", daemon.stderr)

    def test_the_reserve_is_kept_for_upstream_sockets(self):
        with Daemon(self.config(fd_reserve=40), nofile=96) as daemon:
            held = hold_connections(150)
            try:
                harness.wait_until(lambda: "out of file descriptors" in daemon.stderr, timeout=3,
                                   what="the reserve reached")
                # Misses need new upstream sockets: each worker opens up to 4 per server.
                for i in range(40):
                    self.assertEqual(query(f"r{i}.{DI_ZONE}").rcode(), dns.rcode.NOERROR)
            finally:
                for sock in held:
                    sock.close()
            text = harness.get_metrics()
            self.assertGreater(harness.metric(text, "diresolver_tcp_connections_rejected_total",
                                              reason="fd_reserve"), 0)
            self.assertEqual(harness.metric(text, "diresolver_upstream_failures_total", reason="local"), 0)


class TcpPerClientTest(harness.IntegrationCase):
    def test_one_address_gets_its_share_and_another_is_still_served(self):
        cfg = harness.base_config()
        cfg["server"].update({"workers": 1, "tcp_max_connections_per_client": 3})
        with Daemon(cfg):
            first = hold_connections(5)
            try:
                time.sleep(0.3)
                closed = [closed_by_peer(sock, wait=0.5) for sock in first]
                self.assertEqual(closed, [False, False, False, True, True])
                other = query(f"other.{DI_ZONE}", tcp=True, source="127.0.0.2")
                self.assertEqual(other.rcode(), dns.rcode.NOERROR)
            finally:
                for sock in first:
                    sock.close()
            self.assertEqual(harness.metric(harness.get_metrics(), "diresolver_tcp_connections_rejected_total",
                                            reason="per_client"), 2)


class BigAnswers(harness.FakeUpstream):
    """A fake whose A answers hold `answer_count` records (16 bytes each), rendered
    once per name, then only given each query's ID."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._rendered = {}

    def _response(self, query, rcode=dns.rcode.NOERROR, ip=None):
        question = query.question[0]
        if question.rdtype != dns.rdatatype.A or rcode != dns.rcode.NOERROR:
            return super()._response(query, rcode, ip)
        if question.name not in self._rendered:
            response = dns.message.make_response(query)
            response.use_edns(False)
            addresses = [f"198.18.{i // 256}.{i % 256}" for i in range(self.answer_count)]
            response.answer.append(dns.rrset.from_text_list(question.name, 300, "IN", "A", addresses))
            self._rendered[question.name] = bytearray(response.to_wire(max_size=65535))
        wire = self._rendered[question.name]
        wire[0:2] = struct.pack("!H", query.id)
        return bytes(wire)


class HeldBytesTest(harness.IntegrationCase):
    """The issue measured 2.5-2.8 MB of RSS per TCP client that asks for 65 KB answers and never reads."""
    CLIENTS = 20
    QUERIES = 100  # each client's whole in-flight allowance

    def test_a_client_that_never_reads_costs_at_most_the_cap(self):
        self.fakes[FORWARD].stop()
        fake = self.enterContext(BigAnswers(harness.FAKES[FORWARD][0]))
        fake.answer_count = 4000  # 16 bytes a record: 64 KB
        cfg = harness.base_config()
        cfg["server"]["workers"] = 1
        cfg["cache"] = {"enabled": False}  # every query a transaction of its own
        # Over TCP, so no 64 KB datagram is lost in a socket buffer; slow, so the Python fake keeps up.
        cfg["forward"][0]["tcp_only"] = True
        cfg["upstream"].update({"attempt_timeout_ms": 10_000, "attempt_timeout_min_ms": 10_000,
                                "deadline_ms": 20_000, "tries": 1})
        # Under AddressSanitizer, freed memory waits in a quarantine (256 MiB) before reuse, which RSS
        # would count as held: without it, what remains is the shadow (an eighth) and redzones.
        with Daemon(cfg, env={"ASAN_OPTIONS": "quarantine_size_mb=0"}) as daemon:
            big = f"big.{FORWARD_ZONE}"
            self.assertGreater(len(query(big, tcp=True, timeout=5).to_wire()), 60_000)
            pid = daemon.proc.pid
            baseline_kib = status_kib(pid, "VmRSS")
            wire = harness.frame(dns.message.make_query(big, "A").to_wire())
            clients = []
            for _ in range(self.CLIENTS):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                sock.connect((harness.DAEMON_ADDR, harness.DAEMON_PORT))
                sock.sendall(wire * self.QUERIES)
                clients.append(sock)
            try:
                relayed = lambda: harness.metric(harness.get_metrics(), "diresolver_relayed_responses_total")
                harness.wait_until(lambda: relayed() > self.CLIENTS * self.QUERIES, timeout=60,
                                   interval=0.5, what="every query answered by the upstream")
                peak_kib = status_kib(pid, "VmHWM")
                closed = harness.metric(harness.get_metrics(), "diresolver_tcp_unread_closes_total")
            finally:
                for sock in clients:
                    sock.close()
        per_client = (peak_kib - baseline_kib) / self.CLIENTS
        print(f"\nheld per non-reading client: {per_client:.0f} KiB of peak RSS "
              f"({self.CLIENTS} clients, {self.QUERIES} queries of 64 KB answers each)")
        self.assertEqual(closed, self.CLIENTS)
        self.assertLess(per_client, 1024, "the cap is 512 KiB of answers plus one answer")


class RateLimitTest(harness.IntegrationCase):
    def flood(self, count, wire_of, source="127.0.0.1"):
        """Sends `count` packets from one socket as fast as it can; returns (answers, seconds)."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((source, 0))
            began = time.monotonic()
            for i in range(count):
                sock.sendto(wire_of(i), (harness.DAEMON_ADDR, harness.DAEMON_PORT))
            elapsed = time.monotonic() - began
            answers = []
            sock.settimeout(0.5)
            try:
                while True:
                    answers.append(dns.message.from_wire(sock.recvfrom(65535)[0]))
            except socket.timeout:
                pass
        return answers, elapsed

    def config(self, **ratelimit):
        cfg = harness.base_config()
        cfg["ratelimit"] = {"qps": 20, "burst": 50, **ratelimit}
        return cfg

    def cached_query(self, i):
        msg = dns.message.make_query(f"cached.{DI_ZONE}", "A")
        msg.id = i
        return msg.to_wire()

    def test_one_source_gets_its_burst_and_rate_others_are_untouched(self):
        with Daemon(self.config()) as daemon:
            answers, elapsed = self.flood(400, self.cached_query)
            allowed = 50 + 20 * (elapsed + 0.5)
            self.assertGreaterEqual(len(answers), 50)
            self.assertLessEqual(len(answers), allowed + 1)
            self.assertEqual(query(f"cached.{DI_ZONE}", source="127.0.0.2").rcode(), dns.rcode.NOERROR)
            dropped = harness.metric(harness.get_metrics(), "diresolver_dropped_queries_total", reason="rate_limit")
            self.assertEqual(dropped, 400 - len(answers))
            self.assertTrue(daemon.alive())

    def test_malformed_packets_spend_the_same_tokens(self):
        with Daemon(self.config(burst=20, qps=1)):
            answers, _ = self.flood(100, lambda i: b"\x00\x01garbage")
            self.assertLessEqual(len(answers), 21)  # FORMERR to some, then nothing
            with self.assertRaises(dns.exception.Timeout):
                query(f"cached.{DI_ZONE}", timeout=0.5)

    def test_refuse_answers_refused(self):
        with Daemon(self.config(action="refuse")):
            answers, _ = self.flood(200, self.cached_query)
            refused = [a for a in answers if a.rcode() == dns.rcode.REFUSED]
            self.assertGreater(len(refused), 100)
            text = harness.get_metrics()
            self.assertEqual(harness.metric(text, "diresolver_refusals_total", reason="rate_limit"), len(refused))


class InFlightTest(harness.IntegrationCase):
    def test_misses_beyond_the_cap_are_dropped(self):
        forward = self.fakes[FORWARD]
        forward.mode = "delay"
        forward.delay = 1.5
        cfg = harness.base_config()
        cfg["server"]["workers"] = 1
        cfg["upstream"].update({"max_in_flight": 5, "attempt_timeout_ms": 3000, "attempt_timeout_min_ms": 3000,
                                "deadline_ms": 4000, "tries": 1})
        with Daemon(cfg):
            results = {}

            def ask(i):
                try:
                    results[i] = query(f"slow{i}.{FORWARD_ZONE}", timeout=3.0).rcode()
                except dns.exception.Timeout:
                    results[i] = None

            threads = [threading.Thread(target=ask, args=(i,)) for i in range(12)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            answered = [i for i, rcode in results.items() if rcode == dns.rcode.NOERROR]
            self.assertEqual(len(answered), 5, results)
            self.assertEqual(len([q for q in forward.queries if q.qname.startswith("slow")]), 5)
            self.assertEqual(harness.metric(harness.get_metrics(), "diresolver_dropped_queries_total",
                                            reason="in_flight"), 7)


class UpstreamConnectTimeoutTest(harness.IntegrationCase):
    """A server whose TCP port takes no connection (its accept queue is full, so the kernel drops
    the SYNs): the connect is given up after `upstream.tcp_connect_timeout_ms`, counted, and the
    next server asked, well before the attempt timeout and the hedge would have."""
    SILENT = "127.0.0.31"

    def silent_listener(self):
        """A listener on SILENT:53 with a backlog of 0 whose one queued connection is never accepted."""
        listener = self.enterContext(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
        listener.bind((self.SILENT, 53))
        listener.listen(0)
        filler = self.enterContext(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
        filler.connect((self.SILENT, 53))
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.settimeout(0.5)
            with self.assertRaises(socket.timeout, msg="the kernel completed a connect to a full queue"):
                probe.connect((self.SILENT, 53))

    def test_a_connect_that_hangs_is_given_up_and_the_next_server_asked(self):
        self.silent_listener()
        cfg = harness.base_config()
        cfg["forward"][0].update({"servers": [self.SILENT, harness.FAKES[FORWARD][0]], "tcp_only": True})
        cfg["upstream"].update({"tcp_connect_timeout_ms": 300, "attempt_timeout_ms": 3000,
                                "attempt_timeout_min_ms": 3000, "hedge_delay_min_ms": 4000,
                                "hedge_delay_max_ms": 4000, "deadline_ms": 8000, "tries": 1})
        cfg["health"] = {"interval_ms": 60_000}  # probes must not open the connection first
        with Daemon(cfg):
            began = time.monotonic()
            response = query(f"www.{FORWARD_ZONE}", timeout=6.0)
            elapsed = time.monotonic() - began
            self.assertEqual(response.rcode(), dns.rcode.NOERROR)
            self.assertTrue(self.fakes[FORWARD].seen(f"www.{FORWARD_ZONE}", "tcp"))
            self.assertLess(elapsed, 2.0, "answered only after the attempt timeout (3 s): no connect timeout")
            timeouts = harness.metric(harness.get_metrics(), "diresolver_upstream_tcp_connect_timeouts_total",
                                      server=f"{self.SILENT}:53")
            self.assertGreaterEqual(timeouts or 0, 1)


if __name__ == "__main__":
    harness.main()
