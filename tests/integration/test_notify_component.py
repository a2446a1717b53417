"""Notification as its own component (issue 14), against the real daemon and real peers: a hung
SMTP server beside a healthy webhook, Alertmanager peers each told on their own (endsAt ahead,
resolves repeated for 15 minutes, to a peer that was down), a damaged state file, and a second
casewatch on the same state."""
import datetime
import json
import os
import socket
import subprocess
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import ASSESSMENTS_FEED, BINARY, Deployment, assessments_csv
from sinks import Alertmanager, WebhookSink, wait_until

BASE = """
rule_files = ["rules/*.toml"]
[server]
listen = "127.0.0.1:9797"
external_url = "http://casewatch.example/"
[engine]
timezone = "Europe/London"
evaluation_interval = "5m"
state_dir = "state"
"""

RULES = {"assessments.toml": """
[[rule]]
name = "assessment_timescale"
kind = "deadline"
feed = "assessments"
start = "referral_date"
done = "authorised"
due_in = "10 working days"
labels = { team = "{{ team }}" }
annotations = { summary = "Assessment {{ assessment_id }} due {{ due_date }}" }
"""}


class HungSmtp:
    """Accepts connections and never says a word: an SMTP server that hangs."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.held = []
        self.thread = threading.Thread(target=self.accept, daemon=True)
        self.thread.start()

    def accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def stop(self):
        self.sock.close()
        for c in self.held:
            c.close()


class RecordingAlertmanager:
    """Records every POST /api/v2/alerts; can be taken down and brought back on the same port."""

    def __init__(self):
        self.posts = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with outer.lock:
                    outer.posts.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.handler = Handler
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.start()

    def start(self):
        if self.server is None:
            self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self.handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self):
        self.server.shutdown()
        self.server.server_close()
        self.server = None

    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def alerts(self):
        with self.lock:
            return [a for post in self.posts for a in post]


class NotifyComponentTest(unittest.TestCase):
    def setUp(self):
        self.cleanups = []

    def tearDown(self):
        for c in reversed(self.cleanups):
            c()

    def deploy(self, routing, rows, at="2017-06-14", extra=()):
        d = Deployment(BASE + ASSESSMENTS_FEED + routing, RULES, {"assessments.csv": assessments_csv(rows)})
        self.cleanups.append(d.cleanup)
        d.start(at=at, extra=extra)
        return d

    def test_a_hung_smtp_server_delays_no_webhook(self):
        smtp = HungSmtp()
        self.cleanups.append(smtp.stop)
        hook = WebhookSink()
        self.cleanups.append(hook.stop)
        routing = """
[[receiver]]
name = "mail"
type = "email"
smtp_url = "smtp://127.0.0.1:%d"
from = "casewatch@la.example.gov.uk"
to = "duty@la.example.gov.uk"
timeout = "30s"
[[receiver]]
name = "teams"
type = "webhook"
url = "%s"
[[route]]
receiver = "mail"
group_wait = "0s"
continue = true
[[route]]
receiver = "teams"
group_wait = "0s"
""" % (smtp.port, "http://127.0.0.1:%d/hook" % hook.port)
        d = self.deploy(routing, ["A1,01/05/2017,,Assessment"], at=None)  # real clock, real workers
        started = time.monotonic()
        wait_until(lambda: len(hook.accepted()) >= 1, timeout=5, what="the webhook, beside a hung SMTP server")
        self.assertLess(time.monotonic() - started, 5)
        wait_until(lambda: len(smtp.held) >= 1, timeout=5, what="the email's connection to the hung server")
        # SIGTERM with the email still hanging: out within 10 s; the email stays for the restart.
        started = time.monotonic()
        self.assertEqual(d.stop(), 0)
        self.assertLess(time.monotonic() - started, 10)
        import sqlite3
        db = sqlite3.connect(os.path.join(d.dir, "state", "casewatch.db"))
        receivers = [r[0] for r in db.execute("SELECT receiver FROM outbox")]
        db.close()
        self.assertEqual(receivers, ["mail"])

    def test_every_alertmanager_peer_is_told_on_its_own_like_prometheus(self):
        up, flaky = RecordingAlertmanager(), RecordingAlertmanager()
        real = Alertmanager()
        self.cleanups += [real.stop]
        routing = """
[[receiver]]
name = "am"
type = "alertmanager"
urls = ["%s", "%s", "%s"]
[[route]]
receiver = "am"
""" % (up.url(), flaky.url(), real.url())
        # Alertmanager judges endsAt against its own clock: the test clock starts at the real time.
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        referral = (now - datetime.timedelta(days=30)).strftime("%d/%m/%Y")
        d = self.deploy(routing, ["A1,%s,,Assessment" % referral, "A2,%s,,Assessment" % referral],
                        at=now.strftime("%Y-%m-%dT%H:%M:%SZ"))
        wait_until(lambda: len(up.alerts()) >= 2 and len(flaky.alerts()) >= 2, what="both peers to hear")
        # Firing alerts carry endsAt ahead: 4 x max(evaluation interval, 1 minute) = 20 minutes.
        ends = {a["labels"]["key"]: a["endsAt"] for a in up.alerts()}
        expected = (now + datetime.timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.assertEqual(ends, {"A1": expected, "A2": expected})
        wait_until(lambda: len(real.alerts()) == 2, what="the real Alertmanager to hold both")
        self.assertEqual(real.alerts()[0]["endsAt"][:16], expected[:16])

        # One peer goes down; A1 is authorised; the peer comes back within 15 minutes.
        flaky.down()
        d.write("data/assessments.csv", assessments_csv(["A1,%s,%s,Assessment" % (referral, now.strftime("%d/%m/%Y")),
                                             "A2,%s,,Assessment" % referral]))
        d.advance(0)
        resolved = [a for a in up.alerts() if a["labels"]["key"] == "A1" and a.get("endsAt") <= now.strftime("%Y-%m-%dT%H:%M:%SZ")]
        self.assertTrue(resolved, "the peer that was up heard of the resolve")
        flaky.start()
        before = len(flaky.alerts())
        d.advance(300)  # the next evaluation, 5 minutes on
        # The peer that missed it hears of A1's resolve, from the outbox's retry or the next round.
        wait_until(lambda: any(a["labels"]["key"] == "A1" and a["endsAt"][:10] == now.strftime("%Y-%m-%d")
                               and a["endsAt"] <= (now + datetime.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
                               for a in flaky.alerts()[before:]),
                   what="the peer that was down to learn of the resolve")
        # Resolved alerts are repeated for 15 minutes, then no more.
        d.advance(300)
        self.assertTrue(any(a["labels"]["key"] == "A1" for a in up.posts[-1]))
        d.advance(600)
        self.assertFalse(any(a["labels"]["key"] == "A1" for a in up.posts[-1]), up.posts[-1])
        wait_until(lambda: [a["labels"]["key"] for a in real.alerts()] == ["A2"], what="A1 to resolve in Alertmanager")

    def test_a_damaged_state_file_stops_the_start(self):
        d = self.deploy("", ["A1,01/05/2017,,Assessment"])
        d.stop()
        path = os.path.join(d.dir, "state", "casewatch.db")
        import sqlite3
        db = sqlite3.connect(path)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        size = os.path.getsize(path)
        with open(path, "r+b") as f:
            f.seek(size // 2)
            f.write(b"\x5a" * min(4096, size // 2))
        result = subprocess.run([BINARY, "run", "-c", os.path.join(d.dir, "casewatch.toml"), "--listen", "127.0.0.1:0",
                                 "--test-clock", "2017-06-14"], capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 1)
        self.assertIn("is damaged", result.stderr)
        self.assertIn("--state-recover", result.stderr)
        # Told to, it moves the file aside and says so loudly.
        d.start(extra=("--state-recover", "--log-level", "info"))
        self.assertIn("casewatch_state_recovered 1", d.get("/metrics").body)
        self.assertIn("has been moved aside", d.log())
        self.assertTrue(any(n.startswith("casewatch.db.damaged-") for n in os.listdir(os.path.join(d.dir, "state"))))

    def test_a_second_casewatch_on_the_same_state_is_refused(self):
        d = self.deploy("", ["A1,01/05/2017,,Assessment"])
        result = subprocess.run([BINARY, "run", "-c", os.path.join(d.dir, "casewatch.toml"), "--listen", "127.0.0.1:0",
                                 "--test-clock", "2017-06-14"], capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 1)
        self.assertIn("another casewatch (pid %d) is using the state directory" % d.process.pid, result.stderr)
        self.assertEqual(d.get("/-/ready").status, 200)  # the first one carries on

    def test_queues_have_a_series_while_empty(self):
        d = self.deploy('[[receiver]]\nname = "log"\ntype = "file"\npath = "n.jsonl"\n[[route]]\nreceiver = "log"\n',
                        ["A1,01/05/2017,,Assessment"])
        self.assertIn('casewatch_notification_queue{receiver="log"} 0', d.get("/metrics").body)


if __name__ == "__main__":
    unittest.main()
