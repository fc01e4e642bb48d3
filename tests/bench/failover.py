#!/usr/bin/python3
"""Engine of tests/bench/failover (read its header first; it writes the configs).

For each scenario (blackhole, crash) and each resolver (diresolver, Unbound, dnsdist;
with --baseline, a second diresolver build beside each diresolver column):
start the simulated DI pair (two knotd, A and B), start the resolver, send a paced
stream of distinct DI names at it while faulting A at 25% of the run and repairing
it at 60%, record every query's send and answer time, watch the resolver's own view
of A, stop everything. Then print the side-by-side table, and the same as markdown.

Runs only inside the private network namespace the bash script made; every process
it starts is a child of this one that dies with it (PR_SET_PDEATHSIG) and is stopped
by PID when its run ends.
"""

import argparse
import ctypes
import gc
import http.client
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time

from array import array
from collections import deque
from dataclasses import dataclass, field

from bench_dns import TYPE_A, ask, query_wire, question_wire, wait_until
from bench_isolation import assert_isolated, log, require_loopback

ANSWER_DEADLINE = 5.0      # seconds: no answer by then = lost
SLOW_MS = (100, 500)       # the "slower than" rows
READY_TIMEOUT = 15.0
STOP_GRACE = 5.0
SOCKETS = 16               # client UDP sockets (source ports) of the load generator

RESOLVERS = ("diresolver", "diresolver-seq", "unbound", "dnsdist")   # --only's choices
BASELINES = {"diresolver": "diresolver-baseline", "diresolver-seq": "diresolver-seq-baseline"}
KEYS = RESOLVERS + tuple(BASELINES.values())
LABELS = {"diresolver": "diresolver", "diresolver-seq": "diresolver-seq",
          "unbound": "Unbound", "dnsdist": "dnsdist",
          "diresolver-baseline": "diresolver-baseline",
          "diresolver-seq-baseline": "diresolver-seq-baseline"}
SCENARIOS = ("blackhole", "crash", "slow", "lossy", "servfail", "tcp-broken", "both-slow",
             "region-down", "blackhole-busy", "crash-busy")
# Grey failures: through a fault proxy in front of each knotd (tests/bench/fault_proxy.cpp),
# told by its stdin what to do at the fault and at the repair. (setup, fault, repair) per
# server, A then B; None: nothing.
PROXIED = {
    "slow": (None, "set latency_ms=300", "clear"),
    "lossy": (None, "set drop=0.3", "clear"),
    "servfail": (None, "set servfail=1", "clear"),
    "tcp-broken": ("set truncate=1", "set tcp=blackhole", "set tcp=ok"),   # every answer needs TCP
    "both-slow": (None, "set latency_ms=150", "clear"),
    "region-down": (None, "set drop=1", "clear"),
}
BOTH = ("both-slow", "region-down")           # the fault hits B as well
BUSY = ("blackhole-busy", "crash-busy")       # two busy loops on the host's CPUs meanwhile
REGION_DOWN_FOR = 20.0                         # seconds, from t = 5
WARM_NAMES = 200                               # region-down: re-asked names, TTL 10 (the zone's *.warm)


# ---- child processes ----------------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    _libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: no orphan outlives the bench


class Child:
    """One process this bench started; only ever signalled through its own PID.

    With on_line, its stderr is read line by line and each line is handed over with
    its arrival time (time.monotonic()) before it goes to the log file.
    """

    def __init__(self, name, argv, log_path, on_line=None, stdin=subprocess.DEVNULL):
        self.name, self.argv, self.log_path, self.on_line = name, argv, log_path, on_line
        self.stdin = stdin
        self.proc = None
        self._reader = None

    def start(self):
        log_file = open(self.log_path, "ab")
        stderr = subprocess.PIPE if self.on_line else log_file
        # From the main thread only: PDEATHSIG follows the thread that forked.
        self.proc = subprocess.Popen(self.argv, stdin=self.stdin, stdout=log_file,
                                     stderr=stderr, preexec_fn=_die_with_parent)
        if self.on_line:
            self._reader = threading.Thread(target=self._read, args=(log_file,), daemon=True)
            self._reader.start()
        else:
            log_file.close()

    def _read(self, log_file):
        with log_file:
            for raw in self.proc.stderr:
                now = time.monotonic()
                log_file.write(raw)
                log_file.flush()
                self.on_line(now, raw.decode(errors="replace").rstrip("\n"))

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if self.running():
            self.proc.send_signal(sig)

    def kill(self):
        """SIGKILL and reap (the crash scenario)."""
        self.signal(signal.SIGKILL)
        if self.proc:
            self.proc.wait()

    def stop(self):
        """SIGCONT (it may be stopped), SIGTERM, SIGKILL after STOP_GRACE; exit status."""
        if self.proc is None:
            return None
        if self.running():
            self.proc.send_signal(signal.SIGCONT)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                log(f"{self.name} (pid {self.proc.pid}) ignored SIGTERM; SIGKILL")
                self.proc.kill()
                self.proc.wait()
        if self._reader:
            self._reader.join(2)
        return self.proc.returncode


# ---- DNS (the wire format and readiness query are in bench_dns) -----------------------

TYPE_SOA = 6
RCODE_NAMES = {0: "NOERROR", 2: "SERVFAIL", 3: "NXDOMAIN", 5: "REFUSED"}


# ---- the simulated DI pair ------------------------------------------------------------

class AuthServer:
    """One knotd serving the DI zone on one address."""

    def __init__(self, label, addr, run_dir, zone):
        self.label, self.addr, self.zone = label, addr, zone
        self.conf = f"{run_dir}/knot-{label}.conf"
        self.child = Child(f"knotd {label}", ["knotd", "-c", self.conf],
                           f"{run_dir}/knot-{label}.log")

    def start(self, wait=True):
        self.child.start()
        if wait:
            wait_until(lambda: ask(self.addr, self.zone, TYPE_SOA, 0.2) == 0, 10,
                       f"knotd {self.label} did not answer on {self.addr}")

    def queries(self):
        """Queries answered so far (Knot's mod-stats), or None."""
        try:
            out = subprocess.run(["knotc", "-c", self.conf, "-t", "1", "stats"],
                                 capture_output=True, text=True, timeout=2).stdout
        except subprocess.TimeoutExpired:
            return None
        m = re.search(r"server-operation\[query\] = (\d+)", out)
        return int(m.group(1)) if m else 0

    def stop(self):
        self.child.stop()


class FaultProxy:
    """tests/bench/fault_proxy on a DI server's address, relaying to its knotd."""

    def __init__(self, binary, label, listen, upstream, run_dir):
        self.child = Child(f"fault_proxy {label}", [binary, listen, "53", upstream, "53"],
                           f"{run_dir}/proxy-{label}.log", stdin=subprocess.PIPE)

    def start(self):
        self.child.start()

    def tell(self, command):
        if command and self.child.running():
            self.child.proc.stdin.write(command.encode() + b"\n")
            self.child.proc.stdin.flush()

    def stop(self):
        self.child.stop()


def spin(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


# ---- the resolver's own view of server A -------------------------------------------------

class StateLog:
    """Timestamped up/down states of server A as a resolver reports them."""

    def __init__(self, resolution=None):
        self.resolution = resolution  # poll interval, s; None for pushed events (logs)
        self.events = []              # (monotonic time, "up" | "down")
        self._lock = threading.Lock()

    def record(self, when, state):
        with self._lock:
            if not self.events or self.events[-1][1] != state:
                self.events.append((when, state))

    def state_at(self, when):
        state = "up"
        for t, s in self.events:
            if t > when:
                break
            state = s
        return state

    def first(self, state, after):
        return next((t for t, s in self.events if s == state and t >= after), None)

    def flaps(self, before):
        return sum(1 for t, s in self.events if s == "down" and t < before)


class Poller:
    """Calls probe() every interval seconds in a thread, until stopped."""

    def __init__(self, probe, interval):
        self.probe, self.interval = probe, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self):
        self._thread.start()

    def _loop(self):
        while not self._stop.is_set():
            try:
                self.probe()
            except (OSError, ValueError, subprocess.SubprocessError):
                pass
            self._stop.wait(self.interval)

    def stop(self):
        self._stop.set()
        self._thread.join(5)


def http_get_json(hostport, path, headers=None, timeout=1.0):
    host, port = hostport.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            raise ValueError(f"HTTP {resp.status}")
        return json.loads(body)
    finally:
        conn.close()


# ---- the resolvers under test -----------------------------------------------------------

class Resolver:
    """Base: start, wait until it answers DI names, watch A, stop."""
    key = ""
    notion = "n/a"            # how "marked down" is observed, for the footnotes

    def __init__(self, opts, auth_a):
        self.opts, self.auth_a = opts, auth_a
        self.run_dir, self.zone = opts.run_dir, opts.zone
        self.state = None     # StateLog, when this resolver's view of A is observable
        self.child = None
        self.pollers = []

    def start(self):
        self.child.start()

    def wait_ready(self):
        wait_until(lambda: not self.child.running() or
                   ask(self.addr, f"ready-{os.getpid()}.{self.zone}", TYPE_A, 0.5) == 0,
                   READY_TIMEOUT, f"{self.key} did not answer DI names")
        if not self.child.running():
            raise RuntimeError(f"{self.key} exited during start-up; see its log in {self.run_dir}")

    def watch(self):
        for p in self.pollers:
            p.start()

    def details(self):
        return {}

    def timeline(self, t0):
        """Raw observations worth keeping in the run directory, one per line."""
        return []

    def stop(self):
        for p in self.pollers:
            p.stop()
        return self.child.stop()


class Diresolver(Resolver):
    key = "diresolver"
    config = "diresolver.toml"
    baseline = False          # True: the --baseline build, on its own addresses

    _TRANSITION = re.compile(r"^(?:warn|info): upstream (\S+) (\S+) of \S+ is (down|up)\b(.*)")
    _TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d ")

    def __init__(self, opts, auth_a):
        super().__init__(opts, auth_a)
        if self.baseline:
            binary, self.addr = opts.baseline
            self.spec3, self.admin = opts.baseline_spec3 == "1", opts.baseline_admin
        else:
            binary, self.addr = opts.diresolver
            self.spec3, self.admin = opts.diresolver_spec3 == "1", opts.diresolver_admin
        self.a_addr = f"{auth_a}:53"
        self.stats_line = ""
        self.stop_stats = ""      # the interesting part of the shutdown stats line
        self.transitions = []     # (monotonic time, name, address, state, reason): every server
        if self.spec3:
            self.notion = "its stderr transition lines, timestamped on arrival"
            self.state = StateLog()
        else:
            self.notion = "n/a: this build has no health checks (no [health])"
        self.child = Child(self.key, [binary, "run", "-c", f"{self.run_dir}/{self.config}"],
                           f"{self.run_dir}/{self.key}.log", on_line=self._on_line)
        self._started = threading.Event()

    def _on_line(self, when, line):
        line = self._TIMESTAMP.sub("", line)  # a --baseline build may write none
        if line.startswith("info: started"):
            self._started.set()
        elif line.startswith("info: stats "):
            self.stats_line = line
        m = self._TRANSITION.match(line)
        if m:
            name, addr, state, reason = m.groups()
            self.transitions.append((when, name, addr, state, reason.strip()))
            if self.state and addr == self.a_addr:
                self.state.record(when, state)

    def timeline(self, t0):
        return [f"{t - t0:8.3f} {name} {addr} {state} {reason}"
                for t, name, addr, state, reason in self.transitions]

    def other_transitions(self, t0):
        """State changes of servers other than A (no scenario touches them), summarized;
        every line is in the run's timeline file."""
        notes = []
        others = [x for x in self.transitions if x[2] != self.a_addr]
        for addr in sorted({x[2] for x in others}):
            mine = [x for x in others if x[2] == addr]
            downs = [x for x in mine if x[3] == "down"]
            if downs:
                t, name, _, _, reason = downs[0]
                notes.append(f"{name} {addr} (never faulted) marked down {len(downs)} time(s), "
                             f"first at t={t - t0:.2f} s {reason}")
        return notes

    def wait_ready(self):
        wait_until(lambda: self._started.is_set() or not self.child.running(),
                   READY_TIMEOUT, "diresolver did not log 'started'")
        super().wait_ready()

    def details(self):
        out = {}
        if self.spec3:
            try:
                status = http_get_json(self.admin, "/status")
                for zone in status.get("zones", []):
                    for srv in zone.get("servers", []):
                        out[srv.get("name", "?")] = (
                            f"queries={srv.get('queries')} answers={srv.get('answers')} "
                            f"hedges_sent={srv.get('hedges_sent')} hedges_won={srv.get('hedges_won')} "
                            f"late={srv.get('late_answers')} failures="
                            + (",".join(f"{k}:{v}" for k, v in (srv.get("failures") or {}).items()
                                        if v) or "none"))
            except (OSError, ValueError) as e:
                out["/status"] = f"unavailable ({e})"
        return out

    def stop(self):
        rc = super().stop()
        if self.stats_line:
            # The stats line's names before and after the metrics table (0e8206d), so a
            # --baseline build of either side shows the same numbers.
            keep = ("answered", "servfail", "upstream_timeouts", "upstream_failures_timeout",
                    "upstream_network", "upstream_failures_network", "hedges", "upstream_hedges_sent",
                    "late_answers", "upstream_late_answers")
            pairs = dict(kv.split("=", 1) for kv in self.stats_line.split()[2:] if "=" in kv)
            self.stop_stats = " ".join(f"{k}={pairs[k]}" for k in keep if k in pairs)
        return rc


class DiresolverSequential(Diresolver):
    """The same daemon with selection = "sequential": A whenever A is up."""
    key = "diresolver-seq"
    config = "diresolver-seq.toml"


class Unbound(Resolver):
    key = "unbound"
    RTT_BAND = 400     # ms: Unbound picks among servers within this of the best one
    notion = ("unbound-control dump_infra every 0.25 s: A counts as down while its RTO "
              "is more than Unbound's 400 ms selection band above B's (Unbound then "
              "stops choosing A)")

    def __init__(self, opts, auth_a):
        super().__init__(opts, auth_a)
        self.addr = opts.unbound
        self.auth_b = opts.auth[1]
        self.conf = f"{self.run_dir}/unbound.conf"
        self.child = Child("unbound", ["unbound", "-d", "-c", self.conf],
                           f"{self.run_dir}/unbound.log")
        self.state = StateLog(0.25)
        self.rto_series = []      # (monotonic time, A's RTO, B's RTO), ms
        self.pollers = [Poller(self._poll, 0.25)]

    def _poll(self):
        out = subprocess.run(["unbound-control", "-c", self.conf, "dump_infra"],
                             capture_output=True, text=True, timeout=2).stdout
        now = time.monotonic()
        rto = {}
        for line in out.splitlines():
            fields = line.split()
            if len(fields) > 1 and fields[1] == self.zone + "." and "rto" in fields:
                rto[fields[0]] = int(fields[fields.index("rto") + 1])
        a, b = rto.get(self.auth_a), rto.get(self.auth_b)
        if a is None:
            return
        self.rto_series.append((now, a, b))
        self.state.record(now, "down" if a > (b or 0) + self.RTT_BAND else "up")

    def details(self):
        if not self.rto_series:
            return {}
        peak = max(self.rto_series, key=lambda x: x[1])
        return {"A's largest RTO": f"{peak[1]} ms (B's then {peak[2]} ms)"}

    def timeline(self, t0):
        return [f"{t - t0:8.3f} rto A={a} B={b}" for t, a, b in self.rto_series]


class Dnsdist(Resolver):
    key = "dnsdist"
    notion = "its API (/api/v1/servers/localhost) every 0.1 s: A's state"

    def __init__(self, opts, auth_a):
        super().__init__(opts, auth_a)
        self.addr = opts.dnsdist
        self.child = Child("dnsdist", ["dnsdist", "--supervised", "--disable-syslog", "-C",
                                       f"{self.run_dir}/dnsdist.conf"],
                           f"{self.run_dir}/dnsdist.log")
        self.state = StateLog(0.1)
        self.pollers = [Poller(self._poll, 0.1)]

    def servers(self):
        data = http_get_json(self.opts.dnsdist_web, "/api/v1/servers/localhost",
                             headers={"X-API-Key": "bench"})
        return {s["address"].rsplit(":", 1)[0]: s for s in data.get("servers", [])}

    def _poll(self):
        srv = self.servers().get(self.auth_a)
        if srv:
            self.state.record(time.monotonic(), "down" if srv["state"].lower() == "down" else "up")

    def wait_ready(self):
        super().wait_ready()
        wait_until(lambda: all(s["state"].lower() == "up" for s in self.servers().values()),
                   READY_TIMEOUT, "dnsdist did not mark both servers up")

    def details(self):
        try:
            return {s["name"]: f"queries={s.get('queries')} responses={s.get('responses')} "
                               f"sendErrors={s.get('sendErrors')}"
                    for s in self.servers().values()}
        except (OSError, ValueError) as e:
            return {"api": f"unavailable ({e})"}


class DiresolverBaseline(Diresolver):
    """--baseline: another build (e.g. the commit before a refactoring), same config."""
    key = "diresolver-baseline"
    config = "diresolver-baseline.toml"
    baseline = True


class DiresolverSequentialBaseline(Diresolver):
    key = "diresolver-seq-baseline"
    config = "diresolver-seq-baseline.toml"
    baseline = True


RESOLVER_CLASSES = {"diresolver": Diresolver, "diresolver-seq": DiresolverSequential,
                    "unbound": Unbound, "dnsdist": Dnsdist,
                    "diresolver-baseline": DiresolverBaseline,
                    "diresolver-seq-baseline": DiresolverSequentialBaseline}


# ---- the load generator ---------------------------------------------------------------------

@dataclass
class Load:
    """RATE queries/s of distinct names for DURATION s, each send and answer timed.

    One thread, 16 connected UDP sockets (source ports), paced against the clock: at
    each wake-up it sends every query whose scheduled time has come, then waits in
    epoll for answers until the next one is due. Query i goes out on socket i % 16
    with ID i // 16, so (socket, ID) finds it; the answer must also echo its question.
    """
    target: str
    rate: int
    duration: float
    tag: str
    zone: str
    n: int = 0
    send_t: array = None
    recv_t: array = None
    rcode: array = None
    max_lag: float = 0.0     # worst delay of a send behind its schedule, s
    late_sends: int = 0      # sends more than 10 ms behind schedule
    unmatched: int = 0       # packets matching no pending query (late, duplicate, wrong)
    send_errors: int = 0
    start: float = 0.0
    warm: int = 0            # > 0: every odd query re-asks one of this many warmed names

    def question(self, i):
        if self.is_warm(i):
            return question_wire(self.warm_name((i // 2) % self.warm))
        return question_wire(f"q{i}-{self.tag}.{self.zone}")

    def is_warm(self, i):
        return self.warm > 0 and i % 2 == 1

    def warm_name(self, k):
        return f"w{k}-{self.tag}.warm.{self.zone}"

    def run(self, events):
        """events: [(seconds after start, callable)], run in order from the loop."""
        self.n = n = int(self.rate * self.duration)
        self.send_t = array("d", bytes(8 * n))
        self.recv_t = array("d", bytes(8 * n))
        self.rcode = array("b", b"\xff" * n)
        socks = []
        ep = select.epoll()
        try:
            for _ in range(SOCKETS):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
                s.connect((self.target, 53))
                s.setblocking(False)
                ep.register(s.fileno(), select.EPOLLIN)
                socks.append(s)
            by_fd = {s.fileno(): k for k, s in enumerate(socks)}
            gc.disable()
            self._loop(socks, by_fd, ep, sorted(events, key=lambda e: e[0]))
        finally:
            gc.enable()
            ep.close()
            for s in socks:
                s.close()

    def _loop(self, socks, by_fd, ep, events):
        n, rate = self.n, self.rate
        pending = {}               # (socket index, id) -> query index
        in_flight = deque()        # query indexes in send order, for expiry
        sent = 0
        self.start = start = time.monotonic()
        hard_end = start + self.duration + ANSWER_DEADLINE + 2
        while True:
            now = time.monotonic()
            while events and start + events[0][0] <= now:
                events.pop(0)[1]()
                now = time.monotonic()
            due = min(n, int((now - start) * rate) + 1)
            while sent < due:
                self._send(socks, sent, pending, in_flight)
                sent += 1
            now = time.monotonic()
            while in_flight and now - self.send_t[in_flight[0]] > ANSWER_DEADLINE:
                i = in_flight.popleft()
                pending.pop((i % SOCKETS, (i // SOCKETS) & 0xFFFF), None)
            if sent >= n and not pending and not events:
                break
            if now > hard_end:
                break
            if sent < n:
                wake = start + sent / rate
            else:
                wake = now + 0.05
            if events:
                wake = min(wake, start + events[0][0])
            for fd, _ in ep.poll(max(0.0, wake - now)):
                self._drain(socks[by_fd[fd]], by_fd[fd], pending)

    def _send(self, socks, i, pending, in_flight):
        k, qid = i % SOCKETS, (i // SOCKETS) & 0xFFFF
        wire = query_wire(qid, self.question(i))
        now = time.monotonic()
        lag = now - (self.start + i / self.rate)
        if lag > self.max_lag:
            self.max_lag = lag
        if lag > 0.010:
            self.late_sends += 1
        try:
            socks[k].send(wire)
        except OSError:
            self.send_errors += 1
        self.send_t[i] = now
        pending[(k, qid)] = i
        in_flight.append(i)

    def _drain(self, sock, k, pending):
        while True:
            try:
                data = sock.recv(4096)
            except BlockingIOError:
                return
            except OSError:          # e.g. ECONNREFUSED: the resolver is not listening
                continue
            now = time.monotonic()
            if len(data) < 12 or not data[2] & 0x80:
                self.unmatched += 1
                continue
            qid = int.from_bytes(data[:2], "big")
            i = pending.get((k, qid))
            if i is None:
                self.unmatched += 1
                continue
            question = self.question(i)
            if data[12:12 + len(question)].lower() != question:
                self.unmatched += 1
                continue
            del pending[(k, qid)]
            self.recv_t[i] = now
            self.rcode[i] = data[3] & 0x0F


# ---- one run: a resolver, a scenario ------------------------------------------------------------

@dataclass
class RunResult:
    resolver: str
    scenario: str
    sent: int = 0
    rate: float = 0.0
    share_a: float = None
    share_a_after: float = None
    lost: int = 0
    servfail: int = 0
    other_rcodes: dict = field(default_factory=dict)
    slow: dict = field(default_factory=dict)
    worst: float = 0.0
    p50: float = 0.0
    p99: float = 0.0
    mark_down: str = "n/a"
    mark_up: str = "n/a"
    max_lag: float = 0.0
    late_sends: int = 0
    phases: dict = field(default_factory=dict)
    notion: str = ""
    notes: list = field(default_factory=list)
    warm_sent: int = 0        # region-down: re-asked names sent while the region was down
    warm_answered: int = 0    # ... and answered NOERROR (from the cache, fresh or stale)


class Fault:
    """Faults server A (with BOTH, B too) and repairs it, as a scenario says: through
    the fault proxies for the grey failures, by signals to A's knotd for the deaths;
    records when it happened."""

    def __init__(self, scenario, auth_a, proxies):
        self.scenario, self.auth_a, self.proxies = scenario, auth_a, proxies
        self.t_fault = self.t_repair = None

    def hit(self):
        return self.proxies if self.scenario in BOTH else self.proxies[:1]

    def inject(self):
        self.t_fault = time.monotonic()
        if self.scenario in PROXIED:
            for proxy in self.hit():
                proxy.tell(PROXIED[self.scenario][1])
        elif self.scenario.startswith("blackhole"):
            self.auth_a.child.signal(signal.SIGSTOP)
        else:
            self.auth_a.child.kill()

    def repair(self):
        self.t_repair = time.monotonic()
        if self.scenario in PROXIED:
            for proxy in self.hit():
                proxy.tell(PROXIED[self.scenario][2])
        elif self.scenario.startswith("blackhole"):
            self.auth_a.child.signal(signal.SIGCONT)
        else:
            self.auth_a.start(wait=False)   # a fresh knotd; no waiting inside the load loop


class ShareProbe:
    """A's share of the queries the pair answered between snapshots (Knot counters).

    Snapshots are taken in a thread (knotc takes a few ms) so the load keeps its pace.
    A restarted knotd (crash scenario) counts from zero again, so the "after" window
    starts after the restart.
    """

    def __init__(self, auth_a, auth_b):
        self.servers = (auth_a, auth_b)
        self.snaps = {}
        self._threads = []

    def take(self, label):
        self.snaps[label] = tuple(s.queries() for s in self.servers)

    def take_in_background(self, label):
        t = threading.Thread(target=self.take, args=(label,), daemon=True)
        t.start()
        self._threads.append(t)

    def share(self, first, second):
        for t in self._threads:
            t.join(3)
        a, b = self.snaps.get(first), self.snaps.get(second)
        if not a or not b or None in a + b:
            return None
        da, db = (y - x for x, y in zip(a, b))
        return da / (da + db) if da + db > 0 and da >= 0 and db >= 0 else None


def timing(opts, scenario):
    """(load duration, fault time, repair time) of a scenario, seconds."""
    if scenario == "region-down":
        return max(opts.duration, 5.0 + REGION_DOWN_FOR + 7.0), 5.0, 5.0 + REGION_DOWN_FOR
    return opts.duration, opts.duration * 0.25, opts.duration * 0.60


def the_pair(opts, scenario):
    """A's and B's knotd, and the fault proxies in front of them for a grey failure."""
    if scenario not in PROXIED:
        return (AuthServer("A", opts.auth[0], opts.run_dir, opts.zone),
                AuthServer("B", opts.auth[1], opts.run_dir, opts.zone), [])
    proxies = [FaultProxy(opts.proxy, label, listen, behind, opts.run_dir)
               for label, listen, behind in zip("AB", opts.auth, opts.behind)]
    return (AuthServer("Ap", opts.behind[0], opts.run_dir, opts.zone),
            AuthServer("Bp", opts.behind[1], opts.run_dir, opts.zone), proxies)


def busy_loops(opts, scenario, seconds):
    """Two processes spinning on the CPUs for the busy scenarios (they end by themselves)."""
    if scenario not in BUSY:
        return []
    loops = [Child(f"busy loop {k}", [sys.executable, "-c", f"import time\nend = time.monotonic() + {seconds}\n"
                                      "while time.monotonic() < end: pass"], f"{opts.run_dir}/busy.log")
             for k in range(2)]
    for loop in loops:
        loop.start()
    return loops


def warm_up(resolver, load):
    """region-down: every re-asked name once, so it is cached before the load."""
    for k in range(load.warm):
        ask(resolver.addr, load.warm_name(k), TYPE_A, 1.0)


def run_one(opts, resolver_key, scenario):
    tag = f"r{KEYS.index(resolver_key)}{SCENARIOS.index(scenario)}x{os.getpid() % 1000}"
    auth_a, auth_b, proxies = the_pair(opts, scenario)
    resolver = RESOLVER_CLASSES[resolver_key](opts, opts.auth[0])
    result = RunResult(resolver_key, scenario, notion=resolver.notion)
    duration, t_fault, t_repair = timing(opts, scenario)
    loops = []
    try:
        for proxy in proxies:
            proxy.start()
            proxy.tell(PROXIED[scenario][0])
        auth_a.start()
        auth_b.start()
        resolver.start()
        resolver.wait_ready()
        time.sleep(1.0)  # let health checks and RTT estimates settle
        fault = Fault(scenario, auth_a, proxies)
        share = ShareProbe(auth_a, auth_b)
        load = Load(resolver.addr, opts.rate, duration, tag, opts.zone,
                    warm=WARM_NAMES if scenario == "region-down" else 0)
        warm_up(resolver, load)
        share.take("start")
        resolver.watch()
        loops = busy_loops(opts, scenario, duration + 2)
        load.run([(t_fault - 0.4, lambda: share.take_in_background("fault")),
                  (t_fault, fault.inject), (t_repair, fault.repair),
                  (t_repair + 0.5, lambda: share.take_in_background("repair"))])
        share.take("end")
        result.share_a = share.share("start", "fault")
        result.share_a_after = share.share("repair", "end")
        details = resolver.details()
    finally:
        rc = resolver.stop()
        for child in [*loops, *proxies]:
            child.stop()
        auth_a.stop()
        auth_b.stop()
    if rc not in (0, None, -signal.SIGTERM):
        result.notes.append(f"{resolver_key} exited with status {rc}")
    summarize(load, fault, result)
    observe_marks(resolver, fault, result)
    if isinstance(resolver, Diresolver):
        result.notes += resolver.other_transitions(load.start)
    save_run(opts.run_dir, resolver, load, fault, result)
    print_run(result, details, getattr(resolver, "stop_stats", ""))
    return result


def save_run(run_dir, resolver, load, fault, r):
    """Per-query CSV and the resolver's view of A, for plots and second looks (--keep)."""
    base = f"{run_dir}/{r.resolver}-{r.scenario}"
    t0 = load.start
    with open(base + "-queries.csv", "w") as f:
        f.write("query,sent_s,latency_ms,rcode\n")
        for i in range(load.n):
            lat = (f"{(load.recv_t[i] - load.send_t[i]) * 1000:.3f}" if load.recv_t[i] else "")
            f.write(f"{i},{load.send_t[i] - t0:.4f},{lat},{load.rcode[i]}\n")
    lines = [f"{fault.t_fault - t0:8.3f} fault ({r.scenario})",
             f"{fault.t_repair - t0:8.3f} repair"]
    lines += resolver.timeline(t0) or [f"{t - t0:8.3f} A {state}" for t, state in
                                       (resolver.state.events if resolver.state else [])]
    with open(base + "-timeline.txt", "w") as f:
        f.write("seconds after the load started\n")
        f.writelines(line + "\n" for line in sorted(lines, key=lambda x: float(x.split()[0])))


def summarize(load, fault, result):
    """Client-side numbers from the per-query arrays."""
    result.sent = load.n
    sends = load.send_t
    result.rate = load.n / (sends[load.n - 1] - sends[0]) if load.n > 1 else 0.0
    result.max_lag, result.late_sends = load.max_lag, load.late_sends
    result.slow = {ms: 0 for ms in SLOW_MS}
    phases = {"before": [0, 0, 0], "during": [0, 0, 0], "after": [0, 0, 0]}  # lost, SERVFAIL, >100
    latencies = []
    for i in range(load.n):
        phase = ("before" if sends[i] < fault.t_fault else
                 "during" if sends[i] < fault.t_repair else "after")
        latency = load.recv_t[i] - sends[i] if load.recv_t[i] else None
        answered = latency is not None and latency <= ANSWER_DEADLINE
        rcode = load.rcode[i]
        if load.is_warm(i) and phase == "during":
            result.warm_sent += 1
            result.warm_answered += answered and rcode == 0
        if not answered:
            result.lost += 1
            phases[phase][0] += 1
            continue
        latencies.append(latency)
        if rcode == 2:
            result.servfail += 1
            phases[phase][1] += 1
        elif rcode != 0:
            name = RCODE_NAMES.get(rcode, str(rcode))
            result.other_rcodes[name] = result.other_rcodes.get(name, 0) + 1
        for ms in SLOW_MS:
            if latency > ms / 1000:
                result.slow[ms] += 1
        if latency > SLOW_MS[0] / 1000:
            phases[phase][2] += 1
    result.phases = phases
    if latencies:
        latencies.sort()
        result.worst = latencies[-1]
        result.p50 = latencies[len(latencies) // 2]
        result.p99 = latencies[int(len(latencies) * 0.99)]
    if load.late_sends > load.n // 100:
        result.notes.append(f"load generator fell behind: {load.late_sends} sends >10 ms late")


def fmt_delay(seconds):
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def observe_marks(resolver, fault, result):
    """Time from the fault to 'A down' and from the repair to 'A up', in A's own view."""
    st = resolver.state
    if st is None:
        result.mark_down = result.mark_up = "n/a"
        return
    res = f" (±{st.resolution * 1000:.0f} ms)" if st.resolution else ""
    flaps = st.flaps(fault.t_fault)
    if flaps:
        result.notes.append(f"A was marked down {flaps} time(s) before the fault")
    down = st.first("down", fault.t_fault)
    if down is None:
        result.mark_down = "never"
    elif down < fault.t_repair:
        result.mark_down = fmt_delay(down - fault.t_fault) + res
    else:
        result.mark_down = f"after repair (+{fmt_delay(down - fault.t_repair)})"
    if st.state_at(fault.t_repair) == "down":
        up = st.first("up", fault.t_repair)
        result.mark_up = fmt_delay(up - fault.t_repair) + res if up else "not by the end"
    elif down is None:
        result.mark_up = "—"
    else:
        up = st.first("up", down)
        result.mark_up = (f"before repair (+{fmt_delay(up - fault.t_fault)} after the fault)"
                          if up and up < fault.t_repair else "—")


# ---- output -----------------------------------------------------------------------------------

def fmt_latency(seconds):
    ms = seconds * 1000
    return f"{ms:.1f} ms" if ms < 10 else f"{ms:.0f} ms"


def pct(x):
    return "?" if x is None else f"{x:.0%}"


def print_run(r, details, stop_stats):
    p = r.phases
    print(f"\n--- {LABELS[r.resolver]}, {r.scenario}: {r.sent} queries at {r.rate:.0f}/s "
          f"(worst send lag {r.max_lag * 1000:.1f} ms)")
    print(f"    lost {r.lost}, SERVFAIL {r.servfail}, >100 ms {r.slow[100]}, "
          f">500 ms {r.slow[500]}, p50 {fmt_latency(r.p50)}, p99 {fmt_latency(r.p99)}, "
          f"worst {fmt_latency(r.worst)}"
          + (f", other rcodes {r.other_rcodes}" if r.other_rcodes else ""))
    print("    by send time (lost/SERVFAIL/>100 ms): " + ", ".join(
        f"{ph} {v[0]}/{v[1]}/{v[2]}" for ph, v in p.items()))
    print(f"    A's share of the pair's queries: before the fault {pct(r.share_a)}, after the "
          f"repair {pct(r.share_a_after)}; A marked down {r.mark_down}, up {r.mark_up}")
    for k, v in details.items():
        print(f"    {k}: {v}")
    if stop_stats:
        print(f"    stats at shutdown: {stop_stats}")
    for note in r.notes:
        print(f"    note: {note}")
    sys.stdout.flush()


ROWS = [
    ("queries sent (rate)", lambda r: f"{r.sent} ({r.rate:.0f}/s)"),
    ("A's share before fault", lambda r: pct(r.share_a)),
    ("lost (no answer in 5 s)", lambda r: str(r.lost)),
    ("SERVFAIL", lambda r: str(r.servfail)),
    ("answers > 100 ms", lambda r: str(r.slow[100])),
    ("answers > 500 ms", lambda r: str(r.slow[500])),
    ("worst latency", lambda r: fmt_latency(r.worst)),
    ("p99 latency", lambda r: fmt_latency(r.p99)),
    ("time to mark A down", lambda r: r.mark_down),
    ("time to mark A up", lambda r: r.mark_up),
    ("A's share after repair", lambda r: pct(r.share_a_after)),
    ("load generator's worst lag", lambda r: fmt_latency(r.max_lag)),
]


COLUMNS = [
    ("lost", lambda r: str(r.lost)),
    ("SERVFAIL", lambda r: str(r.servfail)),
    ("re-asked answered", lambda r: f"{r.warm_answered}/{r.warm_sent}" if r.warm_sent else "—"),
    (">100 ms", lambda r: str(r.slow[100])),
    ("p99", lambda r: fmt_latency(r.p99)),
    ("worst", lambda r: fmt_latency(r.worst)),
    ("A down after", lambda r: r.mark_down),
    ("A up after", lambda r: r.mark_up),
]


def scenario_table(results, markdown):
    """One row per run (scenario, resolver), one column per COLUMNS entry."""
    head = ["scenario", "resolver"] + [name for name, _ in COLUMNS]
    body = [[r.scenario, LABELS[r.resolver]] + [cell(r) for _, cell in COLUMNS] for r in results]
    return render_table(head, body, markdown, left=2)


def render_table(head, body, markdown, left=1):
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(row) + " |" for row in body]
        return "\n".join(lines)
    widths = [max(len(row[c]) for row in [head] + body) for c in range(len(head))]

    def line(row):
        return "  ".join(text.ljust(w) if c < left else text.rjust(w)
                         for c, (text, w) in enumerate(zip(row, widths)))
    return "\n".join([line(head), line(["-" * w for w in widths])] + [line(row) for row in body])


def table(results, markdown):
    """One column per run, one row per ROWS entry; plain text or markdown."""
    head = [""] + [f"{LABELS[r.resolver]} {r.scenario}" for r in results]
    body = [[name] + [cell(r) for r in results] for name, cell in ROWS]
    return render_table(head, body, markdown)


def footnotes(opts, results):
    t_fault, t_repair = opts.duration * 0.25, opts.duration * 0.60
    lines = [f"{opts.rate} queries/s of distinct names for {opts.duration:g} s, one UDP query "
             f"each (no client retries); fault on server A at t={t_fault:g} s, repair at "
             f"t={t_repair:g} s (region-down: both servers, t=5 s to t={5 + REGION_DOWN_FOR:g} s, "
             f"half the queries re-asking {WARM_NAMES} warmed names of TTL 10 s). blackhole = "
             f"SIGSTOP/SIGCONT of A's knotd (queries queue unanswered); crash = SIGKILL/restart "
             f"(port closed, ICMP unreachable); -busy: two busy loops on the CPUs meanwhile; the "
             f"grey failures go through tests/bench/fault_proxy in front of each knotd: slow "
             f"+300 ms, lossy 30 % each way, servfail, tcp-broken (every UDP answer TC=1, A's TCP "
             f"blackholed), both-slow +150 ms on A and B. "
             f"Lost = no answer within {ANSWER_DEADLINE:g} s. Loopback only; 2 cores shared "
             f"by the load generator, the resolver and the two Knot servers (load "
             f"average {opts.loadavg} when the benchmark started)."]
    seen = {}
    for r in results:
        seen.setdefault(r.resolver, r.notion)
    lines += [f"{LABELS[k]}: A down/up as seen through {v}." for k, v in seen.items()]
    if opts.baseline:
        lines += [f"{LABELS[k]}: {binary} ({build_tree(binary)})." for k, binary in
                  (("diresolver", opts.diresolver[0]), ("diresolver-baseline", opts.baseline[0]))]
        lines.append("diresolver and its -baseline twin ran one after the other, taking turns at "
                     "going first (the second scenario swaps them); a single run each, so compare "
                     "counts of slow or lost answers, not single-digit differences.")
    return lines


def build_tree(binary):
    """'tree <commit>[-dirty]' of the git work tree a binary was built in (its build
    directory sits inside it), or 'no git tree'. The tree may have moved on since."""
    try:
        out = subprocess.run(["git", "-C", os.path.dirname(os.path.abspath(binary)), "describe",
                              "--always", "--dirty", "--abbrev=7"], capture_output=True, text=True,
                             timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "no git tree"
    return f"tree {out.stdout.strip()}" if out.returncode == 0 and out.stdout.strip() else "no git tree"


# ---- main -------------------------------------------------------------------------------------

def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--run-dir", required=True)
    p.add_argument("--duration", type=float, default=20)
    p.add_argument("--rate", type=int, default=2000)
    p.add_argument("--zone", required=True)
    p.add_argument("--auth", nargs=2, required=True)
    p.add_argument("--behind", nargs=2, required=True, help="the knotds' addresses behind the fault proxies")
    p.add_argument("--proxy", required=True, help="the fault_proxy binary")
    p.add_argument("--diresolver", nargs=2, metavar=("BIN", "ADDR"), required=True)
    p.add_argument("--diresolver-spec3", default="0")
    p.add_argument("--diresolver-admin", default="")
    p.add_argument("--unbound", required=True)
    p.add_argument("--dnsdist", required=True)
    p.add_argument("--dnsdist-web", required=True)
    p.add_argument("--baseline", nargs=2, metavar=("BIN", "ADDR"))
    p.add_argument("--baseline-spec3", default="0")
    p.add_argument("--baseline-admin", default="")
    p.add_argument("--only", action="append", choices=RESOLVERS)
    p.add_argument("--scenario", action="append", choices=SCENARIOS)
    return p.parse_args()


def turns(resolvers, j):
    """The run order of scenario j: as listed, but in every other scenario a build
    and its -baseline twin swap places, so neither build always goes first."""
    order = list(resolvers)
    if j % 2:
        for i, key in enumerate(order[:-1]):
            if BASELINES.get(key) == order[i + 1]:
                order[i], order[i + 1] = order[i + 1], order[i]
    return order


def _on_signal(signum, _frame):
    """First SIGTERM/SIGINT: unwind (each run's finally stops its processes); ignore
    repeats, which would otherwise cut that clean-up short."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(128 + signum)


def main():
    assert_isolated("failover")
    opts = parse_args()
    with open("/proc/loadavg") as f:
        opts.loadavg = f.read().split()[0]
    require_loopback(*opts.auth, *opts.behind, opts.diresolver[1], opts.unbound, opts.dnsdist,
                     opts.dnsdist_web, *([opts.diresolver_admin] if opts.diresolver_admin else []),
                     *([opts.baseline[1]] if opts.baseline else []),
                     *([opts.baseline_admin] if opts.baseline_admin else []))
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    resolvers = [r for r in RESOLVERS if not opts.only or r in opts.only]
    if opts.baseline:         # each diresolver column gets its -baseline twin beside it
        resolvers = [k for r in resolvers for k in ((r, BASELINES[r]) if r in BASELINES else (r,))]
    scenarios = [s for s in SCENARIOS if not opts.scenario or s in opts.scenario]
    results = []
    for j, scenario in enumerate(scenarios):
        for key in turns(resolvers, j):
            log(f"{LABELS[key]}, {scenario}: {opts.duration:g} s at {opts.rate}/s")
            results.append(run_one(opts, key, scenario))
    # The table in the usual order, whichever of a pair went first.
    results.sort(key=lambda r: (scenarios.index(r.scenario), resolvers.index(r.resolver)))
    if len(results) <= 8:           # one column per run: readable for a few runs only
        print("\n" + table(results, markdown=False))
    print("\n" + scenario_table(results, markdown=False))
    print("\nMarkdown:\n")
    print(scenario_table(results, markdown=True))
    print()
    for line in footnotes(opts, results):
        print(f"- {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
