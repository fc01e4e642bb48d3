#!/usr/bin/python3
"""Integration test: nothing one client puts in its OPT reaches another (EDNS is hop by hop).

Owns: clients asking the same names with different cookies, NSID requests and client
subnets, over UDP and TCP, before and after the answer is cached, while the upstream (the
fake, which speaks cookies, NSID and client subnet) answers each with options of its
own: no client ever gets an option back, and no client option ever reaches the upstream,
whose queries carry diresolver's own OPT (UDP size 1232, version 0, the client's DO, no
options). Then two BIND 9 forwarders (Debian's named, cookies on) in front of diresolver,
as at a site with two DNS servers: what the first had diresolver cache, the second gets
within 50 ms per name, and neither logs cookie trouble (one forwarder's cookie in the
other's answers made BIND log "bad cookie" and retry for seconds).
"""

import re
import shutil
import subprocess
import tempfile
import threading
import time
import unittest
from contextlib import ExitStack
from pathlib import Path

import dns.edns
import dns.message
import dns.query
import dns.rcode

import harness
from harness import FAKES, FORWARD, FORWARD_ZONE, Daemon

BIND_ADDR = "127.0.0.1"  # named listens only on addresses the interfaces hold: ports set them apart
COOKIE, NSID, ECS = dns.edns.OptionType.COOKIE, dns.edns.OptionType.NSID, dns.edns.OptionType.ECS
CLIENTS = {
    "alice": [dns.edns.GenericOption(COOKIE, b"alice-ck"), dns.edns.GenericOption(NSID, b""),
              dns.edns.ECSOption("198.51.100.0", 24)],
    "bob": [dns.edns.GenericOption(COOKIE, b"bob-cook"), dns.edns.ECSOption("203.0.113.0", 24)],
    "carol": [],
}


def ask(name, options, tcp=False, do=False, address=harness.DAEMON_ADDR, port=harness.DAEMON_PORT):
    msg = dns.message.make_query(name, "A", use_edns=0, payload=1232, options=options, want_dnssec=do)
    if tcp:
        return dns.query.tcp(msg, address, port=port, timeout=3)
    return dns.query.udp(msg, address, port=port, timeout=3)


class Bind:
    """Debian's named on `port` as a forwarder to diresolver, cookies on, logging to a pipe we read."""

    def __init__(self, port):
        self.port = port
        self.dir = Path(tempfile.mkdtemp(prefix="diresolver-bind."))
        self.log = []
        self.process = None

    def __enter__(self):
        conf = self.dir / "named.conf"
        conf.write_text(f"""options {{
    directory "{self.dir}";
    pid-file "{self.dir}/named.pid";
    session-keyfile "{self.dir}/session.key";
    listen-on port {self.port} {{ {BIND_ADDR}; }};
    listen-on-v6 {{ none; }};
    recursion yes;
    allow-query {{ any; }};
    allow-recursion {{ any; }};
    forwarders {{ {harness.DAEMON_ADDR}; }};
    forward only;
    dnssec-validation no;
    send-cookie yes;
}};
controls {{ }};
""")
        self.process = subprocess.Popen(["named", "-g", "-4", "-c", str(conf)], stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, preexec_fn=harness._die_with_parent)
        threading.Thread(target=self._read, daemon=True).start()
        harness.wait_until(lambda: any("running" in line for line in self.log), timeout=15, what="named running")
        return self

    def _read(self):
        for line in self.process.stdout:
            self.log.append(line.rstrip())

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class IsolationTest(harness.IntegrationCase):

    def assert_no_options(self, response, who):
        self.assertEqual(dns.rcode.NOERROR, response.rcode(), response)
        self.assertEqual(0, response.edns, f"{who}: no OPT:\n{response}")
        self.assertEqual([], list(response.options), f"{who} got options:\n{response}")
        self.assertEqual([FAKES[FORWARD][1]], harness.answer_ips(response))

    def test_no_client_option_reaches_another_client_or_the_upstream(self):
        names = [f"iso{i}.{FORWARD_ZONE}" for i in range(6)]
        with Daemon():
            for i, name in enumerate(names):
                tcp = i % 2 == 1
                for who, options in CLIENTS.items():  # alice's is a miss, the others hits
                    with self.subTest(name=name, client=who, tcp=tcp):
                        self.assert_no_options(ask(name, options, tcp=tcp), who)
                do = ask(name, CLIENTS["alice"], tcp=tcp, do=True)  # DO is its own entry: asked upstream
                self.assert_no_options(do, "alice with DO")
        upstream = self.fakes[FORWARD].queries
        self.assertEqual(2 * len(names), len(upstream), [q.qname for q in upstream])
        for query in upstream:
            with self.subTest(upstream_query=query.qname):
                self.assertEqual(0, query.message.edns, "no OPT upstream")
                self.assertEqual(1232, query.message.payload)
                self.assertEqual([], list(query.message.options), "a client's options went upstream")
        self.assertEqual(len(names), sum(1 for q in upstream if q.message.ednsflags & dns.flags.DO))

    def test_two_bind_forwarders_with_cookies_in_front_get_cached_names_fast(self):
        names = [f"bind{i}.{FORWARD_ZONE}" for i in range(20)]
        with ExitStack() as stack:
            stack.enter_context(Daemon())
            first, second = stack.enter_context(Bind(5300)), stack.enter_context(Bind(5301))
            for name in names:  # cached in diresolver, asked with the first forwarder's cookie
                self.assertEqual(dns.rcode.NOERROR, ask(name, [], address=BIND_ADDR, port=first.port).rcode())
            for name in names:
                begin = time.monotonic()
                response = ask(name, [], address=BIND_ADDR, port=second.port)
                elapsed = time.monotonic() - begin
                with self.subTest(name=name):
                    self.assertEqual(dns.rcode.NOERROR, response.rcode(), response)
                    self.assertEqual([FAKES[FORWARD][1]], harness.answer_ips(response))
                    self.assertLess(elapsed, 0.050, f"{name} took {elapsed * 1000:.0f} ms through the second BIND")
            trouble = [line for line in first.log + second.log if re.search(r"cookie", line, re.IGNORECASE)]
        self.assertEqual([], trouble, "\n".join(trouble))


if __name__ == "__main__":
    unittest.main(verbosity=2)
