"""What turning metrics on costs diresolver on cache hits (tests/bench/throughput
--metrics-cost).

Two diresolver instances, one worker each, both pinned to CPU 0 and warmed with the
same 1000 names: "metrics on" (admin listener up, so responses are timed for the
latency histogram, and /metrics scraped every SCRAPE_EVERY seconds during its runs:
the daemon's scrape work lands on CPU 0 and in its CPU time) and "metrics off"
(`admin.listen = ""`: no histogram timing, no scrapes). They take turns, ROUNDS x
opts.duration seconds each, and the report gives the medians and the difference.
Counting itself (per-worker counters) runs in both: it also feeds the shutdown stats.
"""

import statistics
import threading

from bench_isolation import log, require_loopback

SCRAPE_EVERY = 1.0   # 15x Prometheus' usual 15 s: an upper bound on the scrape's share
ROUNDS = 6
OFF_ADDR = "127.0.0.4"


def bench_metrics_cost(opts, pair, bench):
    """bench: the throughput module (its Diresolver, dnsperf, warm, http_get, ...)."""
    require_loopback(OFF_ADDR)
    on = bench.Diresolver(opts)
    off = metrics_off_resolver(bench, opts)
    runs = {"on": [], "off": []}
    log(f"metrics cost: diresolver with and without metrics, one worker on CPU {bench.CPU_FWD}, "
        f"{ROUNDS} alternating rounds of {opts.duration} s; /metrics scraped every {SCRAPE_EVERY} s")
    try:
        for resolver in (on, off):
            resolver.start(1, {bench.CPU_FWD})
            bench.warm(opts, resolver, pair)
        for i in range(ROUNDS):
            for label in (("on", "off") if i % 2 == 0 else ("off", "on")):
                runs[label].append(measured_hit(opts, pair, bench, on if label == "on" else off,
                                                scrape=label == "on"))
    finally:
        on.stop()
        off.stop()
    report(runs)


def metrics_off_resolver(bench, opts):
    class MetricsOff(bench.Diresolver):
        def write_config(self, workers, tag, counting):
            conf = super().write_config(workers, tag, counting)
            with open(conf) as f:
                text = f.read().replace(f'listen = "{bench.DIRES_ADMIN}"', 'listen = ""')
            if 'listen = ""' not in text:
                raise RuntimeError("could not turn the admin listener off in the bench config")
            with open(conf, "w") as f:
                f.write(text)
            return conf

    resolver = MetricsOff(opts)
    resolver.addr = OFF_ADDR
    return resolver


def measured_hit(opts, pair, bench, resolver, scrape):
    stop = threading.Event()
    scrapes = []

    def scraper():
        while not stop.wait(SCRAPE_EVERY):
            scrapes.append(len(bench.http_get(bench.DIRES_ADMIN, "/metrics")))

    thread = threading.Thread(target=scraper, daemon=True)
    if scrape:
        thread.start()
    try:
        m = bench.dnsperf(opts, "metrics cost", resolver, pair, opts.hit_file, seconds=opts.duration,
                          cpus={bench.CPU_LOAD})
    finally:
        stop.set()
        if scrape:
            thread.join(timeout=5)
    if scrape and not scrapes:
        raise RuntimeError("no /metrics scrape succeeded during the run")
    log(f"metrics {'on' if scrape else 'off'}: {m.qps:,.0f} q/s, {m.us_per_answer:.2f} µs/answer"
        + (f", {len(scrapes)} scrapes of {scrapes[-1]:,} bytes" if scrape else ""))
    return m


def report(runs):
    def med(label, get):
        return statistics.median(get(m) for m in runs[label])

    print("\ndiresolver cache hit, metrics on vs off (medians of "
          f"{len(runs['on'])} alternating rounds)")
    print(f"{'':<14}{'q/s':>10}{'µs/answer':>11}{f'CPU {0} µs/answer':>18}")
    for label in ("on", "off"):
        print(f"{'metrics ' + label:<14}{med(label, lambda m: m.qps):>10,.0f}"
              f"{med(label, lambda m: m.us_per_answer):>11.2f}"
              f"{med(label, lambda m: m.cpu0_us_per_answer):>18.2f}")
    qps = 100 * (med("off", lambda m: m.qps) - med("on", lambda m: m.qps)) / med("off", lambda m: m.qps)
    cpu = 100 * (med("on", lambda m: m.us_per_answer) / med("off", lambda m: m.us_per_answer) - 1)
    print(f"cost of metrics: {qps:+.1f} % throughput lost, {cpu:+.1f} % CPU per answer "
          "(positive = metrics cost more)")
