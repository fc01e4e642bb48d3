#!/usr/bin/python3
"""Integration tests: dnstap ([dnstap], README "dnstap").

Owns: what the daemon writes to a dnstap file or socket, read back by real readers
(Debian's dnstap-ldns, fstrm_capture on a Unix socket): CLIENT_QUERY/RESPONSE for every
client query (cache hits too, UDP and TCP), FORWARDER_QUERY/RESPONSE naming the server
asked and the zone routed by, identity and version; which messages are written; a
reload that keeps the file, and one after logrotate moved it; a collector that never
reads drops messages (counted) without holding up a single answer; bad settings refused.
"""

import os
import re
import signal
import socket
import subprocess
import tempfile
import time

import dns.rcode

import harness
from harness import DI_ZONE, FORWARD_ZONE, Daemon, query

CONTENT_TYPE = "protobuf:dnstap.Dnstap"


def read_dnstap(path):
    """The messages of a dnstap file, as dnstap-ldns -y prints them: a dict per message
    with identity, version, type, socket_protocol, the addresses, ports and query_zone,
    `name` (the question) and `rcode` (of a response)."""
    out = subprocess.run(["dnstap-ldns", "-y", "-r", path], capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise AssertionError(f"dnstap-ldns failed ({out.returncode}): {out.stderr}")
    messages = []
    for doc in out.stdout.split("---\n"):
        if "type: MESSAGE" not in doc:
            continue
        fields = dict(re.findall(r"^\s*(\w+): \"?([^\"\n|]*)\"?$", doc, re.M))
        fields["type"] = re.search(r"^  type: (\w+)", doc, re.M).group(1)
        question = re.search(r";(\S+)\tIN\t(\w+)", doc)
        fields["name"] = question.group(1) if question else None
        rcode = re.search(r"opcode: QUERY, rcode: (\w+)", doc)
        fields["rcode"] = rcode.group(1) if rcode else None
        messages.append(fields)
    return messages


def of_name(messages, name):
    return [m for m in messages if m["name"] == name]


def kinds(messages):
    return [m["type"] for m in messages]


class DnstapFileTest(harness.IntegrationCase):
    def config(self, path, **dnstap):
        cfg = harness.base_config()
        cfg["dnstap"] = {"file": path, **dnstap}
        return cfg

    def tap_path(self, name="dnstap.fstrm"):
        directory = self.enterContext(tempfile.TemporaryDirectory(prefix="diresolver-dnstap-"))
        return os.path.join(directory, name)

    def test_dnstap_ldns_reads_client_and_forwarder_messages(self):
        path = self.tap_path()
        name = f"tapped.{DI_ZONE}."
        with Daemon(self.config(path, identity="site-a", version="lab 1")):
            self.assertEqual(dns.rcode.NOERROR, query(name).rcode())           # a miss: forwarded
            self.assertEqual(dns.rcode.NOERROR, query(name).rcode())           # a hit
            self.assertEqual(dns.rcode.NOERROR, query(name, tcp=True).rcode())  # a hit over TCP
        messages = of_name(read_dnstap(path), name)
        self.assertEqual(["CLIENT_QUERY", "FORWARDER_QUERY", "FORWARDER_RESPONSE", "CLIENT_RESPONSE",
                          "CLIENT_QUERY", "CLIENT_RESPONSE", "CLIENT_QUERY", "CLIENT_RESPONSE"],
                         kinds(messages))
        for m in messages:
            self.assertEqual(("site-a", "lab 1"), (m["identity"], m["version"]))
        client = [m for m in messages if m["type"].startswith("CLIENT")]
        for m in client:
            self.assertEqual("127.0.0.1", m["query_address"])
            self.assertNotIn("response_address", m)
        self.assertEqual(["UDP"] * 4 + ["TCP"] * 2, [m["socket_protocol"] for m in client])
        self.assertEqual(["NOERROR"] * 3, [m["rcode"] for m in client if m["type"] == "CLIENT_RESPONSE"])
        forwarded = [m for m in messages if m["type"].startswith("FORWARDER")]
        for m in forwarded:
            self.assertIn(m["response_address"], ("127.0.0.11", "127.0.0.12"))
            self.assertEqual("53", m["response_port"])
            self.assertEqual(DI_ZONE + ".", m["query_zone"])
        self.assertEqual(forwarded[0]["response_address"], forwarded[1]["response_address"])

    def test_a_servfail_shows_both_servers_asked(self):
        for fake in (harness.DI1, harness.DI2):
            self.fakes[fake].mode = "servfail"
        path = self.tap_path()
        name = f"failing.{DI_ZONE}."
        cfg = self.config(path)
        cfg["upstream"] = {"tries": 1}
        with Daemon(cfg):
            self.assertEqual(dns.rcode.SERVFAIL, query(name, timeout=5).rcode())
        messages = of_name(read_dnstap(path), name)
        answers = {m["response_address"]: m["rcode"] for m in messages if m["type"] == "FORWARDER_RESPONSE"}
        self.assertEqual({"127.0.0.11": "SERVFAIL", "127.0.0.12": "SERVFAIL"}, answers)
        self.assertEqual("SERVFAIL", [m for m in messages if m["type"] == "CLIENT_RESPONSE"][0]["rcode"])

    def test_only_the_messages_asked_for_are_written(self):
        path = self.tap_path()
        name = f"forwarder-only.{FORWARD_ZONE}."
        with Daemon(self.config(path, client_queries=False, client_responses=False)):
            self.assertEqual(dns.rcode.NOERROR, query(name).rcode())
        messages = of_name(read_dnstap(path), name)
        self.assertEqual(["FORWARDER_QUERY", "FORWARDER_RESPONSE"], kinds(messages))
        self.assertEqual(FORWARD_ZONE + ".", messages[0]["query_zone"])

    def test_a_reload_keeps_the_file_and_reopens_it_once_logrotate_moved_it(self):
        path = self.tap_path()
        with Daemon(self.config(path)) as daemon:
            query(f"one.{DI_ZONE}")
            self.assertEqual(0, harness.run_cli(["reload", "-c", daemon.config_path]).returncode)
            query(f"two.{DI_ZONE}")
            os.rename(path, path + ".1")      # what logrotate does, then it reloads
            self.assertEqual(0, harness.run_cli(["reload", "-c", daemon.config_path]).returncode)
            query(f"three.{DI_ZONE}")
            harness.wait_until(lambda: os.path.exists(path), what="the new file")
            # The moved file is complete once no query uses its log (swept every second).
            harness.wait_until(lambda: self.readable(path + ".1"), timeout=15, what="the moved file closed")
        rotated, current = read_dnstap(path + ".1"), read_dnstap(path)
        self.assertTrue(of_name(rotated, f"one.{DI_ZONE}."), "the reload that kept the file lost what came before")
        self.assertTrue(of_name(rotated, f"two.{DI_ZONE}."))
        self.assertFalse(of_name(rotated, f"three.{DI_ZONE}."))
        self.assertEqual(["CLIENT_QUERY", "FORWARDER_QUERY", "FORWARDER_RESPONSE", "CLIENT_RESPONSE"],
                         kinds(of_name(current, f"three.{DI_ZONE}.")))
        self.assertFalse(of_name(current, f"two.{DI_ZONE}."))

    @staticmethod
    def readable(path):
        try:
            read_dnstap(path)
            return True
        except AssertionError:
            return False


class DnstapSocketTest(harness.IntegrationCase):
    def test_fstrm_capture_receives_the_messages_on_a_unix_socket(self):
        directory = self.enterContext(tempfile.TemporaryDirectory(prefix="diresolver-dnstap-"))
        sock, captured = os.path.join(directory, "dnstap.sock"), os.path.join(directory, "captured.fstrm")
        capture = subprocess.Popen(["fstrm_capture", "-t", CONTENT_TYPE, "-u", sock, "-w", captured],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   preexec_fn=harness._die_with_parent)
        try:
            harness.wait_until(lambda: os.path.exists(sock), what="fstrm_capture's socket")
            cfg = harness.base_config()
            cfg["dnstap"] = {"socket": sock}
            name = f"captured.{DI_ZONE}."
            with Daemon(cfg):
                self.assertEqual(dns.rcode.NOERROR, query(name).rcode())
        finally:
            capture.send_signal(signal.SIGINT)   # it writes out what it holds and stops
            capture.wait(timeout=10)
        self.assertEqual(["CLIENT_QUERY", "FORWARDER_QUERY", "FORWARDER_RESPONSE", "CLIENT_RESPONSE"],
                         kinds(of_name(read_dnstap(captured), name)))

    def test_a_collector_that_never_reads_costs_messages_not_answers(self):
        directory = self.enterContext(tempfile.TemporaryDirectory(prefix="diresolver-dnstap-"))
        path = os.path.join(directory, "stuck.sock")
        stuck = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)   # accepts, never answers the handshake
        stuck.bind(path)
        stuck.listen(4)
        self.addCleanup(stuck.close)
        cfg = harness.base_config()
        cfg["dnstap"] = {"socket": path, "queue_size": 8}
        cfg["server"]["workers"] = 1
        with Daemon(cfg) as daemon:
            started = time.monotonic()
            for i in range(60):
                self.assertEqual(dns.rcode.NOERROR, query(f"q{i}.{FORWARD_ZONE}").rcode())
            took = time.monotonic() - started
            metrics = harness.get_metrics()
        # The shutdown gave the stuck collector a bounded time, said so, and exited 0 (harness).
        self.assertIn(f"warn: dnstap: socket {path} did not take the last messages within 2000 ms", daemon.stderr)
        dropped = harness.metric(metrics, "diresolver_dnstap_messages_total", result="dropped")
        queued = harness.metric(metrics, "diresolver_dnstap_messages_total", result="queued")
        self.assertGreater(dropped, 0)
        self.assertLessEqual(queued, 8 + 2, "more queued than the queue holds, with nothing read")
        self.assertEqual(60 * 4, dropped + queued)
        self.assertLess(took, 30, "answers waited on the collector")


class DnstapSettingsTest(harness.IntegrationCase):
    def test_a_file_that_cannot_be_created_stops_the_start_with_its_reason(self):
        cfg = harness.base_config()
        cfg["dnstap"] = {"file": "/nonexistent/dir/dnstap.fstrm"}
        with self.assertRaisesRegex(AssertionError, r"(?s)daemon exited with 1 before 'started'.*"
                                    r"dnstap.file /nonexistent/dir/dnstap.fstrm: No such file or directory"):
            with Daemon(cfg):
                pass

    def test_a_reload_to_a_file_that_cannot_be_created_keeps_the_running_config(self):
        directory = self.enterContext(tempfile.TemporaryDirectory(prefix="diresolver-dnstap-"))
        cfg = harness.base_config()
        cfg["dnstap"] = {"file": os.path.join(directory, "ok.fstrm")}
        with Daemon(cfg) as daemon:
            cfg["dnstap"]["file"] = "/nonexistent/dir/dnstap.fstrm"
            harness.write_config(os.path.dirname(daemon.config_path), cfg)
            out = harness.run_cli(["reload", "-c", daemon.config_path])
            self.assertNotEqual(0, out.returncode)
            self.assertIn("dnstap.file /nonexistent/dir/dnstap.fstrm: No such file or directory", out.stderr)
            self.assertEqual(dns.rcode.NOERROR, query(f"still.{DI_ZONE}").rcode())
        self.assertTrue(of_name(read_dnstap(os.path.join(directory, "ok.fstrm")), f"still.{DI_ZONE}."))


if __name__ == "__main__":
    harness.main()
