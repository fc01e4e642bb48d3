"""The kernel's floor under a cache hit and a cache miss (tests/bench/throughput --floor).

udp_reflector (built with the tests: build/release/tests/bench/udp_reflector;
REFLECTOR_BIN overrides) does only what no UDP DNS server can avoid: for a hit, it
sends each query back with QR set; for a miss, it relays each query to the DI pair's
first server under a fresh ID and the answer back to its client. Batches of up to 32
per recvmmsg and sendmmsg, no cache, no checks, no timers. Its CPU per answer is what
moving the datagrams costs on this kernel. diresolver (one worker, warmed with the
same 1000 names) and the floor are pinned to CPU 0 and take turns under the same
dnsperf load on CPU 1: ROUNDS x opts.duration seconds each, cache hits, then cache
misses (fresh names for diresolver every round; the relay caches nothing, so it
reuses its own). The report gives medians and what diresolver spends above the
floor: its own work.
"""

import os
import statistics

from bench_dns import ask, wait_until
from bench_isolation import log, require_loopback

ROUNDS = 4
HIT_FLOOR_ADDR, MISS_FLOOR_ADDR = "127.0.0.5", "127.0.0.6"
MISS_NAMES_PER_ROUND = 400_000   # more than diresolver answers in 5 s on this VM (about 60k/s)


def bench_floor(opts, pair, bench):
    """bench: the throughput module (its Diresolver, dnsperf, warm, ...)."""
    require_loopback(HIT_FLOOR_ADDR, MISS_FLOOR_ADDR, bench.AUTH_A)
    binary = reflector_binary(opts)
    dires = bench.Diresolver(opts)
    hit_floor = Floor(bench, opts, [binary, HIT_FLOOR_ADDR, "53"], HIT_FLOOR_ADDR)
    miss_floor = Floor(bench, opts, [binary, MISS_FLOOR_ADDR, "53", bench.AUTH_A, "53"], MISS_FLOOR_ADDR)
    miss_files = [bench.write_names(f"{opts.run_dir}/floor-miss-{i}.txt", 10_000_000 + i * MISS_NAMES_PER_ROUND,
                                    MISS_NAMES_PER_ROUND) for i in range(ROUNDS)]
    runs = {}
    log(f"floor: udp_reflector and diresolver, each on CPU {bench.CPU_FWD}, {ROUNDS} alternating "
        f"rounds of {opts.duration} s, cache hits then cache misses")
    try:
        dires.start(1, {bench.CPU_FWD})
        bench.warm(opts, dires, pair)
        hit_floor.start()
        miss_floor.start()
        for i in range(ROUNDS):
            for label in (("diresolver", "floor") if i % 2 == 0 else ("floor", "diresolver")):
                resolver = dires if label == "diresolver" else hit_floor
                measure(runs, bench, opts, pair, "hit", label, resolver, opts.hit_file, once=False)
        for i in range(ROUNDS):
            for label in (("diresolver", "floor") if i % 2 == 0 else ("floor", "diresolver")):
                resolver = dires if label == "diresolver" else miss_floor
                names = miss_files[i] if label == "diresolver" else miss_files[0]
                measure(runs, bench, opts, pair, "miss", label, resolver, names, once=True)
    finally:
        for r in (dires, hit_floor, miss_floor):
            r.stop()
    report(runs)


def measure(runs, bench, opts, pair, what, label, resolver, names, once):
    m = bench.dnsperf(opts, f"floor {what}", resolver, pair, names, seconds=opts.duration,
                      once=once, cpus={bench.CPU_LOAD}, percentiles=True)  # dnsperf -v, as in the main table
    if m.sent >= MISS_NAMES_PER_ROUND and once:
        raise RuntimeError(f"{label} cache miss used up its {MISS_NAMES_PER_ROUND} names early")
    log(f"{label} cache {what}: {m.qps:,.0f} q/s, {m.us_per_answer:.2f} µs/answer, "
        f"lost {m.lost_pct:.2f} %, p99 {m.p99_ms:.2f} ms")
    runs.setdefault((what, label), []).append(m)


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


def report(runs):
    def med(what, label, get):
        return statistics.median(get(m) for m in runs[(what, label)])

    print(f"\ndiresolver against the floor (udp_reflector), medians of {ROUNDS} alternating rounds")
    print(f"{'':<24}{'q/s':>10}{'µs/answer':>11}{'CPU 0 µs/answer':>17}")
    for what in ("hit", "miss"):
        for label in ("diresolver", "floor"):
            print(f"{'cache ' + what + ', ' + label:<24}{med(what, label, lambda m: m.qps):>10,.0f}"
                  f"{med(what, label, lambda m: m.us_per_answer):>11.2f}"
                  f"{med(what, label, lambda m: m.cpu0_us_per_answer):>17.2f}")
        own = med(what, "diresolver", lambda m: m.us_per_answer) - med(what, "floor", lambda m: m.us_per_answer)
        print(f"cache {what}: diresolver's own work above the floor: {own:.2f} µs/answer")
