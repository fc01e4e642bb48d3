#!/usr/bin/python3
"""SIGHUP reload: a good new config takes over routing and upstreams for the next
queries and flushes cached answers of zones whose servers changed; a bad one is
logged and counted, and the running config keeps answering."""

import concurrent.futures
import os
import signal
import subprocess
import time

import harness
from harness import DEFAULT, DI1, DI2, DI_ZONE, Daemon, query, write_config

DI1_IP = harness.FAKES[DI1][1]
DI2_IP = harness.FAKES[DI2][1]
DEFAULT_IP = harness.FAKES[DEFAULT][1]


class ReloadTest(harness.IntegrationCase):

    def reload(self, daemon, config_text=None, config=None):
        """Rewrite the daemon's config file and send SIGHUP."""
        if config is not None:
            write_config(os.path.dirname(daemon.config_path), config)
        if config_text is not None:
            with open(daemon.config_path, "w") as handle:
                handle.write(config_text)
        daemon.proc.send_signal(signal.SIGHUP)

    def test_new_servers_take_over_and_their_zone_is_flushed(self):
        config = harness.health_config()
        config["region"]["amer"]["servers"] = [harness.FAKES[DI1][0]]
        with Daemon(config) as daemon:
            name = f"reload.{DI_ZONE}"
            self.assertEqual([DI1_IP], harness.answer_ips(query(name)))
            self.assertEqual([DI1_IP], harness.answer_ips(query(name)))  # cached
            self.assertEqual(1, len(self.fakes[DI1].seen(name)))
            external = "www.example.org"
            query(external)
            config["region"]["amer"]["servers"] = [harness.FAKES[DI2][0]]
            self.reload(daemon, config=config)
            daemon.wait_for_log(r"reloaded ")
            self.assertIn("flushed 1 cached answers", daemon.stderr)
            self.assertEqual([DI2_IP], harness.answer_ips(query(name)))
            self.assertEqual(1, len(self.fakes[DI2].seen(name)))
            # The default zone did not change: its cached answer survived the reload.
            query(external)
            self.assertEqual(1, len(self.fakes[DEFAULT].seen(external)))
            status = harness.get_status()
            names = [s["name"] for s in harness.zone_status(status, DI_ZONE)["servers"]]
            self.assertEqual(["IAD"], names)
            self.assertEqual("127.0.0.12:53",
                             harness.zone_status(status, DI_ZONE)["servers"][0]["address"])
            metrics = harness.get_metrics()
            self.assertEqual(1, harness.metric(metrics, "diresolver_config_reloads_total",
                                               result="success"))

    def test_an_answer_in_flight_across_a_reload_is_relayed_but_not_cached(self):
        """The old server's answer to a query sent before the reload lands after the
        reload's flush: the client gets it, but the cache must not keep it."""
        config = harness.health_config(upstream={"attempt_timeout_ms": 2500, "attempt_timeout_min_ms": 2500,
                                                 "deadline_ms": 3000},
                                       health={"interval_ms": 5000})
        config["region"]["amer"]["servers"] = [harness.FAKES[DI1][0]]
        with Daemon(config) as daemon:
            name = f"inflight.{DI_ZONE}"
            # Below the attempt timeout, so the answer still counts, and long enough that
            # the reload is done before it comes, even on a loaded machine.
            self.fakes[DI1].delay = 1.5
            self.fakes[DI1].mode = "delay"
            first = concurrent.futures.ThreadPoolExecutor(1)
            answer = first.submit(query, name, timeout=5.0)
            harness.wait_until(lambda: self.fakes[DI1].seen(name), timeout=2.0)
            config["region"]["amer"]["servers"] = [harness.FAKES[DI2][0]]
            self.reload(daemon, config=config)
            daemon.wait_for_log(r"reloaded ")
            self.assertEqual([DI1_IP], harness.answer_ips(answer.result()))
            first.shutdown()
            self.assertEqual([DI2_IP], harness.answer_ips(query(name)))
            self.assertEqual(1, len(self.fakes[DI2].seen(name)))

    def test_bad_config_keeps_the_running_one(self):
        config = harness.health_config()
        with Daemon(config) as daemon:
            bad = f'customer = "acme"\nregions = ["mars"]\nzone_map = "{harness.zone_map_path()}"\n'
            self.reload(daemon, config_text=bad)
            daemon.wait_for_log(r"reload failed, keeping the running config")
            self.assertRegex(daemon.stderr, r"regions\[0\]: unknown region \"mars\"")
            self.assertIn(str(daemon.config_path), daemon.stderr)
            response = query(f"still.{DI_ZONE}")
            self.assertEqual(harness.answer_ips(response), [DI1_IP])
            metrics = harness.get_metrics()
            self.assertEqual(1, harness.metric(metrics, "diresolver_config_reloads_total",
                                               result="failure"))
            self.assertEqual(0, harness.metric(metrics, "diresolver_config_reloads_total",
                                               result="success"))

    def test_restart_only_settings_are_named(self):
        config = harness.health_config()
        with Daemon(config) as daemon:
            config["server"]["workers"] = 2
            self.reload(daemon, config=config)
            daemon.wait_for_log(r"reloaded ")
            self.assertIn("reload: server.workers changed; that takes effect after a restart",
                          daemon.stderr)

    def run_exec_reload(self, daemon):
        """The unit's ExecReload= lines against this daemon, one after the other, stopping at
        the first that fails, as systemd does; returns that line's exit status (0: all ran)."""
        unit = os.path.join(os.environ["DIRESOLVER_SOURCE_DIR"], "systemd", "diresolver.service")
        with open(unit) as handle:
            lines = [line.split("=", 1)[1].strip() for line in handle if line.startswith("ExecReload=")]
        for line in lines:
            argv = [harness.daemon_binary() if word == "/usr/sbin/diresolver"
                    else daemon.config_path if word == "/etc/diresolver/diresolver.toml"
                    else str(daemon.proc.pid) if word == "$MAINPID" else word for word in line.split()]
            status = subprocess.run(argv, capture_output=True, timeout=10).returncode
            if status != 0:
                return status
        return 0

    def test_systemctl_reload_fails_on_a_bad_file(self):
        config = harness.health_config()
        with Daemon(config) as daemon:
            config["upstream"]["hedge_delay_max_ms"] = 40
            write_config(os.path.dirname(daemon.config_path), config)
            self.assertEqual(0, self.run_exec_reload(daemon))
            self.assertTrue(daemon.wait_for_log(r"reloaded "), daemon.stderr)
            with open(daemon.config_path, "a") as handle:
                handle.write("\nno_such_key = 1\n")
            self.assertEqual(1, self.run_exec_reload(daemon))  # the command waited for the daemon's verdict
            reloads = harness.get_metrics()
            last = harness.get_status()["last_reload"]
            self.assertEqual("failure", last["result"], last)
            self.assertIn("no_such_key: unknown key", last["error"])
            self.assertLess(last["age_s"], 10)
            daemon.proc.send_signal(signal.SIGHUP)  # SIGHUP still works: the same verdict, logged
            harness.wait_until(lambda: daemon.stderr.count("reload failed") == 2, what="the SIGHUP's reload")
        self.assertEqual(1, harness.metric(reloads, "diresolver_config_reloads_total", result="success"))
        self.assertEqual(1, harness.metric(reloads, "diresolver_config_reloads_total", result="failure"))

    def test_a_reverted_restart_only_change_is_not_named_again(self):
        config = harness.health_config()
        started_with = config["server"]["workers"]
        with Daemon(config) as daemon:
            config["server"]["workers"] = started_with + 1
            self.reload(daemon, config=config)
            self.assertTrue(daemon.wait_for_log(r"reloaded "), daemon.stderr)
            config["server"]["workers"] = started_with  # back to what is running
            self.reload(daemon, config=config)
            harness.wait_until(lambda: daemon.stderr.count("info: reloaded ") == 2, what="the second reload")
        self.assertEqual(1, daemon.stderr.count("reload: server.workers changed"), daemon.stderr)


if __name__ == "__main__":
    harness.main()
