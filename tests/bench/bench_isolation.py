"""What both benchmarks check before they start anything: that they run inside the
loopback-only network namespace their bash entry script made, and that every address
they were given is in 127.0.0.0/8. Also their shared log line."""

import ipaddress
import os
import sys

LOOPBACK = ipaddress.ip_network("127.0.0.0/8")


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def assert_isolated(entry_script):
    """Refuse to start anything outside the entry script's loopback-only namespace."""
    problems = []
    if os.environ.get("DIRESOLVER_BENCH_NETNS") != "1":
        problems.append(f"not started by tests/bench/{entry_script}")
    try:
        if os.stat("/proc/self/ns/net").st_ino == os.stat("/proc/1/ns/net").st_ino:
            problems.append("in the initial network namespace")
    except OSError:
        pass
    with open("/proc/net/dev") as f:
        ifaces = [line.split(":")[0].strip() for line in f.readlines()[2:]]
    if ifaces != ["lo"]:
        problems.append("interfaces other than lo: " + ", ".join(ifaces))
    if problems:
        sys.exit("bench: REFUSING TO RUN: " + "; ".join(problems))


def require_loopback(*addrs):
    """Exit unless every "IP" or "IP:PORT" is in 127.0.0.0/8."""
    for addr in addrs:
        host = addr.rsplit(":", 1)[0] if addr.count(":") == 1 else addr
        if ipaddress.ip_address(host) not in LOOPBACK:
            sys.exit(f"bench: {addr} is not in 127.0.0.0/8; refusing to run")
