#!/usr/bin/python3
"""Integration tests: the daemon's readiness gate (issue 5).

Owns: sd_notify to a NOTIFY_SOCKET the test binds (a unix datagram socket in a temp
dir): no READY=1 until the first validation of every region passes, STATUS= lines with
the diagnosis meanwhile, READY=1 (with a STATUS=) once it passes and never withdrawn;
WATCHDOG=1 while WATCHDOG_USEC is set (systemd's rule: only if WATCHDOG_PID is unset or
the daemon's). /readyz (503 with the reasons, then 200 `ready`, or 200 `degraded` when
validation is lost after having been ready), /healthz (200 `ok` throughout). DI queries
get SERVFAIL with EDE 14 (Not Ready) and are not forwarded until the gate opens; other
names are forwarded meanwhile. Re-validation every interval_ms: losing it after ready
keeps DI queries flowing, logs `warn: readiness: degraded (...)`, runs on_degraded,
and recovery logs `info: readiness: ready (...)` and runs on_ready. Metrics:
diresolver_ready, diresolver_degraded, diresolver_validation_region_ok{region},
diresolver_validation_last_success_timestamp_seconds,
diresolver_validation_failures_total{reason}.

Validation fails deterministically through the fakes: `drop` (everything, health probes
and client queries included) or `apex_mode = "drop"` (only the DI apex queries, which
are the validation's `@ SOA`; client queries and the harness's named health probes are
still answered). Every config: [readiness] timeout_ms 1000 (the Python fakes can take a
few hundred ms on a loaded CI box; a spurious timeout must not flip the state), retry_ms
300.
"""

import os
import re
import socket
import tempfile
import threading
import time

import dns.rcode

import harness
from harness import (DEFAULT, DI1, DI2, DI_ZONE, FAKES, FORWARD, FORWARD_ZONE, Daemon,
                     admin_request, answer_ips, ede_codes, get_metrics, health_config,
                     metric, query, wait_until)

EDE_NOT_READY = 14
EDE_STALE_ANSWER = 3
DI_IPS = {FAKES[DI1][1], FAKES[DI2][1]}
QUIET = 1.5  # seconds to watch for something that must not happen


class NotifySocket:
    """A unix datagram socket standing in for systemd's NOTIFY_SOCKET: collects every
    datagram as (monotonic time, {KEY: VALUE}, text)."""

    def __init__(self):
        self._dir = tempfile.TemporaryDirectory(prefix="diresolver-notify-")
        self.path = os.path.join(self._dir.name, "notify")
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(self.path)
        self._sock.settimeout(0.05)
        self._lock = threading.Lock()
        self._messages = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        while not self._stop.is_set():
            try:
                data = self._sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            text = data.decode("utf-8", "replace")
            fields = {}
            for line in text.splitlines():
                key, _, value = line.partition("=")
                fields.setdefault(key, value)
            with self._lock:
                self._messages.append((time.monotonic(), fields, text))

    def close(self):
        self._stop.set()
        self._thread.join(timeout=2)
        self._sock.close()
        self._dir.cleanup()

    @property
    def messages(self):
        with self._lock:
            return list(self._messages)

    def with_key(self, key, value=None, since=0.0):
        """Messages (time, fields, text) setting key (to value, if given) after since."""
        return [m for m in self.messages if m[0] >= since and key in m[1]
                and (value is None or m[1][key] == value)]

    def wait_for(self, key, value=None, since=0.0, timeout=5.0):
        return wait_until(lambda: self.with_key(key, value, since), timeout=timeout,
                          what=f"{key}={value or '*'} on NOTIFY_SOCKET "
                               f"(got: {[m[2] for m in self.messages][-10:]})")

    def texts(self):
        return [m[2] for m in self.messages]


def readiness_config(**readiness):
    """health_config with the gate on (the harness turns it off for the tests of other
    features) and fast: timeout 1 s, retry 300 ms, interval 60 s."""
    cfg = health_config()
    cfg["readiness"] = {"enabled": True, "timeout_ms": 1000, "retry_ms": 300,
                        "interval_ms": 60000}
    cfg["readiness"].update(readiness)
    return cfg


def readyz():
    return admin_request("/readyz")


def di_name(label):
    return f"{label}.{DI_ZONE}"


class ReadinessCase(harness.IntegrationCase):

    def setUp(self):
        super().setUp()
        self.notify = NotifySocket()
        self.addCleanup(self.notify.close)

    def daemon(self, cfg, **env):
        return Daemon(cfg, env={"NOTIFY_SOCKET": self.notify.path, "WATCHDOG_USEC": None,
                                "WATCHDOG_PID": None, **env})

    def set_di_modes(self, mode=None, apex_mode="unchanged"):
        for fake in (DI1, DI2):
            if mode is not None:
                self.fakes[fake].mode = mode
            if apex_mode != "unchanged":
                self.fakes[fake].apex_mode = apex_mode

    def metrics(self):
        text = get_metrics()
        return {
            "ready": metric(text, "diresolver_ready"),
            "degraded": metric(text, "diresolver_degraded"),
            "region_ok": metric(text, "diresolver_validation_region_ok", region="amer"),
            "last_success": metric(text,
                                   "diresolver_validation_last_success_timestamp_seconds"),
            "timeouts": metric(text, "diresolver_validation_failures_total",
                               reason="timeout"),
            "text": text,
        }

    def wait_metrics(self, predicate, what, timeout=5.0):
        """Poll /metrics until predicate(self.metrics() dict) holds; returns the dict."""
        def check():
            m = self.metrics()
            return m if predicate(m) else None
        return wait_until(check, timeout=timeout, what=what)

    def assert_not_ready_answer(self, name, tcp=False, edns=0):
        begin = time.monotonic()
        response = query(name, tcp=tcp, edns=edns, timeout=3.0)
        elapsed = time.monotonic() - begin
        self.assertEqual(dns.rcode.SERVFAIL, response.rcode(), response)
        if edns >= 0:
            self.assertIn(EDE_NOT_READY, ede_codes(response), response)
        else:
            self.assertIsNone(response.opt, "no OPT for a client without EDNS")
        self.assertLess(elapsed, 1.0, "the gate answers at once, without asking upstream")
        return response

    def assert_di_answered(self, name, tcp=False):
        response = query(name, tcp=tcp, edns=0, timeout=3.0)
        self.assertEqual(dns.rcode.NOERROR, response.rcode(), response)
        self.assertTrue(set(answer_ips(response)) & DI_IPS, response)
        self.assertNotIn(EDE_NOT_READY, ede_codes(response), response)
        return response

    def wait_readyz(self, status, prefix, timeout=5.0):
        def check():
            got = readyz()
            return got if got[0] == status and got[1].startswith(prefix) else None
        try:
            return wait_until(check, timeout=timeout, what=f"/readyz {status} {prefix}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; last /readyz: {readyz()!r}") from None

    def assert_no_withdrawal(self):
        for text in self.notify.texts():
            self.assertNotRegex(text, r"(?m)^READY=0$", "READY withdrawn")
            self.assertNotRegex(text, r"(?m)^STOPPING=1$", "STOPPING while running")


class GateTest(ReadinessCase):

    def test_gate_closed_until_validation_passes_then_opens(self):
        self.set_di_modes("drop")
        begin_wall = time.time()
        with self.daemon(readiness_config()) as daemon:
            # The region's series exists (at 0) before its first round has ended.
            first = self.metrics()
            self.assertEqual((0, None), (first["region_ok"], first["timeouts"] or None), first["text"])
            time.sleep(QUIET)
            # Not ready: no READY=1, but STATUS= with a diagnosis.
            self.assertEqual([], self.notify.with_key("READY", "1"), self.notify.texts())
            status = self.notify.wait_for("STATUS")
            self.assertRegex(status[-1][1]["STATUS"], r"(?i)timeout|no answer",
                             "STATUS carries the diagnosis")
            code, body = readyz()
            self.assertEqual(503, code, body)
            self.assertRegex(body, r"amer", "/readyz names the region")
            self.assertRegex(body, r"(?i)timeout|no answer", "/readyz gives the reason")
            code, body = admin_request("/healthz")
            self.assertEqual(200, code, body)
            self.assertTrue(body.startswith("ok"), body)

            # DI names: SERVFAIL + EDE 14 at once, never forwarded. Others: forwarded.
            self.assert_not_ready_answer(di_name("gated"))
            self.assert_not_ready_answer(di_name("gated-tcp"), tcp=True)
            self.assert_not_ready_answer(di_name("gated-noedns"), edns=-1)
            for fake in (DI1, DI2):
                for label in ("gated", "gated-tcp", "gated-noedns"):
                    self.assertEqual([], self.fakes[fake].seen(di_name(label)),
                                     f"{label} forwarded to {fake} before ready")
            self.assertEqual([FAKES[DEFAULT][1]], answer_ips(query("www.example.com", edns=0)))
            self.assertEqual([FAKES[FORWARD][1]],
                             answer_ips(query(f"host.{FORWARD_ZONE}", edns=0)))

            before = self.wait_metrics(lambda m: m["timeouts"], "validation timeouts counted")
            self.assertEqual(0, before["ready"], before["text"])
            self.assertEqual(0, before["degraded"], before["text"])
            self.assertEqual(0, before["region_ok"], before["text"])
            self.assertGreater(before["timeouts"], 0, before["text"])
            self.assertNotRegex(daemon.stderr, r"readiness: ready", daemon.stderr)

            # The DI pair answers: READY=1 with a STATUS, /readyz 200 ready, DI flows.
            opened = time.monotonic()
            self.set_di_modes("answer")
            ready = self.notify.wait_for("READY", "1", timeout=5.0)
            self.assertLess(ready[0][0] - opened, 3.0, "READY=1 within a few retry_ms")
            self.assertTrue(self.notify.with_key("STATUS", since=ready[0][0] - 0.001),
                            f"READY=1 comes with a STATUS=: {self.notify.texts()}")
            self.wait_readyz(200, "ready")
            self.assertTrue(daemon.wait_for_log(r"info: readiness: ready \(.*\)"),
                            daemon.stderr)
            self.assert_di_answered(di_name("gated"))  # the SERVFAIL was not cached
            self.assert_di_answered(di_name("open-tcp"), tcp=True)
            code, body = admin_request("/healthz")
            self.assertEqual((200, True), (code, body.startswith("ok")), body)

            after = self.metrics()
            self.assertEqual(1, after["ready"], after["text"])
            self.assertEqual(0, after["degraded"], after["text"])
            self.assertEqual(1, after["region_ok"], after["text"])
            self.assertIsNotNone(after["last_success"], after["text"])
            self.assertGreaterEqual(after["last_success"], begin_wall - 1, after["text"])
            self.assertLessEqual(after["last_success"], time.time() + 1, after["text"])
            self.assertGreaterEqual(after["timeouts"], before["timeouts"], after["text"])
            time.sleep(0.5)
            self.assertEqual(1, len(self.notify.with_key("READY", "1")), self.notify.texts())
        self.assert_no_withdrawal()

    def test_one_server_of_the_pair_is_enough_and_degraded_as_check_says(self):
        self.fakes[DI1].mode = "drop"
        with self.daemon(readiness_config()) as daemon:
            ready = self.notify.wait_for("READY", "1", timeout=5.0)
            self.assertTrue(ready[-1][1].get("STATUS", "").startswith("degraded: "), ready[-1][2])
            code, body = self.wait_readyz(200, "degraded")
            self.assertIn("IAD", body)
            self.assert_di_answered(di_name("one-of-two"))
            m = self.metrics()
            self.assertEqual((1, 1, 1), (m["ready"], m["region_ok"], m["degraded"]), m["text"])
            report = harness.run_cli(["check", "-c", daemon.config_path])
            self.assertIn("degraded", report.stdout)

    def test_a_di_server_marked_down_degrades_at_once_not_at_the_next_round(self):
        with self.daemon(readiness_config()):  # re-validation every 60 s: not within this test
            self.wait_readyz(200, "ready")
            self.assertEqual(0, self.metrics()["degraded"])
            self.fakes[DI1].mode = "drop"  # probes every 200 ms, fall 3
            code, body = self.wait_readyz(200, "degraded", timeout=5.0)
            self.assertIn("IAD 127.0.0.11:53 (amer) marked down", body)
            self.assertEqual(1, self.metrics()["degraded"])
            self.fakes[DI1].mode = "answer"
            self.wait_readyz(200, "ready", timeout=5.0)
            self.assertEqual(0, self.metrics()["degraded"])

    def test_a_tcp_only_region_is_validated_over_tcp_alone(self):
        self.set_di_modes("drop_udp")
        cfg = readiness_config()
        cfg["region"]["amer"]["tcp_only"] = True
        with self.daemon(cfg):
            self.notify.wait_for("READY", "1", timeout=5.0)
            self.wait_readyz(200, "ready")
            self.assert_di_answered(di_name("tcp-only"))
            for fake in (DI1, DI2):
                self.assertEqual([], [q for q in self.fakes[fake].queries if q.transport == "udp"])

    def test_wrong_region_answers_keep_the_gate_closed(self):
        self.set_di_modes(apex_mode="wrong_region")
        # Rounds 1 s apart once open: the round that opens the gate may have asked one
        # server before the answers were put right (degraded); the next one is ready.
        with self.daemon(readiness_config(interval_ms=1000)):
            time.sleep(QUIET)
            self.assertEqual([], self.notify.with_key("READY", "1"), self.notify.texts())
            code, body = readyz()
            self.assertEqual(503, code, body)
            self.assertRegex(body, r"wrong_region|region", body)
            self.assert_not_ready_answer(di_name("wrong-region"))
            m = self.wait_metrics(lambda m: metric(m["text"],
                                                   "diresolver_validation_failures_total",
                                                   reason="wrong_region"),
                                  "wrong_region validation failures counted")
            self.assertEqual(0, m["ready"], m["text"])
            self.set_di_modes(apex_mode=None)
            self.notify.wait_for("READY", "1", timeout=5.0)
            self.wait_readyz(200, "ready")


class DegradedTest(ReadinessCase):

    def test_lost_validation_after_ready_is_degraded_not_withdrawn(self):
        with tempfile.TemporaryDirectory(prefix="diresolver-hooks-") as tmp:
            hooks = os.path.join(tmp, "hooks")
            cfg = readiness_config(interval_ms=500, on_ready=f"echo ready >> {hooks}",
                                   on_degraded=f"echo degraded >> {hooks}")
            with self.daemon(cfg) as daemon:
                self.notify.wait_for("READY", "1", timeout=5.0)
                self.wait_readyz(200, "ready")
                self.assert_di_answered(di_name("before"))
                m = self.metrics()
                self.assertEqual((1, 0, 1), (m["ready"], m["degraded"], m["region_ok"]),
                                 m["text"])

                # Only the apex (validation) queries go unanswered: client queries and
                # health probes still are, so the pair is up and DI names keep flowing.
                self.set_di_modes(apex_mode="drop")
                code, body = self.wait_readyz(200, "degraded", timeout=5.0)
                self.assertRegex(body, r"(?i)timeout|no answer", "/readyz gives the reason")
                self.assertTrue(daemon.wait_for_log(r"warn: readiness: degraded \(.*\)"),
                                daemon.stderr)
                m = self.wait_metrics(lambda m: m["degraded"] == 1, "diresolver_degraded 1")
                self.assertEqual(1, m["ready"], "ready stays 1 while degraded")
                self.assertEqual(0, m["region_ok"], m["text"])
                self.assertGreater(m["timeouts"], 0, m["text"])
                for i in range(5):
                    self.assert_di_answered(di_name(f"degraded{i}"))
                self.assert_di_answered(di_name("degraded-tcp"), tcp=True)
                wait_until(lambda: "degraded" in _read(hooks), what="on_degraded ran")
                self.assertEqual(1, len(self.notify.with_key("READY", "1")),
                                 self.notify.texts())
                self.assert_no_withdrawal()
                code, body = admin_request("/healthz")
                self.assertEqual(200, code, body)

                # Recovery: ready again, on_ready runs again.
                self.set_di_modes(apex_mode=None)
                self.wait_readyz(200, "ready", timeout=5.0)
                m = self.wait_metrics(lambda m: m["degraded"] == 0, "diresolver_degraded 0")
                self.assertEqual((1, 1), (m["ready"], m["region_ok"]), m["text"])
                wait_until(lambda: _read(hooks).split() == ["ready", "degraded", "ready"],
                           what=f"hooks ran ready, degraded, ready (got {_read(hooks)!r})")
                ready_lines = re.findall(r"info: readiness: ready \(", daemon.stderr)
                self.assertGreaterEqual(len(ready_lines), 2, daemon.stderr)
            self.assert_no_withdrawal()

    def test_degraded_with_the_pair_down_serves_stale(self):
        # Everything dropped after ready: a cached DI answer is served stale (EDE 3).
        cfg = readiness_config(interval_ms=500)
        cfg["cache"] = {"stale_after_ms": 200}
        with self.daemon(cfg):
            self.notify.wait_for("READY", "1", timeout=5.0)
            for fake in (DI1, DI2):
                self.fakes[fake].answer_ttl = 1
            self.assert_di_answered(di_name("stale"))
            time.sleep(1.2)  # expired
            self.set_di_modes("drop")
            self.wait_readyz(200, "degraded", timeout=5.0)
            response = query(di_name("stale"), edns=0, timeout=3.0)
            self.assertEqual(dns.rcode.NOERROR, response.rcode(), response)
            self.assertTrue(set(answer_ips(response)) & DI_IPS, response)
            self.assertIn(EDE_STALE_ANSWER, ede_codes(response), response)
            self.assertNotIn(EDE_NOT_READY, ede_codes(response), response)
            m = self.metrics()
            self.assertEqual((1, 1), (m["ready"], m["degraded"]), m["text"])
        self.assert_no_withdrawal()


class WatchdogTest(ReadinessCase):

    def watchdogs(self, since):
        return self.notify.with_key("WATCHDOG", "1", since)

    def test_watchdog_pings_when_watchdog_usec_is_set(self):
        with self.daemon(readiness_config(), WATCHDOG_USEC=400000):
            self.notify.wait_for("READY", "1", timeout=5.0)
            since = time.monotonic()
            wait_until(lambda: len(self.watchdogs(since)) >= 2, timeout=2.0,
                       what=f"two WATCHDOG=1 within 2 s (got {self.notify.texts()[-10:]})")

    def test_watchdog_pings_while_not_ready(self):
        self.set_di_modes("drop")
        with self.daemon(readiness_config(), WATCHDOG_USEC=400000):
            since = time.monotonic()
            wait_until(lambda: len(self.watchdogs(since)) >= 2, timeout=2.0,
                       what=f"two WATCHDOG=1 within 2 s (got {self.notify.texts()[-10:]})")
            self.assertEqual([], self.notify.with_key("READY", "1"))

    def test_no_watchdog_without_watchdog_usec(self):
        with self.daemon(readiness_config()):
            self.notify.wait_for("READY", "1", timeout=5.0)
            time.sleep(QUIET)
            self.assertEqual([], self.watchdogs(0.0), self.notify.texts())

    def test_no_watchdog_for_another_pid(self):
        # systemd's rule (sd_watchdog_enabled): WATCHDOG_PID names another process.
        with self.daemon(readiness_config(), WATCHDOG_USEC=400000, WATCHDOG_PID=os.getpid()):
            self.notify.wait_for("READY", "1", timeout=5.0)
            time.sleep(QUIET)
            self.assertEqual([], self.watchdogs(0.0), self.notify.texts())


def _read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return ""


if __name__ == "__main__":
    harness.main()
