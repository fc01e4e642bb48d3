"""The kernel's floor under a cache hit and a cache miss (tests/bench/throughput --floor).

udp_reflector (built with the tests: build/release/tests/bench/udp_reflector;
REFLECTOR_BIN overrides) does only what no UDP DNS server can avoid: for a hit, it
sends each query back with QR set; for a miss, it relays each query to the DI pair's
first server under a fresh ID and the answer back to its client. Batches of up to 32
per recvmmsg and sendmmsg, no cache, no checks, no timers. Its CPU per answer is what
moving the datagrams costs on this kernel. diresolver (one worker, warmed with the
same 1000 names) and the floor are pinned to CPU 0 and take turns under the same
dnsperf load on CPU 1: ROUNDS x opts.duration seconds each, cache hits, then cache
misses. The report gives medians and what diresolver spends above the floor: its own
work. With --baseline, a second diresolver build takes its turns too.

Cache-miss names: diresolver gets distinct names it has never seen, a fresh set each
round, as many as its fastest cache-hit round says it could answer in a run, with a
margin (throughput.size_miss_names: measured rate x duration x 1.5, capped so that the
ROUNDS sets fit its cache without eviction). The relay caches nothing, so it loops over
the first set for the whole run and cannot run out. A diresolver run that still uses its
names up (a box faster than the cap allows for) ends early, and the report says so.
"""

import os
import statistics

from bench_dns import ask, wait_until
from bench_isolation import log, require_loopback

ROUNDS = 4
HIT_FLOOR_ADDR, MISS_FLOOR_ADDR = "127.0.0.5", "127.0.0.6"
MISS_NAME_OFFSET = 10_000_000    # the floor's miss names: m10000000... (none warmed)


def bench_floor(opts, pair, bench):
    """bench: the throughput module (its Diresolver, dnsperf, warm, ...)."""
    require_loopback(HIT_FLOOR_ADDR, MISS_FLOOR_ADDR, bench.AUTH_A)
    binary = reflector_binary(opts)
    resolvers = {"diresolver": bench.Diresolver(opts)}
    if opts.baseline:
        resolvers["baseline"] = bench.DiresolverBaseline(opts)
    labels = list(resolvers) + ["floor"]
    hit_floor = Floor(bench, opts, [binary, HIT_FLOOR_ADDR, "53"], HIT_FLOOR_ADDR)
    miss_floor = Floor(bench, opts, [binary, MISS_FLOOR_ADDR, "53", bench.AUTH_A, "53"], MISS_FLOOR_ADDR)
    runs, limits = {}, []
    log(f"floor: udp_reflector and {' and '.join(resolvers)}, each on CPU {bench.CPU_FWD}, "
        f"{ROUNDS} rotated rounds of {opts.duration} s, cache hits then cache misses")
    try:
        for r in resolvers.values():
            r.start(1, {bench.CPU_FWD})
            bench.warm(opts, r, pair)
        hit_floor.start()
        miss_floor.start()
        for i in range(ROUNDS):
            for label in rotated(labels, i):
                resolver = resolvers.get(label, hit_floor)
                measure(runs, bench, opts, pair, "hit", label, resolver, opts.hit_file)
        # Sized now, from how fast the diresolver(s) answered the hits just measured.
        count = bench.size_miss_names(opts, "floor", [m.qps for label in resolvers
                                                      for m in runs.get(("hit", label), [])], ROUNDS)
        files = bench.write_miss_files(opts, "floor-miss", count, ROUNDS, MISS_NAME_OFFSET)
        for i in range(ROUNDS):
            for label in rotated(labels, i):
                if label == "floor":          # caches nothing: loops over one set
                    measure(runs, bench, opts, pair, "miss", label, miss_floor, files[0])
                else:
                    m = measure(runs, bench, opts, pair, "miss", label, resolvers[label], files[i],
                                once=True)
                    limit = bench.ran_out(m, count, opts.duration)
                    if limit:
                        log(f"{label} cache miss, round {i + 1}: {limit}")
                        limits.append(f"{label} cache miss, round {i + 1}: {limit}")
    finally:
        for r in list(resolvers.values()) + [hit_floor, miss_floor]:
            r.stop()
    report(bench, runs, labels, limits)


def rotated(labels, i):
    """Round i starts with the i-th label, so none is always first or last."""
    k = i % len(labels)
    return labels[k:] + labels[:k]


def measure(runs, bench, opts, pair, what, label, resolver, names, once=False):
    """once: each name asked once (dnsperf -n 1), else the file looped for the whole run."""
    m = bench.dnsperf(opts, f"floor {what}", resolver, pair, names, seconds=opts.duration,
                      once=once, cpus={bench.CPU_LOAD}, percentiles=True)  # dnsperf -v, as in the main table
    log(f"{label} cache {what}: {m.qps:,.0f} q/s, {m.us_per_answer:.2f} µs/answer, "
        f"lost {m.lost_pct:.2f} %, p99 {m.p99_ms:.2f} ms, limited by: {bench.verdict(m, True)}")
    runs.setdefault((what, label), []).append(m)
    return m


def reflector_binary(opts):
    binary = os.environ.get("REFLECTOR_BIN") or os.path.join(os.path.dirname(opts.diresolver),
                                                             "tests", "bench", "udp_reflector")
    if not os.access(binary, os.X_OK):
        raise RuntimeError(f"no udp_reflector at {binary} (built with the tests; REFLECTOR_BIN overrides)")
    return binary


class Floor:
    """udp_reflector, pinned like the resolvers, with the attributes dnsperf() reads."""

    def __init__(self, bench, opts, argv, addr):
        self.key, self.addr = f"floor-{addr}", addr
        self.child = bench.Child(self.key, argv, f"{opts.run_dir}/{self.key}.log", {bench.CPU_FWD})
        self.ready_timeout = bench.READY_TIMEOUT
        self.zone = bench.ZONE

    def start(self):
        self.child.start()
        wait_until(lambda: not self.child.running() or ask(self.addr, f"ready.{self.zone}") == 0,
                   self.ready_timeout, f"udp_reflector answering on {self.addr}")
        if not self.child.running():
            raise RuntimeError(f"udp_reflector exited at start; see {self.child.log_path}")

    def stop(self):
        self.child.stop()

    @property
    def pid(self):
        return self.child.pid


def report(bench, runs, labels, limits):
    def med(what, label, get):
        return statistics.median(get(m) for m in runs[(what, label)])

    others = [label for label in labels if label != "floor"]
    print(f"\n{' and '.join(others)} against the floor (udp_reflector), medians of {ROUNDS} rotated rounds")
    print(f"{'':<24}{'q/s':>10}{'µs/answer':>11}{'CPU 0 µs/answer':>17}{'p99 ms':>8}  limited by")
    for what in ("hit", "miss"):
        for label in labels:
            print(f"{'cache ' + what + ', ' + label:<24}{med(what, label, lambda m: m.qps):>10,.0f}"
                  f"{med(what, label, lambda m: m.us_per_answer):>11.2f}"
                  f"{med(what, label, lambda m: m.cpu0_us_per_answer):>17.2f}"
                  f"{bench.fmt(med(what, label, lambda m: m.p99_ms or 0), 2):>8}"
                  f"  {bench.verdicts(runs[(what, label)], True)}")
        for label in others:
            own = (med(what, label, lambda m: m.us_per_answer)
                   - med(what, "floor", lambda m: m.us_per_answer))
            print(f"cache {what}: {label}'s own work above the floor: {own:.2f} µs/answer")
        if "baseline" in others:
            cpu = (med(what, "diresolver", lambda m: m.us_per_answer)
                   / med(what, "baseline", lambda m: m.us_per_answer))
            qps = med(what, "diresolver", lambda m: m.qps) / med(what, "baseline", lambda m: m.qps)
            print(f"cache {what}: diresolver / baseline: {cpu:.2f}x the CPU per answer, "
                  f"{qps:.2f}x the queries/s")
    print(f"limited by: resolver = CPU {bench.CPU_FWD} (the server) was >= {bench.SATURATED:.0f} % busy; "
          f"load side = CPU {bench.CPU_LOAD} (dnsperf, the DI pair) was, so queries/s is a lower "
          "bound; both CPUs = both were: queries/s may be a lower bound, µs/answer compares")
    if limits:
        print("notes:")
        print("\n".join(f"  - {n}" for n in limits))
