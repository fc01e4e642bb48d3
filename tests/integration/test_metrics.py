#!/usr/bin/python3
"""Integration tests: the Prometheus metrics (issue 6).

Owns: a live scrape passes `promtool check metrics`; client-side numbers follow the
traffic sent (queries by transport and route, responses by RCODE, the latency histogram,
refusals by reason, malformed queries, TCP connections accepted and open); a server that
answers after the first one failed counts a failover answer; route counters keep their
zone across a reload that reorders zones; process metrics and build info describe this
process; the README's metric table lists exactly the families of a live scrape; every
metric name in the Grafana dashboard and the alert rules exists in that scrape.

The daemon here runs one worker with the cache on; every config comes from
harness.health_config (admin listener on, sequential selection, fakes on 127.0.0.x).
"""

import json
import os
import re
import signal
import subprocess
import time
import unittest

import dns.rcode

import harness
from harness import (DI1, DI2, DI_ZONE, FORWARD_ZONE, Daemon, IntegrationCase, get_metrics,
                     health_config, metric, parse_metrics, query, udp_exchange, wait_until,
                     write_config)

IAD, DFW = harness.DISPLAY_NAMES[DI1], harness.DISPLAY_NAMES[DI2]
REPO = harness.source_dir()
OTHER_CLIENT = "127.0.0.2"  # outside the ACL below


def metrics_config(**kwargs):
    cfg = health_config(**kwargs)
    cfg["acl"] = {"allow": ["127.0.0.1/32"]}
    return cfg


def families(text):
    """{family name: type} from the # TYPE lines of a scrape."""
    return dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.MULTILINE))


def histogram_buckets(text, name, **labels):
    """[(le, cumulative count)] of histogram `name`, in exposition order."""
    return [(float(lbl["le"]), value) for sample, lbl, value in parse_metrics(text)
            if sample == name + "_bucket"
            and all(lbl.get(k) == v for k, v in labels.items())]


def readme_metric_table():
    """{name: type} from the README's metric table rows: | `name` | type | labels | meaning |."""
    text = (REPO / "README.md").read_text()
    rows = re.findall(r"^\| `((?:diresolver|process)_[a-z0-9_]+)` \| (\w+) \|", text, re.MULTILINE)
    return dict(rows)


def names_in(text):
    """Metric names in PromQL text, histogram/summary suffixes kept."""
    return set(re.findall(r"\b((?:diresolver|process)_[a-z0-9_]*[a-z0-9])\b(?!\*)", text))


def family_of(name, known):
    """The scrape family a PromQL name belongs to (histogram series carry suffixes)."""
    if name in known:
        return name
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and known.get(name[: -len(suffix)]) == "histogram":
            return name[: -len(suffix)]
    return None


class ClientSideMetrics(IntegrationCase):
    def test_traffic_is_counted_by_transport_route_rcode_and_latency(self):
        with Daemon(metrics_config()):
            for i in range(4):
                query(f"n{i}.{DI_ZONE}")
            query(f"n0.{DI_ZONE}")                   # a cache hit
            query(f"tcp.{DI_ZONE}", tcp=True)
            query(f"x.{FORWARD_ZONE}")
            query("www.example.com")
            self.fakes[DI1].mode = "nxdomain"
            nx = query(f"missing.{DI_ZONE}")
            refused = query(f"acl.{DI_ZONE}", source=OTHER_CLIENT)
            formerr = udp_exchange(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xff")
            text = get_metrics()

        self.assertEqual(nx.rcode(), dns.rcode.NXDOMAIN)
        self.assertEqual(refused.rcode(), dns.rcode.REFUSED)
        self.assertEqual(formerr[3] & 0x0F, dns.rcode.FORMERR)
        self.assertEqual(metric(text, "diresolver_queries_total", transport="udp"), 10)
        self.assertEqual(metric(text, "diresolver_queries_total", transport="tcp"), 1)
        # The ACL comes before routing: the refused query is not routed.
        self.assertEqual(metric(text, "diresolver_route_queries_total", route="di", region="amer",
                                zone=DI_ZONE + "."), 7)
        self.assertEqual(metric(text, "diresolver_route_queries_total", route="forward"), 1)
        self.assertEqual(metric(text, "diresolver_route_queries_total", route="default", zone="."), 1)
        self.assertEqual(metric(text, "diresolver_responses_total", rcode="NOERROR"), 8)
        self.assertEqual(metric(text, "diresolver_responses_total", rcode="NXDOMAIN"), 1)
        self.assertEqual(metric(text, "diresolver_responses_total", rcode="REFUSED"), 1)
        self.assertEqual(metric(text, "diresolver_responses_total", rcode="FORMERR"), 1)
        self.assertEqual(metric(text, "diresolver_refusals_total", reason="acl"), 1)
        self.assertEqual(metric(text, "diresolver_refusals_total", reason="no_route"), 0)
        self.assertEqual(metric(text, "diresolver_malformed_queries_total"), 1)
        self.assertEqual(metric(text, "diresolver_cache_hits_total"), 1)
        self.assertEqual(metric(text, "diresolver_tcp_connections_total"), 1)

        # Every response sent is one latency observation; buckets are cumulative.
        self.assertEqual(metric(text, "diresolver_response_duration_seconds_count"), 11)
        buckets = histogram_buckets(text, "diresolver_response_duration_seconds")
        self.assertEqual(buckets[-1], (float("inf"), 11))
        counts = [count for _, count in buckets]
        self.assertEqual(counts, sorted(counts))
        total = metric(text, "diresolver_response_duration_seconds_sum")
        self.assertGreater(total, 0)
        self.assertLess(total, 11 * 1.5)  # nothing waited for the deadline

    def test_open_tcp_connections_gauge_follows_clients(self):
        with Daemon(metrics_config()):
            first, second = harness.tcp_connect(), harness.tcp_connect()
            wait_until(lambda: metric(get_metrics(), "diresolver_tcp_connections") == 2,
                       what="two open TCP connections")
            first.close()
            wait_until(lambda: metric(get_metrics(), "diresolver_tcp_connections") == 1,
                       what="one open TCP connection after a close")
            second.close()
            text = get_metrics()
        self.assertEqual(metric(text, "diresolver_tcp_connections_total"), 2)

    def test_no_route_refusal_is_counted(self):
        with Daemon(metrics_config(default=False)):
            response = query("www.example.org")
            text = get_metrics()
        self.assertEqual(response.rcode(), dns.rcode.REFUSED)
        self.assertEqual(metric(text, "diresolver_refusals_total", reason="no_route"), 1)
        self.assertEqual(metric(text, "diresolver_responses_total", rcode="REFUSED"), 1)


class UpstreamMetrics(IntegrationCase):
    def test_answer_after_a_failed_server_counts_as_failover(self):
        # No hedging: the second server is asked only because the first said SERVFAIL.
        with Daemon(metrics_config(upstream={"hedge_delay_min_ms": 1000, "hedge_delay_max_ms": 1000})):
            query(f"ok.{DI_ZONE}")
            self.fakes[DI1].mode = "servfail"
            response = query(f"failover.{DI_ZONE}")
            text = get_metrics()
        self.assertEqual(self.answered_by(response), DI2)
        self.assertEqual(metric(text, "diresolver_upstream_failover_answers_total", server=DFW,
                                region="amer"), 1)
        self.assertEqual(metric(text, "diresolver_upstream_failover_answers_total", server=IAD), 0)
        self.assertEqual(metric(text, "diresolver_upstream_failures_total", server=IAD,
                                reason="servfail"), 1)
        self.assertEqual(metric(text, "diresolver_responses_total", rcode="NOERROR"), 2)

    def test_route_counter_keeps_its_zone_across_a_reload_that_reorders_zones(self):
        cfg = metrics_config()
        with Daemon(cfg) as daemon:
            for _ in range(3):
                query(f"x.{FORWARD_ZONE}", rdtype="TXT")
            # A new forward zone listed first shifts corp.example's index.
            cfg["forward"].insert(0, {"zone": "first.example", "servers": ["127.0.0.21"]})
            write_config(os.path.dirname(daemon.config_path), cfg)
            daemon.proc.send_signal(signal.SIGHUP)
            wait_until(lambda: metric(get_metrics(), "diresolver_config_reloads_total",
                                      result="success") == 1, what="the reload")
            query(f"y.{FORWARD_ZONE}")
            text = get_metrics()
        self.assertEqual(metric(text, "diresolver_route_queries_total", zone=FORWARD_ZONE + "."), 4)
        self.assertEqual(metric(text, "diresolver_route_queries_total", zone="first.example."), 0)


class ExpositionAndDocumentation(IntegrationCase):
    def scrape_after_traffic(self):
        """With the readiness gate on, so its per-region series have samples too."""
        cfg = metrics_config()
        cfg["readiness"] = {"enabled": True, "retry_ms": 200}
        with Daemon(cfg):
            query(f"a.{DI_ZONE}")
            query(f"a.{DI_ZONE}", tcp=True)
            query("www.example.com")
            return get_metrics()

    def test_live_scrape_passes_promtool_and_describes_this_process(self):
        started = time.time()
        text = self.scrape_after_traffic()
        checked = subprocess.run(["promtool", "check", "metrics"], input=text, text=True,
                                 capture_output=True, timeout=30)
        self.assertEqual((checked.returncode, checked.stdout + checked.stderr), (0, ""))
        self.assertAlmostEqual(metric(text, "process_start_time_seconds"), started, delta=10)
        self.assertGreater(metric(text, "process_resident_memory_bytes"), 1 << 20)
        self.assertGreater(metric(text, "process_open_fds"), 3)
        self.assertGreaterEqual(metric(text, "process_max_fds"), metric(text, "process_open_fds"))
        self.assertGreater(metric(text, "process_cpu_seconds_total"), 0)
        version = harness.run_cli(["--version"]).stdout.split()[-1]
        info = [lbl for name, lbl, _ in parse_metrics(text) if name == "diresolver_build_info"]
        self.assertEqual(len(info), 1)
        self.assertEqual(info[0]["version"], version)
        self.assertRegex(info[0]["commit"], r"^([0-9a-f]{7,40}|unknown)$")

    def test_readme_table_lists_exactly_the_scraped_families(self):
        scraped = families(self.scrape_after_traffic())
        documented = readme_metric_table()
        self.assertEqual(sorted(set(scraped) - set(documented)), [], "scraped but not in the README")
        self.assertEqual(sorted(set(documented) - set(scraped)), [], "in the README but not scraped")
        self.assertEqual(documented, scraped, "types differ")

    def test_dashboard_and_alert_rules_use_only_scraped_metrics(self):
        text = self.scrape_after_traffic()
        # Names with at least one sample: a family with only HELP/TYPE would draw nothing.
        sampled = {name for name, _, _ in parse_metrics(text)}
        scraped = {name: kind for name, kind in families(text).items()
                   if name in sampled or name + "_count" in sampled}
        self.assertIn("diresolver_validation_region_ok", scraped)
        dashboard = json.loads((REPO / "metrics" / "diresolver-dashboard.json").read_text())
        exprs = " ".join(target.get("expr", "") for panel in all_panels(dashboard)
                         for target in panel.get("targets", []))
        exprs += " " + json.dumps(dashboard.get("templating", {}))
        rules = (REPO / "metrics" / "diresolver-alerts.yml").read_text()
        for source, text in (("dashboard", exprs), ("alert rules", rules)):
            used = names_in(text)
            self.assertTrue(used, f"no metric names found in the {source}")
            unknown = sorted(name for name in used if family_of(name, scraped) is None)
            self.assertEqual(unknown, [], f"{source} uses metrics the daemon does not export")


def all_panels(dashboard):
    """Every panel, rows' nested panels included."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


if __name__ == "__main__":
    harness.main()
