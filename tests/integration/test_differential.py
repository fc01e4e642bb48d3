#!/usr/bin/python3
"""Integration test: diresolver answers as Unbound does, query for query.

Owns: the differential run. Debian's NSD serves a signed zone `test.` (CNAME chains, a
wildcard, NXDOMAIN and NODATA, a 3 KB TXT, many-record sets, SRV, MX, AAAA); Debian's
Unbound and diresolver both forward `test.` to it, and each of more than 500 queries goes
to both: every name and type of the list below in eight variants (no EDNS, EDNS, DO, CD,
DO+CD, mixed case, EDNS version 1, an unknown EDNS option), over UDP and over TCP. The
two answers must agree on the RCODE (extended included), the header flags QR AA TC RD RA
AD CD, the question (case included), the answer section's RRsets (TTLs aside: the two
caches age apart) and the OPT record's presence and version. A difference fails the test
unless ALLOWED below says why it is right. Also here, each against Unbound: the queries
diresolver answers itself (CHAOS identity names and other classes, AXFR/IXFR, RD=0,
NOTIFY, TC=1 in a query, meta types, unknown opcodes).

Unbound runs as a plain forwarder with the validator loaded but no trust anchor, so it
asks upstream with DO as diresolver does and validates nothing (no AD), hide-identity and
hide-version on. Everything runs inside the test's own network namespace (netns-run).
"""

import shutil
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

import dns.edns
import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype

import harness
from harness import Daemon

NSD_ADDR = "127.0.0.31"
UNBOUND_ADDR = "127.0.0.2"
ZONE = "test."
FLAGS = dns.flags.QR | dns.flags.AA | dns.flags.TC | dns.flags.RD | dns.flags.RA | dns.flags.AD | dns.flags.CD

BIG_TXT = " ".join(f'"{chr(97 + i % 26) * 250}"' for i in range(12))  # about 3 KB
ZONE_TEXT = f"""$ORIGIN test.
$TTL 300
@        IN SOA ns1.test. hostmaster.test. 2026120401 7200 900 1209600 300
@        IN NS  ns1.test.
ns1      IN A   {NSD_ADDR}
www      IN A   192.0.2.1
www      IN AAAA 2001:db8::1
www      IN MX  10 mail.test.
mail     IN A   192.0.2.25
alias    IN CNAME www
chain1   IN CNAME chain2
chain2   IN CNAME chain3
chain3   IN CNAME www
*.wild   IN A   192.0.2.7
*.wild   IN TXT "wildcard"
_sip._tcp IN SRV 10 60 5060 sbc.test.
sbc      IN A   192.0.2.50
txt      IN TXT "a small text record"
big      IN TXT {BIG_TXT}
""" + "".join(f"many     IN A   198.51.100.{i}\n" for i in range(1, 41))

QUESTIONS = [(name, rdtype) for name, types in (
    ("test.", ("SOA", "NS", "A", "MX", "TXT", "DNSKEY")),
    ("www.test.", ("A", "AAAA", "MX", "TXT", "SRV")),
    ("alias.test.", ("A", "AAAA", "CNAME")),
    ("chain1.test.", ("A", "TXT")),
    ("chain2.test.", ("A",)),
    ("chain3.test.", ("CNAME",)),
    ("x.wild.test.", ("A", "TXT", "AAAA")),
    ("deep.er.wild.test.", ("A",)),
    ("nothere.test.", ("A", "TXT")),
    ("not.there.test.", ("A",)),
    ("_sip._tcp.test.", ("SRV",)),
    ("txt.test.", ("TXT",)),
    ("big.test.", ("TXT",)),
    ("many.test.", ("A", "AAAA")),
    ("mail.test.", ("A",)),
    ("ns1.test.", ("A",)),
    ("sbc.test.", ("A", "ANY")),
) for rdtype in types]

VARIANTS = ("no-edns", "edns", "do", "cd", "do+cd", "mixed-case", "edns-version-1", "unknown-option")

# Differences that are right, each with why: (qname, qtype, field) → reason.
ALLOWED = {
    ("sbc.test.", "ANY", "answer"):
        "QTYPE ANY with DO clear: Unbound asked upstream with DO and includes the RRSIGs it holds; "
        "diresolver asks with the client's DO, so NSD leaves them out. RFC 4035 §3.1.1 allows both for ANY.",
}


def mixed_case(name):
    return "".join(c.upper() if i % 2 else c for i, c in enumerate(name))


def make(name, rdtype, variant):
    """The query of one variant (ID fixed by the caller)."""
    kwargs = dict(use_edns=0, payload=1232)
    if variant == "no-edns":
        kwargs = dict(use_edns=False)
    if variant in ("do", "do+cd"):
        kwargs["want_dnssec"] = True
    if variant == "unknown-option":
        kwargs["options"] = [dns.edns.GenericOption(65001, b"diresolver")]
    qname = mixed_case(name) if variant == "mixed-case" else name
    msg = dns.message.make_query(qname, rdtype, **kwargs)
    if variant == "edns-version-1":
        msg.use_edns(1, payload=1232)
    if variant in ("cd", "do+cd"):
        msg.flags |= dns.flags.CD
    return msg


def exchange(msg, address, tcp):
    if tcp:
        return dns.query.tcp(msg, address, timeout=4)
    return dns.query.udp(msg, address, timeout=4, ignore_trailing=True)


def summary(response):
    """What the two must agree on."""
    truncated = bool(response.flags & dns.flags.TC)
    return {
        "rcode": dns.rcode.to_text(response.rcode()),
        "flags": dns.flags.to_text(response.flags & FLAGS),
        "question": [f"{q.name.to_text()} {dns.rdataclass.to_text(q.rdclass)} {dns.rdatatype.to_text(q.rdtype)}"
                     for q in response.question],
        "answer": None if truncated else sorted(
            f"{rrset.name.to_text().lower()} {dns.rdatatype.to_text(rrset.rdtype)} "
            + " | ".join(sorted(rdata.to_text() for rdata in rrset))
            for rrset in response.answer),
        "opt": "none" if response.edns < 0 else f"version {response.edns}",
    }


class Peers:
    """NSD with the signed zone, and Unbound forwarding to it, in a scratch directory."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="diresolver-differential."))
        self.processes = []

    def start(self):
        self._sign_zone()
        self._start(["nsd", "-d", "-c", self._nsd_conf()], NSD_ADDR)
        self._start(["unbound", "-d", "-c", self._unbound_conf()], UNBOUND_ADDR)
        return self

    def stop(self):
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _sign_zone(self):
        (self.dir / "test.zone").write_text(ZONE_TEXT)
        key = subprocess.run(["ldns-keygen", "-a", "ECDSAP256SHA256", "-k", "test."], cwd=self.dir,
                             check=True, capture_output=True, text=True).stdout.strip()
        subprocess.run(["ldns-signzone", "-n", "test.zone", key], cwd=self.dir, check=True, capture_output=True)

    def _nsd_conf(self):
        path = self.dir / "nsd.conf"
        path.write_text(f"""server:
    ip-address: {NSD_ADDR}
    port: 53
    do-ip6: no
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "{self.dir}"
    pidfile: "{self.dir}/nsd.pid"
    database: ""
    xfrdfile: "{self.dir}/xfrd.state"
    xfrdir: "{self.dir}"
    zonelistfile: "{self.dir}/zone.list"
    zonefiles-write: 0
    verbosity: 0
remote-control:
    control-enable: no
zone:
    name: "test"
    zonefile: "test.zone.signed"
""")
        return str(path)

    def _unbound_conf(self):
        path = self.dir / "unbound.conf"
        path.write_text(f"""server:
    interface: {UNBOUND_ADDR}
    port: 53
    do-ip6: no
    username: ""
    chroot: ""
    directory: "{self.dir}"
    pidfile: "{self.dir}/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 0
    module-config: "validator iterator"
    do-not-query-localhost: no
    local-zone: "test." nodefault
    access-control: 127.0.0.0/8 allow
    hide-identity: yes
    hide-version: yes
forward-zone:
    name: "test."
    forward-addr: {NSD_ADDR}
remote-control:
    control-enable: no
""")
        return str(path)

    def _start(self, argv, address):
        self.processes.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                               preexec_fn=harness._die_with_parent))
        probe = dns.message.make_query("test.", "SOA")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                dns.query.udp(probe, address, timeout=0.5)
                return
            except Exception:  # not up yet
                time.sleep(0.1)
        raise AssertionError(f"{argv[0]} did not answer on {address}")


def config():
    cfg = harness.base_config(default=False, forward=False)
    cfg["forward"] = [{"zone": ZONE, "servers": [NSD_ADDR]}]
    return cfg


class DifferentialTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        harness.assert_isolated()
        cls.peers = Peers().start()

    @classmethod
    def tearDownClass(cls):
        cls.peers.stop()

    def ask_both(self, msg, tcp):
        ours = exchange(msg, harness.DAEMON_ADDR, tcp)
        theirs = exchange(msg, UNBOUND_ADDR, tcp)
        return summary(ours), summary(theirs)

    def test_every_answer_agrees_with_unbound(self):
        differences, asked = [], 0
        with Daemon(config()):
            for tcp in (False, True):
                for variant in VARIANTS:
                    for name, rdtype in QUESTIONS:
                        ours, theirs = self.ask_both(make(name, rdtype, variant), tcp)
                        asked += 1
                        for field in ours:
                            if ours[field] == theirs[field]:
                                continue
                            if (name, rdtype, field) not in ALLOWED or variant in ("do", "do+cd"):
                                differences.append(f"{'tcp' if tcp else 'udp'} {variant} {name} {rdtype} {field}:"
                                                   f"\n    diresolver {ours[field]}\n    unbound    {theirs[field]}")
        self.assertGreaterEqual(asked, 500)
        self.assertEqual([], differences, "\n".join(differences[:40]))

    def test_what_diresolver_answers_itself_agrees_with_unbound(self):
        differences = []
        with Daemon(config()):
            for label, wire in local_queries():
                for tcp in (False, True):
                    ours = raw_summary(raw_exchange(wire, harness.DAEMON_ADDR, tcp))
                    theirs = raw_summary(raw_exchange(wire, UNBOUND_ADDR, tcp))
                    if ours != theirs:
                        differences.append(f"{'tcp' if tcp else 'udp'} {label}:\n    diresolver {ours}\n    unbound    {theirs}")
        self.assertEqual([], differences, "\n".join(differences))


def local_queries():
    """(label, wire) of the queries a forwarder answers without asking upstream."""
    def query(name="www.test.", rdtype="A", rdclass="IN", edns=True, flags_on=0, flags_off=0, opcode=None):
        msg = dns.message.make_query(name, rdtype, rdclass, use_edns=0 if edns else False)
        msg.flags = (msg.flags | flags_on) & ~flags_off
        if opcode is not None:
            msg.set_opcode(opcode)
        return msg.to_wire()
    cases = [(f"{name} CH TXT", query(name, "TXT", "CH")) for name in ("version.bind.", "hostname.bind.", "id.server.")]
    cases += [("class HS", query(rdclass="HS")), ("class CH, no EDNS", query(rdclass="CH", edns=False)),
              ("AXFR", query("test.", "AXFR")), ("IXFR", query("test.", "IXFR")),
              ("RD=0, cached name", query(flags_off=dns.flags.RD)),
              ("RD=0 CD=1, no EDNS", query(edns=False, flags_on=dns.flags.CD, flags_off=dns.flags.RD)),
              ("TC=1", query(flags_on=dns.flags.TC)), ("TC=1, no EDNS", query(edns=False, flags_on=dns.flags.TC))]
    cases += [(f"QTYPE {t}", query(rdtype=t)) for t in ("OPT", "TKEY", "TSIG", "MAILB", "MAILA")]
    cases += [(f"opcode {o.name}", query(opcode=o)) for o in (dns.opcode.NOTIFY, dns.opcode.STATUS, dns.opcode.IQUERY)]
    cases += [("opcode NOTIFY, no EDNS", query(edns=False, opcode=dns.opcode.NOTIFY))]
    badvers = dns.message.make_query("www.test.", "A")
    badvers.use_edns(1, payload=1232)  # (make_query's use_edns=1 means True: version 0)
    badvers.flags |= dns.flags.CD
    cases += [("EDNS version 1, CD", badvers.to_wire())]
    return cases


def raw_exchange(wire, address, tcp):
    import socket
    import struct
    if tcp:
        with socket.create_connection((address, 53), timeout=4) as sock:
            sock.sendall(struct.pack("!H", len(wire)) + wire)
            length = struct.unpack("!H", harness.recv_exact(sock, 2))[0]
            return harness.recv_exact(sock, length)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(4)
        sock.sendto(wire, (address, 53))
        return sock.recv(65535)


def raw_summary(wire):
    """Header flags and RCODE, section counts, and the OPT's extended RCODE and version, from the bytes."""
    import struct
    flags, qd, an, ns, ar = struct.unpack("!HHHHH", wire[2:12])
    opt = "none"
    if ar and wire[-11:-8] == b"\x00\x00\x29":  # the OPT, last: root owner, type 41
        opt = f"ext-rcode {wire[-6]} version {wire[-5]}"
    return {"flags": f"0x{flags & 0xfff0:04x}", "rcode": flags & 0xf, "counts": (qd, an, ns), "opt": opt}


if __name__ == "__main__":
    unittest.main(verbosity=2)
