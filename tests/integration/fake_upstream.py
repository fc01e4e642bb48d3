#!/usr/bin/python3
"""Controllable fake upstream DNS server for the integration tests.

Owns: FakeUpstream, a UDP + TCP (RFC 7766 framing, several queries per connection)
server on a loopback address that answers every A query with its own `answer_ip`
(TTL 300), so a test can tell which server answered. Its `mode` can be changed at any
time to make it misbehave: delay, drop, truncate, servfail, refused, wrong_id,
wrong_question, wrong_source, malformed, and only_wrong_id / only_wrong_question (the
spoofed answer alone, never the real one, on UDP and TCP), nxdomain / nodata (negative
answers, with an SOA of TTL `soa_ttl` and MINIMUM `soa_minimum` in the authority section
unless `negative_soa` is false), formerr (an empty FORMERR answer). `answer_ttl` sets the TTL of the A answers,
`answer_count` how many A records each carries (the first is `answer_ip`), `aaaa_ip`
makes AAAA queries answered with that address instead of NODATA. SOA queries for a DI
domain apex (`<customer>.<region>.wxc-di.webex.com`) are answered with that apex's SOA
(names below the apex: NODATA with the apex SOA in the authority section), as the real DI
servers do, so the readiness validation (`@ SOA`) passes. More modes for the readiness
checks: wrong_region (NOERROR, no answer, the SOA of wxc-di.webex.com. in the authority
section: what another region's server says), drop_udp / drop_tcp (drop only the queries
over that transport, answer the others normally), drop_first_udp (drop the first UDP query
for each name, answer the next: one lost datagram). Grey failures: lossy (a share `loss`
of the queries is lost on the way in, and of the answers on the way out, each drawn from
a seeded random sequence, so a run repeats), truncate_no_tcp (UDP answers truncated, TCP
queries unanswered: a firewall that lets UDP through but not TCP). `apex_mode`, when set, is the mode used
for queries whose name is a DI apex instead of `mode` (so validation can fail while
client queries are answered); `probe_mode` likewise for the health probes. EDNS options
are answered as a cookie-speaking server would: a client cookie gets a server cookie
appended, NSID gets "fake <address>", client subnet is echoed with a scope; every query's
options stay recorded in its message. It records every query it
receives. TCP: `tcp_close_after = N` closes each connection after its Nth answer,
close_tcp_connections() closes the open ones now; tcp_accepts, tcp_client_accepts (those
that carried a client query, not only health probes), tcp_peer_closes (closed by the
client; tcp_client_peer_closes of those that carried a client query) and
max_tcp_pipelined (most queries outstanding on one connection) are counted.

It binds 127.0.0.0/8 only, unless the test opts in with `benchmarking_net=True`: then
198.18.0.0/15 (RFC 2544's benchmarking range) is allowed too, for tests that build their
own network namespaces and links (test_ha.py's fake DI pair on the test LAN).

Run as a script (inside netns-run) it serves 127.0.0.11:53 until interrupted.
"""

import ipaddress
import random
import select
import socket
import struct
import threading
import time
from collections import namedtuple

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

SPOOF_IP = "198.51.100.66"
# Health-probe names start with this label in harness configs (probe_name).
PROBE_LABEL = "diresolver-probe"
SPOOF_DELAY = 0.05
MODES = ("answer", "delay", "drop", "truncate", "servfail", "refused",
         "wrong_id", "wrong_question", "wrong_source", "malformed",
         "only_wrong_id", "only_wrong_question", "nxdomain", "nodata",
         "wrong_region", "drop_udp", "drop_tcp", "drop_first_udp", "lossy", "truncate_no_tcp")
# The parent of every DI domain: <customer>.<region>.wxc-di.webex.com.
DI_PARENT = dns.name.from_text("wxc-di.webex.com.")

# One received query. qname is lower case and absolute ("x.acme.amer.wxc-di.webex.com."),
# qtype is the text form ("A"), transport "udp" or "tcp", message the parsed query.
Query = namedtuple("Query", "qname qtype transport source_port id message")


LOOPBACK_NET = ipaddress.ip_network("127.0.0.0/8")
# RFC 2544's benchmarking range: never routed on the Internet. Opt-in only (benchmarking_net).
BENCHMARKING_NET = ipaddress.ip_network("198.18.0.0/15")


def _require_loopback(address, benchmarking_net=False):
    ip = ipaddress.ip_address(address)
    if ip in LOOPBACK_NET or (benchmarking_net and ip in BENCHMARKING_NET):
        return
    allowed = "127.0.0.0/8" + (" or 198.18.0.0/15" if benchmarking_net else "")
    raise ValueError(f"fake upstream must bind {allowed}, got {address}")


def _garbage(query_id):
    """Bytes that start like a response to query_id but do not parse."""
    header = struct.pack("!HHHHHH", query_id, 0x8180, 1, 1, 0, 0)
    return header + b"\xc0\xff\xff\xff\x07garbage"


class FakeUpstream:
    """A fake DNS server on address:port (UDP and TCP), see the module docstring."""

    def __init__(self, address, port=53, answer_ip="192.0.2.1",
                 spoof_address="127.0.0.99", benchmarking_net=False):
        # benchmarking_net: also allow 198.18.0.0/15 (address and spoof_address), for a
        # test inside its own namespaces and links; the default is loopback only.
        _require_loopback(address, benchmarking_net)
        _require_loopback(spoof_address, benchmarking_net)
        self.address = address
        self.port = port
        self.answer_ip = answer_ip
        self.spoof_address = spoof_address
        self.mode = "answer"
        self.delay = 1.0
        self.tcp_close_after = None  # close each TCP connection after this many answers
        self.answer_ttl = 300        # TTL of the A (and AAAA) answers
        self.answer_count = 1        # A records per answer: answer_ip, then 198.18.x.y
        self.aaaa_ip = None          # answer AAAA queries with this address (else NODATA)
        self.negative_soa = True     # nxdomain / nodata modes: SOA in the authority section
        self.soa_ttl = 3600
        self.soa_minimum = 2
        self.apex_mode = None        # mode for queries of a DI apex name (None: `mode`)
        self.probe_mode = None       # mode for the health probes (None: `mode`)
        self.loss = 0.3              # lossy: the share lost each way
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads = []
        self._conns = set()
        self._closed_by_us = set()  # TCP connections this fake closed
        self._udp = None
        self._tcp = None
        self._spoof = None
        self.reset()

    # ---- lifecycle -------------------------------------------------------------

    def start(self):
        self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._udp.bind((self.address, self.port))
        self._tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._tcp.bind((self.address, self.port))
        self._tcp.listen(64)
        self._spawn(self._udp_loop)
        self._spawn(self._tcp_accept_loop)
        return self

    def stop(self):
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=2)
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            _close_quietly(conn)
        for sock in (self._udp, self._tcp, self._spoof):
            if sock is not None:
                _close_quietly(sock)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _spawn(self, target, *args):
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    # ---- observation -----------------------------------------------------------

    def reset(self):
        """Forget every recorded query and zero the counters."""
        with self._lock:
            self.udp_queries = 0
            self.tcp_queries = 0
            self.tcp_accepts = 0
            self.tcp_client_accepts = 0
            self.tcp_client_peer_closes = 0
            self.tcp_peer_closes = 0
            self.max_tcp_pipelined = 0
            self._queries = []
            self.probes = []
            self._dropped_once = set()  # drop_first_udp: names whose first UDP query was dropped
            self._random = random.Random(1)  # lossy: the same losses every run

    @property
    def queries(self):
        with self._lock:
            return list(self._queries)

    def seen(self, qname, transport=None):
        """Recorded queries for qname (case-insensitive), optionally one transport."""
        want = _absolute(qname)
        return [q for q in self.queries
                if q.qname == want and (transport is None or q.transport == transport)]

    def _record(self, msg, transport, source_port):
        question = msg.question[0] if msg.question else None
        qname = question.name.to_text().lower() if question is not None else ""
        qtype = dns.rdatatype.to_text(question.rdtype) if question is not None else ""
        with self._lock:
            if qname.startswith(PROBE_LABEL + "."):
                # The daemon's health probes (harness configs name them so): kept
                # apart, so tests about client traffic do not count them.
                self.probes.append(Query(qname, qtype, transport, source_port, msg.id, msg))
                return
            if transport == "udp":
                self.udp_queries += 1
            else:
                self.tcp_queries += 1
            self._queries.append(Query(qname, qtype, transport, source_port, msg.id, msg))

    # ---- answers ---------------------------------------------------------------

    def _response(self, query, rcode=dns.rcode.NOERROR, ip=None):
        """Wire answer to query: A → ip (default answer_ip), other types → NODATA."""
        resp = dns.message.make_response(query)
        resp.set_rcode(rcode)
        question = query.question[0] if query.question else None
        is_a = question is not None and question.rdtype == dns.rdatatype.A
        if rcode == dns.rcode.NOERROR and is_a:
            addresses = [ip or self.answer_ip]
            addresses += [f"198.18.{i // 256}.{i % 256}" for i in range(1, self.answer_count)]
            rrset = dns.rrset.from_text_list(question.name, self.answer_ttl, dns.rdataclass.IN,
                                             dns.rdatatype.A, addresses)
            resp.answer.append(rrset)
        is_aaaa = question is not None and question.rdtype == dns.rdatatype.AAAA
        if rcode == dns.rcode.NOERROR and is_aaaa and self.aaaa_ip:
            resp.answer.append(dns.rrset.from_text(question.name, self.answer_ttl,
                                                   dns.rdataclass.IN, dns.rdatatype.AAAA,
                                                   self.aaaa_ip))
        is_soa = question is not None and question.rdtype == dns.rdatatype.SOA
        apex = _di_apex(question.name) if is_soa else None
        if rcode == dns.rcode.NOERROR and apex is not None:
            # The apex: its SOA as the answer; below it: NODATA with the apex SOA.
            section = resp.answer if question.name == apex else resp.authority
            section.append(self._soa(apex))
        self._answer_options(query, resp)
        return resp.to_wire()

    def _answer_options(self, query, resp):
        """What a cookie-, NSID- and subnet-speaking server puts in its OPT."""
        if query.edns < 0:
            return
        options = []
        for option in query.options:
            if option.otype == dns.edns.OptionType.COOKIE:
                client_cookie = option.to_wire()[:8]
                options.append(dns.edns.GenericOption(dns.edns.OptionType.COOKIE, client_cookie + b"fakesrv!"))
            elif option.otype == dns.edns.OptionType.NSID:
                options.append(dns.edns.GenericOption(dns.edns.OptionType.NSID, f"fake {self.address}".encode()))
            elif option.otype == dns.edns.OptionType.ECS:
                options.append(dns.edns.ECSOption(option.address, option.srclen, option.srclen))
        resp.use_edns(0, query.ednsflags, 1232, options=options)

    def _soa(self, owner):
        """An SOA rrset owned by owner (TTL soa_ttl, MINIMUM soa_minimum)."""
        text = owner.to_text()
        return dns.rrset.from_text(owner, self.soa_ttl, dns.rdataclass.IN, dns.rdatatype.SOA,
                                   f"ns.{text} hostmaster.{text} 1 3600 600 86400 "
                                   f"{self.soa_minimum}")

    def _wrong_region(self, query):
        """NOERROR, empty answer, the SOA of wxc-di.webex.com. in the authority section."""
        resp = dns.message.make_response(query)
        resp.authority.append(self._soa(DI_PARENT))
        return resp.to_wire()

    def _negative(self, query, rcode):
        """NXDOMAIN or NODATA (NOERROR, empty answer), with an SOA unless negative_soa
        is false; the SOA is owned by the question's parent name."""
        resp = dns.message.make_response(query)
        resp.set_rcode(rcode)
        question = query.question[0] if query.question else None
        if self.negative_soa and question is not None:
            owner = question.name.parent() if len(question.name) > 1 else question.name
            soa = (f"ns.{owner.to_text()} hostmaster.{owner.to_text()} 1 3600 600 86400 "
                   f"{self.soa_minimum}")
            resp.authority.append(dns.rrset.from_text(owner, self.soa_ttl, dns.rdataclass.IN,
                                                      dns.rdatatype.SOA, soa))
        return resp.to_wire()

    def _wrong_id(self, query):
        resp = dns.message.from_wire(self._response(query, ip=SPOOF_IP))
        resp.id = query.id ^ 0x5A5A
        return resp.to_wire()

    def _wrong_question(self, query):
        other = dns.message.make_query("spoofed.invalid.", "A")
        other.id = query.id
        return self._response(other, ip=SPOOF_IP)

    def _truncated(self, query):
        resp = dns.message.make_response(query)
        resp.flags |= dns.flags.TC
        return resp.to_wire()

    def _plan(self, query, transport):
        """What to send for query in the current mode: list of (after_s, wire, spoofed)."""
        mode = self.mode
        question = query.question[0] if query.question else None
        if (self.apex_mode is not None and question is not None
                and _di_apex(question.name) == question.name):
            mode = self.apex_mode
        if self.probe_mode is not None and _is_probe(query):
            mode = self.probe_mode
        if mode == "drop" or mode == "drop_" + transport:
            return []
        if mode == "lossy":
            with self._lock:
                lost = self._random.random() < self.loss or self._random.random() < self.loss
            if lost:
                return []
        if mode == "truncate_no_tcp":
            return [] if transport == "tcp" else [(0, self._truncated(query), False)]
        if mode == "drop_first_udp" and transport == "udp" and question is not None:
            name = question.name.to_text().lower()
            with self._lock:
                first = name not in self._dropped_once
                self._dropped_once.add(name)
            if first:
                return []
        if mode == "wrong_region":
            return [(0, self._wrong_region(query), False)]
        if mode == "delay":
            return [(self.delay, self._response(query), False)]
        if mode == "servfail":
            return [(0, self._response(query, dns.rcode.SERVFAIL), False)]
        if mode == "refused":
            return [(0, self._response(query, dns.rcode.REFUSED), False)]
        if mode == "formerr":
            return [(0, self._response(query, dns.rcode.FORMERR), False)]
        if mode == "nxdomain":
            return [(0, self._negative(query, dns.rcode.NXDOMAIN), False)]
        if mode == "nodata":
            return [(0, self._negative(query, dns.rcode.NOERROR), False)]
        if mode == "malformed":
            return [(0, _garbage(query.id), False)]
        if mode == "only_wrong_id":
            return [(0, self._wrong_id(query), False)]
        if mode == "only_wrong_question":
            return [(0, self._wrong_question(query), False)]
        if transport == "tcp":
            return [(0, self._response(query), False)]
        if mode == "truncate":
            return [(0, self._truncated(query), False)]
        if mode == "wrong_id":
            return [(0, self._wrong_id(query), False), (SPOOF_DELAY, self._response(query), False)]
        if mode == "wrong_question":
            return [(0, self._wrong_question(query), False),
                    (SPOOF_DELAY, self._response(query), False)]
        if mode == "wrong_source":
            return [(0, self._response(query, ip=SPOOF_IP), True),
                    (SPOOF_DELAY, self._response(query), False)]
        return [(0, self._response(query), False)]

    def _execute(self, plan, send):
        """Run plan with send(wire, spoofed); delayed steps go to timer threads."""
        for after, wire, spoofed in plan:
            if after <= 0:
                send(wire, spoofed)
            else:
                timer = threading.Timer(after, send, args=(wire, spoofed))
                timer.daemon = True
                timer.start()

    # ---- UDP -------------------------------------------------------------------

    def _udp_loop(self):
        while not self._stopping.is_set():
            ready, _, _ = select.select([self._udp], [], [], 0.1)
            if not ready:
                continue
            try:
                data, peer = self._udp.recvfrom(65535)
            except OSError:
                continue
            if self._received(data, peer):
                continue
            query = _parse(data)
            if query is None:
                continue
            self._record(query, "udp", peer[1])
            self._execute(self._plan(query, "udp"),
                          lambda wire, spoofed, peer=peer: self._udp_send(wire, spoofed, peer))

    def _received(self, data, peer):
        """A subclass's look at a UDP datagram before it is parsed; True: handled."""
        return False

    def _udp_send(self, wire, spoofed, peer):
        if self._stopping.is_set():
            return
        try:
            sock = self._spoof_socket() if spoofed else self._udp
            sock.sendto(wire, peer)
        except OSError:
            pass

    def _spoof_socket(self):
        """A UDP socket on spoof_address with our port: same port, other address."""
        with self._lock:
            if self._spoof is None:
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                sock.bind((self.spoof_address, self.port))
                self._spoof = sock
            return self._spoof

    # ---- TCP -------------------------------------------------------------------

    def _tcp_accept_loop(self):
        while not self._stopping.is_set():
            ready, _, _ = select.select([self._tcp], [], [], 0.1)
            if not ready:
                continue
            try:
                conn, peer = self._tcp.accept()
            except OSError:
                continue
            with self._lock:
                self.tcp_accepts += 1
                self._conns.add(conn)
            worker = threading.Thread(target=self._tcp_serve, args=(conn, peer), daemon=True)
            worker.start()

    def close_tcp_connections(self):
        """Close every open TCP connection now (the serving threads see EOF and end)."""
        with self._lock:
            conns = list(self._conns)
            self._closed_by_us.update(conns)
        for conn in conns:
            _shutdown_quietly(conn)

    def _tcp_serve(self, conn, peer):
        lock = threading.Lock()
        state = {"pending": 0, "answered": 0, "client": False}

        def send(wire, _spoofed):
            _send_frame(conn, lock, wire)
            with self._lock:
                state["pending"] -= 1
                state["answered"] += 1
                close = (self.tcp_close_after is not None
                         and state["answered"] >= self.tcp_close_after)
                if close:
                    self._closed_by_us.add(conn)
            if close:
                _shutdown_quietly(conn)

        try:
            while not self._stopping.is_set():
                data = _read_frame(conn, self._stopping)
                if data is None:
                    with self._lock:
                        if not self._stopping.is_set() and conn not in self._closed_by_us:
                            self.tcp_peer_closes += 1
                            self.tcp_client_peer_closes += state["client"]
                    return
                query = _parse(data)
                if query is None:
                    continue
                self._record(query, "tcp", peer[1])
                with self._lock:
                    if not state["client"] and not _is_probe(query):
                        state["client"] = True
                        self.tcp_client_accepts += 1
                    state["pending"] += 1
                    self.max_tcp_pipelined = max(self.max_tcp_pipelined, state["pending"])
                self._execute(self._plan(query, "tcp"), send)
        finally:
            with self._lock:
                self._conns.discard(conn)
                self._closed_by_us.discard(conn)
            _close_quietly(conn)


def _is_probe(msg):
    return bool(msg.question) and msg.question[0].name.to_text().lower().startswith(PROBE_LABEL + ".")


def _di_apex(name):
    """The DI domain apex (<customer>.<region>.wxc-di.webex.com.) at or above name; None if
    name is not in a DI domain."""
    if not name.is_subdomain(DI_PARENT) or len(name) < len(DI_PARENT) + 2:
        return None
    return dns.name.Name(name.labels[-(len(DI_PARENT) + 2):])


def _absolute(name):
    name = name.lower()
    return name if name.endswith(".") else name + "."


def _parse(data):
    try:
        msg = dns.message.from_wire(data)
    except Exception:  # anything unparsable is simply not answered
        return None
    return None if msg.flags & dns.flags.QR else msg


def _recv_exact(conn, count, stopping):
    buf = b""
    while len(buf) < count:
        if stopping.is_set():
            return None
        ready, _, _ = select.select([conn], [], [], 0.1)
        if not ready:
            continue
        try:
            chunk = conn.recv(count - len(buf))
        except OSError:
            return None
        if not chunk:
            return None
        buf += chunk
    return buf


def _read_frame(conn, stopping):
    prefix = _recv_exact(conn, 2, stopping)
    if prefix is None:
        return None
    return _recv_exact(conn, struct.unpack("!H", prefix)[0], stopping)


def _send_frame(conn, lock, wire):
    with lock:
        try:
            conn.sendall(struct.pack("!H", len(wire)) + wire)
        except OSError:
            pass


def _shutdown_quietly(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _close_quietly(sock):
    try:
        sock.close()
    except OSError:
        pass


if __name__ == "__main__":
    server = FakeUpstream("127.0.0.11", answer_ip="192.0.2.11").start()
    print("fake upstream on 127.0.0.11:53 (udp+tcp); Ctrl-C to stop", flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        server.stop()
