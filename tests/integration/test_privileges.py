#!/usr/bin/python3
"""Integration tests: dropping root (issue 7).

Owns: `diresolver run` started as root with `server.user` binds port 53, then runs as
that user (every uid and gid of the process, all threads) and still answers on port
53; without `server.user` it stays root and warns; an unknown user is a config error
naming the key.
"""

import os
import pwd

import harness
from harness import DI_ZONE, Daemon, IntegrationCase, base_config, query, run_cli, write_config

USER = "nobody"


def ids_of(pid):
    """{Uid: [...], Gid: [...], Groups: [...]} of every thread of pid, from /proc."""
    found = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        fields = {}
        with open(f"/proc/{pid}/task/{tid}/status") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in ("Uid", "Gid", "Groups"):
                    fields[key] = value.split()
        found.append(fields)
    return found


class DropRoot(IntegrationCase):
    def test_binds_port_53_as_root_then_runs_as_the_configured_user(self):
        self.assertEqual(os.geteuid(), 0, "this test needs root")
        nobody = pwd.getpwnam(USER)
        cfg = base_config()
        cfg["server"]["user"] = USER
        with Daemon(cfg) as daemon:
            response = query(f"www.{DI_ZONE}")  # port 53, bound before the switch
            threads = ids_of(daemon.proc.pid)
            self.assertIn(f"switched to user {USER} (uid {nobody.pw_uid}", daemon.stderr)
        self.assertEqual(harness.answer_ips(response), [harness.FAKES[harness.DI1][1]])
        self.assertGreater(len(threads), 1)  # workers and the control loop alike
        for ids in threads:
            self.assertEqual(ids["Uid"], [str(nobody.pw_uid)] * 4)
            self.assertEqual(ids["Gid"], [str(nobody.pw_gid)] * 4)
            self.assertNotIn("0", ids.get("Groups", []))

    def test_without_a_user_it_stays_root_and_says_so(self):
        with Daemon(base_config()) as daemon:
            threads = ids_of(daemon.proc.pid)
            self.assertIn("running as root (server.user is not set)", daemon.stderr)
        self.assertEqual(threads[0]["Uid"], ["0"] * 4)

    def test_an_unknown_user_is_a_config_error(self):
        cfg = base_config()
        cfg["server"]["user"] = "no-such-user-here"
        with harness.tempfile.TemporaryDirectory() as directory:
            path = write_config(directory, cfg)
            result = run_cli(["config-test", "-c", path])
        self.assertEqual(result.returncode, 1)
        self.assertIn(f'{path}: server.user: no such user "no-such-user-here"', result.stderr)


if __name__ == "__main__":
    harness.main()
