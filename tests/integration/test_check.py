#!/usr/bin/python3
"""Integration tests: `diresolver check -c FILE [--json]` (issue 5).

Owns: the one-shot validation of every region's DI pair against scripted fakes: every
validation query to each server over UDP and over TCP, one report line per
region/server/transport/query (`REGION SERVER ADDRESS TRANSPORT QUERY RESULT RTT
DIAGNOSIS`), a verdict line per region, a final `PASS` / `FAIL` summary line, the exit
code (0 only if every region validates: at least one server of its pair passes every
check) and the `--json` document. Results covered: ok, slow, timeout (server dropping
everything, or only TCP / only UDP), network (nothing listening), refused,
wrong_customer (NXDOMAIN), wrong_region (NODATA, or another region's SOA), servfail;
extra configured queries (`[readiness] queries`).

Every config has `[readiness] timeout_ms = 1000` and `slow_ms = 900` (a dropped check
costs a second; the Python fakes can take a few hundred ms on a loaded CI box, which must
not turn an `ok` into `slow` or `timeout`).
"""

import json
import re
import tempfile

import harness
from harness import DI1, DI2, DI_ZONE, DI_ZONE_ABS, FAKES

IAD, DFW = harness.DISPLAY_NAMES[DI1], harness.DISPLAY_NAMES[DI2]
ADDRESSES = {IAD: f"{FAKES[DI1][0]}:53", DFW: f"{FAKES[DI2][0]}:53"}
TIMEOUT_MS = 1000
SLOW_MS = 900
RESULTS = ("ok", "slow", "timeout", "network", "refused", "wrong_customer", "wrong_region",
           "servfail", "malformed")
STATES = ("validated", "degraded", "failed")
CHECK_LINE = re.compile(
    r"^(?P<region>\S+)\s+(?P<server>\S+)\s+(?P<address>\S+:\d+)\s+(?P<transport>udp|tcp)\s+"
    r"(?P<query>\S.*?)\s+(?P<result>" + "|".join(RESULTS) + r")\s+"
    r"(?P<rtt>-|[0-9.]+\s*m?s)\s*(?P<diagnosis>.*)$")


def check_config(queries=None, regions=None, **readiness):
    """base_config with the gate's [readiness] table on (the harness turns it off for the
    tests of other features), timeout_ms = TIMEOUT_MS, slow_ms = SLOW_MS, and the given
    keys."""
    cfg = harness.base_config()
    cfg["readiness"] = {"enabled": True, "timeout_ms": TIMEOUT_MS, "slow_ms": SLOW_MS}
    if queries is not None:
        cfg["readiness"]["queries"] = queries
    cfg["readiness"].update(readiness)
    for name, servers in (regions or {}).items():
        cfg["regions"].append(name)
        cfg["region"][name] = {"servers": servers}
    return cfg


class Report:
    """The text report parsed: .checks (dicts), .verdicts {region: line}, .summary."""

    def __init__(self, stdout):
        self.text = stdout
        self.checks = []
        self.verdicts = {}
        self.summary = None
        lines = [line.rstrip() for line in stdout.splitlines() if line.strip()]
        for line in lines:
            match = CHECK_LINE.match(line)
            if match:
                self.checks.append(match.groupdict())
            elif re.match(r"^(PASS|FAIL)\b", line):
                self.summary = line
            elif line.split()[0] != "REGION" and any(s in line.split(None, 1)[-1]
                                                      for s in STATES):
                self.verdicts.setdefault(line.split()[0], line)
        self.last_line = lines[-1] if lines else ""

    def rows(self, server=None, transport=None, query=None):
        return [c for c in self.checks
                if (server is None or c["server"] == server)
                and (transport is None or c["transport"] == transport)
                and (query is None or c["query"] == query)]


class CheckCase(harness.IntegrationCase):

    def run_check(self, cfg, as_json=False):
        with tempfile.TemporaryDirectory(prefix="diresolver-check-") as tmp:
            path = harness.write_config(tmp, cfg)
            return harness.run_cli(["check", "-c", path, *(["--json"] if as_json else [])],
                                   timeout=20)

    def text_report(self, cfg, want_rc):
        proc = self.run_check(cfg)
        self.assertEqual(want_rc, proc.returncode,
                         f"exit code; stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
        report = Report(proc.stdout)
        self.assertTrue(report.checks, f"no check lines in:\n{proc.stdout}")
        self.assertIsNotNone(report.summary, f"no PASS/FAIL line in:\n{proc.stdout}")
        self.assertEqual(report.summary, report.last_line,
                         f"the summary is not the last line:\n{proc.stdout}")
        self.assertTrue(report.summary.startswith("PASS" if want_rc == 0 else "FAIL"),
                        proc.stdout)
        return report

    def json_report(self, cfg, want_rc):
        proc = self.run_check(cfg, as_json=True)
        self.assertEqual(want_rc, proc.returncode,
                         f"exit code; stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
        try:
            doc = json.loads(proc.stdout)
        except ValueError as exc:
            self.fail(f"--json output does not parse ({exc}):\n{proc.stdout}")
        self.assertIs(want_rc == 0, doc["passed"], doc)
        for region in doc["regions"]:
            self.assertIn(region["state"], STATES, region)
            for check in region["checks"]:
                self.assertLessEqual({"server", "address", "transport", "query", "result",
                                      "rtt_ms", "diagnosis"}, set(check), check)
                self.assertIn(check["result"], RESULTS, check)
                self.assertIn(check["transport"], ("udp", "tcp"), check)
                self.assertIsInstance(check["rtt_ms"], (int, float), check)
                self.assertIsInstance(check["diagnosis"], str, check)
        return doc

    def region(self, doc, name="amer"):
        regions = [r for r in doc["regions"] if r["region"] == name]
        self.assertEqual(1, len(regions), json.dumps(doc, indent=1))
        return regions[0]

    def assert_rows(self, report, server, result, transports=("udp", "tcp"), query="@ SOA"):
        for transport in transports:
            rows = report.rows(server, transport, query)
            self.assertEqual(1, len(rows), f"{server} {transport} {query} in:\n{report.text}")
            row = rows[0]
            self.assertEqual(result, row["result"], f"{row}\n{report.text}")
            self.assertEqual("amer", row["region"], row)
            self.assertEqual(ADDRESSES[server], row["address"], row)
            self.assertTrue(row["diagnosis"].strip(), f"no diagnosis: {row}")

    def assert_json_checks(self, region, server, result, transports=("udp", "tcp"),
                           query="@ SOA"):
        for transport in transports:
            checks = [c for c in region["checks"] if c["server"] == server
                      and c["transport"] == transport and c["query"] == query]
            self.assertEqual(1, len(checks), f"{server} {transport} {query}: "
                                             f"{json.dumps(region, indent=1)}")
            self.assertEqual(result, checks[0]["result"], checks[0])
            self.assertEqual(ADDRESSES[server], checks[0]["address"], checks[0])
            self.assertTrue(checks[0]["diagnosis"].strip(), checks[0])


class PassTest(CheckCase):

    def test_both_servers_answer(self):
        report = self.text_report(check_config(), 0)
        self.assertEqual(4, len(report.checks), report.text)  # 2 servers x udp/tcp x 1 query
        for server in (IAD, DFW):
            self.assert_rows(report, server, "ok")
            for row in report.rows(server):
                self.assertRegex(row["rtt"], r"^[0-9.]+\s*m?s$", row)
        self.assertIn("amer", report.verdicts, report.text)
        self.assertIn("validated", report.verdicts["amer"], report.text)
        for fake in (DI1, DI2):  # each server was asked the apex SOA over UDP and TCP
            for transport in ("udp", "tcp"):
                self.assertTrue([q for q in self.fakes[fake].seen(DI_ZONE, transport)
                                 if q.qtype == "SOA"], f"{fake} {transport}")

        doc = self.json_report(check_config(), 0)
        self.assertEqual(1, len(doc["regions"]), doc)
        region = self.region(doc)
        self.assertEqual(DI_ZONE_ABS, region["zone"], region)
        self.assertEqual("validated", region["state"], region)
        self.assertEqual(4, len(region["checks"]), region)
        for server in (IAD, DFW):
            self.assert_json_checks(region, server, "ok")
        for check in region["checks"]:
            self.assertGreater(check["rtt_ms"], 0, check)
            self.assertLess(check["rtt_ms"], TIMEOUT_MS, check)

    def test_one_server_dropping_degrades_but_passes(self):
        self.fakes[DI1].mode = "drop"
        report = self.text_report(check_config(), 0)
        self.assert_rows(report, IAD, "timeout")
        self.assert_rows(report, DFW, "ok")
        self.assertIn("degraded", report.verdicts.get("amer", ""), report.text)

        doc = self.json_report(check_config(), 0)
        region = self.region(doc)
        self.assertEqual("degraded", region["state"], region)
        self.assert_json_checks(region, IAD, "timeout")
        self.assert_json_checks(region, DFW, "ok")

    def test_slow_answer_passes_diagnosed_slow(self):
        self.fakes[DI1].mode = "delay"
        self.fakes[DI1].delay = 0.6  # between slow_ms and timeout_ms
        cfg = check_config(slow_ms=400)
        report = self.text_report(cfg, 0)
        self.assert_rows(report, IAD, "slow")
        self.assert_rows(report, DFW, "ok")
        doc = self.json_report(cfg, 0)
        region = self.region(doc)
        self.assertEqual("validated", region["state"], region)  # slow still passes
        self.assert_json_checks(region, IAD, "slow")
        for check in region["checks"]:
            if check["server"] == IAD:
                self.assertGreaterEqual(check["rtt_ms"], 500, check)

    def test_configured_extra_query_is_reported(self):
        cfg = check_config(queries=["@ SOA", "cucm-pub A"])
        report = self.text_report(cfg, 0)
        self.assertEqual(8, len(report.checks), report.text)
        for server in (IAD, DFW):
            self.assert_rows(report, server, "ok", query="@ SOA")
            self.assert_rows(report, server, "ok", query="cucm-pub A")
        for fake in (DI1, DI2):
            for transport in ("udp", "tcp"):
                self.assertTrue([q for q in self.fakes[fake].seen(f"cucm-pub.{DI_ZONE}",
                                                                  transport)
                                 if q.qtype == "A"], f"{fake} {transport}")
        doc = self.json_report(cfg, 0)
        region = self.region(doc)
        self.assertEqual(8, len(region["checks"]), region)
        for server in (IAD, DFW):
            self.assert_json_checks(region, server, "ok", query="cucm-pub A")

    def test_authority_record_inside_the_domain_passes(self):
        # Below the apex the fakes answer SOA queries NODATA with the apex SOA in the
        # authority section: a record at or below the customer's domain, so ok.
        cfg = check_config(queries=["_sip._tcp SOA"])
        report = self.text_report(cfg, 0)
        for server in (IAD, DFW):
            self.assert_rows(report, server, "ok", query="_sip._tcp SOA")

    def test_every_configured_query_must_pass(self):
        # The fakes answer SRV queries with NODATA (no SOA): nothing inside the domain.
        cfg = check_config(queries=["@ SOA", "_cisco-uds._tcp SRV"])
        report = self.text_report(cfg, 1)
        for server in (IAD, DFW):
            self.assert_rows(report, server, "ok", query="@ SOA")
            self.assert_rows(report, server, "wrong_region", query="_cisco-uds._tcp SRV")
        self.assertIn("failed", report.verdicts.get("amer", ""), report.text)
        region = self.region(self.json_report(cfg, 1))
        self.assertEqual("failed", region["state"], region)


class FailTest(CheckCase):

    def assert_failed(self, result, cfg=None, diagnosis=None):
        cfg = cfg or check_config()
        report = self.text_report(cfg, 1)
        for server in (IAD, DFW):
            self.assert_rows(report, server, result)
        self.assertIn("failed", report.verdicts.get("amer", ""), report.text)
        self.assertIn(result, report.summary, "the FAIL line names the reason")
        if diagnosis:
            for row in report.checks:
                self.assertRegex(row["diagnosis"], diagnosis, row)
        region = self.region(self.json_report(cfg, 1))
        self.assertEqual("failed", region["state"], region)
        for server in (IAD, DFW):
            self.assert_json_checks(region, server, result)

    def set_modes(self, mode):
        self.fakes[DI1].mode = self.fakes[DI2].mode = mode

    def test_both_servers_drop(self):
        self.set_modes("drop")
        self.assert_failed("timeout")
        for row in Report(self.run_check(check_config()).stdout).checks:
            self.assertEqual("-", row["rtt"], row)

    def test_both_servers_refuse(self):
        self.set_modes("refused")
        self.assert_failed("refused", diagnosis=r"(?i)refused")

    def test_nxdomain_for_the_apex_is_wrong_customer(self):
        self.set_modes("nxdomain")
        self.assert_failed("wrong_customer", diagnosis=r"customer")

    def test_nodata_for_the_apex_is_wrong_region(self):
        self.set_modes("nodata")
        self.assert_failed("wrong_region", diagnosis=r"region")

    def test_other_regions_soa_is_wrong_region(self):
        self.set_modes("wrong_region")
        self.assert_failed("wrong_region", diagnosis=r"region")

    def test_servfail(self):
        self.set_modes("servfail")
        self.assert_failed("servfail", diagnosis=r"(?i)servfail")

    def test_garbage_answers_are_malformed_over_both_transports(self):
        # Over TCP too: a frame with our ID that is no answer is not silence.
        self.set_modes("malformed")
        self.assert_failed("malformed")

    def test_tcp_dropped_fails_the_tcp_checks_and_the_server(self):
        self.fakes[DI1].mode = "drop_tcp"
        report = self.text_report(check_config(), 0)
        self.assert_rows(report, IAD, "ok", transports=("udp",))
        self.assert_rows(report, IAD, "timeout", transports=("tcp",))
        self.assert_rows(report, DFW, "ok")
        self.assertIn("degraded", report.verdicts.get("amer", ""), report.text)

        self.set_modes("drop_tcp")
        report = self.text_report(check_config(), 1)
        for server in (IAD, DFW):
            self.assert_rows(report, server, "ok", transports=("udp",))
            self.assert_rows(report, server, "timeout", transports=("tcp",))
        region = self.region(self.json_report(check_config(), 1))
        self.assertEqual("failed", region["state"], region)

    def test_udp_dropped_fails_the_udp_checks(self):
        self.set_modes("drop_udp")
        report = self.text_report(check_config(), 1)
        for server in (IAD, DFW):
            self.assert_rows(report, server, "timeout", transports=("udp",))
            self.assert_rows(report, server, "ok", transports=("tcp",))

    def test_one_failed_region_fails_the_check(self):
        # emea's pair: loopback addresses nothing listens on (ICMP port unreachable and
        # TCP RST: network errors), while amer validates.
        cfg = check_config(regions={"emea": ["127.0.0.31", "127.0.0.32"]})
        report = self.text_report(cfg, 1)
        for server in (IAD, DFW):
            self.assert_rows(report, server, "ok")
        emea = [row for row in report.checks if row["region"] == "emea"]
        self.assertEqual(4, len(emea), report.text)
        for row in emea:
            self.assertEqual("network", row["result"], row)
        self.assertIn("validated", report.verdicts.get("amer", ""), report.text)
        self.assertIn("failed", report.verdicts.get("emea", ""), report.text)
        doc = self.json_report(cfg, 1)
        self.assertEqual("validated", self.region(doc, "amer")["state"], doc)
        emea_doc = self.region(doc, "emea")
        self.assertEqual("failed", emea_doc["state"], emea_doc)
        self.assertEqual("acme.emea.wxc-di.webex.com.", emea_doc["zone"], emea_doc)
        self.assertEqual({"network"}, {c["result"] for c in emea_doc["checks"]}, emea_doc)


if __name__ == "__main__":
    harness.main()
