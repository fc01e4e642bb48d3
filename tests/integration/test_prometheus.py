#!/usr/bin/python3
"""Integration test: a real Prometheus server scrapes the daemon (issue 6).

Owns: Debian's `prometheus`, started on loopback inside this test's network namespace
with the shipped alert rules and a 1 s scrape and evaluation interval, scrapes a daemon
that answered N queries; PromQL through the HTTP API returns N for the query counter,
the target is up, and every shipped alert rule evaluates against the live series
without an error, and none of them is pending or firing for a healthy daemon.
"""

import json
import subprocess
import tempfile
import time
import unittest
import urllib.parse
import urllib.request
from pathlib import Path

import harness
from harness import DI_ZONE, Daemon, IntegrationCase, health_config, query, wait_until

PROMETHEUS_ADDR = "127.0.0.1:9090"
QUERIES = 37
RULES = harness.source_dir() / "metrics" / "diresolver-alerts.yml"


def prometheus_config(rule_file):
    # Job "diresolver": the name the shipped rules and dashboard expect.
    return f"""
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["{rule_file}"]
scrape_configs:
  - job_name: diresolver
    static_configs:
      - targets: ["{harness.ADMIN_ADDR}:{harness.ADMIN_PORT}"]
"""


def api(path, **params):
    """GET the Prometheus HTTP API (no proxy); returns the `data` of a success."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    url = f"http://{PROMETHEUS_ADDR}/api/v1/{path}?{urllib.parse.urlencode(params)}"
    with opener.open(url, timeout=5) as response:
        body = json.load(response)
    if body.get("status") != "success":
        raise AssertionError(f"{path}: {body}")
    return body["data"]


def instant(promql):
    """The value of a one-series instant query, or None while there is none."""
    result = api("query", query=promql)["result"]
    return float(result[0]["value"][1]) if len(result) == 1 else None


class Prometheus:
    """Runs `prometheus` for the duration of a `with` block, storage in a temp dir."""

    def __init__(self, config_text):
        self.config_text = config_text

    def __enter__(self):
        self.tmp = tempfile.TemporaryDirectory()
        config = Path(self.tmp.name) / "prometheus.yml"
        config.write_text(self.config_text)
        self.log = open(Path(self.tmp.name) / "prometheus.log", "w+")
        self.proc = subprocess.Popen(
            ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={self.tmp.name}/data",
             f"--web.listen-address={PROMETHEUS_ADDR}", "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT)
        try:
            wait_until(self.ready, timeout=30, interval=0.2, what="prometheus ready")
        except BaseException:
            self.__exit__()
            raise
        return self

    def ready(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"prometheus exited {self.proc.returncode}: {self.logged()}")
        try:
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            with opener.open(f"http://{PROMETHEUS_ADDR}/-/ready", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    def logged(self):
        self.log.seek(0)
        return self.log.read()[-3000:]

    def __exit__(self, *exc):
        self.proc.terminate()  # our own child, by PID
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        self.tmp.cleanup()


class RealPrometheus(IntegrationCase):
    def test_prometheus_scrapes_the_query_count_and_evaluates_the_rules(self):
        with Daemon(health_config()), Prometheus(prometheus_config(RULES)) as prometheus:
            for i in range(QUERIES):
                query(f"p{i}.{DI_ZONE}")
            total = 'sum(diresolver_queries_total{job="diresolver"})'
            try:
                wait_until(lambda: instant(total) == QUERIES, timeout=20, interval=0.5,
                           what=f"PromQL {total} == {QUERIES}")
            except AssertionError:
                raise AssertionError(f"last value {instant(total)}; log: {prometheus.logged()}")
            self.assertEqual(instant('up{job="diresolver"}'), 1)
            self.assertEqual(instant('sum(diresolver_route_queries_total{route="di"})'), QUERIES)
            # Two evaluations after the data arrived: every rule has run against it.
            time.sleep(2.5)
            groups = api("rules")["groups"]
            firing = api("alerts")["alerts"]
        rules = [rule for group in groups for rule in group["rules"]]
        self.assertGreaterEqual(len(rules), 7, "the shipped rules were not loaded")
        broken = [(r["name"], r.get("lastError")) for r in rules if r.get("health") != "ok"]
        self.assertEqual(broken, [])
        # A healthy daemon: no rule even pending (their `for` would hide a firing one).
        self.assertEqual([(a["labels"]["alertname"], a["state"]) for a in firing], [])


if __name__ == "__main__":
    harness.main()
