#!/usr/bin/python3
"""Network namespaces, links and processes for the HA test and benchmark.

tests/integration/test_ha.py and tests/bench/ha run two or three diresolver nodes
behind one service address, with keepalived (VRRP) or BIRD (anycast over BGP with
BFD), a fake DI pair and paced clients, all inside namespaces this module makes;
ha_nodes.py runs the nodes and the router in them, ha_traffic.py the fake DI pair and
the clients.

Owns:
- entering a private mount + network namespace (`unshare -m -n`, re-executing the
  caller), a tmpfs over /run/netns inside it (so `ip netns add` names live there and
  cannot meet the host's), and the check that the outer namespace has only loopback;
- the topology: one namespace per node, one for the LAN (bridge, clients, router),
  one for the fake DI pair, joined by veth pairs to the bridge; nothing else; the
  blackholes a scenario adds, and the reset between scenarios;
- the processes (Proc): each started through Topology.start, stopped by PID, and
  dying with this process (PR_SET_PDEATHSIG); their CPU time;
- the shipped examples of packaging/ha/ as the nodes run them: copied, with only the
  placeholders their headers document replaced (interfaces, addresses, paths);
- the nodes' diresolver configs, every DI server overridden with the fake pair
  (checked before each is written).

    ha-lan   bridge lan0, 198.18.0.10/24: the clients and the router (AS 65000)
    ha-n1..3 diresolver nodes, eth0 198.18.0.N/24 (veth to lan0); anycast: 198.18.1.53/32 on lo
    ha-di    the fake DI pair, eth0 198.18.0.21/24 and 198.18.0.22/24 (veth to lan0)

Every address is in 198.18.0.0/15 (RFC 2544's benchmarking range) or 127.0.0.0/8,
every diresolver config overrides every DI server with the fake pair (checked before
each start), and the outer namespace holds nothing but lo.
"""

import ipaddress
import json
import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

# harness.py's: the same check of the network namespace, the same PR_SET_PDEATHSIG,
# the same TOML writer and source directory as the other integration tests.
from harness import _die_with_parent, _in_initial_netns, _toml_value, source_dir, to_toml

SOURCE_DIR = source_dir()
HA_DIR = SOURCE_DIR / "packaging" / "ha"
MARK = "DIRESOLVER_HA_NETNS"

TEST_NET = ipaddress.ip_network("198.18.0.0/15")
LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
LAN_PREFIX = 24
ROUTER_ADDR = "198.18.0.10"          # the LAN namespace: clients and router
DI_ADDRS = ("198.18.0.21", "198.18.0.22")
VRRP_VIP = "198.18.0.53"
ANYCAST_VIP = "198.18.1.53"
DI_ZONE = "acme.amer.wxc-di.webex.com"
PROBE_NAME = "diresolver-probe." + DI_ZONE
LAN_NS, DI_NS = "ha-lan", "ha-di"


def node_addr(index):
    return f"198.18.0.{index}"


def node_ns(index):
    return f"ha-n{index}"


def log(msg):
    print(f"ha: {msg}", file=sys.stderr, flush=True)


# ---- the private namespace ---------------------------------------------------------

def reexec_isolated(time_bound):
    """Unless already inside, re-execute this program under `unshare -m -n`, bounded
    by timeout(1). Does not return in the outer copy."""
    if os.environ.get(MARK) == "1":
        return
    if os.geteuid() != 0:
        sys.exit("ha: run as root (network namespaces, keepalived, BIRD)")
    argv = ["timeout", "--kill-after=10", str(int(time_bound)), "unshare", "-m", "-n",
            "--propagation", "private", "--", "env", f"{MARK}=1", sys.executable,
            os.path.abspath(sys.argv[0]), *sys.argv[1:]]
    os.execvp(argv[0], argv)


def _interfaces():
    """Every interface, up or down (harness.py's _up_interfaces sees only those up)."""
    with open("/proc/net/dev") as f:
        return [line.split(":")[0].strip() for line in f.readlines()[2:]]


def assert_outer_isolated():
    """Exit unless this is a private network namespace whose only interface is lo."""
    problems = []
    if os.environ.get(MARK) != "1":
        problems.append("not re-executed under unshare -m -n")
    if _in_initial_netns():
        problems.append("in the initial network namespace")
    if _interfaces() != ["lo"]:
        problems.append("interfaces other than lo: " + ", ".join(_interfaces()))
    if problems:
        sys.exit("ha: REFUSING TO RUN: " + "; ".join(problems))


def run(argv, timeout=10, check=True):
    """Run a command to completion; its CompletedProcess (text)."""
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {proc.returncode}: {proc.stderr.strip()}")
    return proc


def private_netns_dir():
    """A tmpfs over /run/netns, visible only in this (private) mount namespace."""
    os.makedirs("/run/netns", exist_ok=True)
    run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "ha-netns", "/run/netns"])
    if os.listdir("/run/netns"):
        sys.exit("ha: /run/netns is not empty after mounting a tmpfs over it")


# ---- processes -----------------------------------------------------------------------

class Proc:
    """One child process, in a namespace (ip netns exec, which execs: the PID is the
    program's own), its output in log_path; stopped by its PID."""

    def __init__(self, name, argv, log_path, netns=None, pipe=False):
        self.name, self.argv, self.log_path, self.netns = name, argv, Path(log_path), netns
        self.pipe = pipe
        self.proc = None

    def start(self):
        argv = ["ip", "netns", "exec", self.netns, *self.argv] if self.netns else self.argv
        with open(self.log_path, "ab") as log_file:
            # pipe: stdout to the caller, stderr to the log; else both to the log.
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE if self.pipe else log_file,
                                         stderr=log_file, preexec_fn=_die_with_parent)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def send(self, sig):
        if self.alive():
            self.proc.send_signal(sig)

    def kill(self):
        if self.alive():
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait(timeout=5)

    def stop(self, sig=signal.SIGTERM, timeout=5.0):
        """sig, then SIGKILL after timeout; the exit status (None if never started)."""
        if self.proc is None:
            return None
        if self.alive():
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        return self.proc.returncode

    def close(self):
        """Close the pipe from its stdout (once nothing reads it any more)."""
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def wait_log(self, pattern, timeout, since=0):
        """Wait for a line matching pattern in the log (from byte offset since)."""
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern, self.log_text()[since:], re.M)
            if match:
                return match
            if time.monotonic() >= deadline or not self.alive():
                return None
            time.sleep(0.05)


def cpu_seconds(pid):
    """User + system CPU seconds of a process (0.0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


# ---- the topology --------------------------------------------------------------------

class Topology:
    """The namespaces and links (module docstring). build() once; reset() between
    scenarios; every process is started through start()."""

    def __init__(self, run_dir, nodes=3):
        self.run_dir = Path(run_dir)
        self.nodes = nodes
        self.procs = []
        self.fake_di = None
        self.namespaces = [LAN_NS, DI_NS] + [node_ns(i) for i in range(1, nodes + 1)]

    def build(self):
        assert_outer_isolated()
        run(["ip", "link", "set", "lo", "up"])
        private_netns_dir()
        for ns in self.namespaces:
            run(["ip", "netns", "add", ns])
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
        lan = ["ip", "-n", LAN_NS]
        run(lan + ["link", "add", "lan0", "type", "bridge"])
        run(lan + ["addr", "add", f"{ROUTER_ADDR}/{LAN_PREFIX}", "dev", "lan0"])
        run(lan + ["link", "set", "lan0", "up"])
        ports = [(f"n{i}", node_ns(i), [node_addr(i)]) for i in range(1, self.nodes + 1)]
        ports.append(("di", DI_NS, list(DI_ADDRS)))
        for port, ns, addrs in ports:
            # Made in the LAN namespace with its peer straight in the other: no link
            # ever exists in the outer namespace.
            run(lan + ["link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns])
            run(lan + ["link", "set", port, "master", "lan0", "up"])
            for addr in addrs:
                run(["ip", "-n", ns, "addr", "add", f"{addr}/{LAN_PREFIX}", "dev", "eth0"])
            run(["ip", "-n", ns, "link", "set", "eth0", "up"])
        self.check_links()

    def check_links(self):
        """The outer namespace has only lo; each inner one only its own links, and no
        route leads anywhere but 198.18.0.0/15 and loopback."""
        if _interfaces() != ["lo"]:
            raise AssertionError("outer namespace has links: " + ", ".join(_interfaces()))
        expected = {LAN_NS: {"lo", "lan0", "di", *[f"n{i}" for i in range(1, self.nodes + 1)]},
                    DI_NS: {"lo", "eth0"}}
        for i in range(1, self.nodes + 1):
            expected[node_ns(i)] = {"lo", "eth0"}
        for ns, names in expected.items():
            links = json.loads(run(["ip", "-n", ns, "-j", "link", "show"]).stdout)
            found = {link["ifname"] for link in links}
            if found != names:
                raise AssertionError(f"{ns}: links {sorted(found)}, expected {sorted(names)}")
            for route in json.loads(run(["ip", "-n", ns, "-j", "route", "show", "table", "all"]).stdout):
                dst = route.get("dst", "")
                if dst == "default" or route.get("type") == "multicast":
                    if dst == "default":
                        raise AssertionError(f"{ns}: a default route: {route}")
                    continue
                try:
                    net = ipaddress.ip_network(dst, strict=False)
                except ValueError:
                    continue
                if net.version == 4 and not (net.subnet_of(TEST_NET) or net.subnet_of(LOOPBACK)
                                             or net.is_multicast):
                    raise AssertionError(f"{ns}: route outside the test range: {route}")

    def start(self, name, argv, netns=None, log_name=None, pipe=False):
        proc = Proc(name, [str(a) for a in argv], self.run_dir / (log_name or f"{name}.log"),
                    netns, pipe).start()
        self.procs.append(proc)
        return proc

    def stop_all(self):
        """Every process started here, newest first, by PID."""
        for proc in reversed(self.procs):
            try:
                proc.stop(timeout=3)
                proc.close()
            except Exception as exc:  # keep stopping the others
                log(f"stopping {proc.name}: {exc}")
        self.procs = []

    def blackhole(self, from_ns, addrs):
        for addr in addrs:
            run(["ip", "-n", from_ns, "route", "replace", "blackhole", f"{addr}/32"])

    def clear_blackholes(self):
        for ns in self.namespaces:
            for route in json.loads(run(["ip", "-n", ns, "-j", "route", "show", "type", "blackhole"]).stdout):
                run(["ip", "-n", ns, "route", "del", "blackhole", route["dst"]])

    def reset(self):
        """Between scenarios: no process, no blackhole, every link up, no anycast address."""
        self.stop_all()
        self.clear_blackholes()
        for i in range(1, self.nodes + 1):
            run(["ip", "-n", node_ns(i), "link", "set", "eth0", "up"])
            run(["ip", "-n", node_ns(i), "addr", "flush", "dev", "lo", "to", f"{ANYCAST_VIP}/32"])
            run(["ip", "-n", node_ns(i), "addr", "flush", "dev", "eth0", "to", f"{VRRP_VIP}/32"])
        run(["ip", "-n", LAN_NS, "route", "flush", "proto", "bird"], check=False)
        run(["ip", "-n", LAN_NS, "neigh", "flush", "dev", "lan0"], check=False)

    def destroy(self):
        self.stop_all()
        for ns in self.namespaces:
            run(["ip", "netns", "del", ns], check=False)


# ---- the shipped examples, placeholders replaced -------------------------------------------

def substitute(text, replacements, what):
    """Replace each documented placeholder (each must occur: an example that changed
    is noticed); addresses only where they stand alone (192.0.2.1 is not 192.0.2.11)."""
    for old, new in replacements:
        if re.match(r"^[0-9.]+(/\d+)?$", old):
            pattern = r"(?<![0-9.])" + re.escape(old) + r"(?![0-9])"
        else:
            pattern = re.escape(old)
        text, count = re.subn(pattern, lambda _m, new=new: new, text)
        if count == 0:
            raise AssertionError(f"{what}: placeholder {old!r} not found")
    leftover = re.findall(r"192\.0\.2\.\d+", text)
    if leftover:
        raise AssertionError(f"{what}: documentation addresses left after substitution: {leftover}")
    return text


def install_example(name, dest, replacements, mode=0o644):
    text = substitute((HA_DIR / name).read_text(), replacements, name)
    dest = Path(dest)
    dest.write_text(text)
    dest.chmod(mode)
    return dest


# ---- diresolver configs --------------------------------------------------------------------

def check_config_safe(cfg):
    """Every upstream in 198.18.0.0/15 (the fake DI pair) and every configured region
    overriding its DI servers: the zone map's real addresses are never used."""
    lists = [(f"region.{n}.servers", r.get("servers", [])) for n, r in cfg.get("region", {}).items()]
    lists += [(f"forward[{i}].servers", f.get("servers", [])) for i, f in enumerate(cfg.get("forward", []))]
    if "default" in cfg:
        lists.append(("default.servers", cfg["default"].get("servers", [])))
    for key, servers in lists:
        for server in servers:
            address = server.get("address", "") if isinstance(server, dict) else server
            host = address.rsplit(":", 1)[0] if address.count(":") == 1 else address
            if ipaddress.ip_address(host) not in TEST_NET:
                raise AssertionError(f"{key}: {address} is not in 198.18.0.0/15")
    for region in cfg.get("regions", []):
        if not cfg.get("region", {}).get(region, {}).get("servers"):
            raise AssertionError(f"region {region} does not override its DI servers")


def node_config(index, listen, control_socket, freebind, workers=1):
    cfg = {
        "customer": "acme",
        "regions": ["amer"],
        "zone_map": str(SOURCE_DIR / "zones" / "wxc-di.toml"),
        "server": {"listen": [f"{listen}:53", "127.0.0.1:53"], "workers": workers},
        "acl": {"allow": ["198.18.0.0/15", "127.0.0.0/8"]},
        "upstream": {"attempt_timeout_ms": 300, "attempt_timeout_min_ms": 200, "deadline_ms": 1500},
        "health": {"interval_ms": 200, "fall": 3, "rise": 2},
        # Fast rounds, so that a DI outage shows as degraded within a second or two.
        "readiness": {"enabled": True, "interval_ms": 1000, "retry_ms": 500, "timeout_ms": 500},
        "admin": {"listen": "127.0.0.1:9553"},
        "control": {"socket": str(control_socket)},
        "log": {"queries": "none"},
    }
    if freebind:
        cfg["server"]["freebind"] = True
    region = "region.amer"
    text = to_toml(cfg) + (f"\n[{region}]\nservers = {_toml_value(list(DI_ADDRS))}\n"
                           f"probe_name = {_toml_value(PROBE_NAME)}\n")
    check_config_safe(tomllib.loads(text))
    return text

