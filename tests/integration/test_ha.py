#!/usr/bin/python3
"""Two diresolver nodes behind one service address, end to end: VRRP (keepalived) and
anycast (BIRD, BGP with BFD), with the shipped examples of packaging/ha/.

Everything runs in namespaces ha_topology.py makes inside a private `unshare -m -n`
(this file re-executes itself there; ha_nodes.py runs the nodes and the router in
them, ha_traffic.py the fake DI pair and the clients): a LAN namespace with a bridge,
the clients and the router, one namespace per node, one for the fake DI pair, nothing
else; every address in 198.18.0.0/15 or loopback. Each scenario starts its own
processes, sends distinct DI names at the service address at a steady rate (each
answer names the node that forwarded it), injects its fault, and checks where the
address went (from `ip monitor`, timestamped) and how many queries were lost.

VRRP: (a) the active node's diresolver is killed, (b) its keepalived stops, (c) both
DI servers are blackholed for every node (the address stays), (d) a node whose DI
validation never passes joins and must never take the address, not even when every
other node is gone. Anycast: (e) the active node's diresolver is killed (the health
loop withdraws the route), (f) the active node drops off the LAN (the router's BFD
sees it).

Bounds on a loaded 2-core CI box: the address moves within MOVE_BOUND seconds (BFD:
BFD_MOVE_BOUND) and at most LOST_BOUND seconds' worth of queries is lost; what each
run measured is printed (`ha: ...` lines) and summed up at the end.
"""

import faulthandler
import os
import shutil
import sys
import tempfile
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ha_nodes as hn  # noqa: E402
import ha_topology as ht  # noqa: E402
import ha_traffic as hx  # noqa: E402

TIME_BOUND = 240          # seconds for the whole file, inside timeout(1)
RATE = 200                # queries/s
CLIENT_TIMEOUT = 3.0      # a query unanswered by then is lost (diresolver's deadline: 1.5 s)
MOVE_BOUND = 2.0          # s from the fault until the address is on the other node
BFD_MOVE_BOUND = 2.0      # the same when only BFD can tell (3 x 100 ms nominal)
LOST_BOUND = 1.0          # s worth of queries (at RATE) lost at most by one failover
SETTLE = 15.0             # s to wait for a pair to settle (address held, peer standing by)

SUMMARY = []


def binary():
    path = os.environ.get("DIRESOLVER_BIN")
    if not path or not os.access(path, os.X_OK):
        sys.exit("DIRESOLVER_BIN must point at the diresolver binary")
    return os.path.abspath(path)


def ms(seconds):
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"


class HATest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in ("keepalived", "bird", "birdc"):
            if not shutil.which(tool):
                raise unittest.SkipTest(f"{tool} is not installed (.ci/install-deps: keepalived, bird2)")
        cls.keep = os.environ.get("DIRESOLVER_HA_KEEP") == "1"
        cls.run_dir = Path(tempfile.mkdtemp(prefix="diresolver-ha-"))
        cls.failed = False
        cls.topo = ht.Topology(cls.run_dir, nodes=3)
        cls.topo.build()

    @classmethod
    def tearDownClass(cls):
        cls.topo.destroy()
        if cls.keep or cls.failed:
            print(f"ha: run directory kept: {cls.run_dir}", file=sys.stderr)
        else:
            shutil.rmtree(cls.run_dir, ignore_errors=True)
        if SUMMARY:
            print("\nha: summary (rate %d q/s)\n%s" % (RATE, "\n".join(SUMMARY)), file=sys.stderr)

    def setUp(self):
        self.topo.reset()
        self.nodes = {}
        self.watch = None
        self.tag = self.id().rsplit(".", 1)[-1].replace("test_", "")
        self.problems_before = self._problems()

    def _problems(self):
        result = self._outcome.result
        return len(result.failures) + len(result.errors)

    def tearDown(self):
        if self._problems() > self.problems_before:
            type(self).failed = True
            for node in self.nodes.values():
                print(node.logs(), file=sys.stderr)
            if self.watch:
                print(f"ha: address events: {self.watch.snapshot()}", file=sys.stderr)
        if self.watch:
            self.watch.stop()
        self.topo.reset()

    # ---- setting up ------------------------------------------------------------------

    def start_nodes(self, mode, indexes):
        nodes = {i: hn.Node(self.topo, i, mode, self.tag, binary()) for i in indexes}
        self.nodes.update(nodes)
        for node in nodes.values():
            node.start_diresolver()
        return nodes

    def vrrp(self):
        """Nodes 1 and 2 with keepalived: (active, standby) once settled."""
        self.nodes, self.watch, active, standby = hn.start_vrrp(self.topo, binary(), self.tag, settle=SETTLE)
        return active, standby

    def anycast(self):
        """The router, nodes 1 and 2 with BIRD: (active, standby) once settled."""
        self.nodes, self.watch, active, standby = hn.start_anycast(self.topo, binary(), self.tag, settle=SETTLE)
        return active, standby

    def load(self, target, duration):
        return hx.Load(self.topo, target, RATE, duration, CLIENT_TIMEOUT, self.tag).start()

    def at(self, load, t):
        """Sleep until t seconds after the clients started."""
        delay = load.start_t + t - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        return time.monotonic()

    def failover(self, start, vip, fault, what, move_bound=MOVE_BOUND):
        """start() the pair, clients on vip for 5 s, fault(active) at 1.5 s, then
        check_failover; returns (active, standby)."""
        active, standby = start()
        load = self.load(vip, 5)
        fault_t = self.at(load, 1.5)
        fault(active)
        result = load.wait()
        self.check_failover(result, fault_t, active, standby, move_bound, what)
        return active, standby

    # ---- checks ----------------------------------------------------------------------

    def check_failover(self, result, fault_t, old, new, move_bound, what):
        """The address went from old to new within move_bound; before the fault every
        query was answered by old, after the move by new; lost at most LOST_BOUND."""
        moved = self.watch.first_change_after(fault_t, to_node=new)
        first_new = result.first_answer_from(new, fault_t)
        lost = result.lost()
        lost_before = result.lost(None, fault_t)
        outage = result.outage(fault_t - 0.5)
        line = (f"{what}: lost {len(lost)} of {result.n}; address on n{new} after {ms(moved and moved - fault_t)}; "
                f"first answer from n{new} to a query sent {ms(first_new and first_new - fault_t)} after the fault; "
                f"unanswered from {ms(outage and outage[0] - fault_t)} to {ms(outage and outage[1] - fault_t)}; "
                f"worst answer {ms(result.worst())}")
        print(f"ha: {line}", file=sys.stderr)
        SUMMARY.append("  " + line)
        self.assertIsNotNone(moved, f"the address never reached n{new}: {self.watch.snapshot()}")
        self.assertLess(moved - fault_t, move_bound, f"the address took too long to reach n{new}")
        self.assertEqual(lost_before, [], "queries lost before the fault")
        self.assertEqual(set(result.by_node(None, fault_t)), {old}, "answers before the fault")
        settled = moved + 0.5
        self.assertEqual(set(result.by_node(settled)), {new}, "answers once the address moved")
        self.assertEqual(result.lost(settled), [], "queries lost after the address moved")
        self.assertLessEqual(len(lost), LOST_BOUND * RATE, "too many queries lost")
        self.assertEqual(set(result.rcodes()), {0}, "every answer NOERROR")

    # ---- VRRP --------------------------------------------------------------------------

    def test_a_vrrp_diresolver_killed(self):
        _, standby = self.failover(self.vrrp, ht.VRRP_VIP, lambda active: self.nodes[active].diresolver.kill(),
                                   "VRRP, active diresolver killed (SIGKILL)")
        self.assertEqual(hn.vrrp_holders([1, 2]), [standby])

    def test_b_vrrp_keepalived_stopped(self):
        def stop_keepalived(active):
            self.assertEqual(self.nodes[active].stop_keepalived(), 0, "keepalived exit status")
        active, _ = self.failover(self.vrrp, ht.VRRP_VIP, stop_keepalived,
                                  "VRRP, active keepalived stopped (SIGTERM)")
        self.assertTrue(self.nodes[active].diresolver.alive())

    def test_c_vrrp_di_blackholed_address_stays(self):
        active, standby = self.vrrp()
        load = self.load(ht.VRRP_VIP, 9)
        fault_t = self.at(load, 1.5)
        self.topo.blackhole(ht.DI_NS, [ht.node_addr(1), ht.node_addr(2)])
        # Long enough for health (3 x 200 ms) and a validation round (1 s) to fail.
        self.at(load, 4.5)
        verdicts = {i: self.nodes[i].for_address() for i in (active, standby)}
        repair_t = self.at(load, 5.5)
        self.topo.clear_blackholes()
        result = load.wait()
        events = self.watch.snapshot()
        # Sent from 2 s into the outage until a deadline (1.5 s) before the repair.
        answers = result.rcodes(fault_t + 2, repair_t - 1.6)
        line = (f"VRRP, both DI servers blackholed for every node for {repair_t - fault_t:.1f} s: "
                f"address events after the fault {len([e for e in events if e[0] >= fault_t])}, lost {len(result.lost())} "
                f"of {result.n}, answers meanwhile {answers} (rcode: count), "
                f"back to NOERROR from n{active} for queries sent "
                f"{ms((result.first_answer_from(active, repair_t) or repair_t) - repair_t)} after the repair")
        print(f"ha: {line}", file=sys.stderr)
        SUMMARY.append("  " + line)
        for i, (status, text) in verdicts.items():
            self.assertEqual(status, 0, f"n{i} during the outage: {text}")
            self.assertIn("degraded", text, f"n{i} during the outage")
        self.assertEqual([e for e in events if e[0] >= fault_t], [], "the address moved")
        self.assertEqual(hn.vrrp_holders([1, 2]), [active])
        self.assertEqual(result.lost(), [], "every query answered (SERVFAIL while the DI side is down)")
        self.assertEqual(set(answers), {2}, "SERVFAIL while both DI servers are blackholed")
        self.assertEqual(set(result.by_node(None, fault_t)), {active})
        recovered = result.first_answer_from(active, repair_t)
        self.assertIsNotNone(recovered, "no NOERROR answer after the repair")
        self.assertLess(recovered - repair_t, 2.5, "NOERROR answers again within 2.5 s of the repair")

    def test_d_vrrp_never_validated_node_never_holds(self):
        # n3's DI servers never answer it (the DI side blackholes its address): it is
        # never ready, so it must never take the address, not even when it is the
        # only node left running diresolver.
        self.topo.blackhole(ht.DI_NS, [ht.node_addr(3)])
        active, standby = self.vrrp()
        third = self.start_nodes("vrrp", [3])[3]
        status, text = third.for_address()
        self.assertEqual(status, 1, f"n3 status --for address: {text}")
        self.assertIn("not ready", text)
        self.assertEqual(third.readyz_for_address(), 503, "n3: GET /readyz?for=address")
        self.assertEqual(self.nodes[active].readyz_for_address(), 200, f"n{active}: GET /readyz?for=address")
        third.start_keepalived()
        self.assertTrue(third.keepalived.wait_log(r"Startup complete", 5), third.logs())
        time.sleep(1.5)     # n3's checks run (and fail)
        load = self.load(ht.VRRP_VIP, 6)
        first_t = self.at(load, 1.0)
        self.nodes[active].diresolver.kill()
        second_t = self.at(load, 3.0)
        moved = self.watch.first_change_after(first_t, to_node=standby)
        self.nodes[standby].diresolver.kill()
        self.at(load, 5.0)
        holders = hn.vrrp_holders([1, 2, 3])
        result = load.wait()
        events = self.watch.snapshot()
        line = (f"VRRP, never-validated n3 joins; n{active} then n{standby} lose diresolver: address on "
                f"n{standby} after {ms(moved and moved - first_t)}, then held by {holders or 'nobody'}; "
                f"n3 held it {sum(1 for e in events if e[1] == 3 and e[2])} times and answered "
                f"{result.by_node().get(3, 0)} queries")
        print(f"ha: {line}", file=sys.stderr)
        SUMMARY.append("  " + line)
        self.assertIsNotNone(moved, f"the address did not go to n{standby}: {events}")
        self.assertEqual([e for e in events if e[1] == 3], [], "n3 held the address")
        self.assertEqual(holders, [], "nobody may hold the address")
        self.assertNotIn(3, result.by_node(), "n3 answered")
        self.assertIsNone(third.keepalived.wait_log(r"Entering (BACKUP|MASTER) STATE", 0), third.logs())
        self.assertEqual(set(result.by_node(moved + 0.5, second_t)), {standby})

    # ---- anycast -----------------------------------------------------------------------

    def test_e_anycast_diresolver_killed(self):
        _, standby = self.failover(self.anycast, ht.ANYCAST_VIP, lambda active: self.nodes[active].diresolver.kill(),
                                   "anycast, active diresolver killed (SIGKILL)")
        self.assertEqual(hn.anycast_route(), standby)

    def test_f_anycast_node_off_the_lan(self):
        def unplug(active):
            # The node vanishes from the LAN (power, cable): no BGP message, only BFD.
            ht.run(["ip", "-n", ht.node_ns(active), "link", "set", "eth0", "down"])
        _, standby = self.failover(self.anycast, ht.ANYCAST_VIP, unplug,
                                   "anycast, active node off the LAN (BFD)", BFD_MOVE_BOUND)
        self.assertEqual(hn.anycast_route(), standby)


def main():
    ht.reexec_isolated(TIME_BOUND)
    ht.assert_outer_isolated()
    binary()
    faulthandler.dump_traceback_later(TIME_BOUND - 20, exit=True)
    unittest.main(verbosity=2)


if __name__ == "__main__":
    main()
