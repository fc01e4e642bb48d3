#!/usr/bin/python3
"""Integration tests: how the daemon's lines are written.

Owns: the line styles of README "Logs": under systemd (stderr is the stream named in
$JOURNAL_STREAM) each line starts with its syslog priority (`<6>info:`, `<4>warn:`,
`<3>error:`), which journald takes as the entry's priority; elsewhere with an ISO 8601
timestamp; one-shot commands (config-test) write bare `error:` lines. A condition
that persists is logged when it changes: a start that cannot validate logs `not ready`
once, not every retry. The query log (`[log] queries`): a SERVFAIL's line names every
server asked and what came of it; "failures" leaves quick answers out, "all" does not,
"none" writes nothing; at most `max_lines_per_second`, then a summary.
"""

import datetime
import os
import re
import signal
import subprocess
import time

import dns.rcode

import harness
from harness import DI_ZONE, FORWARD, FORWARD_ZONE, Daemon, query

TIMESTAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d"


def reload_with_bad_file(daemon):
    """SIGHUP after the config file gained an unknown key: an error line."""
    with open(daemon.config_path, "a") as config:
        config.write("\nno_such_key = 1\n")
    daemon.proc.send_signal(signal.SIGHUP)
    return daemon.wait_for_log(r"reload failed")


class LineStyleTest(harness.IntegrationCase):
    def test_under_the_journal_every_line_carries_its_priority(self):
        with Daemon(journal=True) as daemon:
            self.assertTrue(reload_with_bad_file(daemon), daemon.stderr)
        lines = daemon.stderr.splitlines()  # with the stats line of the stop
        priorities = {"info": "<6>", "warn": "<4>", "error": "<3>"}
        for line in lines:
            match = re.match(r"(<\d>)(info|warn|error): ", line)
            self.assertTrue(match, f"no priority prefix: {line!r}")
            self.assertEqual(priorities[match.group(2)], match.group(1), line)
        self.assertTrue(any(line.startswith("<4>warn: running as root") for line in lines), lines)
        self.assertTrue(any(line.startswith("<3>error: reload failed") for line in lines), lines)
        self.assertTrue(any(line.startswith("<6>info: stats ") for line in lines), lines)

    def test_elsewhere_every_line_starts_with_an_iso_timestamp(self):
        began = datetime.datetime.now(datetime.timezone.utc)
        with Daemon() as daemon:
            self.assertTrue(reload_with_bad_file(daemon), daemon.stderr)
        lines = daemon.stderr.splitlines()  # with the stats line of the stop
        ended = datetime.datetime.now(datetime.timezone.utc)
        for line in lines:
            match = re.match(rf"({TIMESTAMP}) (info|warn|error): ", line)
            self.assertTrue(match, f"no timestamp: {line!r}")
            stamp = datetime.datetime.fromisoformat(match.group(1))
            self.assertLessEqual(began - datetime.timedelta(seconds=1), stamp, line)
            self.assertLessEqual(stamp, ended + datetime.timedelta(seconds=1), line)
        self.assertTrue(any(re.match(rf"{TIMESTAMP} error: reload failed", line) for line in lines), lines)

    def test_a_one_shot_command_writes_bare_lines(self):
        # A stale JOURNAL_STREAM (the operator's shell inside a unit) must not matter either.
        proc = subprocess.run([harness.daemon_binary(), "config-test", "-c", "/nonexistent/diresolver.toml"],
                              capture_output=True, text=True, timeout=10,
                              env=dict(os.environ, JOURNAL_STREAM="1:1"))
        self.assertEqual(1, proc.returncode)
        self.assertTrue(proc.stderr.startswith("error: /nonexistent/diresolver.toml"), proc.stderr)


class RepeatedConditionTest(harness.IntegrationCase):
    def test_a_start_that_cannot_validate_logs_not_ready_once(self):
        for fake in (harness.DI1, harness.DI2):
            self.fakes[fake].mode = "drop"
        cfg = harness.base_config()
        cfg["readiness"] = {"enabled": True, "timeout_ms": 300, "retry_ms": 100}
        with Daemon(cfg) as daemon:
            rounds = lambda: harness.metric(harness.get_metrics(), "diresolver_validation_failures_total") or 0
            harness.wait_until(lambda: rounds() >= 8, timeout=10, what="four rounds of validation failed")
            time.sleep(0.1)
            not_ready = re.findall(r"warn: readiness: not ready \(", daemon.stderr)
        self.assertEqual(1, len(not_ready), daemon.stderr)



def query_lines(daemon):
    return [line for line in daemon.stderr.splitlines() if re.search(r" info: query \S+#\d+ ", line)]


class QueryLogTest(harness.IntegrationCase):
    def config(self, **log):
        cfg = harness.base_config()
        cfg["upstream"].update({"deadline_ms": 1500, "tries": 1})
        if log:
            cfg["log"] = log
        return cfg

    def test_a_servfail_names_every_server_asked_and_what_came_of_it(self):
        for fake in (harness.DI1, harness.DI2):
            self.fakes[fake].mode = "drop"
        with Daemon(self.config()) as daemon:
            name = f"lost.{DI_ZONE}"
            self.assertEqual(dns.rcode.SERVFAIL, query(name, timeout=5).rcode())
            harness.wait_until(lambda: query_lines(daemon), what="the query log line")
        line = query_lines(daemon)[0]
        self.assertRegex(line, rf" info: query 127\.0\.0\.1#\d+ {re.escape(name)}\. A via di:amer: "
                               r"SERVFAIL EDE 22 after \d+ ms; asked ")
        self.assertRegex(line, r"IAD 127\.0\.0\.11:53 udp: timeout at \d+ ms")
        self.assertRegex(line, r"DFW 127\.0\.0\.12:53 udp: timeout at \d+ ms")

    def test_failures_leave_quick_answers_out_all_keeps_them_none_writes_nothing(self):
        for mode, logged in (("failures", 1), ("all", 2), ("none", 0)):
            with self.subTest(mode=mode):
                self.fakes[FORWARD].mode = "answer"
                with Daemon(self.config(queries=mode)) as daemon:
                    self.assertEqual(dns.rcode.NOERROR, query(f"fine-{mode}.{FORWARD_ZONE}").rcode())
                    self.fakes[FORWARD].mode = "refused"
                    self.assertEqual(dns.rcode.REFUSED, query(f"refused-{mode}.{FORWARD_ZONE}").rcode())
                    time.sleep(0.2)
                lines = query_lines(daemon)
                self.assertEqual(logged, len(lines), lines)
                if logged:
                    self.assertIn(f"refused-{mode}.{FORWARD_ZONE}. A via forward: REFUSED", lines[-1])
                    self.assertRegex(lines[-1], r"asked 127\.0\.0\.21:53 udp: REFUSED at \d+ ms")

    def test_a_burst_is_cut_to_the_rate_and_summarised(self):
        self.fakes[FORWARD].mode = "refused"
        cfg = self.config(max_lines_per_second=3)
        cfg["server"]["workers"] = 1
        with Daemon(cfg) as daemon:
            for i in range(10):
                query(f"burst{i}.{FORWARD_ZONE}")
            time.sleep(1.1)
            query(f"after.{FORWARD_ZONE}")
            harness.wait_until(lambda: "lines suppressed" in daemon.stderr, what="the summary")
        self.assertEqual(4, len(query_lines(daemon)), daemon.stderr)
        self.assertIn("info: query log: 7 lines suppressed (log.max_lines_per_second)", daemon.stderr)


if __name__ == "__main__":
    harness.main()
