#!/usr/bin/python3
"""Integration tests: `diresolver snippet` and diresolver beside an existing DNS server.

Owns: the existing-DNS-host case end to end. diresolver listens on 127.0.0.1:5300 in
front of the standard fakes; Debian's Unbound (its own config file only, in the
foreground, on 127.0.0.1:5353) includes what `diresolver snippet --for unbound` printed
for that same config. A DI name and a [[forward]] name asked of Unbound come back with
the fakes' answers through diresolver (its query counter moves, the fakes saw them); a
name outside those zones is not sent to diresolver at all, although diresolver's
[default] set would answer it: Unbound resolves it itself, from root hints that point
at a loopback fake that refuses everything, and answers SERVFAIL. Also the command line:
`--for` and `-c` in either order, and an unknown target (exit 2, the valid ones listed).

Needs /usr/sbin/unbound (tests/integration/ensure-unbound or .ci/install-deps install it).
"""

import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dns.exception

import harness
from fake_upstream import FakeUpstream
from harness import DEFAULT, DI1, DI2, DI_ZONE, FAKES, FORWARD, FORWARD_ZONE, Daemon

UNBOUND = "/usr/sbin/unbound"
UNBOUND_CHECKCONF = "/usr/sbin/unbound-checkconf"
DIRESOLVER_PORT = 5300
UNBOUND_ADDR, UNBOUND_PORT = "127.0.0.1", 5353
# Unbound's only "root server": a fake that REFUSES everything, so a name outside the
# forwarded zones fails at once, the fake shows Unbound tried to resolve it itself, and
# no query ever leaves 127.0.0.0/8.
ROOT_ADDR = "127.0.0.31"
START_TIMEOUT = 10
STOP_TIMEOUT = 10
# Unbound gives up on a name its root refuses within this (it retries a little).
OUTSIDE_WAIT = 5

UNBOUND_CONF = """\
# test_snippet.py: Unbound as the site's existing DNS server, with this file only
# (no /etc/unbound, no trust anchor, no remote control).
server:
    interface: {addr}@{port}
    port: {port}
    do-daemonize: no
    use-syslog: no
    logfile: ""
    verbosity: 1
    chroot: ""
    username: ""
    directory: "{dir}"
    pidfile: "{dir}/unbound.pid"
    num-threads: 1
    do-ip6: no
    access-control: 127.0.0.0/8 allow
    root-hints: "{dir}/root.hints"
remote-control:
    control-enable: no
include: "{dir}/diresolver.conf"
"""

ROOT_HINTS = """\
.                 3600000  NS  a.root.test.
a.root.test.      3600000  A   {root}
"""


def require_unbound():
    missing = [path for path in (UNBOUND, UNBOUND_CHECKCONF) if not Path(path).exists()]
    if missing:
        sys.exit(f"{', '.join(missing)} not installed: run tests/integration/ensure-unbound "
                 "(as root, outside the namespace) or .ci/install-deps")


def snippet_config():
    """The standard config (DI pair, [[forward]] zone, [default]) with diresolver on
    127.0.0.1:5300 and its admin endpoint on, for the query counter."""
    cfg = harness.health_config()
    cfg["server"]["listen"] = [f"{harness.DAEMON_ADDR}:{DIRESOLVER_PORT}"]
    return cfg


class Unbound:
    """`unbound -d -c FILE` for a `with` block: FILE holds UNBOUND_CONF and includes the
    snippet; unbound-checkconf must accept it; ready once it answers `localhost`
    (its built-in local data, so nothing is resolved); stopped by its PID."""

    def __init__(self, directory, snippet):
        self.dir = Path(directory)
        self.snippet = snippet
        self.conf = self.dir / "unbound.conf"
        self.log_path = self.dir / "unbound.log"
        self.proc = None

    def log(self):
        return self.log_path.read_text() if self.log_path.exists() else ""

    def __enter__(self):
        (self.dir / "diresolver.conf").write_text(self.snippet)
        (self.dir / "root.hints").write_text(ROOT_HINTS.format(root=ROOT_ADDR))
        self.conf.write_text(UNBOUND_CONF.format(addr=UNBOUND_ADDR, port=UNBOUND_PORT, dir=self.dir))
        check = subprocess.run([UNBOUND_CHECKCONF, str(self.conf)], capture_output=True,
                               text=True, timeout=10)
        if check.returncode != 0:
            raise AssertionError(f"unbound-checkconf rejected the config:\n{check.stdout}"
                                 f"{check.stderr}\n{self.conf.read_text()}\n{self.snippet}")
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen([UNBOUND, "-d", "-c", str(self.conf)],
                                         stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT,
                                         preexec_fn=harness._die_with_parent)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self):
        def answers():
            if self.proc.poll() is not None:
                raise RuntimeError(f"unbound exited with {self.proc.returncode}")
            try:
                return harness.query("localhost", timeout=0.5, address=UNBOUND_ADDR,
                                     port=UNBOUND_PORT)
            except dns.exception.Timeout:
                return None  # not listening yet
        try:
            harness.wait_until(answers, timeout=START_TIMEOUT, what="unbound answering")
        except (AssertionError, RuntimeError) as exc:
            raise AssertionError(f"{exc}; unbound log:\n{self.log()}")

    def __exit__(self, *exc):
        self.stop()
        return False

    def stop(self):
        """SIGTERM to our own unbound's PID; SIGKILL if it is still there after 10 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


def client_queries():
    """diresolver's client queries so far, every transport (from /metrics)."""
    return harness.metric(harness.get_metrics(), "diresolver_queries_total") or 0


class SnippetCommand(harness.IntegrationCase):

    def snippet(self, *args):
        return harness.run_cli(["snippet", *args])

    def test_options_in_either_order_and_unknown_target(self):
        with tempfile.TemporaryDirectory(prefix="diresolver-snippet-") as tmp:
            path = harness.write_config(tmp, snippet_config())
            first = self.snippet("--for", "unbound", "-c", path)
            second = self.snippet("--config", path, "--for", "unbound")
            self.assertEqual(0, first.returncode, first.stderr)
            self.assertEqual(first.stdout, second.stdout)
            self.assertIn(f"-c {path}`", first.stdout.splitlines()[0])
            unknown = self.snippet("--for", "powerdns", "-c", path)
            self.assertEqual(2, unknown.returncode)
            self.assertIn('"powerdns"', unknown.stderr)
            self.assertIn("bind, unbound, dnsmasq, windows", unknown.stderr)
            self.assertEqual("", unknown.stdout)

    def test_a_windows_command_with_the_placeholder_fails(self):
        with tempfile.TemporaryDirectory(prefix="diresolver-snippet-") as tmp:
            path = harness.write_config(tmp, snippet_config())  # loopback only: no address for Windows
            proc = self.snippet("--for", "windows", "-c", path)
            self.assertEqual(1, proc.returncode, proc.stderr)
            self.assertIn("-MasterServers <DIRESOLVER-ADDRESS>", proc.stdout)
            self.assertIn("error: the Windows command holds <DIRESOLVER-ADDRESS>: no port-53 listen address",
                          proc.stderr)
            config = snippet_config()
            config["server"]["listen"].append("192.0.2.10:53")  # only written, never bound
            path = harness.write_config(tmp, config)
            proc = self.snippet("--for", "windows", "-c", path)
            self.assertEqual(0, proc.returncode, proc.stderr)
            self.assertIn("-MasterServers 192.0.2.10\n", proc.stdout)

    def unbound_beside(self, daemon, tmp):
        """Unbound configured with the snippet of the config the daemon runs."""
        proc = self.snippet("--for", "unbound", "-c", daemon.config_path)
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertIn(f"forward-addr: 127.0.0.1@{DIRESOLVER_PORT}", proc.stdout)
        return Unbound(tmp, proc.stdout)

    def ask_unbound(self, name, wait=2):
        """dig at Unbound, one try of `wait` seconds; the parsed ToolResult."""
        cmd = ["dig", f"@{UNBOUND_ADDR}", "-p", str(UNBOUND_PORT), "+tries=1", f"+time={wait}",
               name, "A"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=wait + 5)
        return harness.parse_tool_output(proc.stdout + proc.stderr)

    def assert_through_diresolver(self, name, fakes):
        before = client_queries()
        result = self.ask_unbound(name)
        self.assertEqual("NOERROR", result.status, result.output)
        ips = {rdata for _, rtype, rdata in result.answers if rtype == "A"}
        self.assertTrue(ips & {FAKES[fake][1] for fake in fakes}, result.output)
        self.assertTrue(any(self.fakes[fake].seen(name) for fake in fakes), f"no fake saw {name}")
        self.assertGreater(client_queries(), before, f"{name} did not reach diresolver")

    def test_unbound_forwards_di_and_forward_zones_through_diresolver(self):
        with tempfile.TemporaryDirectory(prefix="diresolver-unbound-") as tmp, \
                Daemon(snippet_config(), port=DIRESOLVER_PORT) as daemon, \
                self.unbound_beside(daemon, tmp):
            self.assert_through_diresolver(f"cucm1.{DI_ZONE}", (DI1, DI2))
            self.assert_through_diresolver(f"host.{FORWARD_ZONE}", (FORWARD,))
        self.assertGreaterEqual(daemon.stats["answered"], 2, daemon.stats)

    def test_unbound_keeps_other_names_to_itself(self):
        name = "www.example.net"
        root = FakeUpstream(ROOT_ADDR, answer_ip="192.0.2.31")
        root.mode = "refused"
        with tempfile.TemporaryDirectory(prefix="diresolver-unbound-") as tmp, root, \
                Daemon(snippet_config(), port=DIRESOLVER_PORT) as daemon, \
                self.unbound_beside(daemon, tmp):
            before = client_queries()
            begin = time.monotonic()
            result = self.ask_unbound(name, wait=OUTSIDE_WAIT)
            elapsed = time.monotonic() - begin
            # Unbound tried its own root, which refused, and answered SERVFAIL itself;
            # diresolver's [default] set, which would have answered 192.0.2.13, never
            # heard of the name.
            self.assertEqual("SERVFAIL", result.status, result.output)
            self.assertLess(elapsed, OUTSIDE_WAIT, result.output)
            self.assertTrue(root.queries, "Unbound did not ask its own root")
            self.assertEqual(before, client_queries())
            self.assertEqual([], self.fakes[DEFAULT].seen(name))
            # Still forwarding: the DI zone goes to diresolver as before.
            self.assert_through_diresolver(f"sip.{DI_ZONE}", (DI1, DI2))
        self.assertEqual([], self.fakes[DEFAULT].queries)


if __name__ == "__main__":
    require_unbound()
    harness.main()
