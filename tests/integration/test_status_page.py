#!/usr/bin/python3
"""Integration tests: the status page at the admin listener's `/`, in a real browser.

Owns: Debian's Chromium (headless, inside the test's network namespace) loads the page
with one DI server blackholed, and the DOM it rendered shows that server down, the other
up, and the gate degraded; the page is self-contained (no script, no external asset) and
reloads itself; unknown paths stay 404.
"""

import html.parser
import os
import shutil
import subprocess
import tempfile

import harness
from harness import DI1, DI_ZONE, Daemon, query


class Dom(html.parser.HTMLParser):
    """The rendered DOM as a flat list of (tag, attributes, text inside it)."""

    def __init__(self, text):
        super().__init__()
        self.elements = []
        self._open = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        element = [tag, dict(attrs), ""]
        self.elements.append(element)
        if tag not in ("meta", "link", "br", "img", "input"):
            self._open.append(element)

    def handle_endtag(self, tag):
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data):
        for element in self._open:
            element[2] += data

    def by_id(self, wanted):
        found = [e for e in self.elements if e[1].get("id") == wanted]
        return found[0] if found else None

    def server_state(self, name):
        rows = [i for i, e in enumerate(self.elements) if e[0] == "tr" and e[1].get("data-name") == name]
        if not rows:
            return None
        cells = [e for e in self.elements[rows[0]:] if e[0] == "td" and "state" in e[1].get("class", "")]
        return cells[0][2].strip() if cells else None


def rendered_dom(url):
    """What headless Chromium rendered for url (its DOM after the page loaded)."""
    chromium = shutil.which("chromium")
    if not chromium:
        raise AssertionError("chromium is not installed (.ci/install-deps installs it)")
    with tempfile.TemporaryDirectory(prefix="diresolver-chromium-") as profile:
        proc = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             f"--user-data-dir={profile}", "--dump-dom", url],
            capture_output=True, text=True, timeout=60, env=dict(os.environ, HOME=profile))
    if proc.returncode != 0 or "<html" not in proc.stdout:
        raise AssertionError(f"chromium exited {proc.returncode}: {proc.stderr[-2000:]}")
    return proc.stdout


class StatusPageTest(harness.IntegrationCase):
    def test_a_blackholed_di_server_shows_down_and_the_gate_degraded(self):
        with Daemon(harness.health_config()):
            query(f"page.{DI_ZONE}")
            self.fakes[DI1].mode = "drop"
            harness.wait_until(lambda: harness.server_status(harness.get_status(), DI_ZONE, "IAD")["state"]
                               == "down", what="IAD marked down")
            dom = Dom(rendered_dom(f"http://{harness.ADMIN_ADDR}:{harness.ADMIN_PORT}/"))
        self.assertEqual("down", dom.server_state("IAD"))
        self.assertEqual("up", dom.server_state("DFW"))
        gate = dom.by_id("gate")
        self.assertIsNotNone(gate, dom.elements[:20])
        self.assertEqual("DEGRADED", gate[2].strip())
        self.assertIn("IAD 127.0.0.11:53 (amer) marked down", dom.by_id("gate-detail")[2])
        for figure in ("answers-per-second", "servfail-share", "cache-hit-ratio"):
            self.assertIsNotNone(dom.by_id(figure), figure)
        self.assertFalse([e for e in dom.elements if e[0] == "script"], "no script")
        self.assertFalse([e for e in dom.elements if e[1].get("src") or e[0] == "link"], "no external asset")
        refresh = [e for e in dom.elements if e[0] == "meta" and e[1].get("http-equiv") == "refresh"]
        self.assertEqual("5", refresh[0][1].get("content") if refresh else None)

    def test_other_paths_stay_not_found(self):
        with Daemon(harness.health_config()):
            self.assertEqual(404, harness.admin_request("/nope")[0])
            self.assertEqual(200, harness.admin_request("/")[0])


if __name__ == "__main__":
    harness.main()
