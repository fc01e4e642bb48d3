#!/usr/bin/python3
"""Everything at once on several workers: the interleavings ThreadSanitizer needs.

The other integration tests mostly do one thing at a time. Here two workers (or
DIRESOLVER_TEST_WORKERS, if more) answer UDP and TCP clients that ask from many
source ports, so the kernel's SO_REUSEPORT hash spreads them over every worker:
hits and stores on the shared cache shards, RTT samples and passive failures on the
shared upstream state. Meanwhile the control loop probes servers that go down and
come back and runs the readiness validation, civetweb's threads serve /metrics,
/status, /readyz and cache flushes (`diresolver flush`, on the control loop), and SIGHUP
reloads swap the config under them.

The checks are loose on purpose (clients get answers, every reload lands, the daemon
exits 0): the point is the interleaving. Under ThreadSanitizer a race report makes
the daemon exit 66, which the harness's Daemon turns into a failure with the report
in its message. Bounded: a fixed number of rounds of each kind, all on loopback.
"""

import random
import signal
import threading
import time

import dns.exception
import dns.rcode

import harness
from harness import DEFAULT, DI1, DI2, DI_ZONE, FORWARD, FORWARD_ZONE, Daemon, query

CLIENTS = 4
# Clients ask until the rounds are over; at most this many queries each.
MAX_QUERIES_PER_CLIENT = 5000
ROUNDS = 6
# Short TTLs: entries expire, are prefetched and served stale during the test.
ANSWER_TTL = 2


def names():
    """The query names: a few dozen per zone, so both hits and misses happen."""
    out = []
    for i in range(24):
        out.append(f"n{i}.{DI_ZONE}")
        out.append(f"n{i}.{FORWARD_ZONE}")
        out.append(f"n{i}.example.org")
    return out


def config(selection):
    cfg = harness.health_config(selection=selection, health={"interval_ms": 100, "fall": 2,
                                                             "rise": 1})
    cfg["server"]["workers"] = max(2, harness.WORKERS)
    cfg["cache"] = {"prefetch_percent": 50, "stale_after_ms": 200, "stale_ttl": 1}
    cfg["readiness"] = {"enabled": True, "interval_ms": 300, "retry_ms": 100,
                        "timeout_ms": 500}
    return cfg


class ConcurrencyTest(harness.IntegrationCase):

    def setUp(self):
        super().setUp()
        for fake in self.fakes.values():
            fake.answer_ttl = ANSWER_TTL

    def client(self, seed, stop, tally):
        rng = random.Random(seed)
        pool = names()
        for _ in range(MAX_QUERIES_PER_CLIENT):
            if stop.is_set():
                break
            name = rng.choice(pool)
            tcp = rng.random() < 0.2
            try:
                response = query(name, tcp=tcp, timeout=5)
                key = dns.rcode.to_text(response.rcode())
            except dns.exception.Timeout:
                key = "timeout"
            except OSError as exc:  # a refused or reset TCP connection
                key = type(exc).__name__
            with tally["lock"]:
                tally[key] = tally.get(key, 0) + 1

    def admin(self, stop, tally, config_path):
        paths = ["/metrics", "/status", "/readyz"]
        flushes = [["--zone", DI_ZONE], ["--name", f"n1.{FORWARD_ZONE}"], []]
        i = 0
        while not stop.is_set():
            try:
                if i % 7 == 6:  # the control socket, on the control loop
                    proc = harness.run_cli(["flush", *flushes[i % 3], "-c", config_path], timeout=30)
                    key = f"flush {proc.returncode}"
                else:
                    key = f"http {harness.admin_request(paths[i % 3])[0]}"
            except OSError as exc:
                key = type(exc).__name__
            with tally["lock"]:
                tally[key] = tally.get(key, 0) + 1
            i += 1
            time.sleep(0.02)

    def test_traffic_scrapes_health_changes_and_reloads_at_once(self):
        tally = {"lock": threading.Lock()}
        admin_tally = {"lock": threading.Lock()}
        stop = threading.Event()
        stop_clients = threading.Event()
        cfg = config("lowest_rtt")
        with Daemon(cfg) as daemon:
            harness.wait_until(lambda: harness.admin_request("/readyz")[0] == 200,
                               timeout=10, what="/readyz 200")
            clients = [threading.Thread(target=self.client, args=(seed, stop_clients, tally), daemon=True)
                       for seed in range(CLIENTS)]
            scraper = threading.Thread(target=self.admin, args=(stop, admin_tally, daemon.config_path),
                                       daemon=True)
            for thread in [*clients, scraper]:
                thread.start()
            selections = ["round_robin", "sequential", "lowest_rtt"]
            modes = ["drop", "servfail", "refused", "delay"]
            for i in range(ROUNDS):
                # A server fails (clients' queries and probes see it), then recovers.
                victim = self.fakes[[DI1, DI2, FORWARD, DEFAULT][i % 4]]
                victim.mode = modes[i % len(modes)]
                victim.delay = 0.3
                time.sleep(0.4)
                if i == ROUNDS // 2:  # both DI servers at once: stale answers, degraded
                    self.fakes[DI1].mode = self.fakes[DI2].mode = "drop"
                    time.sleep(0.6)
                    self.fakes[DI1].mode = self.fakes[DI2].mode = "answer"
                victim.mode = "answer"
                # A reload with another selection policy, while all of that goes on.
                reloaded = config(selections[i % len(selections)])
                reloaded["control"] = cfg["control"]  # where the daemon's socket is
                harness.write_config(daemon.config_path.rsplit("/", 1)[0], reloaded)
                daemon.proc.send_signal(signal.SIGHUP)
                harness.wait_until(lambda: daemon.stderr.count("info: reloaded ") > i,
                                   timeout=10, what=f"reload {i + 1} logged")
                time.sleep(0.2)
            stop_clients.set()
            for thread in clients:
                thread.join(30)
            stop.set()
            scraper.join(10)
            self.assertFalse(any(t.is_alive() for t in [*clients, scraper]),
                             "client or scraper threads still running")
            self.assertTrue(daemon.alive(), daemon.stderr)
            reloads = harness.metric(harness.get_metrics(), "diresolver_config_reloads_total",
                                     result="success")
            self.assertEqual(ROUNDS, reloads, daemon.stderr)

        del tally["lock"], admin_tally["lock"]
        total = sum(tally.values())
        # Every query is answered (SERVFAIL at worst, within deadline_ms), except a
        # rare timeout on a loaded machine.
        self.assertGreaterEqual(tally.get("NOERROR", 0), total // 2, tally)
        self.assertLessEqual(tally.get("timeout", 0), total // 50, tally)
        self.assertGreater(admin_tally.get("http 200", 0), 0, admin_tally)
        self.assertGreater(admin_tally.get("flush 0", 0), 0, admin_tally)
        self.assertEqual([], [k for k in admin_tally if k.startswith("flush") and k != "flush 0"], admin_tally)
        print(f"clients: {tally}; admin: {admin_tally}; daemon stats: {daemon.stats}")


if __name__ == "__main__":
    harness.main()
