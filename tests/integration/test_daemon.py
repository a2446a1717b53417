"""The daemon against the real process over real HTTP (issue 4)."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import unittest

from harness import Deployment, request

CONFIG = """
rule_files = ["rules/*.toml"]
[server]
listen = "127.0.0.1:9797"
{server_extra}
[engine]
timezone = "Europe/London"
evaluation_interval = "5m"
state_dir = "state"

[[feed]]
name = "assessments"
path = "data/assessments.csv"
key = "assessment_id"
date_format = "%d/%m/%Y"
[feed.fields]
assessment_id = {{ column = "Assessment ID" }}
referral_date = {{ column = "Date of referral", type = "date" }}
authorised = {{ column = "Date of authorisation", type = "date" }}
team = {{ column = "Allocated Team" }}
"""

RULES = {
    "assessments.toml": """
[[rule]]
name = "assessment_timescale"
kind = "deadline"
feed = "assessments"
start = "referral_date"
done = "authorised"
due_in = "10 working days"
warn_before = "2 working days"
labels = { team = "{{ team }}" }
annotations = { summary = "Assessment {{ assessment_id }} due {{ due_date }}" }
metric_labels = ["team"]

[[rule]]
name = "unallocated"
kind = "condition"
feed = "assessments"
when = "is_null(team)"
for = "2h"
severity = "critical"
""",
}

HEADER = "Assessment ID,Date of referral,Date of authorisation,Allocated Team\n"
# As of Wed 2017-06-14: A1 due Fri 16th (warning), A2 due Thu 15th (warning), A3 done,
# A4 due Mon 12th (critical: 29 May is a bank holiday) and unallocated.
ROWS = [
    "A1,02/06/2017,,Assessment",
    "A2,01/06/2017,,Assessment",
    "A3,15/05/2017,20/05/2017,Assessment",
    "A4,26/05/2017,,",
]


def deployment(token=None, rows=ROWS, server_extra=""):
    if token:
        server_extra += '\nauth_token_file = "api-token"'
    return Deployment(CONFIG.format(server_extra=server_extra), RULES,
                      {"assessments.csv": HEADER + "\n".join(rows) + "\n"}, token=token)


class DaemonTest(unittest.TestCase):
    def setUp(self):
        self.d = None

    def tearDown(self):
        if self.d:
            self.d.cleanup()

    def start(self, extra=(), **kwargs):
        self.d = deployment(**kwargs).start(extra=extra)
        return self.d

    def test_alerts_agree_with_eval(self):
        d = self.start()
        alerts = d.alerts()
        out = subprocess.run([os.environ.get("CASEWATCH_BINARY", "build/casewatch"), "eval", "-c",
                              os.path.join(d.dir, "casewatch.toml"), "--at", "2017-06-14", "--format", "json"],
                             capture_output=True, text=True, check=True)
        import json
        expected = {(a["rule"], a["key"]): a["severity"] for a in json.loads(out.stdout)["alerts"]}
        self.assertEqual({k: a["severity"] for k, a in alerts.items()}, expected)
        self.assertEqual(alerts[("assessment_timescale", "A4")]["labels"]["team"], "")
        self.assertEqual(alerts[("assessment_timescale", "A1")]["due_date"], "2017-06-16")

    def test_alerts_come_in_pages(self):
        d = self.start()
        everything = d.get("/api/v1/alerts").json()
        self.assertIsNone(everything["next"])
        fingerprints = [a["fingerprint"] for a in everything["alerts"]]
        self.assertGreaterEqual(len(fingerprints), 3)
        self.assertEqual(fingerprints, sorted(fingerprints))
        paged, after, pages = [], None, 0
        while True:
            resp = d.get("/api/v1/alerts?limit=2" + ("&after=" + after if after else ""))
            self.assertEqual(resp.status, 200, resp.body)
            page = resp.json()
            pages += 1
            self.assertLessEqual(len(page["alerts"]), 2)
            paged += [a["fingerprint"] for a in page["alerts"]]
            if page["next"] is None:
                break
            self.assertEqual(page["next"], page["alerts"][-1]["fingerprint"])
            after = page["next"]
        self.assertEqual(paged, fingerprints)  # every alert once, in order
        self.assertEqual(pages, (len(fingerprints) + 1) // 2)
        exact = d.get("/api/v1/alerts?limit=%d" % len(fingerprints)).json()
        self.assertEqual(len(exact["alerts"]), len(fingerprints))
        self.assertIsNone(exact["next"])  # a full last page says it is the last
        # Filters choose the alerts before the page is cut.
        first = d.get("/api/v1/alerts?rule=unallocated&limit=1").json()
        self.assertEqual([a["rule"] for a in first["alerts"]], ["unallocated"])
        # After a fingerprint that is not (or no longer) there: from the next one on.
        between = "%016x" % (int(fingerprints[0], 16) + 1)
        if between < fingerprints[1]:
            gap = d.get("/api/v1/alerts?after=" + between).json()
            self.assertEqual([a["fingerprint"] for a in gap["alerts"]], fingerprints[1:])
        self.assertEqual(d.get("/api/v1/alerts?limit=0000002").json()["next"], fingerprints[1])
        for bad in ("0", "-1", "abc", "", "100001", "1e3", "9999999", "+5", "2&limit=3"):
            resp = d.get("/api/v1/alerts?limit=" + bad)
            self.assertEqual(resp.status, 400, bad)
            self.assertIn("limit", resp.json()["error"])
        # A mistyped cursor is an error, not an empty last page.
        for bad in ("", "zzz", fingerprints[0].upper(), fingerprints[0] + "0", fingerprints[0] + "&after=" + fingerprints[1]):
            resp = d.get("/api/v1/alerts?after=" + bad)
            self.assertEqual(resp.status, 400, bad)
            self.assertIn("after", resp.json()["error"])

    def test_lifecycle_with_for(self):
        d = self.start()
        unallocated = d.alerts()[("unallocated", "A4")]
        self.assertEqual(unallocated["state"], "pending")
        self.assertIsNone(unallocated["fired_at"])
        d.advance(3600)
        self.assertEqual(d.alerts()[("unallocated", "A4")]["state"], "pending")
        d.advance(3600)
        fired = d.alerts()[("unallocated", "A4")]
        self.assertEqual(fired["state"], "firing")
        self.assertEqual(fired["active_since"], unallocated["active_since"])
        self.assertEqual(fired["fired_at"], "2017-06-14T10:00:00Z")
        # A deadline moves from warning to critical as the days pass, keeping its start time.
        a1 = d.alerts()[("assessment_timescale", "A1")]
        self.assertEqual(a1["severity"], "warning")
        d.advance(3 * 86400)  # Saturday 17th: due Friday 16th has passed
        a1_later = d.alerts()[("assessment_timescale", "A1")]
        self.assertEqual(a1_later["severity"], "critical")
        self.assertEqual(a1_later["active_since"], a1["active_since"])
        # Allocating the case resolves the condition alert.
        d.write("data/assessments.csv", HEADER + "\n".join(ROWS[:3] + ["A4,26/05/2017,,Assessment"]) + "\n")
        d.advance(60)
        self.assertNotIn(("unallocated", "A4"), d.alerts())

    def test_restart_restores_alerts_with_start_times(self):
        d = self.start()
        d.advance(7200)
        before = d.alerts()
        self.assertEqual(d.stop(), 0)
        d.start(at="2017-06-14T12:00:00+01:00")
        after = d.alerts()
        self.assertEqual(set(after), set(before))
        for key, alert in before.items():
            self.assertEqual(after[key]["active_since"], alert["active_since"], key)
            self.assertEqual(after[key]["fired_at"], alert["fired_at"], key)
            self.assertEqual(after[key]["fingerprint"], alert["fingerprint"], key)

    def test_kill_9_during_evaluation_loses_nothing_committed(self):
        d = self.start()
        d.advance(7200)
        committed = d.alerts()
        # Kill while an evaluation is being requested; whichever side of its commit the kill lands,
        # the restarted daemon must hold a consistent state with the original start times.
        for _ in range(5):
            sock = socket.create_connection(("127.0.0.1", d.port))
            sock.sendall(b"POST /-/test/advance?seconds=60 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
            d.kill9()
            sock.close()
            d.start(at="2017-06-14T11:00:00+01:00")
            restored = d.alerts()
            self.assertEqual(set(restored), set(committed))
            for key, alert in committed.items():
                self.assertEqual(restored[key]["active_since"], alert["active_since"], key)

    def test_reload_with_broken_rule_keeps_old_rules(self):
        d = self.start(token="s3cret")
        before = d.alerts()
        d.write("rules/broken.toml", '[[rule]]\nname = "broken"\nkind = "condition"\nfeed = "assessments"\nwhen = "nope > 1"\n')
        resp = d.post("/-/reload")
        self.assertEqual(resp.status, 400)
        self.assertIn("broken.toml:5:9: error: unknown field 'nope'", resp.json()["error"])
        metrics = d.get("/metrics").body
        self.assertIn("casewatch_config_last_reload_successful 0", metrics)
        d.advance(60)
        self.assertEqual(set(d.alerts()), set(before))
        # SIGHUP with the same broken file: refused too, the daemon keeps running.
        d.process.send_signal(signal.SIGHUP)
        d.advance(60)
        self.assertEqual(set(d.alerts()), set(before))
        # Fixed: the new rule is evaluated and the old alerts carry over with their start times.
        d.write("rules/broken.toml", '[[rule]]\nname = "broken"\nkind = "condition"\nfeed = "assessments"\nwhen = "team == \'Assessment\'"\n')
        self.assertEqual(d.post("/-/reload").status, 200)
        after = d.alerts()
        self.assertIn(("broken", "A1"), after)
        for key, alert in before.items():
            self.assertEqual(after[key]["active_since"], alert["active_since"])
        self.assertIn("casewatch_config_last_reload_successful 1", d.get("/metrics").body)

    def test_truncated_csv_does_not_resolve_alerts(self):
        rows = ROWS + ["B%d,01/06/2017,,Assessment" % i for i in range(20)]
        d = self.start(rows=rows)
        before = d.alerts()
        self.assertGreater(len(before), 20)
        d.write("data/assessments.csv", HEADER + "\n".join(rows[:3]) + "\n")  # cut short
        d.advance(60)
        after = d.alerts()
        for key in before:
            self.assertIn(key, after)
        self.assertEqual(after[("casewatch_feed_unhealthy", "assessments")]["severity"], "critical")
        feeds = d.get("/api/v1/feeds").json()["feeds"]
        self.assertFalse(feeds[0]["up"])
        self.assertIn("shrank", feeds[0]["last_error"])
        self.assertIn('casewatch_feed_up{feed="assessments"} 0', d.get("/metrics").body)
        # The whole extract comes back: the feed is up and the built-in alert resolves.
        d.write("data/assessments.csv", HEADER + "\n".join(rows) + "\n")
        d.advance(60)
        self.assertNotIn(("casewatch_feed_unhealthy", "assessments"), d.alerts())

    def test_auth_on_every_endpoint(self):
        d = self.start(token="s3cret")
        protected = [("GET", "/-/ready"), ("GET", "/api/v1/alerts"), ("GET", "/api/v1/rules"),
                     ("GET", "/api/v1/feeds"), ("GET", "/"), ("POST", "/-/reload")]
        for method, path in protected:
            self.assertEqual(request(d.url(path), method).status, 401, path)
            self.assertEqual(request(d.url(path), method, token="wrong").status, 401, path)
            self.assertEqual(request(d.url(path), method, token="s3cre").status, 401, path)
            self.assertEqual(request(d.url(path), method, token="s3cret").status, 200, path)
        for path in ("/metrics", "/-/healthy"):
            self.assertEqual(request(d.url(path)).status, 200, path)

    def test_without_token_mutating_endpoints_are_forbidden(self):
        d = self.start()
        self.assertEqual(d.post("/-/reload").status, 403)
        self.assertEqual(d.get("/api/v1/alerts").status, 200)

    def test_metrics_private_when_not_public(self):
        d = self.start(token="s3cret", server_extra="public_metrics = false")
        self.assertEqual(request(d.url("/metrics")).status, 401)
        self.assertEqual(request(d.url("/-/healthy")).status, 401)
        self.assertEqual(request(d.url("/metrics"), token="s3cret").status, 200)

    def test_malformed_requests_get_json_errors(self):
        d = self.start()
        resp = d.get("/no/such/thing")
        self.assertEqual(resp.status, 404)
        self.assertEqual(resp.json()["status"], "error")
        resp = d.post("/-/test/advance?seconds=abc")
        self.assertEqual(resp.status, 400)
        self.assertIn("seconds", resp.json()["error"])
        for raw in (b"GARBAGE\r\n\r\n", b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\n\r\n",
                    b"POST /-/reload HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", b"\x00\xff\r\n\r\n"):
            sock = socket.create_connection(("127.0.0.1", d.port))
            sock.sendall(raw)
            sock.settimeout(5)
            try:
                sock.recv(4096)
            except OSError:
                pass
            sock.close()
        self.assertEqual(d.get("/-/healthy").status, 200)  # still alive
        self.assertIsNone(d.process.poll())

    def test_promtool_accepts_metrics(self):
        promtool = shutil.which("promtool")
        if not promtool:
            self.fail("promtool not installed (scripts/setup.sh installs Debian's prometheus)")
        d = self.start()
        metrics = d.get("/metrics").body
        self.assertIn('casewatch_alerts{rule="assessment_timescale",severity="warning",state="firing",team="Assessment"} 2', metrics)
        self.assertNotIn("A1", metrics)  # no record key ever becomes a label
        result = subprocess.run([promtool, "check", "metrics"], input=metrics, capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_non_utf8_extract_does_not_break_the_api(self):
        d = deployment()
        self.d = d
        with open(os.path.join(d.dir, "data", "assessments.csv"), "wb") as f:  # a Windows-1252 export
            f.write((HEADER + "A1,02/06/2017,,D\xe9partement\n").encode("latin-1"))
        d.start()
        alert = d.alerts()[("assessment_timescale", "A1")]
        self.assertEqual(alert["labels"]["team"], "D\ufffdpartement")
        self.assertEqual(d.get("/").status, 200)

    def test_sigterm_exits_zero(self):
        d = self.start()
        self.assertEqual(d.stop(signal.SIGTERM), 0)
        d.start()
        self.assertEqual(d.stop(signal.SIGINT), 0)

    def test_tls(self):
        import ssl
        import urllib.request
        d = deployment(server_extra='tls_cert_file = "cert.pem"\ntls_key_file = "key.pem"')
        self.d = d
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                        "-keyout", os.path.join(d.dir, "key.pem"), "-out", os.path.join(d.dir, "cert.pem")],
                       check=True, capture_output=True)
        d.scheme = "https"
        d.context = ssl.create_default_context(cafile=os.path.join(d.dir, "cert.pem"))
        d.context.check_hostname = False
        d.start()
        self.assertEqual(d.get("/-/healthy").status, 200)
        self.assertIn(("assessment_timescale", "A1"), d.alerts())
        with self.assertRaises(Exception):  # plain HTTP on the TLS port is refused
            urllib.request.urlopen("http://127.0.0.1:%d/-/healthy" % d.port, timeout=10).read()
        # Mozilla's intermediate profile: forward-secret AEAD suites only; HSTS on every answer.
        self.assertIn("max-age=", d.get("/-/healthy").headers.get("Strict-Transport-Security", ""))

        def handshake(ciphers, version):
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            context.minimum_version = context.maximum_version = version
            context.set_ciphers(ciphers)
            try:
                with socket.create_connection(("127.0.0.1", d.port), timeout=10) as sock:
                    with context.wrap_socket(sock) as tls:
                        return tls.cipher()[0]
            except ssl.SSLError:
                return None

        self.assertEqual(handshake("ECDHE-RSA-AES128-GCM-SHA256", ssl.TLSVersion.TLSv1_2), "ECDHE-RSA-AES128-GCM-SHA256")
        self.assertIsNotNone(handshake("DEFAULT", ssl.TLSVersion.TLSv1_3))
        for weak in ("AES128-GCM-SHA256", "AES128-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA384"):
            self.assertIsNone(handshake(weak + ":@SECLEVEL=0", ssl.TLSVersion.TLSv1_2), weak)

    def test_json_logs_carry_no_field_values(self):
        import json
        d = self.start(extra=["--log-format", "json", "--log-level", "info"])
        d.advance(60)
        d.stop()
        lines = [line for line in d.log().splitlines() if line.startswith("{")]
        self.assertGreater(len(lines), 3)
        for line in lines:
            record = json.loads(line)  # every line is a JSON object
            self.assertIn(record["level"], ("info", "warning", "error", "critical"))
            for value in ("02/06/2017", "Assessment "):  # record values other than keys
                self.assertNotIn(value, record["message"])

    def test_status_page_in_chromium(self):
        chromium = shutil.which("chromium")
        if not chromium:
            self.fail("chromium not installed (scripts/setup.sh installs Debian's chromium)")
        d = self.start()
        profile = tempfile.mkdtemp(prefix="casewatch-chromium-")
        artefacts = os.environ.get("CASEWATCH_ARTEFACTS", "build/artefacts")
        os.makedirs(artefacts, exist_ok=True)
        screenshot = os.path.abspath(os.path.join(artefacts, "status-page.png"))
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--user-data-dir=" + profile]
        dom = subprocess.run([chromium, *flags, "--dump-dom", d.url("/")], capture_output=True, text=True, timeout=120)
        self.assertIn('id="count-critical">2<', dom.stdout)  # A4 overdue, A4 unallocated (pending)
        self.assertIn('id="count-warning">2<', dom.stdout)
        self.assertIn("assessment_timescale", dom.stdout)
        self.assertIn("Assessment A1 due 2017-06-16", dom.stdout)
        subprocess.run([chromium, *flags, "--window-size=420,900", "--screenshot=" + screenshot, d.url("/")],
                       capture_output=True, timeout=120)
        self.assertTrue(os.path.getsize(screenshot) > 1000)
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
