#!/usr/bin/python3
"""The diresolver nodes and the router of the HA test and benchmark, in the
namespaces ha_topology.py makes.

Owns:
- Node: one node's diresolver, then keepalived (VRRP) or BIRD and diresolver-anycast
  (anycast), run from the shipped examples of packaging/ha/;
- Router: BIRD in the LAN namespace, BGP with BFD to every node; birdc;
- who holds the service address: now (vrrp_holders, anycast_route), and every
  change, timestamped (HolderWatch: `ip monitor`);
- a pair (or more) of nodes up and settled, with the fake DI pair they forward to
  (start_vrrp, start_anycast).
"""

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from ha_topology import (ANYCAST_VIP, LAN_NS, LAN_PREFIX, ROUTER_ADDR, VRRP_VIP, install_example,
                         node_addr, node_config, node_ns, run)
from ha_traffic import FakeDI

NODE_AS, ROUTER_AS = 65053, 65000
STATIC_PROTOCOL = "diresolver_service"


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
# clients, so a test can tell which). A lab router, written by ha_nodes.py.
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
