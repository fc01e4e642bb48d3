#!/usr/bin/python3
"""Integration tests: `diresolver setup`, the appliance's first-boot configuration.

Owns: from an answers file (what cloud-init hands over) and from the console wizard
(answers on stdin), setup writes diresolver.toml, the systemd-networkd file and
resolv.conf under --root, runs config-test and check (against the fakes: every DI server
is overridden to loopback), and enables the unit with `systemctl --root` only when the
config is valid. Bad answers are refused with the config loader's own message (the same
line `config-test` prints for such a config), asked again by the wizard, and leave
nothing written and nothing enabled.
"""

import os
import shutil
import tempfile

import harness
from harness import DEFAULT, DI1, DI2, FAKES

ZONE_MAP = harness.zone_map_path()
LABEL_REASON = ('"ac_me" is not a valid DNS label (letters, digits and \'-\', 1 to 63 characters, '
                "not starting or ending with '-')")


def answers_toml(customer="acme", extra=""):
    return f'''customer = "{customer}"
regions = ["amer"]
address = "10.0.0.53/24"
gateway = "10.0.0.1"
dns = ["10.0.0.2"]
client_networks = ["10.1.0.0/16"]
default_upstream = ["{FAKES[DEFAULT][0]}"]
ssh = false
zone_map = "{ZONE_MAP}"
{extra}
[region.amer]
servers = ["{FAKES[DI1][0]}", "{FAKES[DI2][0]}"]
'''


class SetupTest(harness.IntegrationCase):
    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="diresolver-setup-")
        self.addCleanup(shutil.rmtree, self.tmp)
        self.root = os.path.join(self.tmp, "root")
        units = os.path.join(self.root, "lib/systemd/system")
        os.makedirs(units)
        shutil.copy(os.path.join(os.environ["DIRESOLVER_SOURCE_DIR"], "systemd", "diresolver.service"), units)

    def path(self, relative):
        return os.path.join(self.root, relative)

    def enabled(self):
        return os.path.islink(self.path("etc/systemd/system/multi-user.target.wants/diresolver.service"))

    def setup_with_answers(self, text, *extra):
        answers = os.path.join(self.tmp, "answers.toml")
        with open(answers, "w") as handle:
            handle.write(text)
        return harness.run_cli(["setup", "--answers", answers, "--root", self.root, *extra], timeout=30), answers

    def test_answers_file_writes_the_files_checks_the_di_servers_and_enables_the_unit(self):
        proc, _ = self.setup_with_answers(answers_toml())
        self.assertEqual(0, proc.returncode, proc.stdout + proc.stderr)
        config = self.path("etc/diresolver/diresolver.toml")
        # The file it wrote loads, and routes the DI zone to the overridden servers.
        test = harness.run_cli(["config-test", "-c", config])
        self.assertEqual(0, test.returncode, test.stderr)
        self.assertIn("di:amer     IAD=127.0.0.11:53, DFW=127.0.0.12:53", test.stdout)
        with open(config) as handle:
            text = handle.read()
        self.assertIn('allow = ["127.0.0.0/8", "::1/128", "10.1.0.0/16"]', text)
        self.assertIn('listen = "0.0.0.0:9553"', text)
        with open(self.path("etc/systemd/network/10-diresolver.network")) as handle:
            network = handle.read()
        self.assertIn("Address=10.0.0.53/24\nGateway=10.0.0.1\nDNS=10.0.0.2\n", network)
        with open(self.path("etc/resolv.conf")) as handle:
            self.assertIn("nameserver 10.0.0.2\n", handle.read())
        # check ran against the fakes: each asked the validation SOA over UDP and TCP.
        self.assertIn("amer", proc.stdout)
        self.assertTrue(self.fakes[DI1].queries or self.fakes[DI1].probes, "check never asked DI1")
        self.assertIn("running: systemctl --root=" + self.root + " enable diresolver", proc.stdout)
        self.assertTrue(self.enabled())
        self.assertTrue(os.path.exists(self.path("etc/diresolver/.setup-done")))

    def test_a_bad_answer_is_refused_with_the_loaders_message_and_nothing_is_written(self):
        proc, answers = self.setup_with_answers(answers_toml(customer="ac_me"), "--no-check")
        self.assertEqual(1, proc.returncode)
        self.assertEqual(f"error: {answers}: customer: {LABEL_REASON}\n", proc.stderr)
        # The same reason config-test gives for a config with that customer.
        cfg = harness.base_config()
        cfg["customer"] = "ac_me"
        test = harness.run_cli(["config-test", "-c", harness.write_config(self.tmp, cfg)])
        self.assertIn(f": customer: {LABEL_REASON}", test.stderr)
        self.assertFalse(os.path.exists(self.path("etc/diresolver/diresolver.toml")))
        self.assertFalse(self.enabled())

    def test_answers_the_loader_refuses_deeper_down_name_the_answer(self):
        proc, answers = self.setup_with_answers(answers_toml().replace('"10.1.0.0/16"', '"10.1.0.0/16", "bogus"'),
                                                "--no-check")
        self.assertEqual(1, proc.returncode)
        self.assertTrue(proc.stderr.startswith(f"error: {answers}: client_networks[1]: "), proc.stderr)
        proc, answers = self.setup_with_answers(answers_toml().replace('address = "10.0.0.53/24"',
                                                                       'address = "10.0.0.300/24"'), "--no-check")
        self.assertTrue(proc.stderr.startswith(f"error: {answers}: address: "), proc.stderr)
        self.assertFalse(self.enabled())

    def test_a_relative_zone_map_is_the_answers_files_neighbour_and_a_missing_one_is_named(self):
        os.symlink(ZONE_MAP, os.path.join(self.tmp, "zones.toml"))
        os.makedirs(self.path("etc"))
        os.symlink("../run/systemd/resolve/resolv.conf", self.path("etc/resolv.conf"))  # the appliance's
        text = answers_toml().replace(f'zone_map = "{ZONE_MAP}"', 'zone_map = "zones.toml"')
        proc, _ = self.setup_with_answers(text, "--no-check")
        self.assertEqual(0, proc.returncode, proc.stdout + proc.stderr)
        self.assertIn(f'zone_map = "{self.tmp}/zones.toml"', open(self.path("etc/diresolver/diresolver.toml")).read())
        self.assertTrue(os.path.islink(self.path("etc/resolv.conf")), "resolved's symlink was replaced")
        proc, answers = self.setup_with_answers(text.replace("zones.toml", "nowhere.toml"), "--no-check")
        self.assertEqual(1, proc.returncode)
        self.assertTrue(proc.stderr.startswith(f"error: {answers}: zone_map: {self.tmp}/nowhere.toml: "), proc.stderr)

    def wizard(self, lines, zone_map=ZONE_MAP):
        return harness.run_cli(["setup", "--root", self.root, "--no-check", "--zone-map", zone_map],
                               timeout=30, input="\n".join(lines) + "\n")

    def test_wizard_offers_the_zone_maps_regions_and_its_first_as_the_default(self):
        lab_map = os.path.join(self.tmp, "lab-zones.toml")
        with open(lab_map, "w") as handle:
            for label, address in (("lab", "127.0.0.11"), ("lab2", "127.0.0.12")):
                handle.write(f'[[region]]\nlabel = "{label}"\nsource = "test"\n'
                             f'servers = [{{ name = "ONE", address = "{address}" }}]\n')
        proc = self.wizard(["acme", "", "dhcp", "", "", "no", "no"], zone_map=lab_map)
        self.assertEqual(1, proc.returncode, proc.stdout + proc.stderr)
        self.assertIn("Regions (lab lab2) [lab]: ", proc.stdout)
        self.assertIn('regions = ["lab"]', proc.stdout)

    def test_wizard_asks_again_with_the_loaders_message_then_writes_and_enables(self):
        proc = self.wizard(["ac_me", "acme", "mars", "amer", "dhcp", "10.0.0.0/8 bogus", "10.0.0.0/8",
                            FAKES[DEFAULT][0], "no", "yes"])
        self.assertEqual(0, proc.returncode, proc.stdout + proc.stderr)
        self.assertIn(f"  customer: {LABEL_REASON}\nDI customer name: ", proc.stdout)
        self.assertIn('  regions[0]: unknown region "mars"', proc.stdout)
        self.assertIn("  client_networks[1]: ", proc.stdout)
        with open(self.path("etc/systemd/network/10-diresolver.network")) as handle:
            self.assertIn("DHCP=yes\n", handle.read())
        self.assertFalse(os.path.exists(self.path("etc/resolv.conf")), "DHCP brings its own")
        self.assertTrue(self.enabled())

    def test_wizard_declined_or_cut_short_writes_nothing(self):
        declined = self.wizard(["acme", "amer", "", "", "", "", "no"])
        cut_short = self.wizard(["acme"])
        for proc in (declined, cut_short):
            self.assertEqual(1, proc.returncode)
            self.assertIn("setup: stopped; nothing written", proc.stderr)
        self.assertFalse(os.path.exists(self.path("etc/diresolver/diresolver.toml")))
        self.assertFalse(self.enabled())


if __name__ == "__main__":
    harness.main()
