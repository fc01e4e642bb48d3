#!/usr/bin/python3
"""Integration tests: the packet cache (issue 4).

Owns: a repeated query answered from the cache (the upstream does not see it) with the
same answer, and the key (qtype, DO, CD, RD, EDNS or not) separating entries; the
client's qname case and ID in a cached answer; TTL aging; the lifetime clamped to
[min_ttl, max_ttl]; negative caching for min(SOA TTL, SOA MINIMUM) capped by
max_negative_ttl, and nothing cached without an SOA; SERVFAIL / REFUSED / FORMERR not
cached (SERVFAIL is with servfail_ttl); serve-stale (every server down: at once; no answer
within stale_after_ms; every attempt failed; never past stale_max) with TTL stale_ttl and
EDE 3 only for EDNS clients, then replaced by a fresh answer; prefetch (one background
refresh in the last prefetch_percent of the lifetime); a cached answer too big for a
UDP client's size sent as TC=1 and whole over TCP; `diresolver flush` (name, zone,
everything, bad names refused; no flush over HTTP); the cache metrics and stats; `enabled = false`.

How a test knows an answer came from the cache: the fakes record every client query
they receive (health probes are kept apart), so "served from the cache" means the
count of upstream queries for that name did not move. Every config has
`selection = "sequential"` (the first DI server, fake di1, answers), a hedge delay of
200 ms and an attempt floor of 250 ms so a healthy fake is never asked twice for one
client query; the admin listener only where a test reads /status, /metrics or flushes
(its shutdown costs ~2 s). The harness turns the readiness gate off; `running` still
waits until DI names are forwarded, so a gate left on cannot turn a first query into
SERVFAIL.
"""

import contextlib
import json
import time

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

import harness
from harness import (DI1, DI2, DI_ZONE, Daemon, admin_request, ede_codes, get_metrics,
                     health_config, metric, udp_exchange, wait_for_server, wait_until)

DI1_IP = harness.FAKES[DI1][1]
DI2_IP = harness.FAKES[DI2][1]
IAD, DFW = harness.DISPLAY_NAMES[DI1], harness.DISPLAY_NAMES[DI2]
EDE_STALE_ANSWER = 3
AAAA_IP = "2001:db8::11"
QUICK = 0.5  # "at once": far below stale_after_ms (1000) and deadline_ms (1500)


def cache_config(cache=None, upstream=None, health=None, admin=True):
    """health_config with no hedging for a healthy fake and the given [cache] table.
    admin=False turns the admin listener off (the daemon then stops in no time, while
    the HTTP server's shutdown takes ~2 s), for tests that never look at it."""
    upstream_table = {"hedge_delay_min_ms": 200, "hedge_delay_max_ms": 200,
                      "attempt_timeout_min_ms": 250, "attempt_timeout_ms": 300}
    upstream_table.update(upstream or {})
    cfg = health_config(upstream=upstream_table, health=health)
    cfg["cache"] = dict(cache or {})
    if not admin:
        cfg["admin"] = {"listen": ""}
    return cfg


def ask(name, rdtype="A", edns=False, do=False, cd=False, rd=True, tcp=False,
        payload=1232, qid=None, timeout=4.0):
    """Query the daemon; edns: send an OPT (implied by do); returns the response."""
    flags = (dns.flags.RD if rd else 0) | (dns.flags.CD if cd else 0)
    use_edns = 0 if (edns or do) else -1
    msg = dns.message.make_query(name, rdtype, use_edns=use_edns, want_dnssec=do,
                                 payload=payload if use_edns == 0 else None, flags=flags)
    if qid is not None:
        msg.id = qid
    if tcp:
        return dns.query.tcp(msg, harness.DAEMON_ADDR, port=harness.DAEMON_PORT,
                             timeout=timeout)
    return dns.query.udp(msg, harness.DAEMON_ADDR, port=harness.DAEMON_PORT, timeout=timeout,
                         raise_on_truncation=False)


def timed_ask(*args, **kwargs):
    begin = time.monotonic()
    response = ask(*args, **kwargs)
    return response, time.monotonic() - begin


def ttls(response):
    """TTL of every record set in answer, authority and additional (OPT excluded)."""
    return [rrset.ttl for section in (response.answer, response.authority, response.additional)
            for rrset in section if rrset.rdtype != dns.rdatatype.OPT]


def answer_ttl(response):
    if not response.answer:
        raise AssertionError(f"no answer records:\n{response}")
    return response.answer[0].ttl


def cache_metrics():
    """{hits, misses, stale, prefetches, evictions, entries, bytes} from /metrics."""
    text = get_metrics()
    names = {"hits": "diresolver_cache_hits_total", "misses": "diresolver_cache_misses_total",
             "stale": "diresolver_cache_stale_served_total",
             "prefetches": "diresolver_cache_prefetches_total",
             "evictions": "diresolver_cache_evictions_total",
             "entries": "diresolver_cache_entries", "bytes": "diresolver_cache_bytes"}
    return {key: metric(text, name) for key, name in names.items()}


EDE_NOT_READY = 14
READY_NAME = f"readiness-wait.{DI_ZONE}"


def wait_ready(timeout=10.0):
    """Wait until DI names are forwarded: the readiness gate (issue 5) answers them
    SERVFAIL + EDE 14 until the DI servers validate. Asks READY_NAME TXT, which the fakes
    answer NODATA without SOA (never cached; counted as one cache miss per try)."""
    def forwarded():
        response = ask(READY_NAME, rdtype="TXT", edns=True)
        return not (response.rcode() == dns.rcode.SERVFAIL
                    and EDE_NOT_READY in ede_codes(response))
    wait_until(forwarded, timeout=timeout, interval=0.05, what="DI names forwarded (ready)")


@contextlib.contextmanager
def running(config):
    """Daemon(config), once ready to forward DI names."""
    with Daemon(config) as daemon:
        wait_ready()
        yield daemon


def flush(daemon, *options):
    """`diresolver flush OPTIONS` against daemon: (exit status, stdout + stderr)."""
    proc = harness.run_cli(["flush", *options, "-c", daemon.config_path])
    return proc.returncode, proc.stdout + proc.stderr


class CacheCase(harness.IntegrationCase):

    def setUp(self):
        super().setUp()
        for name in (DI1, DI2):
            self.fakes[name].aaaa_ip = AAAA_IP

    def upstream_count(self, name, qtype=None):
        """Client queries for name (any case) the DI fakes received, optionally one type."""
        return sum(1 for fake in (DI1, DI2) for q in self.fakes[fake].seen(name)
                   if qtype is None or q.qtype == qtype)

    def settled_count(self, name, qtype=None):
        """upstream_count once packets already sent have surely been recorded."""
        time.sleep(0.05)
        return self.upstream_count(name, qtype)

    def set_fakes(self, **attributes):
        for fake in (DI1, DI2):
            for key, value in attributes.items():
                setattr(self.fakes[fake], key, value)

    def wait_both(self, state, timeout=5.0):
        for name in (IAD, DFW):
            wait_for_server(DI_ZONE, name, lambda s: s["state"] == state, timeout=timeout,
                            what=f"{name} {state}")

    def assert_noerror(self, response, ips=(DI1_IP,)):
        self.assertEqual(dns.rcode.NOERROR, response.rcode(),
                         f"rcode {dns.rcode.to_text(response.rcode())}:\n{response}")
        self.assertEqual(list(ips), harness.answer_ips(response), response)

    def assert_miss(self, name, before, qtype=None, what=""):
        """The upstream saw (at least) one more query for name than `before`."""
        after = self.settled_count(name, qtype)
        self.assertGreater(after, before, f"{what}: the upstream did not see the query "
                                          f"for {name} (count stayed {before})")
        return after

    def assert_hit(self, name, before, qtype=None, what=""):
        after = self.settled_count(name, qtype)
        self.assertEqual(before, after, f"{what}: the upstream saw the query for {name} "
                                        f"again ({before} -> {after}): not served from cache")
        return after


# ---- key, case, ID, TTL aging -----------------------------------------------------------

class KeyTest(CacheCase):

    def test_repeat_is_served_from_cache_and_variants_are_separate_entries(self):
        name = f"key.{DI_ZONE}"
        with running(cache_config(admin=False)):
            first = ask(name)
            self.assert_noerror(first)
            self.assertEqual(-1, first.edns, "no-EDNS client got an OPT")
            count = self.assert_miss(name, 0, what="first query")
            again = ask(name)
            self.assert_noerror(again)
            self.assertEqual(first.answer, again.answer)
            self.assertEqual(first.flags, again.flags)
            self.assertEqual(-1, again.edns, "cached answer to a no-EDNS client has an OPT")
            count = self.assert_hit(name, count, what="identical second query")

            # EDNS is hop by hop: an EDNS client shares the entry and gets diresolver's own OPT.
            edns = ask(name, edns=True)
            self.assertEqual(first.answer, edns.answer)
            self.assertEqual(0, edns.edns, f"EDNS client without an OPT:\n{edns}")
            count = self.assert_hit(name, count, what="an EDNS client's query")

            variants = [("AAAA", dict(rdtype="AAAA")),
                        ("EDNS+DO", dict(do=True)),
                        ("EDNS+CD", dict(edns=True, cd=True))]
            for label, kwargs in variants:
                with self.subTest(variant=label):
                    response = ask(name, **kwargs)
                    self.assertEqual(dns.rcode.NOERROR, response.rcode(), response)
                    count = self.assert_miss(name, count, what=f"first {label} query")
                    repeat = ask(name, **kwargs)
                    self.assertEqual(response.answer, repeat.answer)
                    count = self.assert_hit(name, count, what=f"second {label} query")
                    if kwargs.get("edns") or kwargs.get("do"):
                        self.assertGreaterEqual(repeat.edns, 0, f"{label}: no OPT:\n{repeat}")
                    if kwargs.get("cd"):
                        self.assertTrue(repeat.flags & dns.flags.CD, repeat)

            # RD=0 is never forwarded nor answered from the cache (that would tell any
            # client what others asked): REFUSED, as Unbound's `access-control: allow`.
            norec = ask(name, rd=False)
            self.assertEqual(dns.rcode.REFUSED, norec.rcode(), norec)
            self.assertFalse(norec.flags & dns.flags.RD, norec)
            self.assertTrue(norec.flags & dns.flags.RA, norec)
            self.assert_hit(name, count, what="an RD=0 query")
            aaaa = ask(name, rdtype="AAAA")
            self.assertEqual([AAAA_IP], [rd.address for rrset in aaaa.answer for rd in rrset])
            # The original entry is still there after all the variants.
            self.assert_noerror(ask(name))
            self.assert_hit(name, count, what="the plain query at the end")

    def test_client_qname_case_and_id_are_preserved(self):
        lower = f"www.case.{DI_ZONE}"
        mixed = "WwW.cAsE." + "".join(c.upper() if i % 2 else c for i, c in enumerate(DI_ZONE))
        with running(cache_config(admin=False)):
            self.assert_noerror(ask(lower))
            count = self.assert_miss(lower, 0)
            for transport in ("udp", "tcp"):
                with self.subTest(transport=transport):
                    msg = dns.message.make_query(mixed, "A", use_edns=-1)
                    msg.id = 0xBEEF if transport == "udp" else 0x0102
                    wire = msg.to_wire()
                    if transport == "udp":
                        reply = udp_exchange(wire, timeout=2.0)
                    else:
                        with harness.tcp_connect() as sock:
                            sock.sendall(harness.frame(wire))
                            reply = harness.read_frame(sock)
                    self.assertIsNotNone(reply, "no answer")
                    header = harness.parse_header(reply)
                    self.assertEqual(msg.id, header.id)
                    self.assertEqual(1, header.qr)
                    question_len = len(wire) - 12
                    self.assertEqual(wire[12:12 + question_len], reply[12:12 + question_len],
                                     "the question of the cached answer is not the client's "
                                     "bytes (qname case lost?)")
                    response = dns.message.from_wire(reply)
                    self.assertEqual(mixed + ".", response.question[0].name.to_text())
                    self.assert_noerror(response)
                    count = self.assert_hit(lower, count, what=f"mixed-case query over {transport}")

    def test_ttl_ages_while_cached(self):
        name = f"aging.{DI_ZONE}"
        self.set_fakes(answer_ttl=10)
        with running(cache_config(admin=False)):
            first = ask(name)
            stored = time.monotonic()
            self.assert_noerror(first)
            self.assertEqual(10, answer_ttl(first))
            count = self.assert_miss(name, 0)
            time.sleep(max(0.0, stored + 2.2 - time.monotonic()))
            aged = ask(name)
            self.assert_noerror(aged)
            self.assertIn(answer_ttl(aged), (7, 8), f"TTL not aged by ~2 s:\n{aged}")
            aged_tcp = ask(name, tcp=True)
            self.assertIn(answer_ttl(aged_tcp), (7, 8), f"TCP: TTL not aged:\n{aged_tcp}")
            self.assert_hit(name, count)

    def test_lifetime_clamped_to_min_ttl_and_max_ttl(self):
        short, long = f"short.{DI_ZONE}", f"long.{DI_ZONE}"
        with running(cache_config(admin=False, cache={"min_ttl": 2, "max_ttl": 2})):
            self.set_fakes(answer_ttl=1)
            self.assert_noerror(ask(short))
            stored = time.monotonic()
            self.set_fakes(answer_ttl=300)
            self.assert_noerror(ask(long))
            counts = {name: self.assert_miss(name, 0) for name in (short, long)}
            time.sleep(max(0.0, stored + 1.4 - time.monotonic()))
            for name in (short, long):
                response = ask(name)
                self.assert_noerror(response)
                self.assertLessEqual(answer_ttl(response), 300)
                self.assert_hit(name, counts[name], what=f"{name} at 1.4 s (lifetime 2 s)")
            time.sleep(max(0.0, stored + 2.6 - time.monotonic()))
            for name in (short, long):
                self.assert_noerror(ask(name))
                self.assert_miss(name, counts[name], what=f"{name} at 2.6 s (lifetime 2 s)")


# ---- negative answers, failures ----------------------------------------------------------

class NegativeTest(CacheCase):

    def ask_with_mode(self, name, mode, rdtype="A", **attributes):
        self.set_fakes(mode=mode, **attributes)
        return ask(name, rdtype=rdtype)

    def test_nxdomain_and_nodata_cached_for_min_of_soa_ttl_and_minimum(self):
        # (name, mode, rcode, soa_ttl, soa_minimum): each should live min(TTL, MINIMUM) = 2 s.
        cases = [(f"nx.{DI_ZONE}", "nxdomain", dns.rcode.NXDOMAIN, 3600, 2),
                 (f"nodata.{DI_ZONE}", "nodata", dns.rcode.NOERROR, 3600, 2),
                 (f"nxttl.{DI_ZONE}", "nxdomain", dns.rcode.NXDOMAIN, 2, 3600)]
        with running(cache_config(admin=False)):
            stored = time.monotonic()
            counts = {}
            for name, mode, rcode, soa_ttl, minimum in cases:
                response = self.ask_with_mode(name, mode, soa_ttl=soa_ttl, soa_minimum=minimum)
                self.assertEqual(rcode, response.rcode(), response)
                self.assertFalse(response.answer, response)
                self.assertEqual([dns.rdatatype.SOA], [r.rdtype for r in response.authority],
                                 response)
                counts[name] = self.assert_miss(name, 0, what=mode)
            self.set_fakes(mode="answer")  # a query that reaches the upstream now says so
            for name, mode, rcode, soa_ttl, _ in cases:
                with self.subTest(name=name, when="at once"):
                    response = ask(name)
                    self.assertEqual(rcode, response.rcode(), f"{mode}: not the cached answer")
                    self.assertLessEqual(response.authority[0].ttl, soa_ttl, response)
                    self.assert_hit(name, counts[name], what=f"{mode} at once")
            time.sleep(max(0.0, stored + 1.3 - time.monotonic()))
            for name, mode, rcode, _, _ in cases:
                with self.subTest(name=name, when="after 1.3 s"):
                    self.assertEqual(rcode, ask(name).rcode())
                    self.assert_hit(name, counts[name], what=f"{mode} after 1.3 s")
            time.sleep(max(0.0, stored + 3.0 - time.monotonic()))
            for name, mode, _, _, _ in cases:
                with self.subTest(name=name, when="after 3 s"):
                    response = ask(name)
                    self.assert_noerror(response)
                    self.assert_miss(name, counts[name], what=f"{mode} after 3 s (expired)")

    def test_negative_lifetime_capped_by_max_negative_ttl(self):
        name = f"nxcap.{DI_ZONE}"
        with running(cache_config(admin=False, cache={"max_negative_ttl": 1})):
            stored = time.monotonic()
            response = self.ask_with_mode(name, "nxdomain", soa_ttl=3600, soa_minimum=3600)
            self.assertEqual(dns.rcode.NXDOMAIN, response.rcode(), response)
            count = self.assert_miss(name, 0)
            self.assertEqual(dns.rcode.NXDOMAIN, ask(name).rcode())
            count = self.assert_hit(name, count, what="at once")
            time.sleep(max(0.0, stored + 2.0 - time.monotonic()))
            self.set_fakes(mode="answer")
            self.assert_noerror(ask(name))
            self.assert_miss(name, count, what="after 2 s with max_negative_ttl = 1")

    def test_negative_answers_without_soa_not_cached(self):
        with running(cache_config(admin=False)):
            for mode, rcode in (("nxdomain", dns.rcode.NXDOMAIN), ("nodata", dns.rcode.NOERROR)):
                with self.subTest(mode=mode):
                    name = f"nosoa-{mode}.{DI_ZONE}"
                    count = 0
                    for attempt in range(2):
                        response = self.ask_with_mode(name, mode, negative_soa=False)
                        self.assertEqual(rcode, response.rcode(), response)
                        self.assertFalse(response.authority, response)
                        count = self.assert_miss(name, count, what=f"{mode} query {attempt + 1}")

    def test_servfail_refused_formerr_from_every_upstream_not_cached(self):
        # Probes far apart and a high fall: the servers stay "up", nothing else interferes.
        config = cache_config(admin=False, health={"interval_ms": 60000, "fall": 20})
        with running(config):
            for mode, rcode in (("servfail", dns.rcode.SERVFAIL), ("refused", dns.rcode.REFUSED),
                                ("formerr", dns.rcode.FORMERR)):
                with self.subTest(mode=mode):
                    name = f"{mode}.{DI_ZONE}"
                    self.set_fakes(mode=mode)
                    count = 0
                    for attempt in range(2):
                        response = ask(name, timeout=3)
                        self.assertEqual(rcode, response.rcode(), response)
                        count = self.assert_miss(name, count, what=f"{mode} query {attempt + 1}")
                    self.set_fakes(mode="answer")
                    self.assert_noerror(ask(name))
                    self.assert_miss(name, count, what=f"{mode} then answer")

    def test_servfail_cached_with_servfail_ttl(self):
        config = cache_config(admin=False, cache={"servfail_ttl": 5},
                              health={"interval_ms": 60000, "fall": 20})
        name = f"sfttl.{DI_ZONE}"
        with running(config):
            self.set_fakes(mode="servfail")
            self.assertEqual(dns.rcode.SERVFAIL, ask(name, timeout=3).rcode())
            count = self.assert_miss(name, 0)
            self.set_fakes(mode="answer")
            self.assertEqual(dns.rcode.SERVFAIL, ask(name).rcode(),
                             "SERVFAIL not served from the cache with servfail_ttl = 5")
            self.assert_hit(name, count)


# ---- serve-stale -------------------------------------------------------------------------

class StaleTest(CacheCase):

    def assert_stale(self, response, edns, what=""):
        self.assert_noerror(response)
        self.assertEqual([30] * len(ttls(response)), ttls(response),
                         f"{what}: stale answer without TTL stale_ttl=30:\n{response}")
        if edns:
            self.assertIn(EDE_STALE_ANSWER, ede_codes(response), f"{what}: no EDE 3:\n{response}")
        else:
            self.assertEqual(-1, response.edns, f"{what}: OPT to a no-EDNS client:\n{response}")

    def test_stale_served_at_once_when_every_server_is_down(self):
        name = f"stale-down.{DI_ZONE}"
        self.set_fakes(answer_ttl=1)
        with running(cache_config()):
            self.wait_both("up")
            for edns in (True, False):
                self.assertEqual(1, answer_ttl(ask(name, edns=edns)))
            stored = time.monotonic()
            self.set_fakes(mode="drop")
            self.wait_both("down")
            time.sleep(max(0.0, stored + 1.5 - time.monotonic()))  # expired
            before = self.settled_count(name)
            stale_before = cache_metrics()["stale"] or 0

            response, elapsed = timed_ask(name, edns=True, timeout=3)
            self.assert_stale(response, edns=True, what="EDNS client")
            self.assertLess(elapsed, QUICK, "stale answer not served at once with all down")
            response, elapsed = timed_ask(name, timeout=3)
            self.assert_stale(response, edns=False, what="no-EDNS client")
            self.assertLess(elapsed, QUICK, "stale answer not served at once with all down")

            wait_until(lambda: self.upstream_count(name) > before, timeout=2,
                       what="background refresh sent to the upstream")
            self.assertGreaterEqual((cache_metrics()["stale"] or 0) - stale_before, 2)

            # Back: a fresh answer replaces the stale one. TTL first, then the mode:
            # the other order lets a refresh in flight be answered with TTL 1.
            self.set_fakes(answer_ttl=5)
            self.set_fakes(mode="answer")
            self.wait_both("up")

            def fresh():
                response = ask(name, edns=True)
                return (response.rcode() == dns.rcode.NOERROR and response.answer
                        and answer_ttl(response) <= 5
                        and EDE_STALE_ANSWER not in ede_codes(response))
            wait_until(fresh, timeout=5, interval=0.2, what="fresh answer after recovery")
            # and it is cached again. Counted by the cache's hit metric, not at the
            # fakes: background refreshes from the outage may still be landing there.
            hits = cache_metrics()["hits"] or 0
            response = ask(name, edns=True)
            self.assertLessEqual(answer_ttl(response), 5)
            self.assertNotIn(EDE_STALE_ANSWER, ede_codes(response))
            self.assertEqual(hits + 1, cache_metrics()["hits"], "fresh answer not served from cache")

    def test_stale_after_ms_when_upstreams_are_up_but_do_not_answer(self):
        # Attempts wait 1 s each and probes are far apart, so the servers stay "up" and the
        # only thing that can answer the client early is the stale_after_ms timer (300 ms).
        config = cache_config(cache={"stale_after_ms": 300},
                              upstream={"attempt_timeout_min_ms": 1000, "attempt_timeout_ms": 1000,
                                        "deadline_ms": 1500, "hedge_delay_min_ms": 50,
                                        "hedge_delay_max_ms": 50},
                              health={"interval_ms": 60000, "fall": 20})
        dropped, slow = f"stale-drop.{DI_ZONE}", f"stale-slow.{DI_ZONE}"
        self.set_fakes(answer_ttl=1)
        with running(config):
            self.wait_both("up")
            for name in (dropped, slow):
                self.assertEqual(1, answer_ttl(ask(name, edns=True)))
            stored = time.monotonic()
            time.sleep(max(0.0, stored + 1.3 - time.monotonic()))

            with self.subTest(upstreams="dropping"):
                self.set_fakes(mode="drop")
                before = self.settled_count(dropped)
                response, elapsed = timed_ask(dropped, edns=True, timeout=3)
                self.assert_stale(response, edns=True, what="dropping upstreams")
                self.assertGreaterEqual(elapsed, 0.25, "stale answer before stale_after_ms")
                self.assertLess(elapsed, 0.9, "stale answer not at ~stale_after_ms (300 ms)")
                self.assertGreater(self.settled_count(dropped), before,
                                   "the expired entry was not asked upstream first")
                self.wait_both("up", timeout=1)  # not marked down: the timer did it

            with self.subTest(upstreams="slow, answer arrives later"):
                self.set_fakes(mode="delay", delay=0.6, answer_ttl=10)
                response, elapsed = timed_ask(slow, edns=True, timeout=3)
                self.assert_stale(response, edns=True, what="slow upstreams")
                self.assertGreaterEqual(elapsed, 0.25, "stale answer before stale_after_ms")
                self.assertLess(elapsed, 0.9, "stale answer not at ~stale_after_ms (300 ms)")
                count = self.settled_count(slow)
                time.sleep(1.0)  # the delayed answer (0.6 s) has arrived and replaced it
                response, elapsed = timed_ask(slow, edns=True)
                self.assert_noerror(response)
                self.assertIn(answer_ttl(response), (9, 10),
                              f"the late fresh answer did not replace the stale entry:\n{response}")
                self.assertNotIn(EDE_STALE_ANSWER, ede_codes(response))
                self.assertLess(elapsed, QUICK)
                self.assert_hit(slow, count, what="after the late answer")

    def test_no_stale_answer_past_stale_max(self):
        config = cache_config(cache={"stale_max": 1}, health={"interval_ms": 60000, "fall": 20},
                              admin=False)
        old, young = f"stale-old.{DI_ZONE}", f"stale-young.{DI_ZONE}"
        self.set_fakes(answer_ttl=1)
        with running(config):
            self.assertEqual(1, answer_ttl(ask(old, edns=True)))
            stored = time.monotonic()
            time.sleep(1.2)
            self.assertEqual(1, answer_ttl(ask(young, edns=True)))
            time.sleep(max(0.0, stored + 2.6 - time.monotonic()))
            self.set_fakes(mode="servfail")
            # old expired ~1.6 s ago (> stale_max 1 s), young ~0.2 s ago.
            response = ask(old, edns=True, timeout=3)
            self.assertEqual(dns.rcode.SERVFAIL, response.rcode(),
                             f"served stale past stale_max:\n{response}")
            self.assertNotIn(EDE_STALE_ANSWER, ede_codes(response))
            self.assert_stale(ask(young, edns=True, timeout=3), edns=True,
                              what="within stale_max")

    def test_stale_served_when_every_attempt_failed(self):
        config = cache_config(health={"interval_ms": 60000, "fall": 20}, admin=False)
        name = f"stale-servfail.{DI_ZONE}"
        self.set_fakes(answer_ttl=1)
        with running(config):
            self.assertEqual(1, answer_ttl(ask(name, edns=True)))
            stored = time.monotonic()
            time.sleep(max(0.0, stored + 1.3 - time.monotonic()))
            self.set_fakes(mode="servfail")
            before = self.settled_count(name)
            response, elapsed = timed_ask(name, edns=True, timeout=3)
            self.assert_stale(response, edns=True, what="every upstream SERVFAIL")
            self.assertLess(elapsed, QUICK, "not answered when every attempt had failed")
            self.assertGreater(self.settled_count(name), before)


# ---- prefetch, UDP size ----------------------------------------------------------------

class PrefetchTest(CacheCase):

    def test_hit_late_in_lifetime_refreshes_in_background(self):
        # Attempts and hedges wait 1 s, so the delayed refresh (0.5 s) is one query.
        name = f"prefetch.{DI_ZONE}"
        config = cache_config(cache={"prefetch_percent": 50},
                              upstream={"attempt_timeout_min_ms": 1000, "attempt_timeout_ms": 1000,
                                        "hedge_delay_min_ms": 1000, "hedge_delay_max_ms": 1000},
                              health={"interval_ms": 60000})
        self.set_fakes(answer_ttl=4)
        with running(config):
            first = ask(name)
            stored = time.monotonic()
            self.assertEqual(4, answer_ttl(first))
            count = self.assert_miss(name, 0)
            prefetches_before = cache_metrics()["prefetches"] or 0

            # 1 s in: 75 % left, a plain hit.
            time.sleep(max(0.0, stored + 1.0 - time.monotonic()))
            self.assertIn(answer_ttl(ask(name)), (2, 3))
            self.assert_hit(name, count, what="hit with 75 % left")

            # 2.5 s in: 37 % left. The upstream now takes 0.5 s: the hits are answered from
            # the cache at once, and one refresh goes out behind them.
            self.set_fakes(mode="delay", delay=0.5)
            time.sleep(max(0.0, stored + 2.5 - time.monotonic()))
            for _ in range(3):
                response, elapsed = timed_ask(name)
                self.assert_noerror(response)
                self.assertIn(answer_ttl(response), (1, 2), response)
                self.assertLess(elapsed, 0.3, "the client waited for the prefetch")
            wait_until(lambda: self.upstream_count(name) > count, timeout=1.0,
                       what="prefetch query at the upstream")
            time.sleep(0.8)  # the delayed refresh answer has landed
            self.assertEqual(count + 1, self.upstream_count(name),
                             "not exactly one background refresh for three hits")
            count += 1
            self.assertGreaterEqual((cache_metrics()["prefetches"] or 0) - prefetches_before, 1)

            # The refresh replaced the entry: full TTL again, still no upstream query.
            response, elapsed = timed_ask(name)
            self.assertIn(answer_ttl(response), (3, 4), f"entry not refreshed:\n{response}")
            self.assertLess(elapsed, 0.3)
            self.assert_hit(name, count, what="after the prefetch")


class TruncationTest(CacheCase):

    def test_cached_answer_too_big_for_udp_client_is_truncated(self):
        name = f"big.{DI_ZONE}"
        self.set_fakes(answer_count=40)
        with running(cache_config(admin=False)):
            full = ask(name, tcp=True)
            self.assertEqual(40, len(harness.answer_ips(full)))
            self.assertGreater(len(full.to_wire()), 512)
            count = self.assert_miss(name, 0)

            truncated = ask(name)  # UDP, no EDNS: 512 bytes
            self.assertTrue(truncated.flags & dns.flags.TC, truncated)
            self.assertFalse(truncated.answer, truncated)
            self.assertEqual(1, len(truncated.question))
            count = self.assert_hit(name, count, what="no-EDNS UDP")

            again = ask(name, tcp=True)
            self.assertEqual(40, len(harness.answer_ips(again)))
            self.assertFalse(again.flags & dns.flags.TC)
            count = self.assert_hit(name, count, what="TCP after the truncated UDP answer")

            big_edns = ask(name, edns=True, payload=1232)
            self.assertFalse(big_edns.flags & dns.flags.TC, big_edns)
            self.assertEqual(40, len(harness.answer_ips(big_edns)))
            count = self.assert_hit(name, count, what="an EDNS query (one entry, any client)")
            small_edns = ask(name, edns=True, payload=512)
            self.assertTrue(small_edns.flags & dns.flags.TC, small_edns)
            self.assertFalse(small_edns.answer)
            self.assert_hit(name, count, what="EDNS 512 UDP")


# ---- flush, metrics, disabled ---------------------------------------------------------

class FlushTest(CacheCase):

    def test_flush_name_zone_and_everything(self):
        www = f"www.flush.{DI_ZONE}"
        child = f"x.www.flush.{DI_ZONE}"
        sub, below_sub = f"sub.{DI_ZONE}", f"a.sub.{DI_ZONE}"
        other = f"other.{DI_ZONE}"
        www_variants = [dict(), dict(do=True), dict(edns=True, cd=True)]  # three entries: DO and CD key them
        everything = [(www, v) for v in www_variants] + [(n, {}) for n in (child, sub,
                                                                           below_sub, other)]
        with running(cache_config()) as daemon:
            wait_until(lambda: get_metrics(), what="admin endpoint")

            def fill():
                for name, kwargs in everything:
                    self.assertEqual(dns.rcode.NOERROR, ask(name, **kwargs).rcode())
                return {name: self.settled_count(name) for name, _ in everything}

            def reask():
                for name, kwargs in everything:
                    ask(name, **kwargs)
                return {name: self.settled_count(name) for name, _ in everything}

            counts = fill()
            self.assertEqual(7, cache_metrics()["entries"])

            # Mutations are not on the HTTP listener (it may face the network for Prometheus).
            for method in ("POST", "GET"):
                self.assertEqual(404, admin_request("/cache/flush", method=method)[0])
            self.assertEqual(7, cache_metrics()["entries"], "HTTP flushed something")

            for bad in (["--name", "bad..name"], ["--zone", "a..b"], ["--name", "x" * 64 + ".com"],
                        ["--name", www, "--zone", DI_ZONE]):
                with self.subTest(request=bad):
                    status, body = flush(daemon, *bad)
                    self.assertNotEqual(0, status, f"flush {bad}: {body}")
                    self.assertRegex(body, r"error: (name|zone): |--name or --zone, not both")
            self.assertEqual(7, cache_metrics()["entries"], "a rejected flush flushed something")

            status, body = flush(daemon, "--name", www)
            self.assertEqual((0, "flushed 3\n"), (status, body))
            after = reask()
            self.assertEqual(counts[www] + 3, after[www], "www not asked again after flush")
            for name in (child, sub, below_sub, other):
                self.assertEqual(counts[name], after[name], f"{name} flushed by ?name={www}")
            counts = after

            status, body = flush(daemon, "--zone", f"{sub.upper()}.")
            self.assertEqual((0, "flushed 2\n"), (status, body))
            after = reask()
            for name in (sub, below_sub):
                self.assertEqual(counts[name] + 1, after[name], f"{name} not flushed by ?zone")
            for name in (www, child, other):
                self.assertEqual(counts[name], after[name], f"{name} flushed by ?zone={sub}")
            counts = after

            status, body = flush(daemon)
            self.assertEqual((0, "flushed 7\n"), (status, body))
            self.assertEqual(0, cache_metrics()["entries"])
            after = reask()
            for name, _ in everything:
                self.assertGreater(after[name], counts[name], f"{name} not flushed by flush-all")


class MetricsTest(CacheCase):

    def test_hits_misses_entries_and_stats(self):
        name = f"metrics.{DI_ZONE}"
        with running(cache_config()) as daemon:
            # Deltas from here: waiting for readiness asked READY_NAME (a miss, not stored).
            start = wait_until(cache_metrics, what="admin endpoint")
            for key in ("hits", "misses", "stale", "prefetches", "evictions", "entries", "bytes"):
                self.assertIsNotNone(start[key], f"cache metric {key} missing: {start}")
            self.assertEqual((0, 0, 0), (start["hits"], start["entries"], start["bytes"]), start)

            def moved():
                m = cache_metrics()
                return m, (m["hits"] - start["hits"], m["misses"] - start["misses"],
                           m["entries"])

            ask(name)
            m, delta = moved()
            self.assertEqual((0, 1, 1), delta, m)
            self.assertGreater(m["bytes"], 0, m)
            ask(name)
            ask(name, tcp=True)
            m, delta = moved()
            self.assertEqual((2, 1, 1), delta, m)
            ask(name, rdtype="AAAA")
            m, delta = moved()
            self.assertEqual((2, 2, 2), delta, m)
            self.assertEqual(0, m["evictions"], m)
            self.assertEqual(0, m["stale"], m)
            self.assertEqual(0, m["prefetches"], m)
        stats = daemon.stats
        for key, value in (("cache_hits", m["hits"]), ("cache_misses", m["misses"]),
                           ("cache_stale_served", 0), ("cache_prefetches", 0)):
            self.assertEqual(value, stats.get(key), f"stats {key}: {stats}")

    def test_disabled_cache_forwards_every_query(self):
        name = f"nocache.{DI_ZONE}"
        with running(cache_config(cache={"enabled": False})):
            count = 0
            for attempt in range(3):
                self.assert_noerror(ask(name))
                count = self.assert_miss(name, count, what=f"query {attempt + 1}, cache disabled")
            m = cache_metrics()
            self.assertIn(m["hits"], (None, 0), m)
            self.assertIn(m["entries"], (None, 0), m)


if __name__ == "__main__":
    harness.main()
