#!/usr/bin/python3
"""Shared integration-test harness.

Owns: the isolation guard (refuse to run unless inside a loopback-only network
namespace), the safety check of generated configs (every upstream in 127.0.0.0/8),
the `Daemon` context manager (config file, start, wait for `started`, SIGTERM, exit
code 0, parsed `stats` line), the standard fake-upstream set, query helpers (dnspython,
raw UDP/TCP) and the dig / kdig / drill wrappers.
"""

import ctypes
import faulthandler
import ipaddress
import json
import os
import re
import resource
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import unittest
import urllib.error
import urllib.request
from collections import namedtuple
from contextlib import ExitStack
from pathlib import Path

import dns.edns
import dns.message
import dns.query
import dns.rdatatype

from fake_upstream import PROBE_LABEL, FakeUpstream

LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
DAEMON_ADDR = "127.0.0.1"
DAEMON_PORT = 53
DI_ZONE = "acme.amer.wxc-di.webex.com"

# The standard fake upstreams: name → (address, answer IP identifying it).
DI1, DI2, DEFAULT, FORWARD = "di1", "di2", "default", "forward"
FAKES = {
    DI1: ("127.0.0.11", "192.0.2.11"),
    DI2: ("127.0.0.12", "192.0.2.12"),
    DEFAULT: ("127.0.0.13", "192.0.2.13"),
    FORWARD: ("127.0.0.21", "192.0.2.21"),
}
FORWARD_ZONE = "corp.example"

# Workers of every config base_config() makes. 1 by default: several tests count
# per-worker things (one upstream TCP connection per worker, ...). The ThreadSanitizer
# run (tests/CMakeLists.txt) sets DIRESOLVER_TEST_WORKERS=2, so that two workers share
# the cache shards and the upstream health/RTT state with each other and with the
# control loop and the admin threads.
WORKERS = int(os.environ.get("DIRESOLVER_TEST_WORKERS", "1"))

START_TIMEOUT = 10
STOP_TIMEOUT = 10
WATCHDOG_SECONDS = int(os.environ.get("DIRESOLVER_TEST_WATCHDOG", "300"))


# ---- isolation ------------------------------------------------------------------

def _up_interfaces():
    """Names of interfaces that are administratively UP in the current netns."""
    out = subprocess.run(["ip", "-o", "link", "show", "up"], capture_output=True,
                         text=True, timeout=5, check=True).stdout
    return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if line]


def _in_initial_netns():
    try:
        return os.stat("/proc/self/ns/net").st_ino == os.stat("/proc/1/ns/net").st_ino
    except OSError:
        return False  # /proc/1 unreadable (user namespace): rely on the interface check


def assert_isolated():
    """Exit loudly unless we run in a private netns where only loopback is up."""
    problems = []
    if _in_initial_netns():
        problems.append("running in the initial network namespace")
    others = [name for name in _up_interfaces() if name != "lo"]
    if others:
        problems.append("non-loopback interfaces are up: " + ", ".join(others))
    if "lo" not in _up_interfaces():
        problems.append("loopback is not up")
    if problems:
        sys.exit("REFUSING TO RUN integration tests: " + "; ".join(problems)
                 + ". Run them through tests/integration/netns-run.")


def require_loopback(address):
    """address is "IP", "IP:PORT" or "[V6]:PORT"; it must be in 127.0.0.0/8."""
    host = address
    if address.startswith("["):
        host = address[1:address.index("]")]
    elif address.count(":") == 1:
        host = address.split(":")[0]
    ip = ipaddress.ip_address(host)
    if ip not in LOOPBACK:
        raise AssertionError(f"upstream {address} is not in 127.0.0.0/8")


def _server_lists(cfg):
    for name, region in cfg.get("region", {}).items():
        yield f"region.{name}.servers", region.get("servers", [])
    for i, fwd in enumerate(cfg.get("forward", [])):
        yield f"forward[{i}].servers", fwd.get("servers", [])
    if "default" in cfg:
        yield "default.servers", cfg["default"].get("servers", [])


def check_config_safe(cfg, strict=True):
    """Assert that every upstream of cfg (a parsed config) is in 127.0.0.0/8.

    strict (for configs the daemon will `run`): every entry must be a loopback IP and
    every configured region must override its DI pair, so the shipped public addresses
    are never used. Non-strict (config-test only, which sends nothing): entries that
    are not IP addresses at all are allowed, so invalid-address errors can be tested.
    """
    for key, servers in _server_lists(cfg):
        for server in servers:
            if isinstance(server, dict):  # { name = "...", address = "..." }
                server = server.get("address", "")
            try:
                require_loopback(server)
            except ValueError:
                if strict:
                    raise AssertionError(f"{key}: {server!r} is not a loopback address")
    if strict:
        overridden = set(cfg.get("region", {}))
        for region in cfg.get("regions", []):
            if region not in overridden or not cfg["region"][region].get("servers"):
                raise AssertionError(f"region {region} does not override its DI servers")


# ---- config -----------------------------------------------------------------------

def source_dir():
    env = os.environ.get("DIRESOLVER_SOURCE_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2]


def zone_map_path():
    return str(source_dir() / "zones" / "wxc-di.toml")


def base_config(default=True, forward=True):
    """The standard test config: customer acme, region amer, all upstreams fakes."""
    cfg = {
        "customer": "acme",
        "regions": ["amer"],
        "zone_map": zone_map_path(),
        "server": {"listen": [f"{DAEMON_ADDR}:{DAEMON_PORT}"], "workers": WORKERS},
        # A 200 ms floor: the Python fakes can take tens of ms on a loaded 2-core CI box,
        # and the RTT-derived timeout on loopback would otherwise be 50 ms.
        # Sequential: the tests call 127.0.0.11 "the first server" and mean it.
        "upstream": {"attempt_timeout_ms": 300, "attempt_timeout_min_ms": 200, "selection": "sequential"},
        "region": {"amer": {"servers": [FAKES[DI1][0], FAKES[DI2][0]],
                            "probe_name": probe_name(DI_ZONE)}},
        # The readiness gate holds DI queries until forwarding is validated; the
        # tests of other features start with dead servers, so they turn it off.
        # test_readiness.py and test_check.py turn it on.
        "readiness": {"enabled": False},
    }
    if forward:
        cfg["forward"] = [{"zone": FORWARD_ZONE, "servers": [FAKES[FORWARD][0]],
                           "probe_name": probe_name(FORWARD_ZONE)}]
    if default:
        cfg["default"] = {"servers": [FAKES[DEFAULT][0]], "probe_name": probe_name("")}
    return cfg


def probe_name(zone):
    """The health-probe name the standard config uses in zone: the fakes keep such
    queries in .probes, apart from client traffic (.queries)."""
    return f"{PROBE_LABEL}.{zone}".rstrip(".")


def _toml_key(key):
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else '"' + key + '"'


def _toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def _is_table_array(value):
    return isinstance(value, list) and value and all(isinstance(v, dict) for v in value)


def _is_table(value):
    return isinstance(value, dict)


def to_toml(cfg, prefix=""):
    """Serialize the subset of TOML the configs use (scalars, lists, tables)."""
    lines = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in cfg.items()
             if not _is_table(v) and not _is_table_array(v)]
    for key, value in cfg.items():
        name = prefix + _toml_key(key)
        if _is_table(value):
            body = to_toml(value, name + ".")
            has_scalars = any(not _is_table(v) and not _is_table_array(v)
                              for v in value.values())
            lines += ["", *([f"[{name}]"] if has_scalars or not value else []), body]
        elif _is_table_array(value):
            for item in value:
                lines += ["", f"[[{name}]]", to_toml(item, name + ".")]
    text = "\n".join(line.rstrip("\n") for line in lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n") + "\n"


def write_config(directory, config, strict=True, name="diresolver.toml"):
    """Write config (dict or TOML text) to directory/name after the safety check."""
    text = config if isinstance(config, str) else to_toml(config)
    check_config_safe(tomllib.loads(text), strict=strict)
    path = Path(directory) / name
    # Whole or not at all, as an editor saves: a CLI reading the file for its control
    # socket while a test rewrites it for a reload must not find it half written.
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    partial.replace(path)
    return str(path)


# ---- daemon ---------------------------------------------------------------------

def daemon_binary():
    path = os.environ.get("DIRESOLVER_BIN")
    if not path:
        sys.exit("DIRESOLVER_BIN must point at the diresolver binary")
    if not os.access(path, os.X_OK):
        sys.exit(f"DIRESOLVER_BIN={path} is not an executable file")
    return path


def _die_with_parent():
    """preexec_fn: SIGKILL the child if this test process dies (no orphans)."""
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL)


def run_cli(args, timeout=10, input=None):
    """Run `diresolver ARGS` to completion (input: its stdin); returns CompletedProcess (text)."""
    return subprocess.run([daemon_binary(), *args], capture_output=True, text=True, input=input,
                          stdin=None if input is not None else subprocess.DEVNULL,
                          timeout=timeout, preexec_fn=_die_with_parent)


def parse_stats(stderr):
    """The `info: stats k=v ...` line as {k: int}; None if there is none."""
    for line in reversed(stderr.splitlines()):
        match = re.search(r"info: stats (.*)$", line)
        if match:
            pairs = (item.split("=", 1) for item in match.group(1).split())
            return {k: int(v) for k, v in pairs}
    return None


class Daemon:
    """Runs `diresolver run -c CFG` for the duration of a `with` block.

    On exit: SIGTERM, wait (10 s), assert exit code 0 and parse the stats line into
    `.stats`. `.stderr` holds everything the daemon logged so far. env: variables added
    to (value None: removed from) the daemon's environment, e.g. NOTIFY_SOCKET.
    nofile: the daemon's RLIMIT_NOFILE (soft and hard), as `prlimit --nofile=N:N` sets it.
    """

    def __init__(self, config=None, address=DAEMON_ADDR, port=DAEMON_PORT, env=None, nofile=None,
                 journal=False):
        self.config = base_config() if config is None else config
        self.env = env
        self.nofile = nofile
        # As systemd connects stderr to the journal: $JOURNAL_STREAM names the stream (device:inode).
        self.journal = journal
        self._stream = None
        self.address = address
        self.port = port
        self.stats = None
        self.returncode = None
        self.proc = None
        self._lines = []
        self._lines_lock = threading.Lock()
        self._started = threading.Event()
        self._tmp = None

    @property
    def stderr(self):
        with self._lines_lock:
            return "".join(self._lines)

    def wait_for_log(self, pattern, timeout=5.0):
        """Wait until a logged line matches the regex pattern; returns the match or None."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.stderr.splitlines():
                match = re.search(pattern, line)
                if match:
                    return match
            if time.monotonic() >= deadline or not self.alive():
                return None
            time.sleep(0.05)

    def __enter__(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="diresolver-it-")
        # The control socket in this daemon's directory (not /run/diresolver), kept in the
        # dict so a test that rewrites the file for a reload keeps it too.
        socket = self.config.get("control", {}).get("socket")
        if socket is None or (socket and not os.path.isdir(os.path.dirname(socket))):
            self.config["control"] = {"socket": os.path.join(self._tmp.name, "control.sock")}
        self.config_path = write_config(self._tmp.name, self.config)
        env = None
        if self.env is not None:
            env = dict(os.environ)
            for key, value in self.env.items():
                if value is None:
                    env.pop(key, None)
                else:
                    env[key] = str(value)
        stderr = subprocess.PIPE
        if self.journal:
            read_end, stderr = os.pipe()
            stat = os.fstat(stderr)
            env = dict(os.environ if env is None else env, JOURNAL_STREAM=f"{stat.st_dev}:{stat.st_ino}")
        self.proc = subprocess.Popen(
            [daemon_binary(), "run", "-c", self.config_path],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
            text=True, preexec_fn=self._preexec, env=env)
        if self.journal:
            os.close(stderr)
            self._stream = os.fdopen(read_end, "r")
        else:
            self._stream = self.proc.stderr
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        try:
            self._wait_started()
        except BaseException:
            self._kill()
            self._tmp.cleanup()
            raise
        return self

    def _preexec(self):
        _die_with_parent()
        if self.nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (self.nofile, self.nofile))

    def _read_stderr(self):
        for line in self._stream:
            with self._lines_lock:
                self._lines.append(line)
            if re.search(r"\bstarted\b", line):
                self._started.set()

    def _wait_started(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._started.wait(0.05):
                return
            if self.proc.poll() is not None:
                self._reader.join(timeout=2)
                raise AssertionError(f"daemon exited with {self.proc.returncode} before "
                                     f"'started'; stderr:\n{self.stderr}")
        raise AssertionError(f"daemon did not log 'started' within {START_TIMEOUT} s; "
                             f"stderr:\n{self.stderr}")

    def __exit__(self, exc_type, exc, tb):
        try:
            self.stop()
        except AssertionError:
            if exc_type is None:
                raise  # do not mask the body's own failure
        finally:
            self._tmp.cleanup()
        return False

    def stop(self, sig=signal.SIGTERM):
        """Send sig, wait, and assert a clean exit; returns the elapsed seconds."""
        if self.returncode is not None:
            return 0.0
        begin = time.monotonic()
        self.proc.send_signal(sig)
        try:
            self.returncode = self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._kill()
            raise AssertionError(f"daemon did not exit within {STOP_TIMEOUT} s of "
                                 f"{sig.name}; stderr:\n{self.stderr}")
        elapsed = time.monotonic() - begin
        self._close_pipe()
        self.stats = parse_stats(self.stderr)
        if self.returncode != 0:
            raise AssertionError(f"daemon exited with {self.returncode} after {sig.name}; "
                                 f"stderr:\n{self.stderr}")
        if self.stats is None:
            raise AssertionError(f"no 'info: stats' line after {sig.name}; "
                                 f"stderr:\n{self.stderr}")
        return elapsed

    def _kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.returncode = self.proc.returncode
        self._close_pipe()

    def _close_pipe(self):
        self._reader.join(timeout=5)
        if not self._reader.is_alive():
            self._stream.close()

    def alive(self):
        return self.proc.poll() is None


# ---- fakes ------------------------------------------------------------------------

def start_fakes(stack, names=(DI1, DI2, DEFAULT, FORWARD)):
    """Start the standard fakes; stack (an ExitStack) stops them. Returns {name: fake}."""
    fakes = {}
    for name in names:
        address, answer_ip = FAKES[name]
        fakes[name] = stack.enter_context(FakeUpstream(address, answer_ip=answer_ip))
    return fakes


class IntegrationCase(unittest.TestCase):
    """TestCase with the standard fakes running (self.fakes[name]) for every test."""

    def setUp(self):
        stack = ExitStack()
        self.addCleanup(stack.close)
        self.fakes = start_fakes(stack)

    def answered_by(self, response):
        """Which fake's answer IP is in response (None if none)."""
        ips = answer_ips(response)
        for name, (_, answer_ip) in FAKES.items():
            if answer_ip in ips:
                return name
        return None


# ---- queries --------------------------------------------------------------------

def query(name, rdtype="A", tcp=False, timeout=2.0, source=None, qid=None,
          address=DAEMON_ADDR, port=DAEMON_PORT, edns=-1, payload=1232):
    """Ask the daemon with dnspython; returns the response or raises dns.exception.Timeout."""
    msg = dns.message.make_query(name, rdtype, use_edns=edns, payload=payload)
    if qid is not None:
        msg.id = qid
    if tcp:
        return dns.query.tcp(msg, address, port=port, timeout=timeout, source=source)
    return dns.query.udp(msg, address, port=port, timeout=timeout, source=source,
                         raise_on_truncation=False)


def answer_ips(response):
    """All A addresses in response's answer section, as text."""
    return [rd.address for rrset in response.answer if rrset.rdtype == dns.rdatatype.A
            for rd in rrset]


def udp_exchange(wire, timeout=1.0, address=DAEMON_ADDR, port=DAEMON_PORT):
    """Send raw bytes over UDP; return the first reply's bytes, or None on timeout."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(wire, (address, port))
        try:
            return sock.recvfrom(65535)[0]
        except socket.timeout:
            return None


def tcp_connect(timeout=2.0, address=DAEMON_ADDR, port=DAEMON_PORT):
    sock = socket.create_connection((address, port), timeout=timeout)
    sock.settimeout(timeout)
    return sock


def frame(wire):
    return struct.pack("!H", len(wire)) + wire


def recv_exact(sock, count):
    buf = b""
    while len(buf) < count:
        chunk = sock.recv(count - len(buf))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(buf)} of {count} bytes")
        buf += chunk
    return buf


def read_frame(sock):
    length = struct.unpack("!H", recv_exact(sock, 2))[0]
    return recv_exact(sock, length)


Header = namedtuple("Header", "id qr opcode tc rcode qdcount ancount")


def parse_header(wire):
    """The header fields of a raw DNS message (at least 12 bytes)."""
    qid, flags, qd, an, _, _ = struct.unpack("!HHHHHH", wire[:12])
    return Header(qid, flags >> 15, (flags >> 11) & 0xF, (flags >> 9) & 1, flags & 0xF, qd, an)


def parallel(func, args_list, timeout=30):
    """Run func(*args) for each args concurrently; list of results or exceptions."""
    results = [None] * len(args_list)

    def run(i, args):
        try:
            results[i] = func(*args)
        except Exception as exc:  # collected, the caller asserts on it
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, a), daemon=True)
               for i, a in enumerate(args_list)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return results


# ---- upstream health, hedging and the admin endpoint --------------------------------

ADMIN_ADDR = "127.0.0.1"
ADMIN_PORT = 9553
DI_ZONE_ABS = DI_ZONE + "."
FORWARD_ZONE_ABS = FORWARD_ZONE + "."
# Display names of the amer pair: the zone map's, kept by position when overridden.
DISPLAY_NAMES = {DI1: "IAD", DI2: "DFW", DEFAULT: FAKES[DEFAULT][0] + ":53",
                 FORWARD: FAKES[FORWARD][0] + ":53"}
EDE_OPTION = 15
EDE_NO_REACHABLE_AUTHORITY = 22
EDE_NETWORK_ERROR = 23
HTTP_TIMEOUT = 2.0


def health_config(selection="sequential", upstream=None, health=None, **base_kwargs):
    """base_config plus an admin listener, fast health checks and the given overrides.

    Defaults: selection sequential (config order, so the first DI server is preferred),
    attempt timeout 300 ms, deadline 1500 ms, hedge delay at most 50 ms; probes every
    200 ms, fall 3, rise 2. upstream / health: dicts merged into those tables.
    """
    cfg = base_config(**base_kwargs)
    cfg["upstream"] = {"attempt_timeout_ms": 300, "attempt_timeout_min_ms": 200, "deadline_ms": 1500,
                       "selection": selection, "hedge_delay_max_ms": 50}
    cfg["upstream"].update(upstream or {})
    cfg["health"] = {"interval_ms": 200, "fall": 3, "rise": 2}
    cfg["health"].update(health or {})
    cfg["admin"] = {"listen": f"{ADMIN_ADDR}:{ADMIN_PORT}"}
    require_loopback(cfg["admin"]["listen"])
    return cfg


def admin_get(path, timeout=HTTP_TIMEOUT):
    """GET http://ADMIN_ADDR:ADMIN_PORT{path} (no proxy); returns (status, body text)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    url = f"http://{ADMIN_ADDR}:{ADMIN_PORT}{path}"
    with opener.open(url, timeout=timeout) as response:
        return response.status, response.read().decode("utf-8")


def admin_request(path, method="GET", timeout=HTTP_TIMEOUT):
    """`method` http://ADMIN_ADDR:ADMIN_PORT{path} (no proxy, empty body); returns
    (status, body text) for every status, 4xx and 5xx included."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    url = f"http://{ADMIN_ADDR}:{ADMIN_PORT}{path}"
    data = b"" if method in ("POST", "PUT") else None
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def get_status(timeout=HTTP_TIMEOUT):
    """GET /status, parsed JSON."""
    status, body = admin_get("/status", timeout)
    if status != 200:
        raise AssertionError(f"/status answered HTTP {status}: {body[:500]}")
    return json.loads(body)


def get_metrics(timeout=HTTP_TIMEOUT):
    """GET /metrics, the Prometheus text."""
    status, body = admin_get("/metrics", timeout)
    if status != 200:
        raise AssertionError(f"/metrics answered HTTP {status}: {body[:500]}")
    return body


def zone_status(status, zone):
    """The /status entry of zone (absolute or not)."""
    want = zone.lower().rstrip(".") + "."
    for entry in status.get("zones", []):
        if entry.get("zone", "").lower() == want:
            return entry
    raise AssertionError(f"zone {want} not in /status: {json.dumps(status)[:2000]}")


def server_status(status, zone, name):
    """The /status entry of the server with display name `name` in zone."""
    entry = zone_status(status, zone)
    for server in entry.get("servers", []):
        if server.get("name") == name:
            return server
    raise AssertionError(f"server {name} not in zone {zone} of /status: "
                         f"{json.dumps(entry)[:2000]}")


_LABEL = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')
_SAMPLE = re.compile(r'^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$')


def parse_metrics(text):
    """Prometheus text → list of (name, {label: value}, float value); comments skipped."""
    samples = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if not match:
            raise AssertionError(f"unparsable metrics line: {line!r}")
        labels = {}
        if match.group(2):
            for key, value in _LABEL.findall(match.group(2)):
                labels[key] = (value.replace("\\n", "\n").replace('\\"', '"')
                               .replace("\\\\", "\\"))
        samples.append((match.group(1), labels, float(match.group(3))))
    return samples


def metric(text, name, **labels):
    """Sum of the samples of metric `name` whose labels include `labels`; None if none."""
    values = [value for sample_name, sample_labels, value in parse_metrics(text)
              if sample_name == name
              and all(sample_labels.get(k) == v for k, v in labels.items())]
    return sum(values) if values else None


def wait_until(predicate, timeout=5.0, interval=0.05, what="condition"):
    """Poll predicate() until it returns something truthy (returned) or timeout.

    Exceptions raised by predicate (admin endpoint not up yet, ...) count as false;
    on timeout, AssertionError names `what` and the last value or exception.
    """
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = predicate()
            if value:
                return value
            last = value
        except (OSError, ValueError, KeyError, AssertionError) as exc:
            last = exc
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not true within {timeout} s (last: {last!r})")
        time.sleep(interval)


def wait_for_server(zone, name, predicate, timeout=5.0, what=None):
    """Poll /status until predicate(server entry) holds; returns that entry."""
    last = {}

    def check():
        last["server"] = server_status(get_status(), zone, name)
        return last["server"] if predicate(last["server"]) else None

    try:
        return wait_until(check, timeout=timeout, what=what or f"/status of {name}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last entry of {name}: {json.dumps(last.get('server'))}")


def ede_codes(response):
    """The INFO-CODEs of every Extended DNS Error option (15) in response's OPT."""
    return [option.code for option in response.options if option.otype == EDE_OPTION]


# ---- command-line clients ---------------------------------------------------------

ToolResult = namedtuple("ToolResult", "status id answers output")


def _tool_command(tool, name, rdtype, tcp, address, port):
    if tool == "dig":
        cmd = ["dig", f"@{address}", "-p", str(port), "+tries=1", "+time=2", name, rdtype]
        return cmd + (["+tcp"] if tcp else [])
    if tool == "kdig":
        cmd = ["kdig", f"@{address}", "-p", str(port), "+retry=0", "+timeout=2", name, rdtype]
        return cmd + (["+tcp"] if tcp else [])
    if tool == "drill":
        return ["drill", "-p", str(port), *(["-t"] if tcp else []), name, f"@{address}", rdtype]
    raise ValueError(tool)


def parse_tool_output(output):
    """Status, id and answer records (owner, type, rdata) from dig/kdig/drill output."""
    header = re.search(r"->>HEADER<<-.*?(?:status|rcode): (\w+)[,;] id: (\d+)", output)
    status, qid = (header.group(1), int(header.group(2))) if header else (None, None)
    answers = []
    section = re.search(r";; ANSWER SECTION:\n(.*?)(?:\n\s*\n|\n;;|\Z)", output, re.S)
    if section:
        for line in section.group(1).splitlines():
            fields = line.split()
            if len(fields) >= 5 and not line.startswith(";"):
                answers.append((fields[0].lower(), fields[3], fields[4]))
    return ToolResult(status, qid, answers, output)


def run_tool(tool, name, rdtype="A", tcp=False, address=DAEMON_ADDR, port=DAEMON_PORT):
    """Query the daemon with dig, kdig or drill; parsed ToolResult."""
    cmd = _tool_command(tool, name, rdtype, tcp, address, port)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except subprocess.TimeoutExpired:
        return ToolResult(None, None, [], f"{' '.join(cmd)}: no answer within 10 s")
    return parse_tool_output(proc.stdout + proc.stderr)


# ---- entry point ------------------------------------------------------------------

def main():
    """unittest.main for a test module, behind the isolation guard and a watchdog."""
    assert_isolated()
    daemon_binary()
    faulthandler.dump_traceback_later(WATCHDOG_SECONDS, exit=True)
    unittest.main(verbosity=2)
