#!/usr/bin/python3
"""Integration tests: upstream health, hedging and the admin endpoint (issue 3).

Owns: a blackholed server marked down (and up again) through probes and live traffic,
with /status, /metrics and the transition log lines; SERVFAIL / REFUSED answers
skipped in favour of the other server; SERVFAIL with EDE 22/23 within the deadline when
no server answers; hedging to the second server when the first is slow (hedges and
late answers counted); probes that get malformed or mismatched answers count as
failures; live traffic alone marks a server down, but not by the error RCODEs clients
draw (1000 REFUSED/SERVFAIL answers leave both servers up); lowest_rtt / round_robin selection;
the deadline caps attempts and hedges that would run longer; probes ask the configured
probe_name / probe_type (zone apex SOA by default); the /status and /metrics shape.

Every config has an admin listener (127.0.0.1:9553), fast probes (every 200 ms,
fall 3, rise 2) and `selection = "sequential"`, so the first DI server (IAD, fake di1)
is the preferred one whenever it is up.
"""

import time

import dns.rcode

import harness
from harness import (DEFAULT, DI1, DI2, DI_ZONE, DI_ZONE_ABS, FORWARD, FORWARD_ZONE,
                     FORWARD_ZONE_ABS, Daemon, get_metrics, get_status, health_config,
                     metric, query, server_status, wait_for_server, wait_until)

DI1_IP = harness.FAKES[DI1][1]
DI2_IP = harness.FAKES[DI2][1]
IAD, DFW = harness.DISPLAY_NAMES[DI1], harness.DISPLAY_NAMES[DI2]
FALL, RISE = 3, 2
DEADLINE_MS = 1500
NOT_OK_RESULTS = ("timeout", "network", "refused", "servfail", "malformed", "mismatched", "local")
ZONE_RE = DI_ZONE_ABS.replace(".", r"\.")


def down_line(name, address):
    return (rf"warn: upstream {name} {address.replace('.', chr(92) + '.')}:53 of "
            rf"{ZONE_RE} is down \(.+\)")


def up_line(name, address):
    return rf"info: upstream {name} {address.replace('.', chr(92) + '.')}:53 of {ZONE_RE} is up"


def is_up(server):
    return server["state"] == "up"


def is_down(server):
    return server["state"] == "down"


class HealthCase(harness.IntegrationCase):

    def burst(self, prefix, count=50, timeout=3.0, tcp=False, edns=-1):
        """count concurrent queries for distinct DI names; list of responses/exceptions."""
        names = [f"{prefix}{i}.{DI_ZONE}" for i in range(count)]
        return harness.parallel(lambda n: query(n, timeout=timeout, tcp=tcp, edns=edns),
                                [(n,) for n in names])

    def assert_answered_by(self, responses, ip):
        for response in responses:
            self.assertNotIsInstance(response, Exception, f"query failed: {response!r}")
            self.assertEqual(dns.rcode.NOERROR, response.rcode(),
                             f"rcode {dns.rcode.to_text(response.rcode())}: {response}")
            self.assertEqual([ip], harness.answer_ips(response), response)

    def wait_admin(self):
        """Wait for the admin endpoint and for both DI servers to be up."""
        for name in (IAD, DFW):
            wait_for_server(DI_ZONE, name, is_up, what=f"{name} up at start")

    def client_queries(self, fake, prefix):
        return [q for q in self.fakes[fake].queries if q.qname.startswith(prefix)]


class BlackholeTest(HealthCase):

    def test_blackholed_first_server_goes_down_and_comes_back(self):
        with Daemon(health_config()) as daemon:
            self.wait_admin()
            self.fakes[DI1].mode = "drop"

            # Every query of a concurrent burst is answered by the second server.
            self.assert_answered_by(self.burst("blackhole"), DI2_IP)
            self.assertTrue(self.client_queries(DI1, "blackhole"),
                            "the preferred (blackholed) server was never asked")

            # Marked down after `fall` consecutive failures: /status, /metrics, log.
            iad = wait_for_server(DI_ZONE, IAD, is_down, what="IAD down")
            self.assertGreaterEqual(iad["consecutive_failures"], FALL, iad)
            self.assertGreaterEqual(iad["failures"]["timeout"], 1, iad)
            self.assertTrue(is_up(server_status(get_status(), DI_ZONE, DFW)))
            metrics = get_metrics()
            self.assertEqual(0, metric(metrics, "diresolver_upstream_up",
                                       zone=DI_ZONE_ABS, server=IAD), metrics)
            self.assertEqual(1, metric(metrics, "diresolver_upstream_up",
                                       zone=DI_ZONE_ABS, server=DFW), metrics)
            self.assertGreaterEqual(metric(metrics, "diresolver_upstream_failures_total",
                                           zone=DI_ZONE_ABS, server=IAD, reason="timeout")
                                    or 0, 1, metrics)
            self.assertIsNotNone(daemon.wait_for_log(down_line(IAD, harness.FAKES[DI1][0])),
                                 daemon.stderr)

            # While it is down, clients are still answered by the other server.
            self.assert_answered_by(self.burst("whiledown", count=10), DI2_IP)

            # Back: up after `rise` probe successes, and preferred again.
            self.fakes[DI1].mode = "answer"
            iad = wait_for_server(DI_ZONE, IAD, is_up, what="IAD up again")
            self.assertGreaterEqual(iad["consecutive_successes"], RISE, iad)
            self.assertGreaterEqual(iad["probes"]["ok"], RISE, iad)
            self.assertIsNotNone(daemon.wait_for_log(up_line(IAD, harness.FAKES[DI1][0])),
                                 daemon.stderr)
            self.assertEqual(1, metric(get_metrics(), "diresolver_upstream_up",
                                       zone=DI_ZONE_ABS, server=IAD))
            responses = [query(f"back{i}.{DI_ZONE}", timeout=3) for i in range(5)]
            for i, response in enumerate(responses):
                self.assertEqual(dns.rcode.NOERROR, response.rcode(), response)
                self.assertTrue(self.fakes[DI1].seen(f"back{i}.{DI_ZONE}"),
                                f"back{i}: the recovered first server got no traffic")
            self.assertIn([DI1_IP], [harness.answer_ips(r) for r in responses],
                          "no answer came from the recovered first server")
        self.assertEqual(0, daemon.stats["servfail"], daemon.stats)


class ErrorAnswerTest(HealthCase):

    def check_other_server_answers(self, mode):
        with Daemon(health_config()) as daemon:
            self.wait_admin()
            self.fakes[DI1].mode = mode
            for tcp in (False, True):
                with self.subTest(mode=mode, tcp=tcp):
                    prefix = f"{mode}-{'tcp' if tcp else 'udp'}-"
                    self.assert_answered_by(self.burst(prefix, count=10, tcp=tcp), DI2_IP)
            self.assertTrue(self.client_queries(DI1, mode), f"the {mode} server was never asked")
            iad = server_status(get_status(), DI_ZONE, IAD)
            self.assertGreaterEqual(iad["failures"][mode], 1, iad)
            self.assertGreaterEqual(metric(get_metrics(), "diresolver_upstream_failures_total",
                                           zone=DI_ZONE_ABS, server=IAD, reason=mode) or 0, 1)
            # Probes get the same answer: failed probes, the server goes down.
            iad = wait_for_server(DI_ZONE, IAD,
                                  lambda s: is_down(s) and (s["last_probe"] or {}).get("result")
                                  == mode, what=f"IAD down with last probe {mode}")
        self.assertEqual(0, daemon.stats["servfail"], daemon.stats)

    def test_servfail_answer_goes_to_other_server(self):
        self.check_other_server_answers("servfail")

    def test_refused_answer_goes_to_other_server(self):
        self.check_other_server_answers("refused")

    def test_error_answer_moves_on_without_waiting_for_the_hedge(self):
        # Hedge delay and attempt timeouts far above the wait allowed here: only the
        # "next server at once" rule can explain a quick answer from the second server.
        cfg = health_config(upstream={"hedge_delay_min_ms": 2000, "hedge_delay_max_ms": 2000,
                                      "attempt_timeout_ms": 2000, "attempt_timeout_min_ms": 2000,
                                      "deadline_ms": 4000},
                            health={"interval_ms": 10000})
        for mode in ("servfail", "refused"):
            with self.subTest(mode=mode):
                self.fakes[DI1].mode = mode
                with Daemon(cfg):
                    self.wait_admin()
                    begin = time.monotonic()
                    self.assert_answered_by([query(f"atonce-{mode}.{DI_ZONE}", timeout=5)],
                                            DI2_IP)
                    self.assertLess(time.monotonic() - begin, 1.0,
                                    f"the {mode} answer did not move on to the next server")
                    self.assertTrue(self.fakes[DI1].seen(f"atonce-{mode}.{DI_ZONE}"))

    def test_every_server_refuses_client_gets_the_answer(self):
        for mode, rcode in (("refused", dns.rcode.REFUSED), ("servfail", dns.rcode.SERVFAIL)):
            with self.subTest(mode=mode):
                self.fakes[DI1].mode = self.fakes[DI2].mode = mode
                with Daemon(health_config()):
                    for tcp in (False, True):
                        name = f"all-{mode}-{tcp}.{DI_ZONE}"
                        begin = time.monotonic()
                        response = query(name, tcp=tcp, timeout=5)
                        elapsed = time.monotonic() - begin
                        self.assertEqual(rcode, response.rcode(), response)
                        self.assertLess(elapsed, DEADLINE_MS / 1000 + 1.0)
                        self.assertTrue(self.fakes[DI1].seen(name), "first server not asked")
                        self.assertTrue(self.fakes[DI2].seen(name), "second server not asked")


class ClientProofHealthTest(HealthCase):
    """What a client asks must not decide a server's health: an error RCODE in the answer
    to a client's query moves that query on, but only probes, silence, network errors and
    garbage count against the server."""

    def test_a_thousand_refused_or_servfail_answers_leave_both_servers_up(self):
        self.fakes[DI1].mode, self.fakes[DI2].mode = "refused", "servfail"
        for fake in (DI1, DI2):
            self.fakes[fake].probe_mode = "answer"  # the servers themselves are fine
        with Daemon(health_config()) as daemon:
            self.wait_admin()
            for batch in range(10):
                names = [(f"refused{batch}-{i}.{DI_ZONE}",) for i in range(100)]
                for response in harness.parallel(lambda n: query(n, timeout=5), names):
                    self.assertNotIsInstance(response, Exception, f"query failed: {response!r}")
                    # What the server that answered last said, relayed.
                    self.assertIn(response.rcode(), (dns.rcode.REFUSED, dns.rcode.SERVFAIL), response)
            time.sleep(1.0)  # five probe rounds
            # Not even for a moment (probes would bring it back up within half a second).
            self.assertNotRegex(daemon.stderr, r"warn: upstream .* is down", daemon.stderr)
            status = get_status()
            for name in (IAD, DFW):
                self.assertTrue(is_up(server_status(status, DI_ZONE, name)), f"{name} marked down by clients")
                self.assertEqual(1, metric(get_metrics(), "diresolver_upstream_up", zone=DI_ZONE_ABS, server=name))
            self.assertGreaterEqual(server_status(status, DI_ZONE, IAD)["failures"]["refused"], 1000)
            self.assertGreaterEqual(server_status(status, DI_ZONE, DFW)["failures"]["servfail"], 1000)
            # The same answer to a probe is the server's own failure.
            self.fakes[DI1].probe_mode = "servfail"
            wait_for_server(DI_ZONE, IAD, is_down, what="IAD down by probes answered SERVFAIL")


class LiveTrafficTest(HealthCase):

    def test_live_timeouts_alone_mark_server_down(self):
        # Probes every 30 s: only client traffic can take the server down in time.
        with Daemon(health_config(health={"interval_ms": 30000})) as daemon:
            self.wait_admin()
            # The one probe sent at start must have come back before the server goes
            # quiet, or its timeout would count among the failures.
            wait_for_server(DI_ZONE, IAD, lambda s: (s.get("last_probe") or {}).get("result") == "ok",
                            what="IAD's start-up probe answered")
            self.fakes[DI1].mode = "drop"
            self.fakes[DI1].reset()
            for i in range(FALL + 2):
                self.assert_answered_by([query(f"live{i}.{DI_ZONE}", timeout=3)], DI2_IP)
            iad = wait_for_server(DI_ZONE, IAD, is_down, what="IAD down by live traffic")
            self.assertGreaterEqual(iad["failures"]["timeout"], FALL, iad)
            self.assertGreaterEqual(len(self.client_queries(DI1, "live")), FALL)
            self.assertIsNotNone(daemon.wait_for_log(down_line(IAD, harness.FAKES[DI1][0])),
                                 daemon.stderr)


class SelectionTest(HealthCase):

    def test_lowest_rtt_prefers_the_faster_server(self):
        # Hedges out of the way (200 ms, after IAD's 100 ms answers): the answer IP says
        # who was asked first.
        cfg = health_config(selection="lowest_rtt",
                            upstream={"hedge_delay_min_ms": 200, "hedge_delay_max_ms": 200})
        with Daemon(cfg):
            self.wait_admin()
            self.fakes[DI1].delay = 0.1
            self.fakes[DI1].mode = "delay"
            # Probes teach the SRTTs: IAD ~100 ms, DFW ~0 ms.
            def learned():
                status = get_status()
                iad, dfw = (server_status(status, DI_ZONE, n) for n in (IAD, DFW))
                return iad["srtt_ms"] >= dfw["srtt_ms"] + 10
            wait_until(learned, timeout=10, what="IAD SRTT above DFW's")
            self.fakes[DI1].reset()
            self.assert_answered_by([query(f"fast{i}.{DI_ZONE}", timeout=3) for i in range(10)],
                                    DI2_IP)
            self.assertEqual([], self.client_queries(DI1, "fast"), "the slow server was asked")

    def test_round_robin_uses_both_servers(self):
        with Daemon(health_config(selection="round_robin")):
            self.wait_admin()
            responses = [query(f"rr{i}.{DI_ZONE}", timeout=3) for i in range(10)]
            answered = [self.answered_by(r) for r in responses]
            self.assertIn(DI1, answered, answered)
            self.assertIn(DI2, answered, answered)
            self.assertEqual("round_robin",
                             harness.zone_status(get_status(), DI_ZONE)["selection"])


class NoAnswerTest(HealthCase):

    def timed_query(self, name, tcp):
        begin = time.monotonic()
        response = query(name, tcp=tcp, timeout=5, edns=0)
        return response, time.monotonic() - begin

    def assert_servfail(self, response, elapsed, codes):
        self.assertEqual(dns.rcode.SERVFAIL, response.rcode(), response)
        self.assertGreaterEqual(response.edns, 0, f"no OPT in the SERVFAIL: {response}")
        ede = harness.ede_codes(response)
        self.assertTrue(set(ede) & set(codes), f"EDE {ede}, expected one of {codes}: {response}")
        self.assertLess(elapsed, DEADLINE_MS / 1000 + 1.0, "SERVFAIL later than the deadline")

    def test_both_blackholed_servfail_ede22_within_deadline(self):
        self.fakes[DI1].mode = self.fakes[DI2].mode = "drop"
        with Daemon(health_config()) as daemon:
            for tcp in (False, True):
                with self.subTest(tcp=tcp):
                    response, elapsed = self.timed_query(f"dead-{tcp}.{DI_ZONE}", tcp)
                    self.assert_servfail(response, elapsed, [harness.EDE_NO_REACHABLE_AUTHORITY])
            # Both marked down: queries are still sent to the servers (traffic probes).
            for name in (IAD, DFW):
                wait_for_server(DI_ZONE, name, is_down, what=f"{name} down")
            response, elapsed = self.timed_query(f"stilldead.{DI_ZONE}", False)
            self.assert_servfail(response, elapsed, [harness.EDE_NO_REACHABLE_AUTHORITY])
            self.assertTrue(self.fakes[DI1].seen(f"stilldead.{DI_ZONE}"),
                            "query not sent to the first server when all are down")
            self.assertTrue(self.fakes[DI2].seen(f"stilldead.{DI_ZONE}"),
                            "query not sent to the second server when all are down")
            self.assertIsNotNone(daemon.wait_for_log(down_line(DFW, harness.FAKES[DI2][0])),
                                 daemon.stderr)
        self.assertEqual(3, daemon.stats["servfail"], daemon.stats)

    def test_deadline_cuts_long_attempts(self):
        # Attempts and hedge far longer than the deadline: the deadline alone ends it.
        deadline_ms = 500
        cfg = health_config(upstream={"attempt_timeout_ms": 3000, "attempt_timeout_min_ms": 3000,
                                      "hedge_delay_min_ms": 2000, "hedge_delay_max_ms": 2000,
                                      "deadline_ms": deadline_ms},
                            health={"interval_ms": 10000})
        with Daemon(cfg):
            self.wait_admin()
            self.fakes[DI1].mode = self.fakes[DI2].mode = "drop"
            for tcp in (False, True):
                with self.subTest(tcp=tcp):
                    response, elapsed = self.timed_query(f"cut-{tcp}.{DI_ZONE}", tcp)
                    self.assertEqual(dns.rcode.SERVFAIL, response.rcode(), response)
                    self.assertIn(harness.EDE_NO_REACHABLE_AUTHORITY, harness.ede_codes(response))
                    self.assertLess(elapsed, deadline_ms / 1000 + 1.0)

    def test_both_not_listening_servfail_ede23_or_22(self):
        self.fakes[DI1].stop()
        self.fakes[DI2].stop()
        with Daemon(health_config()):
            for tcp in (False, True):
                with self.subTest(tcp=tcp):
                    response, elapsed = self.timed_query(f"closed-{tcp}.{DI_ZONE}", tcp)
                    self.assert_servfail(response, elapsed, [harness.EDE_NETWORK_ERROR,
                                                             harness.EDE_NO_REACHABLE_AUTHORITY])
            iad = wait_for_server(DI_ZONE, IAD, is_down, what="IAD down")
            self.assertEqual("network", (iad["last_probe"] or {}).get("result"), iad)
            self.assertGreaterEqual(iad["failures"]["network"], 1, iad)


class HedgeTest(HealthCase):

    @staticmethod
    def hedge_config():
        # Probes every second (their timeout may be bounded by the interval): the
        # 300 ms / 100 ms answers below are slow, not dead.
        return health_config(upstream={"attempt_timeout_ms": 800, "attempt_timeout_min_ms": 500,
                                       "hedge_delay_min_ms": 5, "hedge_delay_max_ms": 50},
                             health={"interval_ms": 1000})

    def check_hedged_first_server_answers(self, tcp_only):
        # The hedge adds the second server, it does not cancel the first one: when the
        # second is silent, the first one's answer (100 ms: after the hedge, well
        # within its attempt timeout) is the client's answer.
        cfg = self.hedge_config()
        cfg["region"]["amer"]["tcp_only"] = tcp_only
        transport = "tcp" if tcp_only else "udp"
        with Daemon(cfg) as daemon:
            self.wait_admin()
            self.fakes[DI1].delay = 0.1
            self.fakes[DI1].mode = "delay"
            self.fakes[DI2].mode = "drop"
            for i in range(5):
                name = f"hedged{i}.{DI_ZONE}"
                self.assert_answered_by([query(name, timeout=3)], DI1_IP)
                self.assertTrue(self.fakes[DI1].seen(name, transport), f"{name}: not sent")
                self.assertTrue(self.fakes[DI2].seen(name, transport),
                                f"{name}: no hedge to the second server")
            iad = server_status(get_status(), DI_ZONE, IAD)
            self.assertEqual(0, iad["failures"]["mismatched"], iad)
            self.assertTrue(is_up(iad), iad)
        self.assertEqual(0, daemon.stats["upstream_mismatched"], daemon.stats)
        self.assertEqual(0, daemon.stats["servfail"], daemon.stats)

    def test_hedged_first_server_still_answers_when_second_is_dead_udp(self):
        self.check_hedged_first_server_answers(tcp_only=False)

    def test_hedged_first_server_still_answers_when_second_is_dead_tcp(self):
        self.check_hedged_first_server_answers(tcp_only=True)

    def test_slow_first_server_hedged_to_second(self):
        count = 10
        # The slow answers (300 ms) come well after the hedge (<= 50 ms) but within
        # the first server's attempt timeout (>= 500 ms), so they arrive as late answers.
        # Sequential asks IAD first until its smoothed RTT is over 100 ms above DFW's
        # (each late answer raises it), then DFW first: `hedged` counts the former.
        with Daemon(self.hedge_config()) as daemon:
            self.wait_admin()
            before = server_status(get_status(), DI_ZONE, DFW)
            self.fakes[DI1].delay = 0.3
            self.fakes[DI1].mode = "delay"
            names = [f"slow{i}.{DI_ZONE}" for i in range(count)]
            for name in names:
                self.assert_answered_by([query(name, timeout=3)], DI2_IP)
            hedged = len([name for name in names if self.fakes[DI1].seen(name)])
            self.assertTrue(self.fakes[DI1].seen(names[0]), "the first server was not asked first")
            dfw = wait_for_server(DI_ZONE, DFW,
                                  lambda s: s["hedges_sent"] - before["hedges_sent"] >= hedged,
                                  what="hedges sent to DFW")
            self.assertGreaterEqual(dfw["hedges_won"] - before["hedges_won"], hedged, dfw)
            iad = wait_for_server(DI_ZONE, IAD, lambda s: s["late_answers"] >= hedged,
                                  what="late answers from IAD")
            self.assertTrue(is_up(iad), "a slow but answering server was marked down")
            metrics = get_metrics()
            self.assertGreaterEqual(metric(metrics, "diresolver_upstream_hedges_total",
                                           zone=DI_ZONE_ABS, server=DFW) or 0, hedged, metrics)
            self.assertGreaterEqual(metric(metrics, "diresolver_upstream_hedges_won_total",
                                           zone=DI_ZONE_ABS, server=DFW) or 0, hedged, metrics)
            self.assertGreaterEqual(metric(metrics, "diresolver_upstream_late_answers_total",
                                           zone=DI_ZONE_ABS, server=IAD) or 0, hedged, metrics)
        self.assertGreaterEqual(daemon.stats.get("upstream_hedges_sent", 0), hedged, daemon.stats)
        self.assertGreaterEqual(daemon.stats.get("upstream_late_answers", 0), hedged, daemon.stats)
        self.assertEqual(0, daemon.stats["servfail"], daemon.stats)


class ProbeTest(HealthCase):

    def check_bad_probe_answers(self, mode, results):
        self.fakes[DI1].mode = mode
        with Daemon(health_config()) as daemon:
            iad = wait_for_server(DI_ZONE, IAD,
                                  lambda s: is_down(s) and s["probes"]["failed"] >= FALL,
                                  what=f"IAD down ({mode} probe answers)")
            result = (iad["last_probe"] or {}).get("result")
            self.assertIn(result, results, iad)
            self.assertEqual(0, iad["probes"]["ok"], iad)
            self.assertTrue(is_up(server_status(get_status(), DI_ZONE, DFW)))
            self.assertIsNotNone(daemon.wait_for_log(down_line(IAD, harness.FAKES[DI1][0])),
                                 daemon.stderr)
            self.assertGreaterEqual(metric(get_metrics(), "diresolver_upstream_probes_total",
                                           zone=DI_ZONE_ABS, server=IAD, result=result) or 0,
                                    FALL)
        # Probes only (the harness config names them, the fake keeps them apart).
        self.assertGreaterEqual(len(self.fakes[DI1].probes), FALL, "no probe reached the server")
        self.assertEqual({harness.probe_name(DI_ZONE) + "."},
                         {q.qname for q in self.fakes[DI1].probes})
        self.assertEqual([], self.fakes[DI1].queries, "client-like traffic without clients")

    def test_malformed_probe_answers_count_as_failures(self):
        self.check_bad_probe_answers("malformed", ("malformed", "mismatched"))

    def test_wrong_question_probe_answers_count_as_failures(self):
        self.check_bad_probe_answers("only_wrong_question", ("mismatched", "timeout"))

    def test_wrong_id_probe_answers_count_as_failures(self):
        self.check_bad_probe_answers("only_wrong_id", ("mismatched", "timeout"))

    def wait_probe(self, fake, qname, qtype):
        return wait_until(lambda: [q for q in self.fakes[fake].seen(qname, "udp")
                                   if q.qtype == qtype],
                          what=f"{fake} probed with {qname} {qtype} over UDP")

    def test_default_probe_is_zone_apex_soa(self):
        cfg = health_config()
        for table in (cfg["region"]["amer"], cfg["forward"][0], cfg["default"]):
            del table["probe_name"]  # the harness names its probes; here: the default
        with Daemon(cfg):
            self.wait_probe(DI1, DI_ZONE_ABS, "SOA")
            self.wait_probe(DI2, DI_ZONE_ABS, "SOA")
            self.wait_probe(FORWARD, FORWARD_ZONE_ABS, "SOA")
            self.wait_probe(DEFAULT, ".", "SOA")
            for name in (IAD, DFW):
                server = wait_for_server(DI_ZONE, name,
                                         lambda s: (s["last_probe"] or {}).get("result") == "ok",
                                         what=f"{name} probe ok")
                self.assertTrue(is_up(server), server)
                self.assertGreaterEqual(server["probes"]["ok"], 1, server)
        for fake in (DI1, DI2, FORWARD, DEFAULT):
            self.assertEqual({"SOA"}, {q.qtype for q in self.fakes[fake].queries})

    def test_configured_probe_name_and_type(self):
        cfg = health_config(health={"probe_type": "A"})
        cfg["region"]["amer"]["probe_name"] = f"probe.{DI_ZONE}"
        cfg["forward"][0]["probe_name"] = f"health.{FORWARD_ZONE}"
        cfg["default"]["probe_name"] = "check.example"
        with Daemon(cfg):
            self.wait_probe(DI1, f"probe.{DI_ZONE}", "A")
            self.wait_probe(DI2, f"probe.{DI_ZONE}", "A")
            self.wait_probe(FORWARD, f"health.{FORWARD_ZONE}", "A")
            self.wait_probe(DEFAULT, "check.example", "A")
            wait_for_server(DI_ZONE, IAD, lambda s: (s["last_probe"] or {}).get("result") == "ok",
                            what="IAD probe ok")
        for fake in (DI1, DI2, FORWARD, DEFAULT):
            self.assertEqual({"A"}, {q.qtype for q in self.fakes[fake].queries}, fake)
            self.assertEqual(1, len({q.qname for q in self.fakes[fake].queries}), fake)
        self.assertFalse(self.fakes[DI1].seen(DI_ZONE_ABS), "apex probed despite probe_name")


class AdminTest(HealthCase):

    def test_status_and_metrics_shape(self):
        with Daemon(health_config()):
            self.wait_admin()
            for i in range(3):
                self.assertIn(harness.answer_ips(query(f"shape{i}.{DI_ZONE}")),
                              ([DI1_IP], [DI2_IP]))
            # IAD is asked first (sequential); its answers count even when a hedge won.
            wait_for_server(DI_ZONE, IAD, lambda s: s["queries"] >= 3 and s["answers"] >= 3,
                            what="IAD queries and answers")
            status = get_status()
            version = harness.run_cli(["--version"]).stdout.split()[-1]
            self.assertEqual(version, status["version"])
            self.assertTrue(0 <= status["uptime_s"] < 60, status["uptime_s"])
            # The harness turns the gate off: open, and no DI server down.
            self.assertEqual("ready", status["readiness"]["state"], status["readiness"])
            cache = status["cache"]
            self.assertEqual(3, cache["misses"], cache)
            self.assertGreaterEqual(cache["entries"], 3, cache)
            self.assertEqual(0.0, cache["hit_ratio"], cache)
            query(f"shape0.{DI_ZONE}")  # now cached
            cache = get_status()["cache"]
            self.assertEqual((1, 0.25), (cache["hits"], cache["hit_ratio"]), cache)
            self.assertIsNone(status["last_reload"])
            zone = harness.zone_status(status, DI_ZONE)
            self.assertEqual("di:amer", zone["route"], zone)
            self.assertEqual("sequential", zone["selection"], zone)
            self.assertEqual([(IAD, "127.0.0.11:53"), (DFW, "127.0.0.12:53")],
                             [(s["name"], s["address"]) for s in zone["servers"]], zone)
            self.assertEqual("forward", harness.zone_status(status, FORWARD_ZONE)["route"])
            self.assertEqual("default", harness.zone_status(status, ".")["route"])
            iad = server_status(status, DI_ZONE, IAD)
            for key in ("state", "srtt_ms", "consecutive_failures", "consecutive_successes",
                        "last_probe", "last_change_age_ms", "queries", "answers", "failures",
                        "hedges_sent", "hedges_won", "late_answers", "probes"):
                self.assertIn(key, iad)
            self.assertEqual(set(NOT_OK_RESULTS), set(iad["failures"]), iad)
            metrics = get_metrics()
            for family in ("diresolver_upstream_up", "diresolver_upstream_queries_total",
                           "diresolver_upstream_hedges_total",
                           "diresolver_upstream_hedges_won_total",
                           "diresolver_upstream_late_answers_total",
                           "diresolver_upstream_rtt_seconds_count",
                           "diresolver_upstream_rtt_seconds_bucket",
                           "diresolver_upstream_probes_total",
                           "diresolver_upstream_tcp_connections_total"):
                self.assertIsNotNone(metric(metrics, family, zone=DI_ZONE_ABS, server=IAD),
                                     f"{family} missing for IAD:\n{metrics}")
            self.assertIn("diresolver_upstream_failures_total", metrics)
            self.assertGreaterEqual(metric(metrics, "diresolver_upstream_queries_total",
                                           zone=DI_ZONE_ABS, server=IAD, transport="udp"), 3)
            self.assertGreaterEqual(metric(metrics, "diresolver_upstream_rtt_seconds_count",
                                           zone=DI_ZONE_ABS, server=IAD), 3)
            self.assertEqual(1, metric(metrics, "diresolver_upstream_up",
                                       zone=FORWARD_ZONE_ABS,
                                       server=harness.DISPLAY_NAMES[FORWARD]), metrics)


if __name__ == "__main__":
    harness.main()
