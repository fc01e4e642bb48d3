#!/usr/bin/python3
"""Engine of tests/bench/throughput (read its header first).

Three phases, against one fake DI pair (two knotd, pinned to CPU 1 with the load
generator), with dnsperf as the client:

  pinned     all resolvers started with one worker thread each, pinned to CPU 0
             (only the one being measured has traffic), dnsperf on CPU 1: cache
             hit (a warmed set of 1000 names, looped), then cache miss (a set of
             distinct names never asked before, sized from the hit rates just
             measured: size_miss_names), ROUNDS rounds of DURATION seconds,
             the resolvers' order rotated each round; the report gives medians;
  memory     per resolver, a fresh instance (one worker, CPU 0) filled with 100k,
             then 1M, distinct names: VmRSS growth per cached entry;
  all cores  all resolvers with N worker threads (N = CPUs), nothing pinned:
             cache-hit rounds as above, then cache-miss rounds (fresh instances,
             so the pinned phase's miss names are misses again; with p99).

Every dnsperf run also records the CPU time of the resolver (/proc/PID/stat), of
dnsperf (wait4 rusage) and of the fake DI servers, the machine's CPU use
(/proc/stat) and how many A queries reached the fake DI servers (Knot mod-stats),
so the report can say which side was the bottleneck and whether hits were hits.

With --baseline BIN, "diresolver-baseline" (another diresolver build, same config,
127.0.0.7) is one more resolver in every phase, and the report a dires/baseline column.

Runs only inside the private network namespace the bash script made; every process
it starts is a child of this one that dies with it (PR_SET_PDEATHSIG) and is
stopped by its own PID.
"""

import argparse
import ctypes
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time

import floor
import metrics_cost
from bench_dns import ask, wait_until
from bench_isolation import assert_isolated, log, require_loopback
from array import array
from dataclasses import dataclass, field

ZONE = "acme.amer.wxc-di.webex.com"
AUTH_A, AUTH_B = "127.0.0.11", "127.0.0.12"
DEFAULT_ZONE, AUTH_D = "example", "127.0.0.14"   # the default upstream: every other name
ADDRS = {"diresolver": "127.0.0.1", "unbound": "127.0.0.2", "dnsdist": "127.0.0.3",
         "diresolver-baseline": "127.0.0.7",     # --baseline: another diresolver build
         "diresolver-dnstap": "127.0.0.8"}       # --dnstap: this build writing dnstap
DIRES_ADMIN = "127.0.0.1:9553"
BASELINE_ADMIN = "127.0.0.7:9553"
DNSTAP_ADMIN = "127.0.0.8:9553"
DNSDIST_WEB = "127.0.0.3:8083"
LABELS = {"diresolver": "diresolver", "unbound": "Unbound", "dnsdist": "dnsdist",
          "diresolver-baseline": "diresolver-baseline", "diresolver-dnstap": "diresolver+dnstap"}
SHORT = {"diresolver-baseline": "baseline", "diresolver-dnstap": "dnstap"}  # in the ratio columns' headings
RESOLVERS = ("diresolver", "unbound", "dnsdist")  # --only's choices
BASELINE = "diresolver-baseline"
DNSTAP = "diresolver-dnstap"

CPU_FWD, CPU_LOAD = 0, 1        # the resolver's core; dnsperf's and the DI pair's
CACHE_ENTRIES = 2_000_000       # every resolver's cache bound: the 1M fill fits
HIT_NAMES = 1000                # the cache-hit working set
NAMES = 1_000_000               # distinct names: the fills (and the cache-miss runs' fallback)
MISS_SAFETY = 1.5               # cache-miss names per run: measured rate x run length x this
MISS_MIN_NAMES = 20_000
SAMPLE = 1000                   # names re-asked to check that a fill was cached
READY_TIMEOUT = 15.0
STOP_GRACE = 5.0
SETTLE = 1.0                    # after a fill: in-flight answers land, RSS settles
SATURATED = 90.0                # % busy: "this CPU was the bottleneck"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---- processes and their CPU / memory -------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)


def _child_setup(cpus):
    def setup():
        _libc.prctl(1, signal.SIGKILL)      # PR_SET_PDEATHSIG: no orphan outlives us
        if cpus is not None:
            os.sched_setaffinity(0, cpus)   # what `taskset -c` does
    return setup


class Child:
    """A long-running process this bench started, signalled only through its PID."""

    def __init__(self, name, argv, log_path, cpus=None):
        self.name, self.argv, self.log_path, self.cpus = name, argv, log_path, cpus
        self.proc = None

    def start(self):
        with open(self.log_path, "ab") as out:
            # From the main thread only: PDEATHSIG follows the thread that forked.
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=out, preexec_fn=_child_setup(self.cpus))
        return self

    @property
    def pid(self):
        return self.proc.pid

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None:
            return
        if self.running():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                log(f"{self.name} (pid {self.pid}) ignored SIGTERM; SIGKILL")
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def cpu_seconds(pid):
    """utime + stime of the whole process (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK   # fields 14 and 15 of stat


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_times():
    """Per CPU from /proc/stat, in jiffies: (not idle, user+nice+system, steal, total).

    "Not idle" includes interrupt and softirq time, where much of the loopback
    network stack runs without being charged to any process.
    """
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            m = re.match(r"cpu(\d+) (.*)", line)
            if m:
                v = [int(x) for x in m.group(2).split()]
                total = sum(v[:8])
                out[int(m.group(1))] = (total - v[3] - v[4], v[0] + v[1] + v[2], v[7], total)
    return out


# ---- HTTP ------------------------------------------------------------------------------

def http_get(hostport, path, headers=None, timeout=2.0):
    host, port = hostport.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read().decode(errors="replace")
        if resp.status != 200:
            raise RuntimeError(f"GET {path}: HTTP {resp.status}")
        return body
    finally:
        conn.close()


def render(template, path, **values):
    with open(template) as f:
        text = f.read()
    for key, value in values.items():
        text = text.replace(f"@{key}@", str(value))
    leftover = re.findall(r"@[A-Z_]+@", text)
    if leftover:
        raise RuntimeError(f"{template}: unset placeholders {sorted(set(leftover))}")
    with open(path, "w") as f:
        f.write(text)
    return path


# ---- the fake DI pair ---------------------------------------------------------------------

class Knot:
    def __init__(self, name, addr, opts, zone=ZONE):
        self.name, self.addr, self.zone = name, addr, zone
        self.conf = render(f"{opts.templates}/knot.conf.in", f"{opts.run_dir}/knot-{name}.conf",
                           NAME=name, ADDR=addr, ZONE=zone, RUN=opts.run_dir,
                           DIR=f"{opts.run_dir}/knot-{name}")
        os.makedirs(f"{opts.run_dir}/knot-{name}", exist_ok=True)
        subprocess.run(["knotc", "-c", self.conf, "conf-check"], check=True,
                       stdout=subprocess.DEVNULL, timeout=10)
        self.child = Child(f"knotd {name}", ["knotd", "-c", self.conf],
                           f"{opts.run_dir}/knot-{name}.log", cpus={CPU_LOAD})

    def start(self):
        self.child.start()
        wait_until(lambda: ask(self.addr, self.zone, qtype=6) == 0, READY_TIMEOUT,
                   f"knotd {self.name} answering on {self.addr}")

    def a_queries(self):
        out = subprocess.run(["knotc", "-c", self.conf, "-t", "2", "stats",
                              "mod-stats.query-type"], capture_output=True, text=True,
                             timeout=10, check=True).stdout
        m = re.search(r"query-type\[A\] = (\d+)", out)
        return int(m.group(1)) if m else 0


class Pair:
    """The fake DI pair, and beside it the default upstream (a third knotd serving
    `example`), which every resolver is configured with but the timed runs never ask."""

    def __init__(self, opts):
        self.servers = [Knot("A", AUTH_A, opts), Knot("B", AUTH_B, opts)]
        self.default = Knot("D", AUTH_D, opts, zone=DEFAULT_ZONE)

    def start(self):
        for s in self.servers + [self.default]:
            s.start()

    def stop(self):
        for s in self.servers + [self.default]:
            s.child.stop()

    def a_queries(self):
        return sum(s.a_queries() for s in self.servers)

    def cpu(self):
        return sum(cpu_seconds(s.child.pid) for s in self.servers + [self.default])

    def pids(self):
        return [s.child.pid for s in self.servers + [self.default]]


# ---- the resolvers ------------------------------------------------------------------------

class Resolver:
    """One resolver under test; start() makes a fresh instance (empty cache)."""
    key = ""

    def __init__(self, opts):
        self.opts, self.addr = opts, ADDRS[self.key]
        self.child = None
        self.instance = 0

    def start(self, workers, cpus, counting=False):
        """counting: the memory phase, which reads the cached-entry count."""
        self.instance += 1
        tag = f"{self.key}-{self.instance}"
        conf = self.write_config(workers, tag, counting)
        self.child = Child(self.key, self.argv(conf), f"{self.opts.run_dir}/{tag}.log", cpus)
        self.child.start()
        wait_until(lambda: not self.child.running() or ask(self.addr, f"ready.{ZONE}") == 0,
                   READY_TIMEOUT, f"{self.key} answering on {self.addr}")
        if not self.child.running():
            raise RuntimeError(f"{self.key} exited at start; see {self.child.log_path}")
        # Configured like the others: names outside the DI zone go to the default upstream.
        wait_until(lambda: ask(self.addr, f"www.{DEFAULT_ZONE}") == 0, READY_TIMEOUT,
                   f"{self.key} answering www.{DEFAULT_ZONE} through the default upstream")
        return self

    def stop(self):
        if self.child:
            self.child.stop()
            self.child = None

    @property
    def pid(self):
        return self.child.pid

    def entries(self):
        """Cached entries as the resolver counts them, or None."""
        return None


class Diresolver(Resolver):
    key = "diresolver"

    def __init__(self, opts):
        super().__init__(opts)
        self.binary, self.admin = opts.diresolver, DIRES_ADMIN

    def write_config(self, workers, tag, counting):
        conf = render(f"{self.opts.templates}/diresolver.toml.in", f"{self.opts.run_dir}/{tag}.toml",
                      ROOT=self.opts.root, ADDR=self.addr, WORKERS=workers, ADMIN=self.admin,
                      CACHE_ENTRIES=CACHE_ENTRIES, AUTH_A=AUTH_A, AUTH_B=AUTH_B, AUTH_D=AUTH_D)
        out = subprocess.run([self.binary, "config-test", "-c", conf], capture_output=True,
                             text=True, timeout=10)
        if out.returncode != 0:
            raise RuntimeError(f"diresolver config-test: {out.stderr.strip() or out.stdout.strip()}")
        # Safety: every upstream in the printed routing table must be loopback.
        for addr in re.findall(r"=([0-9.]+):\d+", out.stdout):
            require_loopback(addr)
        return conf

    def argv(self, conf):
        return [self.binary, "run", "-c", conf]

    def entries(self):
        m = re.search(r"^diresolver_cache_entries(?:\{[^}]*\})? ([0-9.e+]+)$",
                      http_get(self.admin, "/metrics"), re.M)
        return int(float(m.group(1))) if m else None


class DiresolverBaseline(Diresolver):
    """--baseline: another diresolver build (e.g. the commit before a refactoring), run
    beside the current one with the same config on its own addresses."""
    key = BASELINE

    def __init__(self, opts):
        super().__init__(opts)
        self.binary, self.admin = opts.baseline, BASELINE_ADMIN


class Unbound(Resolver):
    key = "unbound"

    def write_config(self, workers, tag, counting):
        # msg.cache.count needs extended-statistics, off in the timed runs.
        conf = render(f"{self.opts.templates}/unbound.conf.in", f"{self.opts.run_dir}/{tag}.conf",
                      ADDR=self.addr, WORKERS=workers, RUN=self.opts.run_dir, ZONE=ZONE,
                      EXTENDED_STATS="yes" if counting else "no",
                      AUTH_A=AUTH_A, AUTH_B=AUTH_B, AUTH_D=AUTH_D)
        subprocess.run(["unbound-checkconf", conf], check=True, stdout=subprocess.DEVNULL,
                       timeout=10)
        self.conf = conf
        return conf

    def argv(self, conf):
        return ["unbound", "-d", "-c", conf]

    def entries(self):
        out = subprocess.run(["unbound-control", "-c", self.conf, "stats_noreset"],
                             capture_output=True, text=True, timeout=10).stdout
        m = re.search(r"^msg\.cache\.count=(\d+)$", out, re.M)
        return int(m.group(1)) if m else None


class Dnsdist(Resolver):
    key = "dnsdist"

    def write_config(self, workers, tag, counting):
        conf = render(f"{self.opts.templates}/dnsdist.conf.in", f"{self.opts.run_dir}/{tag}.conf",
                      ADDR=self.addr, WORKERS=workers, ZONE=ZONE, AUTH_A=AUTH_A, AUTH_B=AUTH_B,
                      DEFAULT_ZONE=DEFAULT_ZONE, AUTH_D=AUTH_D, CACHE_ENTRIES=CACHE_ENTRIES, WEB=DNSDIST_WEB)
        check = subprocess.run(["dnsdist", "--check-config", "-C", conf], capture_output=True,
                               text=True, timeout=10)
        if check.returncode != 0:
            raise RuntimeError(f"dnsdist --check-config: {check.stdout.strip()} {check.stderr.strip()}")
        return conf

    def argv(self, conf):
        return ["dnsdist", "--supervised", "--disable-syslog", "-C", conf]

    def entries(self):
        data = json.loads(http_get(DNSDIST_WEB, "/api/v1/servers/localhost",
                                   headers={"X-API-Key": "bench"}))
        for pool in data.get("pools", []):
            if pool.get("name", "") == "di" and "cacheEntries" in pool:
                return int(pool["cacheEntries"])
        return None


class DiresolverDnstap(Diresolver):
    """--dnstap: this build with every dnstap message on, to a file in the run directory
    (CLIENT_QUERY/RESPONSE and FORWARDER_QUERY/RESPONSE: four messages per cache miss).
    Pinned runs only: the memory fill would write about a gigabyte."""
    key = DNSTAP

    def __init__(self, opts):
        super().__init__(opts)
        self.admin = DNSTAP_ADMIN

    def write_config(self, workers, tag, counting):
        conf = super().write_config(workers, tag, counting)
        with open(conf, "a") as f:
            f.write(f'\n[dnstap]\nfile = "{self.opts.run_dir}/{tag}.fstrm"\n')
        out = subprocess.run([self.binary, "config-test", "-c", conf], capture_output=True, text=True, timeout=10)
        if out.returncode != 0:
            raise RuntimeError(f"diresolver config-test with [dnstap]: {out.stderr.strip()}")
        return conf

    def dropped(self):
        """dnstap messages dropped for a full queue so far (a figure with drops is not
        the cost of writing them all)."""
        m = re.search(r'^diresolver_dnstap_messages_total\{result="dropped"\} ([0-9.e+]+)$',
                      http_get(self.admin, "/metrics"), re.M)
        return int(float(m.group(1))) if m else None


RESOLVER_CLASSES = {"diresolver": Diresolver, "unbound": Unbound, "dnsdist": Dnsdist,
                    BASELINE: DiresolverBaseline, DNSTAP: DiresolverDnstap}


# ---- dnsperf ------------------------------------------------------------------------------

def children_cpu():
    """CPU seconds of this process and of every live process it started, by PID."""
    me, out = os.getpid(), {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) == me or int(fields[1]) == me:
            out[int(entry)] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    return out


def ours_since(before, after):
    return sum(after[pid] - before[pid] for pid in after if pid in before)


def wait_quiet(opts):
    """With --wait-quiet S: wait up to S seconds for other processes to leave the CPUs
    (less than 10% of a core over one second), so a shared machine skews less."""
    if opts.wait_quiet <= 0:
        return
    end = time.monotonic() + opts.wait_quiet
    while True:
        t0, sys0, ours0 = time.monotonic(), cpu_times(), children_cpu()
        time.sleep(1.0)
        sys1, ours1 = cpu_times(), children_cpu()
        busy = sum(sys1[c][1] - sys0[c][1] for c in sys1) / CLK_TCK
        other = (busy - ours_since(ours0, ours1)) / (time.monotonic() - t0)
        if other < 0.10:
            return
        if time.monotonic() > end:
            log(f"other processes still use {100 * other:.0f}% of a core; measuring anyway")
            return
        log(f"waiting for other processes to go ({100 * other:.0f}% of a core)")


@dataclass
class Measured:
    """One dnsperf run and everything observed around it."""
    what: str
    sent: int = 0
    completed: int = 0
    lost: int = 0
    rcodes: dict = field(default_factory=dict)
    qps: float = 0.0
    avg_ms: float = None
    p99_ms: float = None
    wall: float = 0.0           # dnsperf's lifetime, for the CPU shares
    resolver_cpu: float = 0.0   # seconds, the resolver's process (all threads)
    dnsperf_cpu: float = 0.0
    auth_cpu: float = 0.0
    upstream_a: int = 0         # A queries the fake DI pair got during the run
    busy: dict = field(default_factory=dict)    # per CPU: % not idle (softirq included)
    busy_s: dict = field(default_factory=dict)  # per CPU: seconds not idle
    steal: float = 0.0          # % of all CPUs' time stolen by the hypervisor
    other_cpu: float = 0.0      # % of one core used by processes that are not ours
    ended: str = ""             # why dnsperf stopped: "time limit", "end of file", ...

    @property
    def lost_pct(self):
        return 100.0 * self.lost / self.sent if self.sent else None

    def per_answer(self, seconds):
        return 1e6 * seconds / self.completed if self.completed else None

    @property
    def us_per_answer(self):
        return self.per_answer(self.resolver_cpu)

    @property
    def cpu0_us_per_answer(self):
        """The forwarder's whole core per answer in pinned runs: its process plus the
        kernel's softirq work there, which /proc/PID/stat does not charge to it."""
        return self.per_answer(self.busy_s[CPU_FWD])

    def pct(self, seconds):
        return 100.0 * seconds / self.wall if self.wall else None

    @property
    def upstream_per_answer(self):
        return self.upstream_a / self.completed if self.completed else None


def parse_dnsperf(text, m):
    def num(pattern, conv=float):
        found = re.search(pattern, text, re.M)
        return conv(found.group(1)) if found else None
    m.sent = num(r"^\s*Queries sent:\s+(\d+)", int) or 0
    m.completed = num(r"^\s*Queries completed:\s+(\d+)", int) or 0
    m.lost = num(r"^\s*Queries lost:\s+(\d+)", int) or 0
    m.qps = num(r"^\s*Queries per second:\s+([0-9.]+)") or 0.0
    m.ended = num(r"Testing complete \(([^)]*)\)", str) or ""
    avg = num(r"^\s*Average Latency \(s\):\s+([0-9.]+)")
    m.avg_ms = avg * 1e3 if avg is not None else None
    codes = re.search(r"^\s*Response codes:\s+(.*)$", text, re.M)
    if codes:
        m.rcodes = {c: int(n) for c, n in re.findall(r"([A-Z]+) (\d+) \(", codes.group(1))}


def p99_latency(path):
    """p99 in ms from dnsperf -v's per-answer lines: '> NOERROR name A 0.000123'."""
    lat = array("d")
    with open(path, "rb") as f:
        for line in f:
            if line.startswith(b"> "):
                try:
                    lat.append(float(line.rsplit(None, 1)[1]))
                except (ValueError, IndexError):
                    pass
    if not lat:
        return None
    lat = sorted(lat)
    return 1e3 * lat[min(len(lat) - 1, int(len(lat) * 0.99))]


def dnsperf(opts, what, resolver, pair, datafile, *, seconds, once=False, cpus=None,
            percentiles=False, concurrency=None):
    """Run dnsperf against the resolver (bounded in time) and observe everything around it.

    concurrency (clients, outstanding) is for warm-ups and checks; measured runs use
    the options' and first wait for a quiet machine (--wait-quiet).
    """
    if concurrency is None:
        wait_quiet(opts)
    clients, outstanding = concurrency or (opts.clients, opts.outstanding)
    out_path = f"{opts.run_dir}/dnsperf-{resolver.key}-{what.replace(' ', '_')}.out"
    argv = ["dnsperf", "-s", resolver.addr, "-d", datafile, "-l", str(seconds),
            "-c", str(clients), "-q", str(outstanding), "-T", "1", "-t", "2"]
    if once:
        argv += ["-n", "1"]
    if percentiles:
        argv += ["-v"]
    m = Measured(what)
    res_cpu0, auth_cpu0, up0 = cpu_seconds(resolver.pid), pair.cpu(), pair.a_queries()
    ours0, sys0, t0 = children_cpu(), cpu_times(), time.monotonic()
    with open(out_path, "wb") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                preexec_fn=_child_setup(cpus))
    profiler = profile_start(opts, what, resolver, seconds) if concurrency is None else None
    deadline = t0 + seconds + 20            # -l bounds it; this is the backstop
    while True:
        pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            log(f"dnsperf (pid {proc.pid}) overran its time limit; SIGKILL")
            proc.kill()
            _, status, rusage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(status)   # reaped here, not by Popen
    m.wall = time.monotonic() - t0
    res_cpu1, auth_cpu1, ours1, sys1 = cpu_seconds(resolver.pid), pair.cpu(), children_cpu(), cpu_times()
    time.sleep(0.3)                         # late answers of the last upstream queries
    m.upstream_a = pair.a_queries() - up0
    m.resolver_cpu = res_cpu1 - res_cpu0
    m.auth_cpu = auth_cpu1 - auth_cpu0
    m.dnsperf_cpu = rusage.ru_utime + rusage.ru_stime
    with open(out_path, errors="replace") as f:
        f.seek(max(0, os.path.getsize(out_path) - 4000))
        tail = f.read()
    if proc.returncode != 0:
        raise RuntimeError(f"dnsperf exited {proc.returncode}: {tail[-300:].strip()}")
    parse_dnsperf(tail, m)
    profile_end(opts, profiler, m)
    if percentiles:
        m.p99_ms = p99_latency(out_path)
    if not opts.keep:
        os.unlink(out_path)
    # The machine around the run: busy share per CPU, and what others used.
    proc_busy = steal = total = 0
    for cpu, (busy1, proc1, steal1, all1) in sys1.items():
        busy0, proc0, steal0, all0 = sys0[cpu]
        m.busy[cpu] = 100.0 * (busy1 - busy0) / max(1, all1 - all0)
        m.busy_s[cpu] = (busy1 - busy0) / CLK_TCK
        proc_busy += proc1 - proc0
        steal += steal1 - steal0
        total += all1 - all0
    m.steal = 100.0 * steal / max(1, total)
    ours = ours_since(ours0, ours1) + m.dnsperf_cpu
    m.other_cpu = max(0.0, 100.0 * (proc_busy / CLK_TCK - ours) / m.wall)
    return m


SYSCALLS = ("recvmmsg", "recvmsg", "recvfrom", "sendmmsg", "sendmsg", "sendto", "epoll_wait",
            "epoll_pwait", "epoll_ctl", "read", "write")


def profile_start(opts, what, resolver, seconds):
    """--profile: perf record (call graphs) and perf stat (system calls) of diresolver
    (or, with --floor, of udp_reflector too) for most of a measured run."""
    if not opts.profile or not (resolver.key.startswith("diresolver") or resolver.key.startswith("floor")):
        return None
    base = f"{opts.run_dir}/perf-{resolver.key}-{what.replace(' ', '_')}-{time.monotonic_ns()}"
    window = max(1, seconds - 1)
    record = ["perf", "record", "-q", "--call-graph", "dwarf,16384", "-F", "1000", "-p", str(resolver.pid), "-o", base + ".data",
              "--", "sleep", str(window)]
    stat = ["perf", "stat", "-x", ",", "-o", base + ".stat", "-p", str(resolver.pid),
            "-e", ",".join(f"syscalls:sys_enter_{name}" for name in SYSCALLS), "--", "sleep", str(window)]
    procs = [subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, preexec_fn=_child_setup(None))
             for argv in (record, stat)]
    return base, window, procs


def profile_end(opts, profiler, m):
    """Logs the top symbols and the system calls per answer (at the run's queries/s)."""
    if profiler is None:
        return
    base, window, procs = profiler
    for proc in procs:
        try:
            proc.wait(30)                     # `sleep` bounds them
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    report = subprocess.run(["perf", "report", "-i", base + ".data", "--no-children", "--stdio", "-g", "none",
                             "--percent-limit", "0.7", "--sort", "dso,sym"],
                            capture_output=True, text=True, timeout=120).stdout
    dsos = subprocess.run(["perf", "report", "-i", base + ".data", "--no-children", "--stdio", "-g", "none",
                           "--sort", "dso"], capture_output=True, text=True, timeout=120).stdout
    calls = {}
    with open(base + ".stat") as f:
        for row in f:
            cols = row.strip().split(",")
            if len(cols) > 2 and cols[0].isdigit():
                calls[cols[2].split("sys_enter_")[-1]] = int(cols[0])
    answers = m.qps * window
    per_answer = ", ".join(f"{name} {n / answers:.3f}" for name, n in calls.items() if n) if answers else "-"
    total = sum(calls.values()) / answers if answers else 0
    keep = [ln for ln in (dsos + report).splitlines() if ln.strip() and not ln.startswith("#")]
    log(f"profile {m.what}: system calls per answer {total:.2f} ({per_answer})\n" + "\n".join(keep[:45]))
    if not opts.keep:
        for ext in (".data", ".stat"):
            os.unlink(base + ext)


# ---- the measurements -------------------------------------------------------------------------

@dataclass
class Fill:
    label: str
    names: int                  # distinct names asked so far
    entries: int                # growth of the resolver's own count (None: it has none)
    rss_kib: int
    bytes_per_entry: float
    cached: str                 # "hits/sample" of the re-ask check
    qps: float


@dataclass
class Results:
    hit: list = field(default_factory=list)        # Measured per round
    miss: list = field(default_factory=list)
    allcores: list = field(default_factory=list)
    allcores_miss: list = field(default_factory=list)
    hit_cached: str = ""
    rss_start_kib: int = None
    rss_after_miss_kib: int = None                 # after every pinned miss round
    fills: list = field(default_factory=list)      # Fill
    errors: list = field(default_factory=list)
    limits: list = field(default_factory=list)     # what limited a figure (not an error)


def write_names(path, start, count, step=1):
    with open(path, "w") as f:
        f.writelines(f"m{i}.{ZONE} A\n" for i in range(start, start + count, step))
    return path


def size_miss_names(opts, what, rates, runs):
    """How many distinct names each cache-miss run of a phase gets, from a measured rate.

    rates: queries/s of the cache-hit runs just before, of the resolvers about to take
    misses (a miss costs a resolver more than a hit, so the fastest hit bounds its miss
    rate). Names = that rate x the run's seconds x MISS_SAFETY, at least MISS_MIN_NAMES,
    at most what `runs` runs against one instance leave room for in its cache
    (CACHE_ENTRIES, less the hit set): eviction would change what a miss costs. A run
    that still uses its names up stops early and says so (ran_out); it never raises.
    """
    cap = (CACHE_ENTRIES - 2 * HIT_NAMES) // runs
    rate = max((r for r in rates if r), default=0)
    if rate:
        want = int(rate * opts.duration * MISS_SAFETY)
        how = f"the fastest cache-hit run before it ({rate:,.0f} q/s) x {opts.duration} s x {MISS_SAFETY}"
    else:
        want = NAMES // runs
        how = f"no cache-hit rate measured, so the fixed {NAMES:,} / {runs}"
    count = max(MISS_MIN_NAMES, min(want, cap))
    log(f"{what}: {count:,} distinct names per cache-miss run, sized from {how} = {want:,}"
        + (f", capped at {cap:,} ({runs} runs against one instance must fit its "
           f"{CACHE_ENTRIES:,}-entry cache without eviction)" if want > cap else "")
        + (f", raised to the minimum {MISS_MIN_NAMES:,}" if want < MISS_MIN_NAMES else ""))
    return count


def write_miss_files(opts, tag, count, runs, offset=0):
    """One file of `count` distinct names per run, none shared between runs."""
    return [write_names(f"{opts.run_dir}/{tag}-{i}.txt", offset + i * count, count)
            for i in range(runs)]


def ran_out(m, count, seconds):
    """None, or what limited a once-through (-n 1) run that used up its names early."""
    if m.ended != "end of file" and m.sent < count:
        return None
    return (f"ran out of its {count:,} names after {m.wall:.1f} s of {seconds} s "
            f"(queries/s is over that shorter run)")


def warm(opts, resolver, pair):
    dnsperf(opts, "warm", resolver, pair, opts.hit_file, seconds=10, once=True,
            concurrency=(1, 20))


def check_cached(opts, resolver, pair, path, count):
    """Re-ask names answered once: how many came from the cache (no upstream A query).
    (diresolver's and dnsdist's health probes ask SOA, so they do not count.)"""
    m = dnsperf(opts, "re-ask", resolver, pair, path, seconds=10, once=True, cpus={CPU_LOAD},
                concurrency=(1, 20))
    return max(0, m.completed - m.upstream_a), count


def start_all(resolvers, results, workers, cpus):
    """Starts each resolver; one that fails is left out (and the failure noted)."""
    live = []
    for r in resolvers:
        try:
            r.start(workers, cpus)
            live.append(r)
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            log(f"{r.key}: {e}")
            results[r.key].errors.append(str(e))
            r.stop()
    return live


def rounds(opts, live):
    """Round i runs the resolvers rotated by i, so none is always first or last."""
    for i in range(opts.rounds):
        k = i % len(live)
        yield i, live[k:] + live[:k]


def measure(results, resolver, what, fn):
    """One measured run; a failure is noted for that resolver and the bench goes on."""
    try:
        return fn()
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        log(f"{resolver.key} {what}: {e}")
        results[resolver.key].errors.append(f"{what}: {e}")
        return None


def note_ran_out(res, m, count, seconds, what):
    limit = ran_out(m, count, seconds)
    if limit:
        log(f"{what}: {limit}")
        res.limits.append(f"{what}: {limit}")


def bench_pinned(opts, resolvers, pair, results):
    log(f"pinned: each resolver one worker on CPU {CPU_FWD}; dnsperf and the DI pair on "
        f"CPU {CPU_LOAD}; {opts.rounds} round(s) of {opts.duration} s")
    live = start_all(resolvers, results, 1, {CPU_FWD})
    try:
        for r in live:
            warm(opts, r, pair)
            hits, n = check_cached(opts, r, pair, opts.hit_file, HIT_NAMES)
            results[r.key].hit_cached = f"{hits}/{n}"
            if hits < n * 0.99:
                results[r.key].errors.append(f"only {hits} of {n} warmed names came from the cache")
        for i, order in rounds(opts, live):
            for r in order:
                log(f"{r.key}: cache hit, round {i + 1}")
                m = measure(results, r, "cache hit", lambda: dnsperf(
                    opts, "cache hit", r, pair, opts.hit_file, seconds=opts.duration,
                    cpus={CPU_LOAD}, percentiles=True))
                if m:
                    results[r.key].hit.append(m)
        count = size_miss_names(opts, "pinned", [m.qps for r in live for m in results[r.key].hit],
                                opts.rounds)
        files = write_miss_files(opts, "miss", count, opts.rounds)
        for i, order in rounds(opts, live):
            for r in order:
                log(f"{r.key}: cache miss, round {i + 1}")
                m = measure(results, r, "cache miss", lambda: dnsperf(
                    opts, "cache miss", r, pair, files[i], seconds=opts.duration,
                    once=True, cpus={CPU_LOAD}, percentiles=True))
                if m:
                    results[r.key].miss.append(m)
                    note_ran_out(results[r.key], m, count, opts.duration, f"cache miss round {i + 1}")
        for r in live:
            results[r.key].rss_after_miss_kib = rss_kib(r.pid)
            if r.key == DNSTAP and (dropped := r.dropped()):
                results[r.key].limits.append(f"{dropped:,} dnstap messages dropped (queue full): "
                                             "its CPU figure leaves their writing out")
    finally:
        for r in live:
            r.stop()


def bench_memory(opts, resolver, pair, res):
    log(f"{resolver.key}: memory per cached entry (fresh instance, one worker on CPU {CPU_FWD})")
    resolver.start(1, {CPU_FWD}, counting=True)
    try:
        # The baseline has already walked the code of a miss and a hit.
        warm(opts, resolver, pair)
        check_cached(opts, resolver, pair, opts.hit_file, HIT_NAMES)
        time.sleep(SETTLE)
        res.rss_start_kib = rss_kib(resolver.pid)
        entries0 = resolver.entries()
        for label, start, count in opts.fills:
            log(f"{resolver.key}: filling {count:,} more distinct names")
            m = dnsperf(opts, f"fill {label}", resolver, pair, opts.fill_files[label],
                        seconds=opts.fill_limit, once=True, cpus={CPU_LOAD})
            if m.completed < count:
                res.errors.append(f"fill {label}: {m.completed} of {count} names answered "
                                  f"within {opts.fill_limit} s")
            time.sleep(SETTLE)
            rss = rss_kib(resolver.pid)
            entries = resolver.entries()
            names = start + count
            step = max(1, names // SAMPLE)
            sample = write_names(f"{opts.run_dir}/sample-{label}.txt", 0, names, step)
            hits, n = check_cached(opts, resolver, pair, sample, len(range(0, names, step)))
            # Per entry: over the resolver's own count when it keeps one, else the names.
            grown = entries - entries0 if entries is not None and entries0 is not None else None
            per_entry = 1024.0 * (rss - res.rss_start_kib) / (grown or names)
            res.fills.append(Fill(label, names, grown, rss, per_entry, f"{hits}/{n}", m.qps))
            if hits < n * 0.99:
                res.errors.append(f"fill {label}: only {hits} of {n} re-asked names were cached")
    finally:
        resolver.stop()


def bench_allcores(opts, resolvers, pair, results):
    n = len(os.sched_getaffinity(0))
    log(f"all cores: each resolver {n} workers, nothing pinned; {opts.rounds} round(s) "
        f"of {opts.duration} s")
    live = start_all(resolvers, results, n, None)
    try:
        for r in live:
            warm(opts, r, pair)
        for i, order in rounds(opts, live):
            for r in order:
                log(f"{r.key}: cache hit on all cores, round {i + 1}")
                m = measure(results, r, "all cores", lambda: dnsperf(
                    opts, "all cores", r, pair, opts.hit_file, seconds=opts.duration))
                if m:
                    results[r.key].allcores.append(m)
        # These instances are fresh, so names the pinned phase asked are misses again.
        count = size_miss_names(opts, "all cores", [m.qps for r in live for m in results[r.key].allcores],
                                opts.rounds)
        files = write_miss_files(opts, "miss-allcores", count, opts.rounds)
        for i, order in rounds(opts, live):
            for r in order:
                log(f"{r.key}: cache miss on all cores, round {i + 1}")
                m = measure(results, r, "all cores miss", lambda: dnsperf(
                    opts, "all cores miss", r, pair, files[i], seconds=opts.duration,
                    once=True, percentiles=True))
                if m:
                    results[r.key].allcores_miss.append(m)
                    note_ran_out(results[r.key], m, count, opts.duration,
                                 f"all cores cache miss round {i + 1}")
    finally:
        for r in live:
            r.stop()


def calibrate(opts, pair):
    """diresolver's pinned cache hit under several dnsperf settings (-c, -q, -v)."""
    resolver = Diresolver(opts)
    resolver.start(1, {CPU_FWD})
    rows = []
    try:
        warm(opts, resolver, pair)
        for c, q in ((1, 20), (1, 100), (4, 100), (8, 50), (8, 100), (8, 200), (32, 1000)):
            for verbose in (False, True):
                opts.clients, opts.outstanding = c, q
                m = dnsperf(opts, "calibrate", resolver, pair, opts.hit_file, seconds=opts.duration,
                            cpus={CPU_LOAD}, percentiles=verbose)
                rows.append((f"-c {c} -q {q}" + (" -v" if verbose else ""), m))
                log(f"{rows[-1][0]}: {m.qps:,.0f} q/s")
    finally:
        resolver.stop()
    print(f"\ndiresolver, cache hit, one worker on CPU {CPU_FWD}, dnsperf -T 1 on CPU {CPU_LOAD}, "
          f"{opts.duration} s each")
    print(f"{'dnsperf':<18}{'q/s':>10}{'avg ms':>8}{'p99 ms':>8}{'lost %':>8}{'µs/answer':>11}"
          f"{f'CPU {CPU_FWD} %':>9}{f'CPU {CPU_LOAD} %':>9}{'other %':>9}")
    for label, m in rows:
        print(f"{label:<18}{m.qps:>10,.0f}{fmt(m.avg_ms, 3):>8}{fmt(m.p99_ms, 3):>8}"
              f"{fmt(m.lost_pct, 2):>8}{fmt(m.us_per_answer, 2):>11}{fmt(m.busy[CPU_FWD]):>9}"
              f"{fmt(m.busy[CPU_LOAD]):>9}{fmt(m.other_cpu):>9}")


# ---- the report -------------------------------------------------------------------------------

def fmt(v, digits=0, thousands=False):
    if v is None:
        return "-"
    return f"{v:,.{digits}f}" if thousands else f"{v:.{digits}f}"


def median(runs, f):
    vals = [v for v in (f(m) for m in runs) if v is not None]
    return statistics.median(vals) if vals else None


def verdict(m, pinned):
    """Which side limited a run: the CPU that was (nearly) never idle.

    Pinned runs: CPU 0 runs only the resolver (and the kernel's work for its
    packets), CPU 1 dnsperf and the DI pair. All-cores runs: both, shared.
    """
    if pinned:
        fwd, load = m.busy[CPU_FWD] >= SATURATED, m.busy[CPU_LOAD] >= SATURATED
        return {(True, True): "both CPUs", (True, False): "resolver",
                (False, True): "load side", (False, False): "neither"}[(fwd, load)]
    if sum(m.busy.values()) >= SATURATED * len(m.busy):
        return f"all {len(m.busy)} CPUs"
    return "neither"


def verdicts(runs, pinned):
    """The most frequent verdict of the rounds, with its count when not unanimous."""
    if not runs:
        return None
    found = [verdict(m, pinned) for m in runs]
    top = max(found, key=found.count)
    return top if found.count(top) == len(found) else f"{top} {found.count(top)}/{len(found)}"


def versions(opts):
    """One line naming what was measured on what."""
    def first(argv, pattern):
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=5)
        except (OSError, subprocess.SubprocessError):
            return "?"
        m = re.search(pattern, out.stdout + out.stderr)
        return m.group(1) if m else "?"
    with open("/proc/cpuinfo") as f:
        model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    parts = [("diresolver", [opts.diresolver, "--version"], r"diresolver (\S+)"),
             *([("baseline diresolver", [opts.baseline, "--version"], r"diresolver (\S+)")]
               if opts.baseline else []),
             ("Unbound", ["unbound", "-V"], r"Version (\S+)"),
             ("dnsdist", ["dnsdist", "--version"], r"dnsdist (\S+)"),
             ("dnsperf", ["dnsperf", "-h"], r"Version (\S+)"),
             ("Knot", ["knotd", "--version"], r"version (\S+)")]
    def where(name, argv):
        """With --baseline: which binary, and the commit of the tree it sits in."""
        if not opts.baseline or not name.endswith("diresolver"):
            return ""
        return f" ({argv[0]}, {build_tree(argv[0])})"
    return ", ".join([f"{name} {first(argv, pattern)}{where(name, argv)}" for name, argv, pattern in parts]
                     + [f"{len(os.sched_getaffinity(0))} x {model}, Linux {os.uname().release}"])


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


def build_sections(opts, results, order):
    """[(title, [(label, {resolver: text}, {resolver: number}, ratio?)])]."""
    def row(label, getter, digits=0, ratio=False, thousands=False):
        texts, nums = {}, {}
        for r in order:
            try:
                v = getter(results[r])
            except (TypeError, AttributeError, IndexError, KeyError, ZeroDivisionError):
                v = None
            nums[r] = v if isinstance(v, (int, float)) else None
            texts[r] = v if isinstance(v, str) else fmt(v, digits, thousands)
        return label, texts, nums, ratio

    def spread(runs):
        if len(runs) < 2:
            return None
        return f"{min(m.qps for m in runs):,.0f}-{max(m.qps for m in runs):,.0f}"

    def run_rows(get, pinned, percentiles=None):
        percentiles = pinned if percentiles is None else percentiles
        rows = [row("queries/s" + (" (median)" if opts.rounds > 1 else ""),
                    lambda x: median(get(x), lambda m: m.qps), 0, True, True)]
        if opts.rounds > 1:
            rows.append(row("queries/s (min-max)", lambda x: spread(get(x))))
        rows.append(row("avg latency ms", lambda x: median(get(x), lambda m: m.avg_ms), 3, True))
        if percentiles:                 # all-cores hits go without dnsperf -v: it is their bottleneck
            rows.append(row("p99 latency ms", lambda x: median(get(x), lambda m: m.p99_ms), 3, True))
        rows += [
            row("lost %", lambda x: median(get(x), lambda m: m.lost_pct), 2),
            row("resolver CPU µs/answer", lambda x: median(get(x), lambda m: m.us_per_answer), 2, True),
        ]
        if pinned:
            rows += [
                row(f"CPU {CPU_FWD} µs/answer (+kernel)",
                    lambda x: median(get(x), lambda m: m.cpu0_us_per_answer), 2, True),
                row("resolver process CPU %", lambda x: median(get(x), lambda m: m.pct(m.resolver_cpu))),
                row(f"CPU {CPU_FWD} busy % (resolver)", lambda x: median(get(x), lambda m: m.busy[CPU_FWD])),
                row(f"CPU {CPU_LOAD} busy % (dnsperf, DI)", lambda x: median(get(x), lambda m: m.busy[CPU_LOAD])),
            ]
        else:
            rows += [
                row(f"resolver process CPU % (of {ncpu * 100})",
                    lambda x: median(get(x), lambda m: m.pct(m.resolver_cpu))),
                row("dnsperf process CPU %", lambda x: median(get(x), lambda m: m.pct(m.dnsperf_cpu))),
                row(f"CPUs busy % (of {ncpu * 100})", lambda x: median(get(x), lambda m: sum(m.busy.values()))),
            ]
        rows.append(row("bottleneck", lambda x: verdicts(get(x), pinned)))
        return rows

    ncpu = len(os.sched_getaffinity(0))
    runs = f"median of {opts.rounds} x {opts.duration} s" if opts.rounds > 1 else f"{opts.duration} s"
    sections = []
    def insert_after(rows, label, new):
        rows.insert(next(i for i, r in enumerate(rows) if r[0] == label) + 1, new)

    hit = run_rows(lambda x: x.hit, True)
    insert_after(hit, "lost %", row("warmed names from cache", lambda x: x.hit_cached or None))
    if "pinned" not in opts.skip:
        sections.append((f"cache hit: 1 thread on CPU {CPU_FWD}, {HIT_NAMES} names looped, {runs}", hit))
    miss = run_rows(lambda x: x.miss, True)
    insert_after(miss, "lost %", row("SERVFAIL", lambda x: median(x.miss, lambda m: m.rcodes.get("SERVFAIL", 0))))
    insert_after(miss, "resolver CPU µs/answer", row("upstream queries/answer",
                 lambda x: median(x.miss, lambda m: m.upstream_per_answer), 3))
    miss.append(row("RSS after the miss runs MiB", lambda x: x.rss_after_miss_kib / 1024, 1, True))
    if "pinned" not in opts.skip:
        sections.append((f"cache miss: 1 thread on CPU {CPU_FWD}, distinct names, {runs}", miss))

    mem = [row("RSS at start MiB", lambda x: x.rss_start_kib / 1024, 1, True)]
    for i, label in enumerate(lbl for lbl, _, _ in opts.fills):
        mem += [
            row(f"{label}: entries cached", lambda x, i=i: x.fills[i].entries, 0, False, True),
            row(f"{label}: RSS MiB", lambda x, i=i: x.fills[i].rss_kib / 1024, 1, True),
            row(f"{label}: bytes/entry", lambda x, i=i: x.fills[i].bytes_per_entry, 0, True),
            row(f"{label}: re-asked names cached", lambda x, i=i: x.fills[i].cached),
            row(f"{label}: fill queries/s", lambda x, i=i: x.fills[i].qps, 0, False, True),
        ]
    if "memory" not in opts.skip:
        sections.append(("memory: fresh instance, 1 thread, distinct names filled", mem))
    if "allcores" not in opts.skip:
        sections.append((f"cache hit, all cores: {ncpu} threads, nothing pinned, {runs}",
                         run_rows(lambda x: x.allcores, False)))
        sections.append((f"cache miss, all cores: {ncpu} threads, nothing pinned, distinct names, {runs}",
                         run_rows(lambda x: x.allcores_miss, False, percentiles=True)))
    return sections


def ratio(nums, peer):
    a, b = nums.get("diresolver"), nums.get(peer)
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}x"


def notes_for(opts, results, order):
    notes = []
    for r in order:
        res = results[r]
        for runs, pinned in ((res.hit, True), (res.miss, True), (res.allcores, False),
                             (res.allcores_miss, False)):
            for m in runs:
                if m.other_cpu >= 15:
                    notes.append(f"{LABELS[r]} {m.what}: other processes used {m.other_cpu:.0f}% "
                                 "of a core during a run; its numbers are skewed")
                if m.steal >= 5:
                    notes.append(f"{LABELS[r]} {m.what}: {m.steal:.0f}% CPU steal (hypervisor)")
            if pinned and runs:
                v = {verdict(m, True) for m in runs}
                if "load side" in v:
                    notes.append(f"{LABELS[r]} {runs[0].what}: dnsperf and the DI pair saturated "
                                 f"CPU {CPU_LOAD}, the resolver's CPU was not: queries/s is a lower bound")
                elif "both CPUs" in v:
                    notes.append(f"{LABELS[r]} {runs[0].what}: CPU {CPU_LOAD} (dnsperf) was saturated "
                                 "too: queries/s may be a lower bound; CPU µs/answer compares")
        notes += [f"{LABELS[r]}: {e}" for e in res.errors + res.limits]
    return list(dict.fromkeys(notes))          # once each, in order


def print_report(opts, results, order):
    sections = build_sections(opts, results, order)
    if not any(rows for _, rows in sections):
        print("nothing was measured (every phase skipped?)")
        return
    peers = [r for r in order if r != "diresolver"] if "diresolver" in order else []
    cols = [LABELS[r] for r in order] + [f"dires/{SHORT.get(p, LABELS[p])}" for p in peers]
    width = max(len(label) for _, rows in sections for label, *_ in rows) + 2
    cw = max([16] + [len(c) + 2 for c in cols])           # 16 unless a heading is longer
    notes = notes_for(opts, results, order)
    setup = (f"fake DI pair {AUTH_A}, {AUTH_B} (knotd, wildcard A, TTL 3600); dnsperf -c "
             f"{opts.clients} -q {opts.outstanding} -T 1; pinned runs: resolver on CPU {CPU_FWD}, "
             f"dnsperf and the DI pair on CPU {CPU_LOAD}")
    legend = "ratio = diresolver / peer (queries/s: higher is better; latency, CPU, memory: lower)"
    if BASELINE in order:
        legend += "; dires/baseline = this build / the --baseline build"

    print("\nthroughput: " + ", ".join(f"{LABELS[r]} on {ADDRS[r]}" for r in order))
    ver = versions(opts)
    print(ver)
    print(setup)
    print(legend)
    for title, rows in sections:
        print(f"\n{title}")
        print(" " * width + "".join(f"{c:>{cw}}" for c in cols))
        for label, texts, nums, has_ratio in rows:
            print(f"  {label:<{width - 2}}" + "".join(f"{texts[r]:>{cw}}" for r in order)
                  + "".join(f"{(ratio(nums, p) if has_ratio else ''):>{cw}}" for p in peers))
    if notes:
        print("\nnotes:")
        print("\n".join(f"  - {n}" for n in notes))

    print("\nmarkdown:\n")
    print(f"{ver}; {setup}; {legend}.\n")
    print("| | " + " | ".join(cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for title, rows in sections:
        print(f"| **{title}** |" + " |" * len(cols))
        for label, texts, nums, has_ratio in rows:
            cells = [texts[r] for r in order] + [(ratio(nums, p) if has_ratio else "") for p in peers]
            print(f"| {label} | " + " | ".join(cells) + " |")
    if notes:
        print()
        print("\n".join(f"- {n}" for n in notes))


# ---- main -------------------------------------------------------------------------------------

def main():
    p = argparse.ArgumentParser()
    p.add_argument("--run-dir", required=True)
    p.add_argument("--root", required=True)
    p.add_argument("--templates", required=True)
    p.add_argument("--diresolver", required=True)
    p.add_argument("--baseline", help="another diresolver build, measured beside --diresolver")
    p.add_argument("--dnstap", action="store_true", help="also --diresolver writing dnstap (pinned runs)")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--duration", type=int)
    p.add_argument("--rounds", type=int)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--outstanding", type=int, default=100)
    p.add_argument("--only", action="append", choices=RESOLVERS)
    p.add_argument("--skip", action="append", default=[], choices=("pinned", "memory", "allcores"))
    p.add_argument("--calibrate", action="store_true")
    p.add_argument("--metrics-cost", action="store_true")
    p.add_argument("--floor", action="store_true")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--profile", action="store_true")
    p.add_argument("--wait-quiet", type=int, default=0)
    opts = p.parse_args()
    assert_isolated("throughput")
    require_loopback(AUTH_A, AUTH_B, AUTH_D, DIRES_ADMIN, BASELINE_ADMIN, DNSTAP_ADMIN, DNSDIST_WEB,
                     *ADDRS.values())
    if not {CPU_FWD, CPU_LOAD} <= os.sched_getaffinity(0):
        sys.exit(f"bench: needs CPUs {CPU_FWD} and {CPU_LOAD}")

    opts.duration = opts.duration or (3 if opts.quick else 5)
    opts.rounds = opts.rounds or (1 if opts.quick else 3)
    opts.fill_limit = 60 if opts.quick else 150
    opts.fills = [("100k", 0, 100_000)] if opts.quick else [("100k", 0, 100_000),
                                                            ("1M", 100_000, 900_000)]
    order = [r for r in RESOLVERS if not opts.only or r in opts.only]
    if opts.baseline:                     # beside diresolver, in every round and phase
        order.insert(order.index("diresolver") + 1 if "diresolver" in order else 0, BASELINE)
    if opts.dnstap:                       # beside diresolver, in the pinned rounds
        order.insert(order.index("diresolver") + 1 if "diresolver" in order else 0, DNSTAP)

    log("writing the zone and the query files")
    for zone in (ZONE, DEFAULT_ZONE):
        render(f"{opts.templates}/zone.in", f"{opts.run_dir}/{zone}.zone", ZONE=zone, AUTH_A=AUTH_A,
               AUTH_B=AUTH_B)
    with open(f"{opts.run_dir}/hit.txt", "w") as f:
        f.writelines(f"h{i}.{ZONE} A\n" for i in range(HIT_NAMES))
    opts.hit_file = f"{opts.run_dir}/hit.txt"
    # Cache-miss runs get their names once the cache hits before them have measured how
    # fast the resolvers answer (size_miss_names). The fills use the same names on fresh
    # instances.
    opts.fill_files = {label: write_names(f"{opts.run_dir}/fill-{label}.txt", start, count)
                       for label, start, count in opts.fills}

    pair = Pair(opts)
    pair.start()
    try:
        if opts.calibrate:
            calibrate(opts, pair)
            return 0
        if opts.metrics_cost:
            metrics_cost.bench_metrics_cost(opts, pair, sys.modules[__name__])
            return 0
        if opts.floor:
            floor.bench_floor(opts, pair, sys.modules[__name__])
            return 0
        results = {key: Results() for key in order}
        resolvers = [RESOLVER_CLASSES[key](opts) for key in order]
        if "pinned" not in opts.skip:
            bench_pinned(opts, resolvers, pair, results)
        if "memory" not in opts.skip:
            for r in (r for r in resolvers if r.key != DNSTAP):
                measure(results, r, "memory", lambda: bench_memory(opts, r, pair, results[r.key]))
        if "allcores" not in opts.skip:
            bench_allcores(opts, [r for r in resolvers if r.key != DNSTAP], pair, results)
        print_report(opts, results, order)
    finally:
        pair.stop()
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
