#!/usr/bin/python3
"""Integration tests: conditional routing, ACL, clients, IDs and source ports.

Owns: which upstream set a name reaches (DI pair, [[forward]] zone, [default],
longest suffix, REFUSED without a default), the client ACL, answers through dig /
kdig / drill and dnspython over UDP and TCP, client ID restoration, random upstream
IDs and source ports, EDNS passed through.
"""

import dns.message
import dns.rcode

import harness
from harness import DI1, DI2, DEFAULT, FORWARD, DI_ZONE, Daemon, query

DI_PAIR = (DI1, DI2)


class RoutingTest(harness.IntegrationCase):

    def assert_reached(self, name, expected, tcp=False):
        """Query name; the answer comes from one of expected; other fakes never saw it."""
        response = query(name, tcp=tcp)
        self.assertEqual(dns.rcode.NOERROR, response.rcode(), name)
        self.assertIn(self.answered_by(response), expected, name)
        for other in set(self.fakes) - set(expected):
            self.assertEqual([], self.fakes[other].seen(name), f"{other} saw {name}")

    def test_di_name_goes_to_di_pair(self):
        with Daemon():
            self.assert_reached(f"x.{DI_ZONE}", DI_PAIR)
            self.assert_reached(f"y.{DI_ZONE}", DI_PAIR, tcp=True)
            self.assert_reached(DI_ZONE, DI_PAIR)

    def test_di_match_ignores_case(self):
        with Daemon():
            self.assert_reached("Mixed.ACME.Amer.WXC-DI.webex.COM", DI_PAIR)

    def test_external_name_goes_to_default(self):
        with Daemon():
            self.assert_reached("www.example.net", (DEFAULT,))
            self.assert_reached("tcp.example.net", (DEFAULT,), tcp=True)
            # A sibling of the DI zone is not under it.
            self.assert_reached("other.amer.wxc-di.webex.com", (DEFAULT,))

    def test_forward_zone_goes_to_its_server(self):
        with Daemon():
            self.assert_reached(f"host.{harness.FORWARD_ZONE}", (FORWARD,))
            self.assert_reached(harness.FORWARD_ZONE, (FORWARD,), tcp=True)
            self.assert_reached(f"host.not{harness.FORWARD_ZONE}", (DEFAULT,))

    def test_longest_suffix_wins(self):
        cfg = harness.base_config()
        cfg["forward"] = [{"zone": "webex.com", "servers": [harness.FAKES[FORWARD][0]]}]
        with Daemon(cfg):
            self.assert_reached(f"x.{DI_ZONE}", DI_PAIR)
            self.assert_reached("www.webex.com", (FORWARD,))
            self.assert_reached("other.amer.wxc-di.webex.com", (FORWARD,))
            self.assert_reached("www.example.net", (DEFAULT,))

    def test_without_default_external_is_refused(self):
        name = "www.example.net"
        with Daemon(harness.base_config(default=False)) as daemon:
            for tcp in (False, True):
                response = query(name, tcp=tcp)
                self.assertEqual(dns.rcode.REFUSED, response.rcode())
            self.assert_reached(f"x.{DI_ZONE}", DI_PAIR)
        for fake in self.fakes.values():
            self.assertEqual([], fake.seen(name))
        self.assertEqual(2, daemon.stats["no_route_refused"], daemon.stats)

    def test_client_outside_acl_is_refused(self):
        cfg = harness.base_config()
        cfg["acl"] = {"allow": ["127.0.0.2/32"]}
        name = f"acl.{DI_ZONE}"
        with Daemon(cfg) as daemon:
            self.assertEqual(dns.rcode.REFUSED, query(name, source="127.0.0.1").rcode())
            self.assertEqual(dns.rcode.REFUSED, query(name, tcp=True, source="127.0.0.1").rcode())
            self.assertEqual([], self.fakes[DI1].seen(name) + self.fakes[DI2].seen(name))
            allowed = query(f"ok.{DI_ZONE}", source="127.0.0.2")
            self.assertIn(self.answered_by(allowed), DI_PAIR)
        self.assertEqual(2, daemon.stats["acl_refused"], daemon.stats)

    def test_stats_count_queries(self):
        with Daemon() as daemon:
            for i in range(3):
                query(f"u{i}.{DI_ZONE}")
            for i in range(2):
                query(f"t{i}.{DI_ZONE}", tcp=True)
        self.assertEqual(3, daemon.stats["queries_udp"], daemon.stats)
        self.assertEqual(2, daemon.stats["queries_tcp"], daemon.stats)
        self.assertEqual(5, daemon.stats["answered"], daemon.stats)
        self.assertEqual(0, daemon.stats["servfail"], daemon.stats)


class ClientToolsTest(harness.IntegrationCase):

    def test_dig_kdig_drill_udp_and_tcp(self):
        expected = {harness.FAKES[DI1][1], harness.FAKES[DI2][1]}
        with Daemon():
            for tool in ("dig", "kdig", "drill"):
                for tcp in (False, True):
                    name = f"{tool}-{'tcp' if tcp else 'udp'}.{DI_ZONE}"
                    with self.subTest(tool=tool, tcp=tcp):
                        result = harness.run_tool(tool, name, tcp=tcp)
                        self.assertEqual("NOERROR", result.status, result.output)
                        ips = {rdata for _, rtype, rdata in result.answers if rtype == "A"}
                        self.assertTrue(ips and ips <= expected, result.output)

    def test_external_name_with_each_tool(self):
        with Daemon():
            for tool in ("dig", "kdig", "drill"):
                with self.subTest(tool=tool):
                    result = harness.run_tool(tool, f"{tool}.example.net")
                    self.assertEqual("NOERROR", result.status, result.output)
                    self.assertIn(("%s.example.net." % tool, "A", harness.FAKES[DEFAULT][1]),
                                  result.answers, result.output)


class IdentityTest(harness.IntegrationCase):

    def test_client_id_is_restored(self):
        with Daemon():
            for qid in (0, 1, 0x1234, 0xBEEF, 0xFFFF):
                msg = dns.message.make_query(f"id{qid}.{DI_ZONE}", "A")
                msg.id = qid
                reply = harness.udp_exchange(msg.to_wire(), timeout=2)
                self.assertIsNotNone(reply, f"no UDP answer for id {qid}")
                self.assertEqual(qid, harness.parse_header(reply).id)
                with harness.tcp_connect() as sock:
                    sock.sendall(harness.frame(msg.to_wire()))
                    self.assertEqual(qid, harness.parse_header(harness.read_frame(sock)).id)

    def send_same_id_queries(self, count, qid):
        names = [f"rnd{i}.example.net" for i in range(count)]
        with Daemon():
            for name in names:
                response = query(name, qid=qid)
                self.assertEqual(qid, response.id)
        return [self.fakes[DEFAULT].seen(name)[0] for name in names]

    def test_upstream_ids_are_random(self):
        client_id = 4242
        upstream = self.send_same_id_queries(20, client_id)
        ids = [q.id for q in upstream]
        self.assertLessEqual(ids.count(client_id), 1, f"client ID forwarded: {ids}")
        self.assertGreaterEqual(len(set(ids)), 15, f"upstream IDs not random: {ids}")

    def test_upstream_source_ports_vary(self):
        upstream = self.send_same_id_queries(20, 777)
        ports = [q.source_port for q in upstream]
        self.assertGreater(len(set(ports)), 1, f"one source port for all queries: {ports}")
        self.assertNotIn(53, ports)

    def test_upstream_sockets_are_pooled_and_rotated(self):
        # 4 connected sockets per server and worker, each retired after 256 queries
        # for a fresh random port (UdpSocketPool): a few ports for a handful of
        # queries, new ones as they wear out, never a socket per query.
        names = [f"pool{i}.example.net" for i in range(1100)]
        with Daemon():
            for name in names:
                self.assertEqual(dns.rcode.NOERROR, query(name).rcode())
        ports = [self.fakes[DEFAULT].seen(name)[0].source_port for name in names]
        first = set(ports[:40])
        self.assertGreater(len(first), 1, "one socket for everything")
        self.assertLessEqual(len(first), 4, f"40 queries used {len(first)} source ports")
        self.assertGreater(len(set(ports)), 4, "worn-out sockets were never replaced")
        self.assertLessEqual(len(set(ports)), 4 * (1100 // 256 + 1))

    def test_client_edns_is_forwarded(self):
        name = f"edns.{DI_ZONE}"
        with Daemon():
            response = query(name, edns=0, payload=1232)
            self.assertEqual(dns.rcode.NOERROR, response.rcode())
        seen = self.fakes[DI1].seen(name) + self.fakes[DI2].seen(name)
        self.assertTrue(seen)
        self.assertEqual(0, seen[0].message.edns)
        self.assertEqual(1232, seen[0].message.payload)


if __name__ == "__main__":
    harness.main()
