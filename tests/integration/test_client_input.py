#!/usr/bin/python3
"""Integration tests: hostile or unusual client input.

Owns: malformed UDP/TCP queries (dropped or FORMERR, counted in `malformed`, never a
crash), QR=1 packets ignored, opcodes other than QUERY answered NOTIMP (NOTIFY: REFUSED, as Unbound), and TCP framing:
pipelining, split length prefixes, out-of-order answers, clients that vanish
mid-query, idle timeout, and the limits on what one TCP client can make it hold.
"""

import signal
import socket
import struct
import time

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.exception
import dns.rcode
import dns.update

import harness
from harness import DEFAULT, DI_ZONE, Daemon, query

FORMERR = dns.rcode.FORMERR


def header(qid, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def question(name=f"q.{DI_ZONE}", rdtype=1):
    return dns.name.from_text(name).to_wire() + struct.pack("!HH", rdtype, 1)


# (label, packet, expected): expected is FORMERR or None (dropped, no answer).
MALFORMED_UDP = [
    ("garbage", b"\x13\x37\x01\x00\xde\xad\xbe\xef\x00\x17\x99\x42\x80\x01garbage", FORMERR),
    ("five_bytes", b"\x12\x34\x01\x00\x00", None),
    ("qdcount_2", header(0x2002, qd=2) + question() + question(f"r.{DI_ZONE}"), FORMERR),
    ("qdcount_0", header(0x2000, qd=0), FORMERR),
    ("truncated_question", header(0x3003) + dns.name.from_text(f"t.{DI_ZONE}").to_wire()
     + b"\x00", FORMERR),
    ("truncated_label", header(0x3004) + b"\x3fabc", FORMERR),
    ("pointer_past_end", header(0x4004) + b"\xc0\xff" + struct.pack("!HH", 1, 1), FORMERR),
    ("reserved_label_type", header(0x4005) + b"\x80abc\x00" + struct.pack("!HH", 1, 1),
     FORMERR),
    ("trailing_garbage", header(0x5005) + question() + b"\xff\xfe\xfd", FORMERR),
    ("qr_set", header(0x6006, flags=0x8100) + question(), None),
]


class MalformedTest(harness.IntegrationCase):

    def assert_still_answers(self):
        # Retried as any stub resolver would: right after a flood, on a loaded CI box,
        # the socket's receive buffer may still be full and drop one datagram, which
        # is UDP, not a fault. A daemon that hung or died fails all three.
        for attempt in range(3):
            try:
                response = query(f"alive{attempt}.{DI_ZONE}", timeout=2)
                break
            except dns.exception.Timeout:
                if attempt == 2:
                    raise
        self.assertEqual(dns.rcode.NOERROR, response.rcode())

    def test_malformed_udp(self):
        with Daemon() as daemon:
            for label, packet, expected in MALFORMED_UDP:
                with self.subTest(label):
                    reply = harness.udp_exchange(packet, timeout=1.0)
                    self.check_reply(packet, reply, expected)
            self.assert_still_answers()
        reached = [q.qname for f in self.fakes.values() for q in f.queries
                   if not q.qname.startswith("alive")]
        self.assertEqual([], reached, "a malformed query reached an upstream")
        self.assertEqual(len(MALFORMED_UDP), daemon.stats["malformed"], daemon.stats)

    def check_reply(self, packet, reply, expected):
        if expected is None:
            self.assertIsNone(reply, "a dropped packet got an answer")
            return
        self.assertIsNotNone(reply, "no FORMERR")
        head = harness.parse_header(reply)
        self.assertEqual((1, expected), (head.qr, head.rcode))
        self.assertEqual(struct.unpack("!H", packet[:2])[0], head.id)

    def test_malformed_tcp(self):
        packet = header(0x7007, qd=2) + question() + question(f"r.{DI_ZONE}")
        with Daemon() as daemon:
            with harness.tcp_connect() as sock:
                sock.sendall(harness.frame(packet))
                self.check_reply(packet, harness.read_frame(sock), FORMERR)
            self.assert_still_answers()
        self.assertEqual(1, daemon.stats["malformed"], daemon.stats)

    def test_malformed_flood_then_normal(self):
        with Daemon():
            for _ in range(50):
                for _, packet, _ in MALFORMED_UDP:
                    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                        sock.sendto(packet, (harness.DAEMON_ADDR, harness.DAEMON_PORT))
            self.assert_still_answers()


class OpcodeTest(harness.IntegrationCase):

    def assert_notimp(self, wire):
        qid = struct.unpack("!H", wire[:2])[0]
        reply = harness.udp_exchange(wire, timeout=2)
        self.assertIsNotNone(reply, "no answer")
        head = harness.parse_header(reply)
        self.assertEqual((1, dns.rcode.NOTIMP, qid), (head.qr, head.rcode, head.id))
        with harness.tcp_connect() as sock:
            sock.sendall(harness.frame(wire))
            head = harness.parse_header(harness.read_frame(sock))
            self.assertEqual((1, dns.rcode.NOTIMP, qid), (head.qr, head.rcode, head.id))

    def assert_refused(self, wire):
        qid = struct.unpack("!H", wire[:2])[0]
        reply = harness.udp_exchange(wire, timeout=2)
        self.assertIsNotNone(reply, "no answer")
        head = harness.parse_header(reply)
        self.assertEqual((1, dns.rcode.REFUSED, qid), (head.qr, head.rcode, head.id))

    def test_non_query_opcodes_get_notimp(self):
        notify = dns.message.make_query(DI_ZONE, "SOA")
        notify.set_opcode(dns.opcode.NOTIFY)
        notify.flags &= ~dns.flags.RD
        update = dns.update.UpdateMessage(DI_ZONE)
        update.add("host", 300, "A", "192.0.2.99")
        iquery = header(0x1111, flags=(dns.opcode.IQUERY << 11)) + question()
        with Daemon():
            # NOTIFY is refused, as Unbound refuses it: a forwarder has no zone to refresh.
            self.assert_refused(notify.to_wire())
            for label, wire in (("update", update.to_wire()), ("iquery", iquery)):
                with self.subTest(label):
                    self.assert_notimp(wire)
        self.assertEqual([], [q for f in self.fakes.values() for q in f.queries])


class TcpFramingTest(harness.IntegrationCase):

    def read_answers(self, sock, count):
        return [dns.message.from_wire(harness.read_frame(sock)) for _ in range(count)]

    def test_pipelined_queries_in_one_write(self):
        names = [f"p1.{DI_ZONE}", "p2.example.net", f"p3.{harness.FORWARD_ZONE}"]
        queries = [dns.message.make_query(n, "A") for n in names]
        with Daemon():
            with harness.tcp_connect() as sock:
                sock.sendall(b"".join(harness.frame(q.to_wire()) for q in queries))
                answers = self.read_answers(sock, 3)
        by_id = {a.id: a for a in answers}
        self.assertEqual({q.id for q in queries}, set(by_id))
        for q in queries:
            self.assertEqual(q.question, by_id[q.id].question)
            self.assertEqual(dns.rcode.NOERROR, by_id[q.id].rcode())
            self.assertTrue(harness.answer_ips(by_id[q.id]))

    def test_slow_query_does_not_block_pipeline(self):
        cfg = harness.base_config()
        cfg["upstream"]["attempt_timeout_ms"] = 3000
        self.fakes[DEFAULT].mode, self.fakes[DEFAULT].delay = "delay", 1.0
        slow = dns.message.make_query("slow.example.net", "A")
        fast = [dns.message.make_query(f"f{i}.{DI_ZONE}", "A") for i in range(2)]
        with Daemon(cfg):
            with harness.tcp_connect(timeout=5) as sock:
                sock.sendall(b"".join(harness.frame(q.to_wire()) for q in [slow, *fast]))
                order = [a.id for a in self.read_answers(sock, 3)]
        self.assertEqual(slow.id, order[-1], "answers were serialized behind a slow query")

    def test_split_length_prefix_and_body(self):
        wire = dns.message.make_query(f"split.{DI_ZONE}", "A").to_wire()
        framed = harness.frame(wire)
        with Daemon():
            with harness.tcp_connect() as sock:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                for piece in (framed[:1], framed[1:2], framed[2:9], framed[9:]):
                    sock.sendall(piece)
                    time.sleep(0.1)
                answer = dns.message.from_wire(harness.read_frame(sock))
                self.assertEqual(dns.rcode.NOERROR, answer.rcode())
                # the same connection keeps working
                sock.sendall(framed)
                self.assertEqual(answer.id, harness.parse_header(harness.read_frame(sock)).id)

    def test_client_vanishes_mid_query(self):
        cfg = harness.base_config()
        cfg["upstream"]["attempt_timeout_ms"] = 2000
        self.fakes[DEFAULT].mode, self.fakes[DEFAULT].delay = "delay", 0.3
        partial = harness.frame(dns.message.make_query("half.example.net", "A").to_wire())
        full = b"".join(harness.frame(dns.message.make_query(f"gone{i}.example.net", "A")
                                      .to_wire()) for i in range(3))
        with Daemon(cfg) as daemon:
            with harness.tcp_connect() as sock:
                sock.sendall(partial[:len(partial) // 2])
            for _ in range(3):
                sock = harness.tcp_connect()
                sock.sendall(full)
                # RST on close, so the daemon's later writes fail with EPIPE/ECONNRESET
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()
            time.sleep(1.0)
            self.assertTrue(daemon.alive(), daemon.stderr)
            self.fakes[DEFAULT].mode = "answer"
            self.assertEqual(dns.rcode.NOERROR, query("after.example.net").rcode())

    def test_idle_connection_is_closed(self):
        cfg = harness.base_config()
        cfg["server"]["tcp_idle_timeout_ms"] = 500
        with Daemon(cfg):
            with harness.tcp_connect(timeout=5) as sock:
                begin = time.monotonic()
                try:
                    data = sock.recv(1)
                except ConnectionResetError:
                    data = b""
                self.assertEqual(b"", data, "idle connection was not closed")
                self.assertLess(time.monotonic() - begin, 4.0)

    def test_a_partial_message_trickled_byte_by_byte_is_idle(self):
        cfg = harness.base_config()
        cfg["server"]["tcp_idle_timeout_ms"] = 500
        framed = harness.frame(dns.message.make_query(f"trickle.{DI_ZONE}", "A").to_wire())
        with Daemon(cfg):
            with harness.tcp_connect(timeout=5) as sock:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                begin, closed = time.monotonic(), False
                for byte in framed[:-1]:  # never the whole message
                    try:
                        sock.sendall(bytes([byte]))
                        time.sleep(0.2)
                        sock.setblocking(False)
                        closed = sock.recv(1) == b""
                    except BlockingIOError:
                        pass
                    except (ConnectionResetError, BrokenPipeError):
                        closed = True
                    finally:
                        sock.setblocking(True)
                    if closed:
                        break
                self.assertTrue(closed, "a connection kept alive by single bytes was not closed")
                self.assertLess(time.monotonic() - begin, 3.0)


class TcpBackpressure(harness.IntegrationCase):
    """A TCP client cannot make the daemon hold without bound what it sends: reading
    stops at 100 unanswered queries or 256 KiB of unread answers, and resumes."""

    MAX_IN_FLIGHT = 100
    UNBOUNDED = 48 << 20  # what a daemon that never stops reading would take in

    def test_a_client_that_reads_nothing_is_paused_then_gets_every_answer(self):
        name = f"cached.{DI_ZONE}"
        template = bytearray(harness.frame(dns.message.make_query(name, "A").to_wire()))
        with Daemon(harness.health_config()) as daemon:
            query(name)  # cached: every answer below is immediate
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
            sock.connect((harness.DAEMON_ADDR, harness.DAEMON_PORT))
            sock.setblocking(False)
            sent, queued, blocked_since = 0, bytearray(), None
            while sent < self.UNBOUNDED:  # write without reading, until the daemon stops reading
                if not queued:
                    template[2:4] = struct.pack("!H", (sent // len(template)) & 0xFFFF)
                    queued = template * 64
                try:
                    n = sock.send(queued)
                    sent, queued, blocked_since = sent + n, queued[n:], None
                except BlockingIOError:
                    blocked_since = blocked_since or time.monotonic()
                    if time.monotonic() - blocked_since > 1.0:
                        break
                    time.sleep(0.01)
            self.assertLess(sent, self.UNBOUNDED, "the daemon kept reading from a client that reads nothing")
            paused = harness.metric(harness.get_metrics(), "diresolver_tcp_reads_paused_total")
            self.assertGreaterEqual(paused, 1)
            # Now read: the rest goes out as room appears, and every query is answered.
            expected = (sent + len(queued)) // len(template)
            self.assertEqual(self.read_all(sock, queued, expected), expected)
            sock.close()
            self.assertTrue(daemon.alive(), daemon.stderr)

    def read_all(self, sock, queued, expected, limit=60.0):
        """Sends what is queued and counts whole answers until `expected` came."""
        received, answers, deadline = bytearray(), 0, time.monotonic() + limit
        while answers < expected and time.monotonic() < deadline:
            if queued:
                try:
                    queued = queued[sock.send(queued):]
                except BlockingIOError:
                    pass
            try:
                chunk = sock.recv(1 << 20)
            except BlockingIOError:
                time.sleep(0.001)
                continue
            if not chunk:
                break
            received += chunk
            offset = 0
            while len(received) - offset >= 2:
                length = struct.unpack_from("!H", received, offset)[0]
                if len(received) - offset < 2 + length:
                    break
                offset += 2 + length
                answers += 1
            del received[:offset]
        return answers

    def test_at_most_100_queries_in_flight_per_connection(self):
        # One try per server: this is about backpressure, not about datagrams sent again.
        cfg = harness.health_config(upstream={"attempt_timeout_ms": 3000, "attempt_timeout_min_ms": 3000,
                                              "deadline_ms": 4000, "tries": 1})
        forward = self.fakes[harness.FORWARD]
        forward.mode = "drop"
        count = 3 * self.MAX_IN_FLIGHT
        queries = [dns.message.make_query(f"n{i}.{harness.FORWARD_ZONE}", "A") for i in range(count)]
        with Daemon(cfg):
            with harness.tcp_connect(timeout=10) as sock:
                sock.sendall(b"".join(harness.frame(q.to_wire()) for q in queries))
                harness.wait_until(lambda: len(forward.queries) >= self.MAX_IN_FLIGHT, timeout=2.0,
                                   what="the first 100 queries forwarded")
                time.sleep(0.3)  # inside the 3 s attempt timeout: none answered, none more read
                self.assertEqual(len(forward.queries), self.MAX_IN_FLIGHT)
                forward.mode = "answer"  # the first 100 time out; the rest are answered
                answers = self.read_answers(sock, count)
        self.assertEqual(sorted(q.id for q in queries), sorted(a.id for a in answers))
        rcodes = [a.rcode() for a in answers]
        self.assertEqual(self.MAX_IN_FLIGHT, rcodes.count(dns.rcode.SERVFAIL))
        self.assertEqual(count - self.MAX_IN_FLIGHT, rcodes.count(dns.rcode.NOERROR))

    def read_answers(self, sock, count):
        return [dns.message.from_wire(harness.read_frame(sock)) for _ in range(count)]


class UdpBatches(harness.IntegrationCase):
    """Datagrams are read with recvmmsg and answers of one read batch leave with one
    sendmmsg: a burst must still get every answer, each to its own sender and ID."""

    def test_a_burst_gets_every_answer_to_its_own_socket(self):
        names = [f"b{i}.{DI_ZONE}" for i in range(40)]
        with Daemon(harness.health_config()) as daemon:
            for name in names:  # cached: the burst is answered inside its read batches
                query(name)
            # Stopped while the burst is sent, the daemon finds it all queued: one read
            # takes many datagrams, however fast it would otherwise keep up.
            daemon.proc.send_signal(signal.SIGSTOP)
            sockets = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(4)]
            for sock in sockets:
                sock.bind(("127.0.0.1", 0))  # its port, known before the first send
            sent = {}
            for round_ in range(3):
                for i, name in enumerate(names + [f"fresh{round_}.{DI_ZONE}"]):
                    sock = sockets[i % len(sockets)]
                    msg = dns.message.make_query(name, "A")
                    sent[(sock.getsockname()[1], msg.id)] = msg
                    sock.sendto(msg.to_wire(), (harness.DAEMON_ADDR, harness.DAEMON_PORT))
            daemon.proc.send_signal(signal.SIGCONT)
            got = {}
            for sock in sockets:
                sock.settimeout(2.0)
                port = sock.getsockname()[1]
                try:
                    while len([k for k in got if k[0] == port]) < len([k for k in sent if k[0] == port]):
                        answer = dns.message.from_wire(sock.recv(4096))
                        got[(port, answer.id)] = answer
                except socket.timeout:
                    pass
                sock.close()
            batched = harness.metric(harness.get_metrics(), "diresolver_udp_batched_responses_total")
        self.assertEqual(set(sent), set(got), "every query, answered to the socket that sent it")
        # The fresh names may be hedged to the second server (timers run late after SIGCONT).
        pair_ips = {harness.FAKES[harness.DI1][1], harness.FAKES[harness.DI2][1]}
        for key, msg in sent.items():
            self.assertEqual(got[key].question, msg.question)
            self.assertEqual(len(harness.answer_ips(got[key])), 1)
            self.assertIn(harness.answer_ips(got[key])[0], pair_ips)
        self.assertGreater(batched, 0, "no answer went out in a batch")


if __name__ == "__main__":
    harness.main()
