#!/usr/bin/python3
"""Integration tests: TCP to the upstreams (issue 3).

Owns: TC=1 answers retried over TCP to the same server; `tcp_only` sets whose
connections are reused across queries (one per server per worker) and pipelined,
hundreds of queries at once included (upstream ID collisions on one connection must not
fail queries); reconnection after the upstream closes the connection, restarts, or
refused connections for a while; SERVFAIL within the deadline when a tcp_only pair is
dead; idle upstream connections closed after upstream.tcp_idle_timeout_ms.

Health probes are slowed down here (every 10 s) so they do not interfere: this file is
about the query path, test_health.py about health.
"""

import time
from contextlib import ExitStack

import dns.flags
import dns.rcode

import harness
from fake_upstream import FakeUpstream
from harness import (DI1, DI2, DI_ZONE, DI_ZONE_ABS, FORWARD, FORWARD_ZONE,
                     FORWARD_ZONE_ABS, Daemon, get_metrics, health_config, metric, query,
                     wait_until)

DI1_IP = harness.FAKES[DI1][1]
FORWARD_IP = harness.FAKES[FORWARD][1]
IAD = harness.DISPLAY_NAMES[DI1]
FORWARD_NAME = harness.DISPLAY_NAMES[FORWARD]


def tcp_config(upstream=None, region_tcp_only=False, forward_tcp_only=False):
    """Probes every 10 s; hedges after 200 ms, so a loaded machine does not bring the
    second server in (hedging is test_health.py's subject)."""
    upstream = {"hedge_delay_min_ms": 200, "hedge_delay_max_ms": 200, **(upstream or {})}
    cfg = health_config(upstream=upstream, health={"interval_ms": 10000})
    if region_tcp_only:
        cfg["region"]["amer"]["tcp_only"] = True
    if forward_tcp_only:
        cfg["forward"][0]["tcp_only"] = True
    return cfg


class TcpUpstreamCase(harness.IntegrationCase):

    def assert_answer(self, response, ip):
        self.assertNotIsInstance(response, Exception, f"query failed: {response!r}")
        self.assertEqual(dns.rcode.NOERROR, response.rcode(),
                         f"rcode {dns.rcode.to_text(response.rcode())}: {response}")
        self.assertFalse(response.flags & dns.flags.TC, "client got TC=1")
        self.assertEqual([ip], harness.answer_ips(response), response)

    def client_queries(self, fake, prefix, transport=None):
        return [q for q in fake.queries if q.qname.startswith(prefix)
                and (transport is None or q.transport == transport)]


class TruncationTest(TcpUpstreamCase):

    def test_truncated_answer_retried_over_tcp_to_same_server(self):
        self.fakes[DI1].mode = "truncate"
        with Daemon(tcp_config()) as daemon:
            for i in range(3):
                name = f"big{i}.{DI_ZONE}"
                self.assert_answer(query(name, timeout=3), DI1_IP)
                self.assertTrue(self.fakes[DI1].seen(name, "udp"), f"{name}: not asked over UDP")
                self.assertTrue(self.fakes[DI1].seen(name, "tcp"),
                                f"{name}: no TCP retry to the same server")
                self.assertFalse(self.fakes[DI2].seen(name, "tcp"),
                                 f"{name}: TCP retry went to the other server")
            metrics = get_metrics()
            self.assertGreaterEqual(metric(metrics, "diresolver_upstream_queries_total",
                                           zone=DI_ZONE_ABS, server=IAD, transport="tcp")
                                    or 0, 3, metrics)
        self.assertGreaterEqual(daemon.stats["tcp_retries"], 3, daemon.stats)
        self.assertEqual(0, daemon.stats["servfail"], daemon.stats)


class ReuseTest(TcpUpstreamCase):

    def test_tcp_only_reuses_one_connection(self):
        count = 20
        with Daemon(tcp_config(region_tcp_only=True)) as daemon:
            for i in range(count):
                self.assert_answer(query(f"reuse{i}.{DI_ZONE}", timeout=3), DI1_IP)
            self.assertEqual(count, len(self.client_queries(self.fakes[DI1], "reuse", "tcp")))
            self.assertEqual([], self.client_queries(self.fakes[DI1], "reuse", "udp"),
                             "tcp_only set queried over UDP")
            # workers = 1: one connection per server per worker.
            self.assertEqual(1, self.fakes[DI1].tcp_client_accepts,
                             f"{count} sequential queries opened "
                             f"{self.fakes[DI1].tcp_client_accepts} connections")
            metrics = get_metrics()
            # The worker's; the health prober's own connection (tcp_only: probes go over
            # TCP too) is not query traffic.
            self.assertEqual(1, metric(metrics, "diresolver_upstream_tcp_connections_total",
                                       zone=DI_ZONE_ABS, server=IAD), metrics)
            self.assertGreaterEqual(metric(metrics, "diresolver_upstream_queries_total",
                                           zone=DI_ZONE_ABS, server=IAD, transport="tcp") or 0,
                                    count, metrics)
            self.assertFalse(metric(metrics, "diresolver_upstream_queries_total",
                                    zone=DI_ZONE_ABS, server=IAD, transport="udp"), metrics)
        self.assertLessEqual(self.fakes[DI2].tcp_client_accepts, 1)
        self.assertGreaterEqual(daemon.stats.get("upstream_tcp_connects", 0), 1, daemon.stats)
        self.assertLessEqual(daemon.stats.get("upstream_tcp_connects", 0), 2, daemon.stats)

    def test_concurrent_queries_pipelined_on_one_connection(self):
        # One server (the [[forward]] zone), answering each query 200 ms late: 20
        # concurrent queries serialized on one connection would need 4 s, past the deadline.
        count = 20
        fake = self.fakes[FORWARD]
        cfg = tcp_config(forward_tcp_only=True,
                         upstream={"attempt_timeout_ms": 1500, "attempt_timeout_min_ms": 1000,
                                   "deadline_ms": 3000})
        with Daemon(cfg):
            self.assert_answer(query(f"warm.{FORWARD_ZONE}", timeout=3), FORWARD_IP)
            fake.delay = 0.2
            fake.mode = "delay"
            names = [f"pipe{i}.{FORWARD_ZONE}" for i in range(count)]
            begin = time.monotonic()
            responses = harness.parallel(lambda n: query(n, timeout=5), [(n,) for n in names])
            elapsed = time.monotonic() - begin
            for response in responses:
                self.assert_answer(response, FORWARD_IP)
            self.assertEqual(count, len(self.client_queries(fake, "pipe", "tcp")))
            self.assertEqual(1, fake.tcp_client_accepts, f"{fake.tcp_client_accepts} connections for one worker")
            self.assertGreaterEqual(fake.max_tcp_pipelined, 2,
                                    "never more than one query outstanding on the connection")
            self.assertLess(elapsed, 3.0, "concurrent queries were not pipelined")

    def test_hundreds_of_concurrent_queries_on_one_connection_all_answered(self):
        # 600 queries in flight at once on one pooled connection: with random 16-bit
        # upstream IDs some collide, and a collision must not fail the query (a fresh
        # ID, or another connection), nor count against a healthy server.
        count = 600
        fake = self.fakes[FORWARD]
        cfg = tcp_config(forward_tcp_only=True,
                         upstream={"attempt_timeout_ms": 3000, "attempt_timeout_min_ms": 2000,
                                   "deadline_ms": 4000})
        with Daemon(cfg) as daemon:
            fake.delay = 0.5
            fake.mode = "delay"
            responses = harness.parallel(lambda n: query(n, timeout=8),
                                         [(f"many{i}.{FORWARD_ZONE}",) for i in range(count)],
                                         timeout=60)
            failed = [r if isinstance(r, Exception) else dns.rcode.to_text(r.rcode())
                      for r in responses
                      if isinstance(r, Exception) or r.rcode() != dns.rcode.NOERROR]
            self.assertEqual([], failed, f"{len(failed)} of {count} queries failed")
            self.assertEqual(count, len(self.client_queries(fake, "many", "tcp")))
            server = harness.server_status(harness.get_status(), FORWARD_ZONE, FORWARD_NAME)
            self.assertEqual(0, server["failures"]["network"], server)
        self.assertEqual(0, daemon.stats["servfail"], daemon.stats)


class ReconnectTest(TcpUpstreamCase):

    def test_reconnects_after_upstream_closes_connection(self):
        fake = self.fakes[FORWARD]
        fake.tcp_close_after = 3
        with Daemon(tcp_config(forward_tcp_only=True)) as daemon:
            for i in range(10):
                self.assert_answer(query(f"close{i}.{FORWARD_ZONE}", timeout=3), FORWARD_IP)
                time.sleep(0.1)  # the close reaches the daemon before the next query
            self.assertEqual(10, len(self.client_queries(fake, "close", "tcp")))
            self.assertGreaterEqual(fake.tcp_accepts, 4, "no new connection after the close")
            connects = metric(get_metrics(), "diresolver_upstream_tcp_connections_total",
                              zone=FORWARD_ZONE_ABS, server=FORWARD_NAME)
            self.assertGreaterEqual(connects or 0, 4)
        self.assertEqual(0, daemon.stats["servfail"], daemon.stats)

    def test_reconnects_after_upstream_restart(self):
        old = self.fakes[FORWARD]
        address, answer_ip = harness.FAKES[FORWARD]
        with Daemon(tcp_config(forward_tcp_only=True)):
            self.assert_answer(query(f"before.{FORWARD_ZONE}", timeout=3), FORWARD_IP)
            old.stop()
            with ExitStack() as stack:
                new = stack.enter_context(FakeUpstream(address, answer_ip=answer_ip))
                attempt = [0]

                def answered():
                    attempt[0] += 1
                    response = query(f"after{attempt[0]}.{FORWARD_ZONE}", timeout=2)
                    return response if harness.answer_ips(response) == [FORWARD_IP] else None

                self.assert_answer(wait_until(answered, timeout=5, interval=0.2,
                                              what="answer after the upstream restarted"),
                                   FORWARD_IP)
                self.assertGreaterEqual(new.tcp_accepts, 1)
                self.assertTrue(self.client_queries(new, "after", "tcp"))
                # And it stays usable: the next queries are answered at once.
                for i in range(5):
                    self.assert_answer(query(f"steady{i}.{FORWARD_ZONE}", timeout=3), FORWARD_IP)

    def test_refused_connections_then_server_returns(self):
        # Nothing listens (TCP RST): SERVFAIL within the deadline, then the server
        # starts and, whatever the reconnect backoff, queries succeed again within 5 s.
        old = self.fakes[FORWARD]
        old.stop()
        address, answer_ip = harness.FAKES[FORWARD]
        with Daemon(tcp_config(forward_tcp_only=True)):
            for i in range(3):
                begin = time.monotonic()
                response = query(f"refused{i}.{FORWARD_ZONE}", timeout=5, edns=0)
                self.assertEqual(dns.rcode.SERVFAIL, response.rcode(), response)
                self.assertTrue(set(harness.ede_codes(response))
                                & {harness.EDE_NETWORK_ERROR, harness.EDE_NO_REACHABLE_AUTHORITY},
                                response)
                self.assertLess(time.monotonic() - begin, 2.5)
            with FakeUpstream(address, answer_ip=answer_ip) as new:
                attempt = [0]

                def answered():
                    attempt[0] += 1
                    response = query(f"back{attempt[0]}.{FORWARD_ZONE}", timeout=2)
                    return response if harness.answer_ips(response) == [FORWARD_IP] else None

                wait_until(answered, timeout=5, interval=0.2, what="answer after the server came back")
                self.assertTrue(self.client_queries(new, "back", "tcp"))

    def test_both_tcp_only_servers_blackholed_servfail_within_deadline(self):
        self.fakes[DI1].mode = self.fakes[DI2].mode = "drop"
        with Daemon(tcp_config(region_tcp_only=True)):
            for i in range(2):
                begin = time.monotonic()
                response = query(f"tcpdead{i}.{DI_ZONE}", timeout=5, edns=0)
                self.assertEqual(dns.rcode.SERVFAIL, response.rcode(), response)
                self.assertIn(harness.EDE_NO_REACHABLE_AUTHORITY, harness.ede_codes(response))
                self.assertLess(time.monotonic() - begin, 1.5 + 1.0)
            self.assertTrue(self.client_queries(self.fakes[DI1], "tcpdead", "tcp"))
            self.assertTrue(self.client_queries(self.fakes[DI2], "tcpdead", "tcp"))

    def test_idle_connection_closed_and_reopened(self):
        fake = self.fakes[FORWARD]
        with Daemon(tcp_config(forward_tcp_only=True, upstream={"tcp_idle_timeout_ms": 300})):
            self.assert_answer(query(f"idle1.{FORWARD_ZONE}", timeout=3), FORWARD_IP)
            self.assertEqual(1, fake.tcp_client_accepts)
            wait_until(lambda: fake.tcp_client_peer_closes >= 1, timeout=5,
                       what="idle upstream connection closed by the daemon")
            self.assert_answer(query(f"idle2.{FORWARD_ZONE}", timeout=3), FORWARD_IP)
            self.assertEqual(2, fake.tcp_client_accepts)


class TcpOnlyHealthTest(TcpUpstreamCase):

    def test_tcp_only_servers_are_probed_over_tcp(self):
        """UDP to a tcp_only set's servers may be filtered: probes over UDP would
        mark healthy servers down."""
        cfg = health_config()  # probes every 200 ms, down after 3 failures
        cfg["forward"][0]["tcp_only"] = True
        self.fakes[FORWARD].mode = "drop_udp"
        with Daemon(cfg):
            time.sleep(1.5)
            probes = list(self.fakes[FORWARD].probes)
            self.assertGreaterEqual(len(probes), 3, probes)
            self.assertEqual({"tcp"}, {q.transport for q in probes})
            self.assertEqual(1, metric(get_metrics(), "diresolver_upstream_up",
                                       zone=FORWARD_ZONE_ABS, server=FORWARD_NAME))
            self.assert_answer(query(f"after-probes.{FORWARD_ZONE}", timeout=3), FORWARD_IP)


if __name__ == "__main__":
    harness.main()
