#!/usr/bin/python3
"""Integration tests: `diresolver status`, `flush` and `reload` against the running daemon.

Owns: the control socket ([control] socket, a Unix socket the daemon makes, mode 0660);
`status` (text and --json: version, uptime, readiness and why, servers, cache, the last
reload), `flush` (everything, --name, --zone; the count), `reload` (synchronous: exit 0
with the file reloaded, exit 1 with the reason when the daemon refuses the file, which
keeps running its config); a daemon that cannot be reached is an error that names the
socket; the unit's ExecReload is `diresolver reload`. `status --for address` and
`/readyz?for=address`: whether this node should hold the site's service address (exit 0
and 200 hold, 1 and 503 give up: not ready; held while only the DI side is down; exit 2
with no daemon); `[server] freebind`: listening on an address before the host holds it.
"""

import json
import os
import stat
import subprocess
import tempfile

import harness
from harness import DI1, DI2, DI_ZONE, Daemon, query


def cli(daemon, *args):
    return harness.run_cli([*args, "-c", daemon.config_path])


class ControlTest(harness.IntegrationCase):
    def test_status_text_and_json(self):
        self.fakes[DI1].mode = "drop"
        with Daemon(harness.health_config()) as daemon:
            query(f"status.{DI_ZONE}")
            harness.wait_until(lambda: harness.server_status(harness.get_status(), DI_ZONE, "IAD")["state"]
                               == "down", what="IAD marked down")
            mode = os.stat(daemon.config["control"]["socket"]).st_mode
            self.assertTrue(stat.S_ISSOCK(mode))
            self.assertEqual(0o660, stat.S_IMODE(mode))
            text = cli(daemon, "status")
            as_json = cli(daemon, "status", "--json")
        self.assertEqual(0, text.returncode, text.stderr)
        self.assertRegex(text.stdout, r"^diresolver \d+\.\d+\.\d+, up \d+ s\n")
        self.assertRegex(text.stdout, r"readiness: degraded \(.*IAD 127\.0\.0\.11:53 \(amer\) marked down\)")
        self.assertRegex(text.stdout, r"  IAD  127\.0\.0\.11:53  down  RTT [\d.]+ ms  changed \d+ s ago")
        self.assertRegex(text.stdout, r"  DFW  127\.0\.0\.12:53  up  ")
        self.assertRegex(text.stdout, r"cache: 1 entries, hit ratio 0(\.0)? %")
        self.assertIn("last reload: none since start", text.stdout)
        status = json.loads(as_json.stdout)
        self.assertEqual("degraded", status["readiness"]["state"])
        self.assertEqual(1, status["cache"]["entries"])

    def test_flush_everything_a_name_or_a_zone(self):
        with Daemon(harness.health_config()) as daemon:
            for label in ("a", "b", "c.sub", "d.sub"):
                query(f"{label}.{DI_ZONE}")
            name = cli(daemon, "flush", "--name", f"a.{DI_ZONE}")
            zone = cli(daemon, "flush", "--zone", f"sub.{DI_ZONE}")
            bad = cli(daemon, "flush", "--name", "a..b")
            rest = cli(daemon, "flush")
        self.assertEqual((0, "flushed 1\n"), (name.returncode, name.stdout), name.stderr)
        self.assertEqual((0, "flushed 2\n"), (zone.returncode, zone.stdout), zone.stderr)
        self.assertEqual(1, bad.returncode)
        self.assertTrue(bad.stderr.startswith("error: name: "), bad.stderr)
        self.assertEqual((0, "flushed 1\n"), (rest.returncode, rest.stdout), rest.stderr)

    def test_reload_waits_for_the_outcome(self):
        config = harness.health_config()
        with Daemon(config) as daemon:
            config["upstream"]["hedge_delay_max_ms"] = 40
            harness.write_config(os.path.dirname(daemon.config_path), config)
            good = cli(daemon, "reload")
            with open(daemon.config_path, "a") as handle:
                handle.write("\nno_such_key = 1\n")
            bad = cli(daemon, "reload")
            still = cli(daemon, "status", "--json")
        self.assertEqual((0, f"reloaded {daemon.config_path}\n"), (good.returncode, good.stdout), good.stderr)
        self.assertEqual(1, bad.returncode)
        self.assertIn("no_such_key: unknown key", bad.stderr)
        self.assertTrue(bad.stderr.startswith("error: "), bad.stderr)
        last = json.loads(still.stdout)["last_reload"]
        self.assertEqual("failure", last["result"])
        self.assertIn("reload failed, keeping the running config", daemon.stderr)

    def test_no_daemon_is_an_error_naming_the_socket(self):
        with Daemon(harness.health_config()) as daemon:
            path = daemon.config["control"]["socket"]
            self.assertTrue(os.path.exists(path))
        self.assertFalse(os.path.exists(path), "the daemon removes its socket when it stops")
        with tempfile.TemporaryDirectory(prefix="diresolver-control-") as tmp:
            config = harness.health_config()
            config["control"] = {"socket": f"{tmp}/control.sock"}
            proc = harness.run_cli(["status", "-c", harness.write_config(tmp, config)])
        self.assertEqual(1, proc.returncode)
        self.assertIn(f"error: cannot reach diresolver at {tmp}/control.sock: connect: ", proc.stderr)

    def test_a_second_daemon_leaves_the_first_ones_socket_alone(self):
        with Daemon(harness.health_config()) as first:
            second_config = harness.health_config()
            second_config["server"]["listen"] = ["127.0.0.2:53"]
            second_config["admin"] = {"listen": "127.0.0.2:9553"}
            second_config["control"] = dict(first.config["control"])
            with Daemon(second_config, address="127.0.0.2") as second:
                self.assertTrue(second.wait_for_log(r"another diresolver listens there"), second.stderr)
            status = cli(first, "status", "--json")
        self.assertEqual(0, status.returncode, status.stderr)

    def test_the_units_exec_reload_is_diresolver_reload(self):
        unit = os.path.join(os.environ["DIRESOLVER_SOURCE_DIR"], "systemd", "diresolver.service")
        with open(unit) as handle:
            reloads = [line.strip() for line in handle if line.startswith("ExecReload=")]
        self.assertEqual(["ExecReload=/usr/sbin/diresolver reload -c /etc/diresolver/diresolver.toml"], reloads)



class ServiceAddressTest(harness.IntegrationCase):
    def verdict(self, daemon):
        """(exit status, output) of the CLI and (status, body) of the HTTP page."""
        proc = cli(daemon, "status", "--for", "address")
        status, body = harness.admin_request("/readyz?for=address")
        # The verdicts agree; the reasons' detail may change between the two asks.
        self.assertEqual(proc.stdout.split(":")[0], body.split(":")[0], "the CLI and the page disagree")
        return proc.returncode, status, proc.stdout

    def set_di(self, **modes):
        for fake in (DI1, DI2):
            for key, value in modes.items():
                setattr(self.fakes[fake], key, value)

    def test_not_ready_gives_it_up_ready_holds_it_a_di_outage_keeps_it_no_daemon_exit_2(self):
        self.set_di(apex_mode="drop")  # validation cannot pass
        cfg = harness.health_config()
        cfg["readiness"] = {"enabled": True, "timeout_ms": 1000, "retry_ms": 300, "interval_ms": 60000}
        with Daemon(cfg) as daemon:
            code, status, line = self.verdict(daemon)
            self.assertEqual((1, 503), (code, status), line)
            self.assertTrue(line.startswith("give up: not ready: "), line)

            self.set_di(apex_mode=None)
            harness.wait_until(lambda: self.verdict(daemon)[0] == 0, timeout=10, what="validated")
            code, status, line = self.verdict(daemon)
            self.assertEqual(200, status)
            self.assertTrue(line.startswith("hold: ready: "), line)

            # The whole DI side down: degraded, and the address stays (every node sees the same).
            self.set_di(mode="drop", apex_mode="drop", probe_mode="drop")
            harness.wait_until(lambda: harness.admin_request("/readyz")[1].startswith("degraded"),
                               timeout=5, what="degraded")
            code, status, line = self.verdict(daemon)
            self.assertEqual((0, 200), (code, status), line)
            self.assertTrue(line.startswith("hold: degraded (the DI side, not this node): "), line)
            self.assertEqual(400, harness.admin_request("/readyz?for=nothing")[0])
            daemon.stop()
            gone = cli(daemon, "status", "--for", "address")
        self.assertEqual(2, gone.returncode)
        self.assertIn("cannot reach diresolver", gone.stderr)

    def test_freebind_listens_on_an_address_before_the_host_holds_it(self):
        service = "198.18.0.53"  # RFC 2544's range, on this test's private loopback only
        harness.assert_isolated()  # the address goes on this private namespace's loopback
        cfg = harness.health_config()
        cfg["server"]["listen"].append(f"{service}:53")
        with self.assertRaisesRegex(AssertionError, f"cannot listen on {service}:53/udp: bind: "
                                                    "Cannot assign requested address"):
            with Daemon(cfg):
                pass
        cfg["server"]["freebind"] = True
        with Daemon(cfg):
            subprocess.run(["ip", "addr", "add", f"{service}/32", "dev", "lo"], check=True)
            try:
                # From 127.0.0.1, which the default ACL allows (198.18.0.0/15 it does not).
                response = query(f"vip.{DI_ZONE}", address=service, source="127.0.0.1")
            finally:
                subprocess.run(["ip", "addr", "del", f"{service}/32", "dev", "lo"], check=True)
        self.assertEqual(["192.0.2.11"], harness.answer_ips(response))


if __name__ == "__main__":
    harness.main()
