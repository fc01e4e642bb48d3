#!/usr/bin/python3
"""Integration tests: upstream failure handling.

Owns: failover from the first DI server to the second (dropped, malformed answers),
SERVFAIL when the whole pair is down (bounded time), one datagram lost to each server
answered by sending it again (not SERVFAIL), TC=1 retried over TCP, and spoofed upstream
answers (wrong ID, wrong question, wrong source address) ignored.
"""

import time

import dns.flags
import dns.rcode

import harness
from fake_upstream import SPOOF_IP
from harness import DI1, DI2, DI_ZONE, Daemon, query

DI1_IP = harness.FAKES[DI1][1]
DI2_IP = harness.FAKES[DI2][1]


class FailoverTest(harness.IntegrationCase):

    def burst(self, prefix, count=20, timeout=3.0):
        """count concurrent UDP queries for distinct DI names; list of responses."""
        names = [f"{prefix}{i}.{DI_ZONE}" for i in range(count)]
        return harness.parallel(lambda n: query(n, timeout=timeout), [(n,) for n in names])

    def test_first_dropped_second_answers_every_query(self):
        self.fakes[DI1].mode = "drop"
        with Daemon() as daemon:
            responses = self.burst("drop")
        for response in responses:
            self.assertNotIsInstance(response, Exception, f"query failed: {response!r}")
            self.assertEqual(dns.rcode.NOERROR, response.rcode(), response)
            self.assertEqual([DI2_IP], harness.answer_ips(response))
        self.assertTrue(self.fakes[DI1].queries, "the dropping server was never asked")
        self.assertEqual(0, daemon.stats["servfail"], daemon.stats)
        # The second server was reached by a hedge (or after the first timed out).
        self.assertGreaterEqual(daemon.stats["upstream_hedges_sent"] + daemon.stats["upstream_failures_timeout"], 1,
                                daemon.stats)

    def test_both_dropped_gives_servfail_in_bounded_time(self):
        self.fakes[DI1].mode = self.fakes[DI2].mode = "drop"
        with Daemon() as daemon:
            for tcp in (False, True):
                begin = time.monotonic()
                response = query(f"dead-{tcp}.{DI_ZONE}", tcp=tcp, timeout=5)
                elapsed = time.monotonic() - begin
                self.assertEqual(dns.rcode.SERVFAIL, response.rcode())
                self.assertLess(elapsed, 3.0)
        self.assertEqual(2, daemon.stats["servfail"], daemon.stats)

    def test_pair_recovers_after_outage(self):
        self.fakes[DI1].mode = self.fakes[DI2].mode = "drop"
        with Daemon():
            self.assertEqual(dns.rcode.SERVFAIL, query(f"down.{DI_ZONE}", timeout=5).rcode())
            self.fakes[DI1].mode = self.fakes[DI2].mode = "answer"
            response = query(f"up.{DI_ZONE}", timeout=5)
            self.assertIn(harness.answer_ips(response), ([DI1_IP], [DI2_IP]))

    def test_closed_port_fails_over_at_once(self):
        # Queries to a server go out together at the end of each loop turn; the
        # kernel's "port unreachable" must still fail them at once, not after a
        # hedge delay or attempt timeout (both set far beyond the bound here).
        self.fakes[DI1].stop()
        cfg = harness.base_config()
        cfg["upstream"].update({"attempt_timeout_ms": 3000, "attempt_timeout_min_ms": 3000,
                                "hedge_delay_min_ms": 2000, "hedge_delay_max_ms": 2000})
        with Daemon(cfg) as daemon:
            for i in range(3):
                begin = time.monotonic()
                response = query(f"closed{i}.{DI_ZONE}", timeout=5)
                elapsed = time.monotonic() - begin
                self.assertEqual([DI2_IP], harness.answer_ips(response), response)
                self.assertLess(elapsed, 1.0, "failed over without waiting for a timer")
        self.assertGreaterEqual(daemon.stats["upstream_failures_network"], 1, daemon.stats)
        self.assertEqual(0, daemon.stats["upstream_hedges_sent"], daemon.stats)

    def test_one_datagram_lost_per_server_is_answered_well_inside_the_deadline(self):
        # The first UDP query for each name is lost on the way to each server; the
        # first server's attempt times out (200 ms) and it is asked again.
        self.fakes[DI1].mode = self.fakes[DI2].mode = "drop_first_udp"
        with Daemon() as daemon:
            for i in range(5):
                name = f"lost{i}.{DI_ZONE}"
                begin = time.monotonic()
                response = query(name, timeout=3)
                elapsed = time.monotonic() - begin
                with self.subTest(name=name):
                    self.assertEqual(dns.rcode.NOERROR, response.rcode(), response)
                    self.assertIn(self.answered_by(response), (DI1, DI2), response)
                    self.assertLess(elapsed, 1.0, "the retry came too late (the deadline is 1.5 s)")
                    asked = len(self.fakes[DI1].seen(name, "udp")) + len(self.fakes[DI2].seen(name, "udp"))
                    self.assertGreaterEqual(asked, 3, "both datagrams lost, then one sent again")
        self.assertEqual(0, daemon.stats["servfail"], daemon.stats)
        self.assertGreaterEqual(daemon.stats["upstream_retries"], 5, daemon.stats)

    def test_malformed_answer_fails_over(self):
        self.fakes[DI1].mode = "malformed"
        with Daemon():
            for response in self.burst("garbage", count=5):
                self.assertNotIsInstance(response, Exception, f"query failed: {response!r}")
                self.assertEqual(dns.rcode.NOERROR, response.rcode())
                self.assertEqual([DI2_IP], harness.answer_ips(response))
        self.assertTrue(self.fakes[DI1].queries, "the malformed server was never asked")

    def test_truncated_answer_is_retried_over_tcp(self):
        self.fakes[DI1].mode = "truncate"
        name = f"big.{DI_ZONE}"
        # No hedge before the TC=1 answer can come, even on a loaded (ASan) CI box:
        # otherwise the second server may answer first and the retry is never needed.
        cfg = harness.base_config()
        cfg["upstream"].update({"attempt_timeout_ms": 3000, "attempt_timeout_min_ms": 3000,
                                "hedge_delay_min_ms": 2000, "hedge_delay_max_ms": 2000})
        with Daemon(cfg) as daemon:
            response = query(name)
            self.assertEqual(dns.rcode.NOERROR, response.rcode())
            self.assertFalse(response.flags & dns.flags.TC, "client got TC=1")
            self.assertEqual([DI1_IP], harness.answer_ips(response))
        self.assertTrue(self.fakes[DI1].seen(name, "udp"))
        self.assertTrue(self.fakes[DI1].seen(name, "tcp"), "no TCP retry to the same server")
        self.assertGreaterEqual(daemon.stats["tcp_retries"], 1, daemon.stats)


class SpoofTest(harness.IntegrationCase):

    def run_spoofed(self, mode, count=5):
        """DI1 in mode: every answer is the real one; returns the daemon's stats."""
        self.fakes[DI1].mode = mode
        with Daemon() as daemon:
            for i in range(count):
                response = query(f"{mode.replace('_', '-')}{i}.{DI_ZONE}", timeout=3)
                ips = harness.answer_ips(response)
                self.assertNotIn(SPOOF_IP, ips, f"spoofed answer accepted in mode {mode}")
                self.assertEqual(dns.rcode.NOERROR, response.rcode())
                self.assertIn(ips, ([DI1_IP], [DI2_IP]))
        self.assertTrue(self.fakes[DI1].seen(f"{mode.replace('_', '-')}0.{DI_ZONE}", "udp"),
                        "the spoofing server was never asked")
        return daemon.stats

    def test_wrong_id_ignored(self):
        stats = self.run_spoofed("wrong_id")
        self.assertGreaterEqual(stats["upstream_mismatched"], 1, stats)

    def test_wrong_question_ignored(self):
        stats = self.run_spoofed("wrong_question")
        self.assertGreaterEqual(stats["upstream_mismatched"], 1, stats)

    def test_wrong_source_ignored(self):
        self.run_spoofed("wrong_source")


if __name__ == "__main__":
    harness.main()
