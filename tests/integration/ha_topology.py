#!/usr/bin/python3
"""Network namespaces, links and processes for the HA test and benchmark.

tests/integration/test_ha.py and tests/bench/ha run two or three diresolver nodes
behind one service address, with keepalived (VRRP) or BIRD (anycast over BGP with
BFD), a fake DI pair and paced clients, all inside namespaces this module makes.

Owns:
- entering a private mount + network namespace (`unshare -m -n`, re-executing the
  caller), a tmpfs over /run/netns inside it (so `ip netns add` names live there and
  cannot meet the host's), and the check that the outer namespace has only loopback;
- the topology: one namespace per node, one for the LAN (bridge, clients, router),
  one for the fake DI pair, joined by veth pairs to the bridge; nothing else;
- the processes: diresolver, keepalived, BIRD and diresolver-anycast per node, BIRD
  as the router, the fake DI pair, the clients; each started here, stopped by PID,
  and dying with this process (PR_SET_PDEATHSIG);
- the shipped examples of packaging/ha/ as the nodes run them: copied, with only the
  placeholders their headers document replaced (interfaces, addresses, paths);
- the watch on who holds the service address (`ip monitor`, timestamped);
- the clients (`python3 ha_topology.py clients ...`, run in the LAN namespace):
  distinct DI names at a fixed rate, each send and answer timed, with the node that
  answered: the fake DI servers answer every A query with the address of the node
  that asked (`python3 ha_topology.py fake-di`, run in the DI namespace).

    ha-lan   bridge lan0, 198.18.0.10/24: the clients and the router (AS 65000)
    ha-n1..3 diresolver nodes, eth0 198.18.0.N/24 (veth to lan0); anycast: 198.18.1.53/32 on lo
    ha-di    the fake DI pair, eth0 198.18.0.21/24 and 198.18.0.22/24 (veth to lan0)

Every address is in 198.18.0.0/15 (RFC 2544's benchmarking range) or 127.0.0.0/8,
every diresolver config overrides every DI server with the fake pair (checked before
each start), and the outer namespace holds nothing but lo.
"""

import argparse
import ctypes
import ipaddress
import json
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import tomllib
from array import array
from collections import deque
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE_DIR = Path(os.environ.get("DIRESOLVER_SOURCE_DIR") or HERE.parents[1])
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
NODE_AS, ROUTER_AS = 65053, 65000
STATIC_PROTOCOL = "diresolver_service"


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
    with open("/proc/net/dev") as f:
        return [line.split(":")[0].strip() for line in f.readlines()[2:]]


def _in_initial_netns():
    try:
        return os.stat("/proc/self/ns/net").st_ino == os.stat("/proc/1/ns/net").st_ino
    except OSError:
        return False


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

_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    _libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


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


def _toml(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    raise TypeError(value)


def to_toml(cfg):
    lines = [f"{k} = {_toml(v)}" for k, v in cfg.items() if not isinstance(v, dict)]
    for key, table in cfg.items():
        if isinstance(table, dict):
            lines.append(f"\n[{key}]")
            lines += [f"{k} = {_toml(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


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
    text = to_toml(cfg) + (f"\n[{region}]\nservers = {_toml(list(DI_ADDRS))}\n"
                           f"probe_name = {_toml(PROBE_NAME)}\n")
    check_config_safe(tomllib.loads(text))
    return text


# ---- nodes ---------------------------------------------------------------------------

class Node:
    """One diresolver node: its namespace, config, and processes (diresolver, then
    keepalived, or BIRD and diresolver-anycast)."""

    def __init__(self, topo, index, mode, tag, binary):
        self.topo, self.index, self.mode, self.binary = topo, index, mode, binary
        self.ns, self.addr = node_ns(index), node_addr(index)
        self.name = f"n{index}"
        self.dir = topo.run_dir / f"{tag}-{self.name}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.config_path = self.dir / "diresolver.toml"
        self.control_socket = self.dir / "control.sock"
        self.bird_socket = self.dir / "bird.ctl"
        self.diresolver = self.keepalived = self.bird = self.anycast = None
        vip = VRRP_VIP if mode == "vrrp" else ANYCAST_VIP
        self.config_path.write_text(node_config(index, vip, self.control_socket,
                                                freebind=(mode == "vrrp")))

    # diresolver
    def start_diresolver(self):
        self.diresolver = self.topo.start(f"{self.name}-diresolver",
                                          [self.binary, "run", "-c", self.config_path],
                                          netns=self.ns, log_name=f"{self.dir.name}/diresolver.log")
        if not self.diresolver.wait_log(r"\bstarted\b", 10):
            raise AssertionError(f"{self.name}: diresolver did not start:\n{self.diresolver.log_text()[-3000:]}")
        return self

    def for_address(self):
        """(exit status, line) of `diresolver status --for address`."""
        proc = subprocess.run([self.binary, "status", "--for", "address", "--config", str(self.config_path)],
                              capture_output=True, text=True, timeout=10)
        return proc.returncode, (proc.stdout + proc.stderr).strip()

    def readyz_for_address(self):
        """The HTTP status of GET /readyz?for=address on this node's admin listener."""
        code = ("import urllib.request, urllib.error\n"
                "opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))\n"
                "try:\n"
                "    print(opener.open('http://127.0.0.1:9553/readyz?for=address', timeout=3).status)\n"
                "except urllib.error.HTTPError as e:\n"
                "    print(e.code)\n")
        out = run(["ip", "netns", "exec", self.ns, sys.executable, "-c", code], timeout=10).stdout
        return int(out.strip())

    def wait_for_address(self, want=0, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            status, line = self.for_address()
            if status == want:
                return line
            if time.monotonic() >= deadline:
                raise AssertionError(f"{self.name}: status --for address: {status} ({line}), "
                                     f"not {want} within {timeout} s")
            time.sleep(0.1)

    # VRRP
    def start_keepalived(self):
        check = install_example("diresolver-vrrp-check", self.dir / "diresolver-vrrp-check",
                                [("/usr/sbin/diresolver", str(self.binary))], mode=0o755)
        conf = install_example("keepalived.conf", self.dir / "keepalived.conf", [
            ("/usr/local/sbin/diresolver-vrrp-check", str(check)),
            ("/etc/diresolver/diresolver.toml", str(self.config_path)),
            ("192.0.2.53/24", f"{VRRP_VIP}/{LAN_PREFIX}"),
            ("192.0.2.53", VRRP_VIP),
            ("eth0", "eth0"),
        ])
        self.keepalived = self.topo.start(
            f"{self.name}-keepalived",
            ["keepalived", "--vrrp", "-n", "-l", "-D", "-G", "-f", conf,
             "-p", self.dir / "keepalived.pid", "-r", self.dir / "vrrp.pid",
             "-c", self.dir / "checkers.pid"],
            netns=self.ns, log_name=f"{self.dir.name}/keepalived.log")
        return self

    def stop_keepalived(self, sig=signal.SIGTERM):
        """Stops keepalived; its VRRP child (a process of its own) goes with it."""
        status = self.keepalived.stop(sig, timeout=5)
        self._kill_pidfile(self.dir / "vrrp.pid")
        return status

    def _kill_pidfile(self, path):
        """The VRRP child, if the parent died without stopping it (only ever a process
        this node's keepalived started: its pid file is in our run directory)."""
        try:
            pid = int(Path(path).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() != "keepalived":
                    return
            os.kill(pid, signal.SIGKILL)
        except (OSError, ProcessLookupError):
            pass

    # anycast
    def start_bird(self):
        conf = install_example("bird-node.conf", self.dir / "bird.conf", [
            ("192.0.2.11", self.addr),
            ("192.0.2.1", ROUTER_ADDR),
            ("192.0.2.53/32", f"{ANYCAST_VIP}/32"),
            ("192.0.2.53", ANYCAST_VIP),
            ("log syslog all", "log stderr all"),
        ])
        self.bird = self.topo.start(f"{self.name}-bird",
                                    ["bird", "-f", "-c", conf, "-s", self.bird_socket,
                                     "-P", self.dir / "bird.pid"],
                                    netns=self.ns, log_name=f"{self.dir.name}/bird.log")
        wait_socket(self.bird_socket, self.bird, 5)
        return self

    def start_anycast_loop(self):
        script = install_example("diresolver-anycast", self.dir / "diresolver-anycast",
                                 [("/usr/sbin/diresolver", str(self.binary))], mode=0o755)
        self.anycast = self.topo.start(
            f"{self.name}-anycast",
            [script, "-c", self.config_path, "-s", self.bird_socket, "-p", STATIC_PROTOCOL],
            netns=self.ns, log_name=f"{self.dir.name}/diresolver-anycast.log")
        return self

    def logs(self):
        out = []
        for proc in (self.diresolver, self.keepalived, self.bird, self.anycast):
            if proc is not None:
                out.append(f"--- {proc.name} (last lines)\n" + "\n".join(proc.log_text().splitlines()[-25:]))
        return "\n".join(out)


def wait_socket(path, proc, timeout):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() >= deadline or not proc.alive():
            raise AssertionError(f"{proc.name}: no control socket {path}:\n{proc.log_text()[-2000:]}")
        time.sleep(0.05)


def birdc(socket_path, *args):
    return run(["birdc", "-s", str(socket_path), *args], timeout=5, check=False).stdout


# ---- the router (BIRD in the LAN namespace) ------------------------------------------------

ROUTER_CONF = """\
# The site's router in the test: BGP with BFD to every node, the best route to the
# anycast address into its kernel table (no ECMP: one node at a time takes the
# clients, so a test can tell which). A lab router, written by ha_topology.py.
log stderr all;
router id {router};

protocol device {{
}}

protocol kernel {{
    ipv4 {{ import none; export all; }};
}}

protocol bfd {{
    interface "lan0" {{
        min rx interval 100 ms;
        min tx interval 100 ms;
        multiplier 3;
    }};
}}

template bgp dns_node {{
    local {router} as {router_as};
    bfd on;
    # A lab: connect at once, retry quickly after a node went away.
    connect delay time 1;
    connect retry time 2;
    error wait time 1, 5;
    ipv4 {{ import all; export none; }};
}}
"""


class Router:
    def __init__(self, topo, nodes):
        self.topo, self.nodes = topo, nodes
        self.dir = topo.run_dir / "router"
        self.dir.mkdir(exist_ok=True)
        self.socket = self.dir / "bird.ctl"
        self.proc = None

    def start(self):
        text = ROUTER_CONF.format(router=ROUTER_ADDR, router_as=ROUTER_AS)
        for i in self.nodes:
            text += f"\nprotocol bgp n{i} from dns_node {{\n    neighbor {node_addr(i)} as {NODE_AS};\n}}\n"
        conf = self.dir / "bird.conf"
        conf.write_text(text)
        self.proc = self.topo.start("router-bird", ["bird", "-f", "-c", conf, "-s", self.socket,
                                                    "-P", self.dir / "bird.pid"],
                                    netns=LAN_NS, log_name="router/bird.log")
        wait_socket(self.socket, self.proc, 5)
        return self

    def established(self):
        out = birdc(self.socket, "show", "protocols")
        return {m.group(1) for m in re.finditer(r"^(n\d+)\s+BGP\s+\S+\s+up\s+\S+\s+Established", out, re.M)}


def anycast_route():
    """The node (index) the LAN's kernel routes the anycast address to; None if none."""
    out = run(["ip", "-n", LAN_NS, "-o", "route", "show", f"{ANYCAST_VIP}/32"]).stdout
    match = re.search(r"via 198\.18\.0\.(\d+)", out)
    return int(match.group(1)) if match else None


def vrrp_holders(nodes):
    """The nodes (indexes) holding the VRRP address now."""
    held = []
    for i in nodes:
        out = run(["ip", "-n", node_ns(i), "-o", "addr", "show", "dev", "eth0"]).stdout
        if f"inet {VRRP_VIP}/" in out:
            held.append(i)
    return held


# ---- who holds the address: ip monitor, timestamped ---------------------------------------

class HolderWatch:
    """Every change of who holds the service address, with its time (monotonic):
    VRRP: `ip monitor address` in each node namespace; anycast: `ip monitor route` in
    the LAN namespace (the router's kernel table). events: [(t, node or None)] for
    anycast, [(t, node, held)] for VRRP."""

    def __init__(self, topo, mode, nodes):
        self.topo, self.mode, self.nodes = topo, mode, nodes
        self.events = []
        self.lock = threading.Lock()
        self.procs = []
        self.threads = []

    def start(self):
        if self.mode == "vrrp":
            for i in self.nodes:
                self._watch(node_ns(i), i, ["address", "dev", "eth0"])
        else:
            self._watch(LAN_NS, None, ["route"])
        time.sleep(0.2)   # ip monitor subscribed before anything changes
        return self

    def _watch(self, ns, node, what):
        proc = self.topo.start(f"monitor-{ns}", ["ip", "-n", ns, "-o", "monitor", *what],
                               log_name=f"monitor-{ns}.err", pipe=True)
        self.procs.append(proc)
        thread = threading.Thread(target=self._read, args=(proc, node), daemon=True)
        thread.start()
        self.threads.append(thread)

    def _read(self, proc, node):
        for raw in proc.proc.stdout:
            now = time.monotonic()
            line = raw.decode(errors="replace")
            deleted = line.startswith("Deleted")
            with self.lock:
                if self.mode == "vrrp" and f"inet {VRRP_VIP}/" in line:
                    self.events.append((now, node, not deleted))
                elif self.mode == "anycast" and line.removeprefix("Deleted ").startswith(ANYCAST_VIP + " "):
                    match = re.search(r"via 198\.18\.0\.(\d+)", line)
                    self.events.append((now, None if deleted or not match else int(match.group(1))))

    def stop(self):
        for proc in self.procs:
            proc.stop(timeout=2)
        for thread in self.threads:
            thread.join(timeout=2)
        for proc in self.procs:
            proc.close()

    def snapshot(self):
        with self.lock:
            return list(self.events)

    def holders_at(self, t, initial):
        """Who held the address at time t, from the initial holders (a set) and events."""
        held = set(initial)
        for event in self.snapshot():
            if event[0] > t:
                break
            if self.mode == "vrrp":
                _, node, on = event
                (held.add if on else held.discard)(node)
            else:
                held = {event[1]} if event[1] is not None else set()
        return held

    def first_change_after(self, t, to_node=None):
        """Time of the first event after t that gives the address to to_node (or any
        event when None); None if none."""
        for event in self.snapshot():
            if event[0] < t:
                continue
            if to_node is None:
                return event[0]
            if self.mode == "vrrp" and event[1] == to_node and event[2]:
                return event[0]
            if self.mode == "anycast" and event[1] == to_node:
                return event[0]
        return None


# ---- the fake DI pair (run in the DI namespace) ------------------------------------------------

def serve_fake_di(addresses):
    """Fake DI servers on addresses (UDP and TCP 53) until SIGTERM: fake_upstream's
    FakeUpstream, with every A answer naming the node that asked."""
    sys.path.insert(0, str(HERE))
    import dns.rcode
    from fake_upstream import FakeUpstream, _parse as parse

    class WhoamiDI(FakeUpstream):
        """Answers each A query over UDP with the asking node's own address; counts
        rather than records the queries (a benchmark sends tens of thousands)."""

        def __init__(self, address):
            super().__init__(address, answer_ip="198.18.0.99", benchmarking_net=True)
            self._asker = threading.local()
            self.count = 0

        def _record(self, msg, transport, source_port):
            self.count += 1

        def _response(self, query, rcode=dns.rcode.NOERROR, ip=None):
            return super()._response(query, rcode, ip or getattr(self._asker, "address", None))

        def _udp_loop(self):
            while not self._stopping.is_set():
                ready, _, _ = select.select([self._udp], [], [], 0.1)
                if not ready:
                    continue
                try:
                    data, peer = self._udp.recvfrom(65535)
                except OSError:
                    continue
                wire = fast_answer(data, peer[0])
                if wire is not None:     # a client name's A query: answered without dnspython
                    self.count += 1
                    self._udp_send(wire, False, peer)
                    continue
                query = parse(data)
                if query is None:
                    continue
                self._record(query, "udp", peer[1])
                self._asker.address = peer[0]
                self._execute(self._plan(query, "udp"),
                              lambda wire, spoofed, peer=peer: self._udp_send(wire, spoofed, peer))

    probe_label = PROBE_NAME.split(".")[0].encode()

    def fast_answer(data, asker):
        """The answer to a plain query (one question, type A, class IN, not a health
        probe, at most an OPT record besides) built from its bytes: the question as
        asked, one A record (TTL 300) with the asker's address, an OPT (1232) if the
        query had one. None for anything else (dnspython answers those)."""
        if len(data) < 17 or data[2] & 0xF8 or int.from_bytes(data[4:6], "big") != 1 \
                or data[6:10] != b"\0\0\0\0" or int.from_bytes(data[10:12], "big") > 1:
            return None
        pos = 12
        while pos < len(data) and data[pos]:
            if data[pos] & 0xC0:
                return None
            pos += data[pos] + 1
        end = pos + 5
        if end > len(data) or data[pos + 1:end] != b"\0\x01\0\x01":
            return None
        if data[13:13 + data[12]].lower() == probe_label:
            return None
        has_opt = data[11] == 1
        flags = 0x8400 | (data[2] & 0x01) << 8 | 0x0080   # QR AA, RD copied, RA
        header = data[:2] + struct.pack("!HHHHH", flags, 1, 1, 0, 1 if has_opt else 0)
        answer = b"\xc0\x0c\0\x01\0\x01" + struct.pack("!IH", 300, 4) + socket.inet_aton(asker)
        opt = b"\0\0\x29\x04\xd0\0\0\0\0\0\0" if has_opt else b""
        return header + data[12:end] + answer + opt

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    servers = [WhoamiDI(a).start() for a in addresses]
    print("ready", flush=True)
    while not stop.wait(0.5):
        pass
    for server in servers:
        server.stop()
    print("queries " + " ".join(f"{s.address}={s.count}" for s in servers), flush=True)


class FakeDI:
    def __init__(self, topo):
        self.topo = topo
        self.proc = None
        topo.fake_di = self

    def start(self):
        self.proc = self.topo.start("fake-di", [sys.executable, HERE / "ha_topology.py", "fake-di",
                                                *DI_ADDRS], netns=DI_NS)
        if not self.proc.wait_log(r"^ready$", 10):
            raise AssertionError(f"fake DI pair did not start:\n{self.proc.log_text()[-3000:]}")
        return self


# ---- the clients (run in the LAN namespace) ------------------------------------------------

SOCKETS = 16


def _name_wire(name):
    return b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0"


def _a_address(data, qlen):
    """The last octet of the first A record of the answer (0 if there is none)."""
    if len(data) < 12 or int.from_bytes(data[6:8], "big") == 0:
        return 0
    pos = 12 + qlen
    try:
        if data[pos] & 0xC0 == 0xC0:
            pos += 2
        else:
            while data[pos]:
                pos += data[pos] + 1
            pos += 1
        rtype, _, _, rdlen = struct.unpack("!HHIH", data[pos:pos + 10])
        if rtype == 1 and rdlen == 4:
            return data[pos + 13]
    except (IndexError, struct.error):
        pass
    return 0


def run_clients(target, rate, duration, timeout, tag, out_path):
    """Query i (a distinct DI name) goes out at start + i / rate on socket i % 16 with
    ID i // 16; records its send and answer times, rcode and the answering node. The
    start time (monotonic) goes to stdout first; the records to out_path at the end."""
    n = int(rate * duration)
    send_t, recv_t = array("d", bytes(8 * n)), array("d", bytes(8 * n))
    rcode, node = array("b", b"\xff" * n), array("B", bytes(n))
    questions = {}

    def question(i):
        q = questions.get(i)
        if q is None:
            q = questions[i] = _name_wire(f"q{i}-{tag}.{DI_ZONE}") + b"\x00\x01\x00\x01"
        return q

    socks, ep = [], select.epoll()
    for _ in range(SOCKETS):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.connect((target, 53))
        s.setblocking(False)
        ep.register(s.fileno(), select.EPOLLIN)
        socks.append(s)
    by_fd = {s.fileno(): k for k, s in enumerate(socks)}
    pending, in_flight = {}, deque()
    stats = {"late": 0, "max_lag": 0.0, "unmatched": 0, "send_errors": 0}
    start = time.monotonic()
    print(f"start {start:.6f}", flush=True)
    sent = 0
    hard_end = start + duration + timeout + 2
    while True:
        now = time.monotonic()
        due = min(n, int((now - start) * rate) + 1)
        while sent < due:
            i = sent
            k, qid = i % SOCKETS, (i // SOCKETS) & 0xFFFF
            wire = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + question(i)
            t = time.monotonic()
            lag = t - (start + i / rate)
            stats["max_lag"] = max(stats["max_lag"], lag)
            stats["late"] += lag > 0.010
            try:
                socks[k].send(wire)
            except OSError:
                stats["send_errors"] += 1
            send_t[i] = t
            pending[(k, qid)] = i
            in_flight.append(i)
            sent += 1
        now = time.monotonic()
        while in_flight and now - send_t[in_flight[0]] > timeout:
            i = in_flight.popleft()
            pending.pop((i % SOCKETS, (i // SOCKETS) & 0xFFFF), None)
            questions.pop(i, None)
        if (sent >= n and not pending) or now > hard_end:
            break
        wake = start + sent / rate if sent < n else now + 0.05
        for fd, _ in ep.poll(max(0.0, wake - now)):
            k = by_fd[fd]
            while True:
                try:
                    data = socks[k].recv(4096)
                except BlockingIOError:
                    break
                except OSError:      # ICMP port unreachable: the query is lost
                    continue
                t = time.monotonic()
                if len(data) < 12 or not data[2] & 0x80:
                    stats["unmatched"] += 1
                    continue
                i = pending.get((k, int.from_bytes(data[:2], "big")))
                if i is None:
                    stats["unmatched"] += 1
                    continue
                q = question(i)
                if data[12:12 + len(q)].lower() != q:
                    stats["unmatched"] += 1
                    continue
                del pending[(k, int.from_bytes(data[:2], "big"))]
                recv_t[i], rcode[i], node[i] = t, data[3] & 0x0F, _a_address(data, len(q))
                questions.pop(i, None)
    with open(out_path, "wb") as f:
        f.write((json.dumps({"n": n, "start": start, "rate": rate, **stats}) + "\n").encode())
        send_t.tofile(f)
        recv_t.tofile(f)
        rcode.tofile(f)
        node.tofile(f)


class Load:
    """The clients as a process in the LAN namespace; result() reads their records."""

    def __init__(self, topo, target, rate, duration, timeout, tag):
        self.topo, self.target, self.rate, self.duration, self.timeout = topo, target, rate, duration, timeout
        self.tag = tag
        self.out = topo.run_dir / f"load-{tag}.bin"
        self.proc = None
        self.start_t = None

    def start(self):
        self.proc = self.topo.start(
            f"clients-{self.tag}",
            [sys.executable, HERE / "ha_topology.py", "clients", "--target", self.target,
             "--rate", self.rate, "--duration", self.duration, "--timeout", self.timeout,
             "--tag", self.tag, "--out", self.out],
            netns=LAN_NS, log_name=f"clients-{self.tag}.err", pipe=True)
        line = self.proc.proc.stdout.readline().decode()
        match = re.match(r"start (\S+)", line)
        if not match:
            raise AssertionError(f"clients did not start: {line!r} {self.proc.log_text()}")
        self.start_t = float(match.group(1))
        return self

    def wait(self):
        self.proc.proc.wait(timeout=self.duration + self.timeout + 15)
        self.proc.close()
        if self.proc.proc.returncode != 0:
            raise AssertionError(f"clients exited {self.proc.proc.returncode}: {self.proc.log_text()[-2000:]}")
        return LoadResult(self.out)


class LoadResult:
    def __init__(self, path):
        with open(path, "rb") as f:
            self.meta = json.loads(f.readline())
            n = self.n = self.meta["n"]
            self.send_t, self.recv_t = array("d"), array("d")
            self.rcode, self.node = array("b"), array("B")
            self.send_t.fromfile(f, n)
            self.recv_t.fromfile(f, n)
            self.rcode.fromfile(f, n)
            self.node.fromfile(f, n)

    def indexes(self, t_from=None, t_to=None):
        return [i for i in range(self.n)
                if (t_from is None or self.send_t[i] >= t_from) and (t_to is None or self.send_t[i] < t_to)]

    def lost(self, t_from=None, t_to=None):
        return [i for i in self.indexes(t_from, t_to) if self.recv_t[i] == 0]

    def answered(self, t_from=None, t_to=None):
        return [i for i in self.indexes(t_from, t_to) if self.recv_t[i] > 0]

    def rcodes(self, t_from=None, t_to=None):
        counts = {}
        for i in self.answered(t_from, t_to):
            counts[self.rcode[i]] = counts.get(self.rcode[i], 0) + 1
        return counts

    def by_node(self, t_from=None, t_to=None):
        counts = {}
        for i in self.answered(t_from, t_to):
            counts[self.node[i]] = counts.get(self.node[i], 0) + 1
        return counts

    def latency(self, i):
        return self.recv_t[i] - self.send_t[i]

    def worst(self, t_from=None, t_to=None):
        return max((self.latency(i) for i in self.answered(t_from, t_to)), default=0.0)

    def first_answer_from(self, node, t_from):
        """Send time of the first query sent at or after t_from that node answered."""
        for i in self.indexes(t_from):
            if self.recv_t[i] > 0 and self.node[i] == node:
                return self.send_t[i]
        return None

    def outage(self, t_from):
        """(first, last) send time of the queries sent from t_from on that got no
        NOERROR answer from a node; None if there were none."""
        bad = [i for i in self.indexes(t_from) if self.recv_t[i] == 0 or self.rcode[i] != 0]
        if not bad:
            return None
        return self.send_t[bad[0]], self.send_t[bad[-1]]


# ---- a pair (or more) of nodes, up and settled ----------------------------------------------

def start_vrrp(topo, binary, tag, indexes=(1, 2), settle=15.0):
    """The fake DI pair, a HolderWatch, the nodes with keepalived; returns (nodes,
    watch, active, standby) once one node holds the address and the others stand by
    (keepalived BACKUP)."""
    FakeDI(topo).start()
    watch = HolderWatch(topo, "vrrp", list(range(1, topo.nodes + 1))).start()
    nodes = {i: Node(topo, i, "vrrp", tag, binary) for i in indexes}
    for node in nodes.values():
        node.start_diresolver()
    for node in nodes.values():
        node.wait_for_address(0, 10)
        node.start_keepalived()
    deadline = time.monotonic() + settle
    while True:
        holders = vrrp_holders(indexes)
        backups = [i for i in indexes if nodes[i].keepalived.wait_log(r"Entering BACKUP STATE", 0)]
        if len(holders) == 1 and set(backups) >= set(indexes) - set(holders):
            time.sleep(0.5)   # the holder's adverts reach the others
            if vrrp_holders(indexes) == holders:
                active = holders[0]
                return nodes, watch, active, [i for i in indexes if i != active][0]
        if time.monotonic() >= deadline:
            raise AssertionError(f"VRRP did not settle within {settle} s: holders {holders}, "
                                 f"backups {backups}\n" + "\n".join(n.logs() for n in nodes.values()))
        time.sleep(0.1)


def start_anycast(topo, binary, tag, indexes=(1, 2), settle=15.0):
    """The fake DI pair, a HolderWatch, the router, the nodes (service address on lo)
    with BIRD and diresolver-anycast; returns (nodes, watch, active, standby) once
    every session is up and the router routes the address to one node."""
    FakeDI(topo).start()
    watch = HolderWatch(topo, "anycast", list(indexes)).start()
    for i in indexes:
        run(["ip", "-n", node_ns(i), "addr", "add", f"{ANYCAST_VIP}/32", "dev", "lo"])
    router = Router(topo, indexes).start()
    nodes = {i: Node(topo, i, "anycast", tag, binary) for i in indexes}
    for node in nodes.values():
        node.start_diresolver()
        node.start_bird()
        node.start_anycast_loop()
    deadline = time.monotonic() + settle
    want = {f"n{i}" for i in indexes}
    while True:
        established = router.established()
        routes = birdc(router.socket, "show", "route", f"{ANYCAST_VIP}/32")
        active = anycast_route()
        if established == want and routes.count("via 198.18.0.") == len(indexes) and active:
            return nodes, watch, active, [i for i in indexes if i != active][0]
        if time.monotonic() >= deadline:
            raise AssertionError(f"anycast did not settle within {settle} s: sessions {established}, "
                                 f"route {active}, {routes.strip()}\n"
                                 + "\n".join(n.logs() for n in nodes.values()))
        time.sleep(0.1)


def cpu_seconds(pid):
    """User + system CPU seconds of a process (0.0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


# ---- entry point for the helper processes ------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    di = sub.add_parser("fake-di")
    di.add_argument("addresses", nargs="+")
    clients = sub.add_parser("clients")
    clients.add_argument("--target", required=True)
    clients.add_argument("--rate", type=int, required=True)
    clients.add_argument("--duration", type=float, required=True)
    clients.add_argument("--timeout", type=float, required=True)
    clients.add_argument("--tag", required=True)
    clients.add_argument("--out", required=True)
    args = parser.parse_args()
    # Both run only inside the test's namespaces, on the test's addresses.
    if os.environ.get(MARK) != "1" or _in_initial_netns():
        sys.exit("ha_topology: helpers run only inside the HA test's namespaces")
    if args.command == "fake-di":
        for a in args.addresses:
            if ipaddress.ip_address(a) not in TEST_NET:
                sys.exit(f"ha_topology: {a} is not in 198.18.0.0/15")
        serve_fake_di(args.addresses)
    else:
        if ipaddress.ip_address(args.target) not in TEST_NET:
            sys.exit(f"ha_topology: {args.target} is not in 198.18.0.0/15")
        run_clients(args.target, args.rate, args.duration, args.timeout, args.tag, args.out)


if __name__ == "__main__":
    main()
