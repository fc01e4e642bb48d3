#!/usr/bin/python3
"""Integration tests: the `config-test` command line.

Owns: `diresolver config-test -c FILE` prints the routing table of a good config
(DI zone with its override servers, [[forward]] zones, `.` default) and exits 0; bad
configs exit 1 with `error: FILE: KEY: REASON` on stderr. The exact reason texts are
the unit tests' business; here only the file path and the key are checked.
"""

import re
import tempfile
import unittest

import harness
from harness import DEFAULT, DI1, DI2, DI_ZONE, FAKES, FORWARD


def server_addrs(line):
    """ADDR:PORT of every NAME=ADDR:PORT item on a routing-table line."""
    return set(re.findall(r"=([0-9.]+:\d+)", line))


class ConfigTestCommand(unittest.TestCase):

    def config_test(self, config, strict=True):
        """Write config, run config-test; (CompletedProcess, config path)."""
        with tempfile.TemporaryDirectory(prefix="diresolver-cli-") as tmp:
            path = harness.write_config(tmp, config, strict=strict)
            return harness.run_cli(["config-test", "-c", path]), path

    def routing_line(self, stdout, zone):
        lines = [l for l in stdout.splitlines() if l.split() and l.split()[0] == zone]
        self.assertEqual(1, len(lines), f"zone {zone} in:\n{stdout}")
        return lines[0]

    def test_good_config_prints_routing_table(self):
        cfg = harness.base_config()
        cfg["forward"].append({"zone": "Lab.Example", "servers": ["127.0.0.22:5353"]})
        proc, _ = self.config_test(cfg)
        self.assertEqual(0, proc.returncode, proc.stderr)
        di = self.routing_line(proc.stdout, DI_ZONE + ".")
        self.assertIn("di:amer", di.split())
        self.assertEqual({f"{FAKES[DI1][0]}:53", f"{FAKES[DI2][0]}:53"}, server_addrs(di))
        fwd = self.routing_line(proc.stdout, harness.FORWARD_ZONE + ".")
        self.assertIn("forward", fwd.split())
        self.assertEqual({f"{FAKES[FORWARD][0]}:53"}, server_addrs(fwd))
        lab = self.routing_line(proc.stdout, "lab.example.")
        self.assertEqual({"127.0.0.22:5353"}, server_addrs(lab))
        default = self.routing_line(proc.stdout, ".")
        self.assertIn("default", default.split())
        self.assertEqual({f"{FAKES[DEFAULT][0]}:53"}, server_addrs(default))
        self.assertNotIn("69.168.17", proc.stdout, "shipped DI addresses not overridden")

    def test_without_default_the_root_has_no_servers(self):
        proc, _ = self.config_test(harness.base_config(default=False))
        self.assertEqual(0, proc.returncode, proc.stderr)
        for line in proc.stdout.splitlines():
            if line.split()[:1] == ["."]:
                self.assertNotIn("default", line.split(), line)
                self.assertEqual(set(), server_addrs(line), line)

    def assert_config_error(self, config, key, strict=True):
        proc, path = self.config_test(config, strict=strict)
        self.assertEqual(1, proc.returncode, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
        errors = [l for l in proc.stderr.splitlines() if l.startswith("error: ")]
        self.assertTrue(errors, proc.stderr)
        matching = [l for l in errors if path in l and key in l.split(path, 1)[1]]
        self.assertTrue(matching, f"no error line naming {path} and {key}:\n{proc.stderr}")
        reason = matching[0].split(key, 1)[1].lstrip(":]0123456789[. ")
        self.assertTrue(reason, f"no reason after the key: {matching[0]}")

    def test_unknown_top_level_key(self):
        cfg = harness.base_config()
        cfg["colour"] = "blue"
        self.assert_config_error(cfg, "colour")

    def test_unknown_nested_key(self):
        cfg = harness.base_config()
        cfg["server"]["lisen"] = ["127.0.0.1:53"]
        self.assert_config_error(cfg, "lisen")

    def test_missing_customer(self):
        cfg = harness.base_config()
        del cfg["customer"]
        self.assert_config_error(cfg, "customer")

    def test_bad_customer_label(self):
        cfg = harness.base_config()
        cfg["customer"] = "ac_me"
        self.assert_config_error(cfg, "customer")

    def test_unknown_region(self):
        cfg = harness.base_config()
        cfg["regions"] = ["mars"]
        self.assert_config_error(cfg, "regions", strict=False)

    def test_bad_upstream_address(self):
        cfg = harness.base_config()
        cfg["default"]["servers"] = ["300.1.1.1"]
        self.assert_config_error(cfg, "servers", strict=False)

    def test_bad_listen_address(self):
        cfg = harness.base_config()
        cfg["server"]["listen"] = ["300.1.1.1:53"]
        self.assert_config_error(cfg, "listen")

    def test_duplicate_forward_zone(self):
        cfg = harness.base_config()
        cfg["forward"].append({"zone": harness.FORWARD_ZONE, "servers": ["127.0.0.22"]})
        self.assert_config_error(cfg, "forward")

    def test_duplicate_forward_zone_differing_in_case_and_dot(self):
        cfg = harness.base_config()
        cfg["forward"].append({"zone": "Corp.Example.", "servers": ["127.0.0.22"]})
        self.assert_config_error(cfg, "forward")

    def test_missing_config_file(self):
        with tempfile.TemporaryDirectory(prefix="diresolver-cli-") as tmp:
            path = f"{tmp}/absent.toml"
            proc = harness.run_cli(["config-test", "-c", path])
        self.assertEqual(1, proc.returncode)
        self.assertIn(path, proc.stderr)


class CommandLine(unittest.TestCase):

    def test_every_command_defaults_to_the_packaged_config(self):
        # Not `check`: with a packaged config that names Cisco's servers it would ask them.
        for args in (["config-test"], ["snippet", "--for", "unbound"]):
            with self.subTest(args=args):
                proc = harness.run_cli(args)
                # Read whether or not this machine has one: the path is in what it says.
                self.assertIn("/etc/diresolver/diresolver.toml", proc.stdout + proc.stderr)

    def test_options_in_any_order_and_usage_errors(self):
        with tempfile.TemporaryDirectory(prefix="diresolver-cli-") as tmp:
            path = harness.write_config(tmp, harness.base_config())
            first = harness.run_cli(["snippet", "-c", path, "--for", "bind"])
            second = harness.run_cli(["snippet", "--for", "bind", "--config", path])
            self.assertEqual((0, first.stdout), (second.returncode, second.stdout), second.stderr)
            for args, why in ((["run", "--bogus"], 'unknown option "--bogus"'),
                              (["check", "--for", "bind", "-c", path], "--for goes with snippet and status"),
                              (["status", "--for", "bind", "-c", path], "status --for: address is the one there is"),
                              (["status", "--for", "address", "--json", "-c", path], "no --json"),
                              (["run", "--answers", path], "--answers, --root, --zone-map and --no-check go with setup"),
                              (["status", "--root", "/", "-c", path], "--answers, --root, --zone-map and --no-check go with setup"),
                              (["reload", "--no-check", "-c", path], "--answers, --root, --zone-map and --no-check go with setup"),
                              (["status", "--for", "address", "--name", "a", "-c", path], "--name and --zone go with flush"),
                              (["setup", "-c", path], "setup writes /etc/diresolver/diresolver.toml"),
                              (["config-test", "--json", "-c", path], "--json goes with check and status"),
                              (["flush", "--name", "a", "--zone", "b", "-c", path], "--name or --zone, not both"),
                              (["status", "--name", "a", "-c", path], "--name and --zone go with flush"),
                              (["config-test", "-c", path, "-c", path], "-c given twice"),
                              (["config-test", "-c"], "-c needs a value"),
                              (["snippet", "-c", path], "expected snippet --for TARGET"),
                              (["serve"], 'unknown command "serve"')):
                with self.subTest(args=args):
                    proc = harness.run_cli(args)
                    self.assertEqual(2, proc.returncode, proc.stderr)
                    self.assertIn(why, proc.stderr)
                    self.assertIn("usage:", proc.stderr)


if __name__ == "__main__":
    harness.main()
