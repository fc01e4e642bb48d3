#!/usr/bin/python3
"""Engine of tests/soak (read that file's header first): starts the fake upstreams and
the daemon, runs the load and the abusive clients, plays the schedule of outages and
reloads, samples the daemon from /proc, then checks and reports.

Runs only inside the private network namespace tests/soak made (checked again here);
every process it starts is its child, dies with it (PR_SET_PDEATHSIG) and is signalled
only by its own PID.
"""

import argparse
import ctypes
import http.client
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
import tomllib
from array import array

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"
DI_ZONE = "acme.amer.wxc-di.webex.com"
DEFAULT_ZONE = "example"
DI_A, DI_B, DEFAULT = "127.0.0.11", "127.0.0.12", "127.0.0.13"
DAEMON, ADMIN = "127.0.0.1", "127.0.0.1:9553"
KINDS = ("di-cached", "di-short", "di-unique", "def-cached", "def-unique")
DI_UNIQUE = 2
SERVFAIL = 2
# SERVFAIL while both DI servers are down says so: EDE 22 (No Reachable Authority) or 23
# (Network Error: DI-B's port refused); any other reason is not the outage's doing.
EXPECTED_EDE = (22, 23)
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Clocks and tolerances (seconds unless named otherwise); each has its reason.
WARMUP = 14.0            # load alone first: the 5000-entry cache fills (about 700 new names/s)
BASELINE_WINDOW = 5.0    # the plateau: RSS and fds over the last seconds of the warm-up
END_WINDOW = 6.0         # ... compared with the last seconds of the load
LOST_AFTER = 5.0         # a query unanswered this long is lost (the daemon's deadline is 1.5 s)
OUTAGE_BEFORE = 0.5      # a query sent this long before DI-B's kill may still meet it
OUTAGE_AFTER = 5.0       # and this long after DI-B answers again: rise (2 probes at 0.5 s) + deadline
RELOAD_EVERY = 24.0
STOP_WITHIN = 5.0        # SIGTERM to exit: "within a few seconds"
KILL_AFTER = 10.0        # then SIGKILL (and the check fails)
FD_TOLERANCE = 2         # fds at the end (upstream sockets not counted) may exceed the plateau
                         # by this many. A leak of one per client connection would be hundreds
                         # (thousands of connections come and go).
UDP_POOL_BOUND = 3 * 4   # connected UDP sockets per upstream server: each of the 3 loops (2
                         # workers, the control loop's probes) opens up to 4 as its traffic
                         # needs them (UdpSocketPool::sockets_per_server), so how many exist at
                         # the plateau depends on how busy each loop has been by then; the end
                         # is held to this bound instead (+ FD_TOLERANCE: a retired socket
                         # drains before it closes).
RSS_TOLERANCE_MIB = 4.0  # RSS at the end may exceed the plateau by this much, or by
RSS_TOLERANCE_PCT = 10.0  # this share of it, whichever is larger: allocator slack (glibc keeps
                          # freed per-thread arenas), e.g. the non-readers' unsent answers

SAMPLE_EVERY = 0.5
SPIN_PCT = 40            # a daemon thread this busy (a worker uses 5-10 % at this load) ...
SPIN_SAMPLES = 10        # ... for this many samples in a row (5 s) is spinning: capture evidence

_libc = ctypes.CDLL(None, use_errno=True)


def log(msg):
    print(f"soak: {msg}", flush=True)


def die(msg):
    print(f"soak: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(2)


# ---- isolation ---------------------------------------------------------------------

def assert_isolated():
    with open("/proc/net/dev") as f:
        ifaces = [line.split(":")[0].strip() for line in f.readlines()[2:]]
    if ifaces != ["lo"]:
        die(f"interfaces other than lo in this network namespace: {ifaces}; refusing to run")
    try:
        if os.stat("/proc/self/ns/net").st_ino == os.stat("/proc/1/ns/net").st_ino:
            die("running in the initial network namespace; refusing to run")
    except OSError:
        pass


def require_loopback(address):
    host = address.rsplit(":", 1)[0] if address.count(":") == 1 else address
    if ipaddress.ip_address(host) not in ipaddress.ip_network("127.0.0.0/8"):
        die(f"{address} is not in 127.0.0.0/8")


# ---- processes --------------------------------------------------------------------

def _die_with_us():
    _libc.prctl(1, signal.SIGKILL)          # PR_SET_PDEATHSIG: no orphan outlives us


class Child:
    """A process this test started; signalled only through its PID."""

    def __init__(self, name, argv, log_path):
        self.name, self.argv, self.log_path = name, argv, log_path
        self.proc = None
        self.stopped = False                # SIGSTOP sent, SIGCONT not yet

    def start(self):
        with open(self.log_path, "ab") as out:
            # From the main thread only: PDEATHSIG follows the thread that forked.
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=out, preexec_fn=_die_with_us)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if self.running():
            os.kill(self.pid, sig)
            if sig == signal.SIGSTOP:
                self.stopped = True
            elif sig == signal.SIGCONT:
                self.stopped = False

    def stop(self, grace=5.0):
        """SIGTERM (SIGCONT first if stopped), SIGKILL after grace; returns (status, seconds)."""
        if self.proc is None:
            return None, 0.0
        begin = time.monotonic()
        if self.running():
            if self.stopped:
                self.signal(signal.SIGCONT)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                log(f"{self.name} (pid {self.pid}) still running {grace:.0f} s after SIGTERM; SIGKILL")
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode, time.monotonic() - begin

    def kill(self):
        if self.running():
            self.proc.kill()
            self.proc.wait()


def dns_ask(server, name, qtype=1, timeout=1.0):
    """RCODE of one UDP query (plain sockets), None on timeout."""
    wire = struct.pack("!HHHHHH", 0x5157, 0x0100, 1, 0, 0, 0)
    for label in name.strip(".").split("."):
        wire += bytes([len(label)]) + label.encode()
    wire += b"\x00" + struct.pack("!HH", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(wire, (server, 53))
            data = s.recv(4096)
        except OSError:
            return None
    return data[3] & 0xF if len(data) >= 12 else None


def wait_until(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    die(f"timed out after {timeout:.0f} s waiting for {what}")


def render(template, path, **values):
    with open(os.path.join(HERE, template)) as f:
        text = f.read()
    for key, value in values.items():
        text = text.replace(f"@{key}@", str(value))
    leftover = re.findall(r"@[A-Z_]+@", text)
    if leftover:
        die(f"{template}: unset placeholders {sorted(set(leftover))}")
    with open(path, "w") as f:
        f.write(text)
    return text


class Knot:
    def __init__(self, name, addr, zone, zone_template, run):
        self.name, self.addr, self.zone = name, addr, zone
        require_loopback(addr)
        d = f"{run}/knot-{name}"
        os.makedirs(d, exist_ok=True)
        self.conf = f"{d}/knot.conf"
        render("knot.conf.in", self.conf, NAME=name, ADDR=addr, ZONE=zone, RUN=d, DIR=d)
        render(zone_template, f"{d}/{zone}.zone", ZONE=zone)
        subprocess.run(["knotc", "-c", self.conf, "conf-check"], check=True,
                       stdout=subprocess.DEVNULL, timeout=10)
        self.child = Child(f"knotd {name}", ["knotd", "-c", self.conf], f"{d}/knotd.log")

    def start(self, timeout=10.0):
        self.child.start()
        wait_until(lambda: dns_ask(self.addr, self.zone, 6) == 0, timeout,
                   f"knotd {self.name} answering on {self.addr}")


def process_cpu():
    """{pid: (comm, ppid, utime+stime seconds)} of every process on the machine."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                text = f.read()
        except OSError:
            continue
        comm = text[text.index("(") + 1:text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()
        out[int(entry)] = (comm, int(fields[1]), (int(fields[11]) + int(fields[12])) / CLK_TCK)
    return out


def others_busy(before, after, ours):
    """The machine's other work during the run: [(comm, CPU seconds)], busiest first, of
    processes that are neither this one nor its descendants (same PID namespace)."""
    mine = {ours}
    changed = True
    while changed:
        changed = False
        for pid, (_, ppid, _) in after.items():
            if ppid in mine and pid not in mine:
                mine.add(pid)
                changed = True
    used = {}
    for pid, (comm, _, cpu) in after.items():
        if pid in mine:
            continue
        used[comm] = used.get(comm, 0.0) + cpu - (before.get(pid, (0, 0, 0.0))[2] if pid in before else 0.0)
    return sorted(((c, round(v, 1)) for c, v in used.items() if v >= 0.5), key=lambda x: -x[1])


# ---- HTTP ---------------------------------------------------------------------------

def _reason(line):
    """A config error's reason: what follows the file's name."""
    m = re.search(r"\.toml: (.*)$", line)
    return m.group(1) if m else line


def http_get(path, timeout=3.0):
    host, port = ADMIN.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode(errors="replace")
    finally:
        conn.close()


def metric_values(text):
    """{name{labels}: value} of a Prometheus text page."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            try:
                out[key] = float(value)
            except ValueError:
                pass
    return out


def metric_sum(values, name, **labels):
    total = 0.0
    for key, value in values.items():
        base = key.split("{", 1)[0]
        if base != name:
            continue
        if all(f'{k}="{v}"' in key for k, v in labels.items()):
            total += value
    return total


# ---- /proc sampling -------------------------------------------------------------------

def _proc_net(path, local):
    """Rows of /proc/net/{tcp,udp} whose local address is `local` (hex "0100007F:0035")."""
    rows = []
    try:
        with open(path) as f:
            next(f)
            for line in f:
                fields = line.split()
                if fields[1] == local:
                    rows.append(fields)
    except OSError:
        pass
    return rows


def _hex_addr(text):
    ip, port = text.split(":")
    return f"{socket.inet_ntoa(struct.pack('<I', int(ip, 16)))}:{int(port, 16)}"


TCP_STATES = {"01": "established", "02": "syn-sent", "06": "time-wait", "07": "close",
              "08": "close-wait", "0A": "listen", "04": "fin-wait1", "05": "fin-wait2",
              "09": "last-ack", "0B": "closing"}


def counted_fds(inventory):
    """The fds the plateau check compares: all but the sockets to the upstreams. TCP
    connections are pooled (at most one per server per loop) and close after
    upstream.tcp_idle_timeout_ms idle; the readiness validation opens them every 60 s,
    so whether they exist at a given moment is the validation's phase, not a leak.
    Connected UDP sockets grow to UDP_POOL_BOUND per server, checked on their own."""
    return sum(v for k, v in inventory.items()
               if not k.startswith("tcp to ") and not k.startswith("udp connected to "))


def udp_pool_sizes(inventory):
    """{server: connected UDP sockets to it}."""
    return {k.removeprefix("udp connected to "): v for k, v in inventory.items()
            if k.startswith("udp connected to ")}


def fd_inventory(pid):
    """What the daemon's descriptors are: {description: count}. Sockets are named from
    /proc/net (protocol, addresses, TCP state); the rest by their link target."""
    sockets = {}
    for proto in ("udp", "tcp"):
        try:
            with open(f"/proc/net/{proto}") as f:
                next(f)
                for line in f:
                    x = line.split()
                    local, remote, state, inode = _hex_addr(x[1]), _hex_addr(x[2]), x[3], x[9]
                    if proto == "udp":
                        sockets[inode] = (f"udp {local}" if remote.startswith("0.0.0.0")
                                          else f"udp connected to {remote}")
                    elif state == "0A":
                        sockets[inode] = f"tcp listening {local}"
                    elif local.endswith(":53") and local.startswith("127.0.0.1"):
                        sockets[inode] = f"tcp client connection, {TCP_STATES.get(state, state)}"
                    else:
                        sockets[inode] = f"tcp to {remote}, {TCP_STATES.get(state, state)}"
        except OSError:
            pass
    out = {}
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return out
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        m = re.match(r"socket:\[(\d+)\]", target)
        if m:
            what = sockets.get(m.group(1), "socket (unix or other)")
        else:
            what = re.sub(r"\[\d+\]", "", target)
        out[what] = out.get(what, 0) + 1
    return dict(sorted(out.items()))


class Sampler(threading.Thread):
    """Every SAMPLE_EVERY seconds: the daemon's RSS, open fds, CPU (whole and per thread),
    its listening TCP sockets' accept queues, its server-side TCP connections by state,
    and the kernel's drop counter of its UDP sockets."""

    def __init__(self, pid, t0, run_dir):
        super().__init__(daemon=True)
        self.pid, self.t0, self.run_dir = pid, t0, run_dir
        self.samples = []
        self.stop_event = threading.Event()
        self.last_threads = {}
        self.labels = {}                  # tid -> "control" / "worker" / civetweb's names
        self.hot = {}                     # tid -> consecutive samples at >= SPIN_PCT
        self.spin = None                  # what capture_spin() found, once

    def label(self, tid):
        if tid not in self.labels:
            try:
                with open(f"/proc/{self.pid}/task/{tid}/comm") as f:
                    comm = f.read().strip()
            except OSError:
                comm = "?"
            # The main thread runs the control loop; the workers are the other threads
            # named like the process (civetweb names its own).
            self.labels[tid] = ("control" if tid == self.pid else
                                "worker" if comm == "diresolver" else comm)
        return self.labels[tid]

    def sample(self):
        pid = self.pid
        now = time.monotonic()
        s = {"t": round(now - self.t0, 2)}
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        s["rss_kib"] = int(line.split()[1])
            s["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            s["cpu_s"] = (int(fields[11]) + int(fields[12])) / CLK_TCK
            threads = {}
            for tid in os.listdir(f"/proc/{pid}/task"):
                try:
                    with open(f"/proc/{pid}/task/{tid}/stat") as f:
                        tf = f.read().rsplit(")", 1)[1].split()
                    threads[int(tid)] = (int(tf[11]) + int(tf[12])) / CLK_TCK
                except OSError:
                    pass
            busiest, per_thread = 0.0, {}
            if self.last_threads:
                dt = now - self.last_threads["_t"]
                for tid, cpu in threads.items():
                    if tid in self.last_threads:
                        pct = (cpu - self.last_threads[tid]) / dt * 100
                        busiest = max(busiest, pct)
                        if pct >= 5:
                            per_thread[f"{self.label(tid)}:{tid}"] = round(pct)
                        self.hot[tid] = self.hot.get(tid, 0) + 1 if pct >= SPIN_PCT else 0
            s["max_thread_cpu_pct"] = round(busiest)
            s["threads"] = per_thread
            threads["_t"] = now
            self.last_threads = threads
        except (OSError, IndexError):
            s["gone"] = True
            return s
        listen = [r for r in _proc_net("/proc/net/tcp", "0100007F:0035") if r[3] == "0A"]
        s["accept_queue"] = sum(int(r[4].split(":")[1], 16) for r in listen)
        conns = [r for r in _proc_net("/proc/net/tcp", "0100007F:0035") if r[3] != "0A"]
        s["tcp_estab"] = sum(1 for r in conns if r[3] == "01")
        s["tcp_close_wait"] = sum(1 for r in conns if r[3] == "08")
        udp = _proc_net("/proc/net/udp", "0100007F:0035")
        s["udp_drops"] = sum(int(r[-1]) for r in udp)
        return s

    def run(self):
        while not self.stop_event.is_set():
            self.samples.append(self.sample())
            if self.spin is None:
                spinning = sorted(t for t, n in self.hot.items() if n >= SPIN_SAMPLES)
                if spinning:
                    self.spin = self.capture_spin(spinning)
            self.stop_event.wait(SAMPLE_EVERY)

    def capture_spin(self, tids):
        """Evidence, once, about threads that used >= SPIN_PCT of a CPU for SPIN_SAMPLES
        samples in a row: each one's current system call and kernel stack (/proc), and
        one backtrace of every thread (gdb -batch, if installed; it stops the daemon for
        a moment, which matters no more: it already failed to turn its loop)."""
        t = round(time.monotonic() - self.t0, 1)
        found = {"t": t, "threads": {}}
        for tid in tids:
            info = {}
            for what in ("syscall", "stack", "wchan"):
                try:
                    with open(f"/proc/{self.pid}/task/{tid}/{what}") as f:
                        info[what] = f.read().strip()
                except OSError as e:
                    info[what] = f"({e.strerror})"
            found["threads"][f"{self.label(tid)}:{tid}"] = info
        found["fds"] = fd_inventory(self.pid)
        strace = shutil.which("strace")
        if strace:
            # One second of each thread's system calls, counted, errors included.
            for tid in tids:
                try:
                    r = subprocess.run(["timeout", "-s", "INT", "1", strace, "-qq", "-c", "-p", str(tid)],
                                       capture_output=True, text=True, timeout=10)
                    found["threads"][f"{self.label(tid)}:{tid}"]["strace"] = _strace_top(r.stderr)
                    r = subprocess.run(["timeout", "-s", "INT", "0.3", strace, "-qq", "-p", str(tid)],
                                       capture_output=True, text=True, timeout=10)
                    calls = [x for x in r.stderr.splitlines() if "(" in x and "resumed" not in x]
                    found["threads"][f"{self.label(tid)}:{tid}"]["strace_sample"] = calls[:2]
                except (subprocess.TimeoutExpired, OSError) as e:
                    found["threads"][f"{self.label(tid)}:{tid}"]["strace"] = str(e)
        gdb = shutil.which("gdb")
        if gdb:
            path = f"{self.run_dir}/spin-backtrace.txt"
            try:
                r = subprocess.run([gdb, "-p", str(self.pid), "-batch", "-nx",
                                    "-ex", "set pagination off", "-ex", "thread apply all bt 30"],
                                   capture_output=True, text=True, timeout=60)
                with open(path, "w") as f:
                    f.write(r.stdout + r.stderr)
                found["backtrace_file"] = path
                found["backtraces"] = {
                    key: _thread_backtrace(r.stdout, int(key.split(":")[1]))
                    for key in found["threads"]}
            except (subprocess.TimeoutExpired, OSError) as e:
                found["backtrace_error"] = str(e)
        return found

    def window(self, begin, end, key):
        return [s[key] for s in self.samples if begin <= s["t"] < end and key in s]


def _strace_top(text):
    """strace -c's busiest lines: 'calls errors syscall' of the top 3."""
    rows = []
    for line in text.splitlines():
        x = line.split()
        if len(x) >= 5 and x[0].replace(".", "").isdigit() and x[-1] not in ("total",):
            calls = x[3]
            errors = x[4] if len(x) == 6 else "0"
            rows.append((int(calls), f"{x[-1]} {calls} calls, {errors} errors"))
    return "; ".join(r for _, r in sorted(rows, reverse=True)[:3]) or text.strip()[-200:]


def _thread_backtrace(gdb_out, tid):
    """The frames gdb printed for LWP tid (function names only, innermost first)."""
    frames, inside = [], False
    for line in gdb_out.splitlines():
        if line.startswith("Thread "):
            inside = f"LWP {tid})" in line
            continue
        if inside:
            m = re.match(r"#\d+\s+(?:0x[0-9a-f]+ in )?(\S+)", line)
            if m:
                frames.append(m.group(1))
    return frames


# ---- the run ----------------------------------------------------------------------------

class Soak:
    def __init__(self, opts):
        self.o = opts
        self.run_dir = opts.run_dir
        self.events = []                  # (t, name, detail)
        self.failures = []
        self.reloads = []                 # (t, expected, logged)
        self.cycles = 1 if opts.quick else 4
        self.cycle_len = 36.0 if opts.quick else 126.0
        self.tail = 16.0 if opts.quick else 30.0
        self.duration = WARMUP + self.cycles * self.cycle_len + self.tail
        self.outages = []                 # (kill B, B answering again) per cycle
        self.hedge = 50
        self.tcp = None
        self.inventories = {}

    # -- set-up --

    def config_text(self, variant):
        text = render("diresolver.toml.in", f"{self.run_dir}/diresolver.toml.tmp",
                      ROOT=self.o.root, HEDGE_MAX=self.hedge, RUN=self.run_dir)
        if variant == "syntax":
            text += "\n[upstream\nattempt_timeout_ms = 400\n"        # an unclosed table header
        elif variant == "semantic":
            text = text.replace('regions = ["amer"]', 'regions = ["mars"]')  # unknown region
        return text

    def write_config(self, variant="good"):
        text = self.config_text(variant)
        if variant == "good":
            cfg = tomllib.loads(text)
            for server in (cfg["region"]["amer"]["servers"] + cfg["default"]["servers"]
                           + cfg["server"]["listen"]):
                require_loopback(server)
            require_loopback(cfg["admin"]["listen"])
        with open(self.config, "w") as f:
            f.write(text)

    def config_test(self, variant, want_ok):
        path = f"{self.run_dir}/check-{variant}.toml"
        with open(path, "w") as f:
            f.write(self.config_text(variant))
        r = subprocess.run([self.o.bin, "config-test", "-c", path], capture_output=True,
                           text=True, timeout=10)
        if (r.returncode == 0) != want_ok:
            die(f"config-test of the {variant} config: exit {r.returncode}, expected "
                f"{'0' if want_ok else 'non-zero'}: {r.stdout}{r.stderr}")
        if want_ok:
            # The routing table the daemon printed: every server in 127.0.0.0/8.
            for addr in re.findall(r"(\d+\.\d+\.\d+\.\d+):53", r.stdout):
                require_loopback(addr)
        return (r.stdout + r.stderr).strip().splitlines()

    def identify(self):
        """Which build runs: path, mtime, sha256 (a shared build dir changes under us)."""
        import hashlib
        st = os.stat(self.o.bin)
        with open(self.o.bin, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()[:16]
        version = subprocess.run([self.o.bin, "--version"], capture_output=True, text=True,
                                 timeout=5).stdout.strip()
        mtime = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(st.st_mtime))
        return f"{self.o.bin} ({version}; built {mtime}; sha256 {digest})"

    def start(self):
        o = self.o
        self.binary = self.identify()
        log(f"daemon: {self.binary}")
        self.config = f"{self.run_dir}/diresolver.toml"
        self.config_test("good", True)
        # What a broken reload must say: config-test's reason for the same text.
        self.broken_reasons = {v: _reason(self.config_test(v, False)[-1]) for v in ("syntax", "semantic")}
        self.write_config()
        self.knots = {
            "A": Knot("A", DI_A, DI_ZONE, "di.zone.in", self.run_dir),
            "B": Knot("B", DI_B, DI_ZONE, "di.zone.in", self.run_dir),
            "D": Knot("D", DEFAULT, DEFAULT_ZONE, "default.zone.in", self.run_dir),
        }
        for k in self.knots.values():
            k.start()
        self.daemon_log = f"{self.run_dir}/diresolver.log"
        self.daemon = Child("diresolver", ["prlimit", f"--nofile={o.nofile}:{o.nofile}", "--",
                                           o.bin, "run", "-c", self.config], self.daemon_log)
        self.daemon.start()
        wait_until(lambda: self._exe_is_daemon(), 5, "prlimit to exec the daemon")
        wait_until(lambda: self._readyz(), 20, "the daemon's /readyz to answer 200")
        with open(f"/proc/{self.daemon.pid}/limits") as f:
            limit = next(line for line in f if line.startswith("Max open files")).split()[3]
        if int(limit) != o.nofile:
            die(f"the daemon's fd limit is {limit}, expected {o.nofile}")
        self.idle_fds = len(os.listdir(f"/proc/{self.daemon.pid}/fd"))
        log(f"daemon pid {self.daemon.pid} ready; fd limit {o.nofile}, {self.idle_fds} fds open idle")

    def _exe_is_daemon(self):
        try:
            return os.path.realpath(f"/proc/{self.daemon.pid}/exe") == os.path.realpath(self.o.bin)
        except OSError:
            return False

    def _readyz(self):
        if not self.daemon.running():
            die(f"the daemon exited with status {self.daemon.proc.returncode} while starting; "
                f"see {self.daemon_log}:\n" + open(self.daemon_log).read()[-2000:])
        try:
            return http_get("/readyz", timeout=1.0)[0] == 200
        except OSError:
            return False

    # -- schedule --

    def schedule(self):
        """[(t, name, fn)] of the orchestrator's own events (the clients run their own)."""
        ev = []
        for c in range(self.cycles):
            s, L = WARMUP + c * self.cycle_len, self.cycle_len
            ev += [(s + 0.45 * L, "SIGSTOP DI-A", self.stop_a),
                   (s + 0.55 * L, "SIGKILL DI-B", self.kill_b),
                   (s + 0.66 * L, "restart DI-B", self.restart_b),
                   (s + 0.78 * L, "SIGCONT DI-A", self.cont_a)]
        ev += [(2.0, "TCP warm-up", self.tcp_warmup),
               (WARMUP - 2.0, "fd inventory (plateau)", lambda: self.inventory("plateau"))]
        ev += [(self.duration - d, f"fd inventory (end {k + 1})", lambda k=k: self.inventory(f"end{k + 1}"))
               for k, d in enumerate((5.0, 3.0, 1.0))]
        t, i = 8.0, 0
        while t < self.duration - 8:
            variant = "good"
            if i % 3 == 1:
                variant = ("syntax", "semantic")[(i // 3) % 2]
            ev.append((t, f"SIGHUP ({variant} config)", lambda v=variant: self.reload(v)))
            t += RELOAD_EVERY
            i += 1
        return sorted(ev, key=lambda e: e[0])

    def tcp_phases(self, base_fds):
        headroom = self.o.nofile - base_fds
        nr = self.o.nonreaders
        near = max(0, headroom - nr - 16)   # 16 fds short of the limit
        over = headroom + self.o.past_limit  # default 40 more than the daemon can hold
        phases = []
        for c in range(self.cycles):
            s, L = WARMUP + c * self.cycle_len, self.cycle_len
            phases += [[s, near, nr], [s + 0.22 * L, over, nr], [s + 0.50 * L, 0, 0]]
        return phases, near, over

    def note(self, name, detail=""):
        t = time.monotonic() - self.t0
        self.events.append((round(t, 2), name, detail))
        log(f"t={t:6.1f}s {name}{': ' + detail if detail else ''}")

    def tcp_warmup(self):
        """A few TCP queries before the plateau is measured, so what a worker allocates
        once, on its first TCP client (libuv opens a spare descriptor per loop then), is
        part of the plateau and not mistaken for a leak later."""
        ok = 0
        q = struct.pack("!HHHHHH", 0x7777, 0x0100, 1, 0, 0, 0)
        for label in f"c1.{DI_ZONE}".split("."):
            q += bytes([len(label)]) + label.encode()
        q += b"\x00\x00\x01\x00\x01"
        for _ in range(8):                       # 8 source ports: both workers get some
            try:
                with socket.create_connection((DAEMON, 53), timeout=2) as c:
                    c.settimeout(2)
                    c.sendall(struct.pack("!H", len(q)) + q)
                    ok += len(c.recv(2)) == 2
            except OSError:
                pass
        return f"{ok}/8 TCP queries answered"

    def inventory(self, when):
        self.inventories[when] = fd_inventory(self.daemon.pid)
        return f"{sum(self.inventories[when].values())} fds"

    def stop_a(self):
        self.knots["A"].child.signal(signal.SIGSTOP)

    def cont_a(self):
        self.knots["A"].child.signal(signal.SIGCONT)

    def kill_b(self):
        self.knots["B"].child.kill()
        self.kill_b_t = time.monotonic() - self.t0

    def restart_b(self):
        self.knots["B"].start()
        self.outages.append((self.kill_b_t, time.monotonic() - self.t0))
        return f"answering again after {self.outages[-1][1] - self.outages[-1][0]:.1f} s down"

    def reload(self, variant):
        if variant == "good":
            self.hedge = 45 if self.hedge == 50 else 50   # a real change, every good reload
        self.write_config(variant)
        with open(self.daemon_log) as f:
            f.seek(0, 2)
            pos = f.tell()
        self.daemon.signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        logged = None
        while time.monotonic() < deadline and logged is None:
            time.sleep(0.05)
            with open(self.daemon_log) as f:
                f.seek(pos)
                for line in f.read().splitlines():
                    if re.search(r"\breloaded\b|reload failed", line):
                        logged = line.strip()
                        break
        if variant != "good":
            self.write_config("good")      # the file on disk is right again for the next one
        if variant == "good":
            want = "reloaded"
            ok = logged is not None and "info: reloaded" in logged
        else:
            want = f"reload failed, keeping the running config: ...: {self.broken_reasons[variant]}"
            ok = (logged is not None and "reload failed, keeping the running config" in logged
                  and _reason(logged) == self.broken_reasons[variant])
        self.reloads.append((round(time.monotonic() - self.t0, 1), variant, logged, ok))
        if not ok:
            self.failures.append(f"SIGHUP with the {variant} config: expected a log line with "
                                 f"'{want}', got {logged!r} within 5 s")
        return logged or "no reload line logged within 5 s"

    # -- run --

    def run(self):
        o = self.o
        self.cpu_before = process_cpu()
        self.load_before = open("/proc/loadavg").read().split()[:3]
        self.t0 = time.monotonic() + 1.0
        self.sampler = Sampler(self.daemon.pid, self.t0, self.run_dir)
        self.sampler.start()
        load_out = f"{self.run_dir}/load"
        self.load = Child("load", [PY, "-B", f"{HERE}/load.py", "--t0", repr(self.t0),
                                   "--duration", str(self.duration), "--rate", str(o.rate),
                                   "--timeout", str(LOST_AFTER), "--out", load_out],
                          f"{self.run_dir}/load.log").start()
        self.flood = Child("flood", [PY, "-B", f"{HERE}/abuse.py", "--t0", repr(self.t0),
                                     "--flood-start", "1", "--flood-end", str(self.duration - 1),
                                     "--flood-rate", str(o.flood_rate), "--tcp-phases", "[[0, 0, 0]]",
                                     "--out", f"{self.run_dir}/flood.json"],
                           f"{self.run_dir}/flood.log").start()
        log(f"load: {o.rate:.0f} q/s for {self.duration:.0f} s; malformed flood {o.flood_rate:.0f}/s; "
            f"{self.cycles} cycle(s) of {self.cycle_len:.0f} s after a {WARMUP:.0f} s warm-up")
        events = self.schedule()
        tcp_started = False
        while events or not tcp_started:
            now = time.monotonic() - self.t0
            if not tcp_started and now >= WARMUP - 1.5:
                tcp_started = True
                self.start_tcp_clients()
                continue
            if events and now >= events[0][0]:
                t, name, fn = events.pop(0)
                detail = fn()
                self.note(name, detail or "")
                continue
            if not self.daemon.running():
                self.failures.append(f"the daemon exited during the run (status "
                                     f"{self.daemon.proc.returncode})")
                self.note("the daemon exited", str(self.daemon.proc.returncode))
                break
            upcoming = [events[0][0]] if events else []
            if not tcp_started:
                upcoming.append(WARMUP - 1.5)
            time.sleep(max(0.0, min([0.2] + [x - now for x in upcoming])))
        for child in (self.load, self.flood, self.tcp):
            if child is None:
                continue
            bound = self.duration + LOST_AFTER + 20
            try:
                child.proc.wait(max(1.0, self.t0 + bound - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.failures.append(f"{child.name} did not finish in time (killed)")
                child.kill()
            if child.proc.returncode != 0:
                self.failures.append(f"{child.name} exited with status {child.proc.returncode}; "
                                     f"see its log")
        self.note("clients finished")
        self.load_after = open("/proc/loadavg").read().split()[:3]
        self.others = others_busy(self.cpu_before, process_cpu(), os.getpid())

    def start_tcp_clients(self):
        s = self.sampler.window(WARMUP - 1.5 - BASELINE_WINDOW, WARMUP, "fds")
        base = max(s) if s else self.idle_fds
        phases, near, over = self.tcp_phases(base)
        self.tcp_plan = {"base_fds": base, "near": near, "over": over}
        self.note("TCP clients start", f"fd plateau {base}: {near} idle clients (16 fds short of "
                  f"the limit {self.o.nofile}) + {self.o.nonreaders} non-readers, then {over} idle "
                  f"(40 past the limit)")
        self.tcp = Child("tcp clients", [PY, "-B", f"{HERE}/abuse.py", "--t0", repr(self.t0),
                                         "--flood-rate", "0", "--flood-end", "0",
                                         "--tcp-phases", json.dumps(phases),
                                         "--nonreader-rate", str(self.o.nonreader_rate),
                                         "--out", f"{self.run_dir}/tcp.json"],
                         f"{self.run_dir}/tcp.log").start()

    def finish(self):
        time.sleep(1.0)
        self.metrics = {}
        try:
            status, body = http_get("/metrics")
            if status == 200:
                self.metrics = metric_values(body)
                with open(f"{self.run_dir}/metrics.txt", "w") as f:
                    f.write(body)
        except OSError as e:
            self.failures.append(f"GET /metrics after the run failed: {e}")
        self.sampler.stop_event.set()
        self.sampler.join(5)
        self.final_sample = self.sampler.sample()
        status, took = self.daemon.stop(grace=KILL_AFTER)
        self.stop_status, self.stop_took = status, took
        self.note("SIGTERM to the daemon", f"exit status {status} after {took:.2f} s")
        for k in self.knots.values():
            k.child.stop()
        with open(self.daemon_log) as f:
            self.log_text = f.read()
        with open(f"{self.run_dir}/fd-inventories.json", "w") as f:
            json.dump(self.inventories, f, indent=1)

    # -- analysis --

    def analyse(self):
        o = self.o
        rep = {}
        # The steady load, query by query.
        arrays = {}
        for name, code in (("send", "d"), ("kind", "b"), ("outcome", "b"), ("latency", "f"),
                           ("ede", "h")):
            a = array(code)
            path = f"{self.run_dir}/load.{name}"
            with open(path, "rb") as f:
                a.frombytes(f.read())
            arrays[name] = a
        with open(f"{self.run_dir}/load.json") as f:
            load_sum = json.load(f)
        send, kind, outcome, lat, ede = (arrays[k] for k in ("send", "kind", "outcome", "latency", "ede"))
        n = len(send)
        windows = [(k - OUTAGE_BEFORE, r + OUTAGE_AFTER) for k, r in self.outages]
        counts = {"sent": n, "answered": 0, "noerror": 0, "servfail_expected": 0,
                  "lost": 0, "unexpected": 0}
        rcodes, by_kind_bad, unexpected_samples = {}, {}, []
        lat_all, lat_calm = [], []
        per_second = {}
        for i in range(n):
            t = send[i] - self.t0
            out = outcome[i]
            sec = int(t)
            ps = per_second.setdefault(sec, [0, 0, 0, 0, 0, []])  # sent ok sf lost unexpected lats
            ps[0] += 1
            in_outage = any(a <= t < b for a, b in windows)
            if out == -1:
                counts["lost"] += 1
                ps[3] += 1
                label = "lost"
            else:
                counts["answered"] += 1
                label = {-2: "NOERROR without A", -3: "wrong question"}.get(out, RCODES.get(out, str(out)))
                if out > 0:
                    label += f" (EDE {ede[i]})" if ede[i] >= 0 else " (no EDE)"
                lat_all.append(lat[i])
                ps[5].append(lat[i])
                if not in_outage:
                    lat_calm.append(lat[i])
            rcodes[label] = rcodes.get(label, 0) + 1
            if out == 0:
                counts["noerror"] += 1
                ps[1] += 1
                continue
            if out == SERVFAIL and kind[i] == DI_UNIQUE and in_outage and ede[i] in EXPECTED_EDE:
                counts["servfail_expected"] += 1
                ps[2] += 1
                continue
            if out != -1:
                ps[4] += 1
            counts["unexpected"] += out != -1
            key = f"{KINDS[kind[i]]} {label}"
            by_kind_bad[key] = by_kind_bad.get(key, 0) + 1
            if len(unexpected_samples) < 12:
                unexpected_samples.append(f"t={t:.2f}s {KINDS[kind[i]]}: {label}"
                                          + (f" after {lat[i] * 1000:.0f} ms" if out != -1 else ""))
        rep["load"] = {**counts, "rcodes": rcodes, "bad_by_kind": by_kind_bad,
                       "bad_samples": unexpected_samples, "client": load_sum,
                       "latency_all": percentiles(lat_all), "latency_calm": percentiles(lat_calm),
                       "outage_windows": [(round(a, 1), round(b, 1)) for a, b in windows]}
        rep["per_second"] = per_second
        if counts["lost"] or counts["unexpected"]:
            self.failures.append(
                f"steady load: {counts['lost']} lost and {counts['unexpected']} unexpected answers "
                f"out of {n} queries ({by_kind_bad})")
        if n == 0:
            self.failures.append("steady load: no query was sent")

        # RSS and fds: the plateau before the clients, the end after they left.
        smp = self.sampler
        b0, b1 = WARMUP - BASELINE_WINDOW, WARMUP - 1.5
        e0, e1 = self.duration - END_WINDOW, self.duration
        rss_base, rss_end = smp.window(b0, b1, "rss_kib"), smp.window(e0, e1, "rss_kib")
        fd_base, fd_end = smp.window(b0, b1, "fds"), smp.window(e0, e1, "fds")
        mem = {}
        if rss_base and rss_end and fd_base and fd_end:
            rb, re_ = statistics.median(rss_base), statistics.median(rss_end)
            allowed = max(RSS_TOLERANCE_MIB * 1024, rb * RSS_TOLERANCE_PCT / 100)
            mem = {"rss_base_kib": rb, "rss_end_kib": re_, "rss_allowed_kib": round(rb + allowed),
                   "rss_max_kib": max(smp.window(0, 1e9, "rss_kib")),
                   "fd_base": max(fd_base), "fd_end": max(fd_end), "fd_end_min": min(fd_end),
                   "fd_max": max(smp.window(0, 1e9, "fds")), "fd_limit": o.nofile}
            if re_ > rb + allowed:
                self.failures.append(f"RSS did not come back to its plateau: {re_ / 1024:.1f} MiB at "
                                     f"the end, {rb / 1024:.1f} MiB before the clients (allowed "
                                     f"{(rb + allowed) / 1024:.1f})")
            inv = self.inventories
            ends = [inv[k] for k in ("end1", "end2", "end3") if k in inv]
            if "plateau" in inv and ends:
                base_n = counted_fds(inv["plateau"])
                end_n = min(counted_fds(e) for e in ends)
                clients = min(sum(v for k, v in e.items() if k.startswith("tcp client")) for e in ends)
                mem.update(fd_counted_base=base_n, fd_counted_end=end_n, fd_client_conns_end=clients)
                if end_n > base_n + FD_TOLERANCE:
                    self.failures.append(
                        f"open fds did not come back to their plateau: {end_n} at the end, {base_n} "
                        f"before the clients (allowed +{FD_TOLERANCE}; upstream sockets not counted)")
                pools = {}
                for e in ends:
                    for server, n in udp_pool_sizes(e).items():
                        pools[server] = min(pools.get(server, n), n)
                mem.update(udp_pools_end=pools)
                for server, n in sorted(pools.items()):
                    if n > UDP_POOL_BOUND + FD_TOLERANCE:
                        self.failures.append(
                            f"{n} connected UDP sockets to {server} at the end: more than the pools "
                            f"hold ({UDP_POOL_BOUND}, +{FD_TOLERANCE} draining)")
                if clients:
                    self.failures.append(f"{clients} client TCP connections still open at the end, "
                                         "after every client closed its side")
            else:
                self.failures.append("the fd inventories were not taken (the daemon was gone?)")
        else:
            self.failures.append("not enough RSS/fd samples for the plateau check "
                                 "(the daemon was gone or /proc unreadable)")
        # Each cycle's calm end (the clients gone for 0.3 L, the outage over): does RSS
        # climb from one cycle to the next? (Reported; the assertion is the plateau above.)
        mem["rss_after_cycle_kib"] = []
        mem["fds_after_cycle"] = []
        for k in range(self.cycles):
            end = WARMUP + (k + 1) * self.cycle_len
            r = smp.window(end - END_WINDOW, end, "rss_kib")
            f = smp.window(end - END_WINDOW, end, "fds")
            mem["rss_after_cycle_kib"].append(statistics.median(r) if r else None)
            mem["fds_after_cycle"].append(min(f) if f else None)
        rep["memory"] = mem

        # Malformed flood against the daemon's counter.
        with open(f"{self.run_dir}/flood.json") as f:
            flood = json.load(f)
        with open(f"{self.run_dir}/tcp.json") as f:
            tcp = json.load(f)
        rep["flood"], rep["tcp"] = flood, tcp
        m = self.metrics
        if m:
            counted = metric_sum(m, "diresolver_malformed_queries_total")
            drops = self.final_sample.get("udp_drops", 0)
            sent = flood["flood_sent_total"]
            rep["malformed_counted"] = counted
            rep["udp_drops"] = drops
            if drops == 0 and counted != sent:
                self.failures.append(f"malformed flood: {sent} sent, the daemon counted {counted:.0f} "
                                     f"(no datagram dropped by the kernel at its sockets)")
            elif drops and not sent - drops <= counted <= sent:
                self.failures.append(f"malformed flood: {sent} sent, {drops} datagrams dropped at the "
                                     f"daemon's sockets, the daemon counted {counted:.0f}")
            ok = metric_sum(m, "diresolver_config_reloads_total", result="success")
            bad = metric_sum(m, "diresolver_config_reloads_total", result="failure")
            want_ok = sum(1 for r in self.reloads if r[1] == "good")
            want_bad = len(self.reloads) - want_ok
            rep["reload_metrics"] = (ok, bad)
            if (ok, bad) != (want_ok, want_bad):
                self.failures.append(f"reload counters: success {ok:.0f} failure {bad:.0f}, expected "
                                     f"{want_ok} and {want_bad}")
        # Shutdown.
        if self.stop_status != 0 or self.stop_took > STOP_WITHIN:
            self.failures.append(f"SIGTERM: exit status {self.stop_status} after {self.stop_took:.2f} s "
                                 f"(expected 0 within {STOP_WITHIN:.0f} s)")
        if not re.search(r"info: stats ", self.log_text):
            self.failures.append("no 'info: stats' line in the daemon's log after SIGTERM")
        self.rep = rep
        return rep

    # -- report --

    def report(self):
        rep, o = self.rep, self.o
        ld = rep["load"]
        print()
        print("=" * 78)
        print(f"soak report ({'quick' if o.quick else 'full'}: {self.duration:.0f} s of load, "
              f"{o.rate:.0f} q/s, 2 workers, fd limit {o.nofile})")
        print(f"daemon: {self.binary}")
        print("=" * 78)
        cl = ld["client"]
        print(f"steady load: {ld['sent']} queries sent, {ld['answered']} answered, "
              f"{ld['lost']} lost (no answer within {LOST_AFTER:.0f} s), {ld['unexpected']} unexpected")
        print(f"  NOERROR with an A record: {ld['noerror']}; SERVFAIL for unique DI names "
              f"while both DI servers were down (expected): {ld['servfail_expected']}")
        print(f"  outcomes: {fmt_counts(ld['rcodes'])}")
        if ld["bad_by_kind"]:
            print(f"  not accepted, by kind: {fmt_counts(ld['bad_by_kind'])}")
            print(f"  first ones: {'; '.join(ld['bad_samples'][:4])}")
        print(f"  outage windows (DI-B killed - 0.5 s .. answering again + 5 s): {ld['outage_windows']}")
        la, lc = ld["latency_all"], ld["latency_calm"]
        print(f"  latency, all answers: p50 {ms(la.get('p50'))} p99 {ms(la.get('p99'))} "
              f"max {ms(la.get('max'))}; outside the outage windows: p50 {ms(lc.get('p50'))} "
              f"p99 {ms(lc.get('p99'))} max {ms(lc.get('max'))}")
        print(f"  load generator: {cl['send_failures']} send failures, max send lag "
              f"{cl['max_send_lag_s'] * 1000:.0f} ms, {cl['late_answers']} answers after the "
              f"{LOST_AFTER:.0f} s timeout")
        fl = rep["flood"]
        print(f"malformed flood: {fl['flood_sent_total']} packets sent "
              f"({o.flood_rate:.0f}/s, {len(fl['flood_sent'])} kinds); "
              f"daemon's diresolver_malformed_queries_total: {rep.get('malformed_counted', 'n/a')}; "
              f"kernel drops at its UDP sockets: {rep.get('udp_drops', 'n/a')}; "
              f"FORMERR replies read: {fl['flood_replies'] and sum(fl['flood_replies'].values())}")
        tcp = rep["tcp"]["tcp"]
        plan = self.tcp_plan
        for role in ("idle", "nonreader"):
            st, lt = tcp.get(role, {}), rep["tcp"]["lifetimes"].get(role, {})
            print(f"TCP {role}: {fmt_counts(st)}; lifetimes of daemon-closed ones: {lt}")
        print(f"  plan: fd plateau {plan['base_fds']}, {plan['near']} idle (near), "
              f"{plan['over']} idle (over the limit), {o.nonreaders} non-readers")
        mem = rep["memory"]
        if "rss_base_kib" in mem:
            print(f"RSS: plateau {mem['rss_base_kib'] / 1024:.1f} MiB, end {mem['rss_end_kib'] / 1024:.1f} "
                  f"MiB (allowed {mem['rss_allowed_kib'] / 1024:.1f}), max {mem['rss_max_kib'] / 1024:.1f}")
            if len(mem["rss_after_cycle_kib"]) > 1:
                print("  after each cycle (median RSS MiB / fewest fds of its last 6 s): " + ", ".join(
                    f"{r / 1024:.1f}/{f}" if r else "n/a" for r, f in
                    zip(mem["rss_after_cycle_kib"], mem["fds_after_cycle"])))
            print(f"fds (samples): plateau {mem['fd_base']}, end {mem['fd_end_min']}-{mem['fd_end']}, "
                  f"max {mem['fd_max']} of the limit {mem['fd_limit']}")
        inv = self.inventories
        if "fd_counted_base" in mem:
            print(f"  counted (upstream sockets left out): plateau {mem['fd_counted_base']}, end "
                  f"{mem['fd_counted_end']} (allowed +{FD_TOLERANCE}); client TCP connections left "
                  f"at the end: {mem['fd_client_conns_end']}")
            print("  connected UDP sockets per upstream at the end (bound "
                  f"{UDP_POOL_BOUND} + {FD_TOLERANCE}): "
                  + ", ".join(f"{k} {v}" for k, v in sorted(mem["udp_pools_end"].items())))
        end = inv.get("end3") or inv.get("end2") or inv.get("end1")
        if "plateau" in inv and end and inv["plateau"] != end:
            keys = sorted(set(inv["plateau"]) | set(end))
            diff = [f"{k} {inv['plateau'].get(k, 0)}->{end.get(k, 0)}" for k in keys
                    if inv["plateau"].get(k, 0) != end.get(k, 0)]
            print(f"  fds that changed, plateau -> end (t={WARMUP - 2:.0f}s -> t={self.duration - 1:.0f}s): "
                  + "; ".join(diff))
        print("reloads:")
        for t, variant, logged, ok in self.reloads:
            print(f"  t={t:6.1f}s {variant:8s} {'ok ' if ok else 'BAD'} {logged}")
        if "reload_metrics" in rep:
            print(f"  diresolver_config_reloads_total: success {rep['reload_metrics'][0]:.0f}, "
                  f"failure {rep['reload_metrics'][1]:.0f}")
        print(f"shutdown: exit status {self.stop_status} {self.stop_took:.2f} s after SIGTERM")
        stats = re.findall(r"info: stats (.*)", self.log_text)
        if stats:
            keep = ("queries_udp", "queries_tcp", "malformed", "servfail", "cache_stale_served",
                    "tcp_connections", "tcp_closed", "tcp_rejected", "tcp_paused",
                    "upstream_failures_timeout", "upstream_failures_network")
            pairs = dict(p.split("=", 1) for p in stats[-1].split())
            print("  stats: " + " ".join(f"{k}={pairs[k]}" for k in keep if k in pairs))
        print(f"machine: load average {' '.join(self.load_before)} before, "
              f"{' '.join(self.load_after)} after; other processes' CPU during the run: "
              f"{', '.join(f'{c} {v:.0f} s' for c, v in self.others[:6]) or 'none'}")
        self.print_phases()
        self.print_timeline()
        self.print_spin()
        self.print_log_digest()
        print()
        if self.failures:
            print(f"SOAK FAILED ({len(self.failures)}):")
            for f in self.failures:
                print(f"  - {f}")
        else:
            print("SOAK PASSED: every assertion holds")

    def print_timeline(self):
        step = 5 if self.o.quick else 15
        ps = self.rep["per_second"]
        series = {row[0]: row for row in self.rep["tcp"]["series"]}
        print(f"timeline ({step} s rows; queries by send time; samples: last of the row; "
              "thr% = busiest daemon thread's CPU):")
        print("    t  sent    ok  sfail  bad  p99ms  rss_MiB fds accq clwait idle nr thr%  events")
        events = list(self.events)
        for start in range(0, int(self.duration) + 1, step):
            rows = [ps[s] for s in range(start, start + step) if s in ps]
            sent = sum(r[0] for r in rows)
            okc = sum(r[1] for r in rows)
            sf = sum(r[2] for r in rows)
            bad = sum(r[3] + r[4] for r in rows)
            lats = sorted(x for r in rows for x in r[5])
            p99 = lats[int(len(lats) * 0.99)] * 1000 if lats else float("nan")
            smp = [s for s in self.sampler.samples if start <= s["t"] < start + step and "fds" in s]
            last = smp[-1] if smp else {}
            busiest = max((s.get("max_thread_cpu_pct", 0) for s in smp), default=0)
            tc = series.get(start + step - 1) or series.get(start) or [0, 0, 0]
            ev = [f"{t:.0f}:{name}" for t, name, _ in events if start <= t < start + step]
            print(f"{start:5d} {sent:5d} {okc:5d} {sf:6d} {bad:4d} {p99:6.1f} "
                  f"{last.get('rss_kib', 0) / 1024:8.1f} {last.get('fds', 0):3d} "
                  f"{last.get('accept_queue', 0):4d} {last.get('tcp_close_wait', 0):6d} "
                  f"{tc[1]:4d} {tc[2]:2d} {busiest:4d}  {', '.join(ev)}")

    def phases(self):
        W, L, c = WARMUP, self.cycle_len, self.cycles
        out = [("warm-up", 0.0, W)]
        for k in range(c):
            s, p = W + k * L, f"c{k + 1} " if c > 1 else ""
            out += [(p + "TCP near limit", s, s + 0.22 * L), (p + "TCP past limit", s + 0.22 * L, s + 0.5 * L),
                    (p + "clients gone", s + 0.5 * L, s + L)]
        out.append(("tail", W + c * L, self.duration))
        return out

    def print_phases(self):
        """Per phase: the load's outcome and the daemon's resources and threads."""
        ps = self.rep["per_second"]
        print("phases (queries by send time; samples within the phase; thread CPU: mean %):")
        print("  phase                 from    to   sent     ok  sfail   lost  unexp fds_max "
              "rss_max accq clwait  threads")
        for name, a, b in self.phases():
            secs = [ps[s] for s in ps if a <= s < b]
            sent, ok, sf, lost, unexp = (sum(r[i] for r in secs) for i in range(5))
            smp = [s for s in self.sampler.samples if a <= s["t"] < b and "fds" in s]
            per = {}
            for sm in smp:
                for key, pct in sm.get("threads", {}).items():
                    per.setdefault(key, []).append(pct)
            threads = ", ".join(f"{k} {sum(v) / len(smp):.0f}" for k, v in sorted(per.items())
                                if sum(v) / max(1, len(smp)) >= 5)
            print(f"  {name:20s} {a:5.0f} {b:5.0f} {sent:6d} {ok:6d} {sf:6d} {lost:6d} {unexp:6d} "
                  f"{max((s['fds'] for s in smp), default=0):7d} "
                  f"{max((s['rss_kib'] for s in smp), default=0) / 1024:7.1f} "
                  f"{max((s.get('accept_queue', 0) for s in smp), default=0):4d} "
                  f"{max((s.get('tcp_close_wait', 0) for s in smp), default=0):6d}  {threads}")

    def print_spin(self):
        spin = self.sampler.spin
        if not spin:
            return
        print(f"spinning thread(s) seen at t={spin['t']}s (>= {SPIN_PCT}% CPU for "
              f"{SPIN_SAMPLES * SAMPLE_EVERY:.0f} s):")
        for key, info in spin["threads"].items():
            nr = info["syscall"].split()[0]
            print(f"  {key}: syscall {nr} ({SYSCALLS.get(nr, '?')}), wchan {info['wchan']}; "
                  f"kernel stack: {' < '.join(x.split()[-1] for x in info['stack'].splitlines()[:4])}")
            if info.get("strace"):
                print(f"    strace -c, 1 s: {info['strace']}")
            for call in info.get("strace_sample", []):
                print(f"    strace: {call[:160]}")
            frames = spin.get("backtraces", {}).get(key)
            if frames:
                print(f"    backtrace (gdb, innermost first): {' < '.join(frames[:12])}")
        print(f"  its fds then: {fmt_counts(spin.get('fds', {}))}")
        if "backtrace_file" in spin:
            print(f"  every thread's backtrace: {spin['backtrace_file']}")

    def print_log_digest(self):
        """The daemon's warnings and errors, each distinct message once with its count."""
        seen = {}
        for line in self.log_text.splitlines():
            line = re.sub(r"^\d{4}-\d\d-\d\dT[\d:.]+[+-]\d\d:\d\d ", "", line)  # the daemon's timestamp
            if line.startswith(("warn:", "error:")):
                key = re.sub(r"\d+", "N", line)
                first, count = seen.get(key, (line, 0))
                seen[key] = (first, count + 1)
        if seen:
            print("daemon warnings/errors (first of each kind, count):")
            for first, count in seen.values():
                print(f"  {count:6d}x {first[:200]}")


# x86_64 numbers of the calls a stuck event loop is likely to be in.
SYSCALLS = {"0": "read", "1": "write", "7": "poll", "43": "accept", "45": "recvfrom",
            "46": "sendmsg", "47": "recvmsg", "202": "futex", "232": "epoll_wait",
            "288": "accept4", "299": "recvmmsg", "307": "sendmmsg", "281": "epoll_pwait",
            "running": "running in user space"}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def percentiles(values):
    if not values:
        return {}
    v = sorted(values)
    return {"p50": v[len(v) // 2], "p99": v[min(len(v) - 1, int(len(v) * 0.99))], "max": v[-1]}


def ms(x):
    return "n/a" if x is None else f"{x * 1000:.1f} ms"


def fmt_counts(d):
    return ", ".join(f"{k} {v}" for k, v in d.items())


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--run-dir", required=True)
    p.add_argument("--root", required=True)
    p.add_argument("--bin", required=True)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--rate", type=float, default=2000.0)
    p.add_argument("--flood-rate", type=float, default=500.0)
    p.add_argument("--nofile", type=int, default=256)
    p.add_argument("--nonreaders", type=int, default=4)
    p.add_argument("--past-limit", type=int, default=40,
                   help="idle clients beyond the fd headroom in the second phase (negative: short of it)")
    p.add_argument("--nonreader-rate", type=float, default=300.0)
    o = p.parse_args()
    assert_isolated()
    soak = Soak(o)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        soak.start()
        soak.run()
        soak.finish()
    finally:
        # Whatever happened: every process this test started is stopped by its PID.
        for child in [getattr(soak, "daemon", None), getattr(soak, "load", None),
                      getattr(soak, "flood", None), getattr(soak, "tcp", None)] + \
                [k.child for k in getattr(soak, "knots", {}).values()]:
            if child is not None and child.running():
                child.stop(grace=3.0)
    soak.analyse()
    soak.report()
    return 1 if soak.failures else 0


if __name__ == "__main__":
    sys.exit(main())
