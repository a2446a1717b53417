"""The front door (issue 16): the HTTP server under abuse, and sign-in for people.

Every attack is made on a real daemon on loopback, bounded in count and time; attackers connect
from other loopback addresses (127.0.0.2 and up) than the client whose service is measured
(127.0.0.1). Each test asserts that the daemon stays up, its memory stays under a stated bound,
other clients are answered within a second, evaluation keeps its schedule, SIGTERM still exits
within 10 s, and no secret reaches the log."""
import base64
import json
import os
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import unittest
import urllib.request

from harness import BINARY, Deployment, chromium, request

CONFIG = """
rule_files = ["rules/*.toml"]
[server]
listen = "127.0.0.1:9797"
auth_token_file = "api-token"
users_file = "users.toml"
tokens = [{ name = "grafana", file = "grafana-token", role = "viewer" }]
[engine]
timezone = "Europe/London"
evaluation_interval = "1s"
state_dir = "state"

[[feed]]
name = "assessments"
path = "data/assessments.csv"
key = "assessment_id"
date_format = "%d/%m/%Y"
[feed.fields]
assessment_id = { column = "Assessment ID" }
referral_date = { column = "Date of referral", type = "date" }
team = { column = "Allocated Team" }
"""

RULES = {"assessments.toml": """
[[rule]]
name = "assessment_timescale"
kind = "deadline"
feed = "assessments"
start = "referral_date"
due_in = "10 working days"
labels = { team = "{{ team }}" }
annotations = { summary = "Assessment {{ assessment_id }} due {{ due_date }}" }
"""}

DATA = {"assessments.csv": "Assessment ID,Date of referral,Allocated Team\nA1,01/05/2017,Assessment\nA2,02/05/2017,Assessment\n"}

TOKEN = "s3cret-admin-token"
ALICE = ("alice", "alice's long passphrase")   # a manager
VICTOR = ("victor", "victor's passphrase")     # a viewer
MIB = 1024 * 1024
RSS_BOUND = 64 * MIB  # what any one attack may add to the daemon's peak memory


def hash_password(password):
    out = subprocess.run([BINARY, "hash-password", "--cost", "4"], input=password + "\n", capture_output=True,
                         text=True, check=True)
    return out.stdout.strip()


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def raw(port, data, source="127.0.0.1", timeout=5):
    """Sends `data` from `source` and returns what comes back (bytes) until the server closes."""
    sock = socket.socket()
    sock.bind((source, 0))
    sock.settimeout(timeout)
    sock.connect(("127.0.0.1", port))
    sock.sendall(data)
    out = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            out += chunk
    except OSError:
        pass
    sock.close()
    return out


class FrontDoorTest(unittest.TestCase):
    def setUp(self):
        self.d = Deployment(CONFIG, RULES, DATA, token=TOKEN)
        self.d.write("grafana-token", "grafana-viewer-token\n")
        self.d.write("users.toml", '[users.alice]\npassword_hash = "%s"\nrole = "manager"\n'
                                   '[users.victor]\npassword_hash = "%s"\nrole = "viewer"\n'
                     % (hash_password(ALICE[1]), hash_password(VICTOR[1])))
        self.d.start(at=None)  # the real clock: evaluations every second
        self.baseline_hwm = self.memory()["VmHWM"]

    def tearDown(self):
        self.d.cleanup()

    # -- what every attack must leave intact ----------------------------------------------------

    def memory(self):
        with open("/proc/%d/status" % self.d.process.pid) as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
        return {k: int(fields[k].split()[0]) * 1024 for k in ("VmRSS", "VmHWM")}

    def last_evaluation(self):
        for line in self.d.get("/metrics").body.splitlines():
            if line.startswith('casewatch_rule_last_evaluation_timestamp_seconds{rule="assessment_timescale"}'):
                return float(line.split()[-1])
        return 0

    def assert_served_within_a_second(self):
        started = time.monotonic()
        with urllib.request.urlopen(urllib.request.Request(self.d.url("/api/v1/alerts"),
                                                           headers={"Authorization": "Bearer " + TOKEN}),
                                    timeout=1) as resp:
            self.assertEqual(resp.status, 200)
            json.loads(resp.read())
        self.assertLess(time.monotonic() - started, 1.0)

    def assert_unharmed(self):
        self.assertIsNone(self.d.process.poll(), "the daemon died")
        self.assert_served_within_a_second()
        self.assertLess(self.memory()["VmHWM"] - self.baseline_hwm, RSS_BOUND)
        before = self.last_evaluation()
        deadline = time.monotonic() + 5
        while self.last_evaluation() <= before and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertGreater(self.last_evaluation(), before, "evaluation stopped keeping its schedule")

    def assert_log_holds_no_secret(self):
        log = self.d.log()
        for secret in (TOKEN, ALICE[1], VICTOR[1], "grafana-viewer-token", "wrong-password-123"):
            self.assertNotIn(secret, log)

    # -- abuse ----------------------------------------------------------------------------------

    def test_deeply_nested_json_is_refused_not_recursed(self):
        body = '{"matchers": ' + "[" * 60000 + "]" * 60000 + ', "ends_at": "2030-01-01T00:00:00Z"}'
        resp = request(self.d.url("/api/v1/silences"), "POST", body.encode(), token=TOKEN)
        self.assertEqual(resp.status, 400)
        self.assertIn("nests deeper than 32 levels", resp.json()["error"])
        self.assert_unharmed()

    def test_a_chunked_body_without_credentials_is_never_read(self):
        sock = socket.socket()
        sock.bind(("127.0.0.2", 0))
        sock.connect(("127.0.0.1", self.d.port))
        sock.sendall(b"POST /api/v1/silences HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"100000\r\n" + b"x" * 0x100000 + b"\r\n"
        sent = 0
        sock.settimeout(5)
        try:
            while sent < 400 * MIB:
                sock.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass  # the daemon answered and closed: what was sent after is refused
        try:
            answer = sock.recv(65536)
        except OSError:
            answer = b""
        sock.close()
        self.assertLess(sent, 100 * MIB, "the daemon kept reading a body it had not admitted")
        if answer:
            self.assertIn(b" 401 ", answer.split(b"\r\n")[0])
        self.assert_unharmed()

    def test_bodies_over_the_limit_are_refused_chunked_or_not(self):
        auth = ("Authorization: Bearer %s\r\n" % TOKEN).encode()
        answer = raw(self.d.port, b"POST /api/v1/silences HTTP/1.1\r\nHost: x\r\n" + auth +
                     b"Content-Length: 5000000\r\n\r\n" + b"x" * 1000)
        self.assertIn(b" 413 ", answer.split(b"\r\n")[0])
        body = b"".join(b"10000\r\n" + b"x" * 0x10000 + b"\r\n" for _ in range(20))  # 1.3 MB in chunks
        answer = raw(self.d.port, b"POST /api/v1/silences HTTP/1.1\r\nHost: x\r\n" + auth +
                     b"Transfer-Encoding: chunked\r\n\r\n" + body)
        self.assertIn(b" 413 ", answer.split(b"\r\n")[0])
        self.assert_unharmed()

    def test_millions_of_headers_cost_nothing(self):
        sock = socket.socket()
        sock.bind(("127.0.0.2", 0))
        sock.connect(("127.0.0.1", self.d.port))
        sock.settimeout(5)
        sock.sendall(b"GET /api/v1/alerts HTTP/1.1\r\nHost: x\r\n")
        line = b"X-A: b\r\n"
        sent = 0
        try:
            while sent < 3000000:
                sock.sendall(line * 10000)
                sent += 10000
        except OSError:
            pass
        try:
            answer = sock.recv(65536)
        except OSError:
            answer = b""
        sock.close()
        self.assertLess(sent, 1000000, "the daemon kept reading headers past its limit")
        if answer:
            self.assertIn(b" 431 ", answer.split(b"\r\n")[0])
        self.assert_unharmed()

    def test_idle_and_slow_sockets_do_not_hold_the_api(self):
        idle = []
        for _ in range(500):
            s = socket.socket()
            s.bind(("127.0.0.2", 0))
            s.setblocking(False)
            try:
                s.connect(("127.0.0.1", self.d.port))
            except BlockingIOError:
                pass
            idle.append(s)
        stop = threading.Event()

        def slowloris(n):
            sockets = []
            for _ in range(n):
                s = socket.socket()
                s.bind(("127.0.0.3", 0))
                s.connect(("127.0.0.1", self.d.port))
                s.sendall(b"GET /api/v1/alerts HTTP/1.1\r\nHost: x\r\n")
                sockets.append(s)
            while not stop.is_set():
                for s in sockets:
                    try:
                        s.sendall(b"X-Slow: 1\r\n")
                    except OSError:
                        pass
                stop.wait(2.5)
            for s in sockets:
                s.close()

        slow = threading.Thread(target=slowloris, args=(10,))
        slow.start()
        try:
            time.sleep(0.5)
            for _ in range(5):
                self.assert_served_within_a_second()
            self.assert_unharmed()
        finally:
            stop.set()
            slow.join()
            for s in idle:
                s.close()

    def test_a_flood_of_requests_is_rate_limited_per_client(self):
        statuses = []
        for _ in range(400):
            answer = raw(self.d.port, b"GET /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                         source="127.0.0.4")
            statuses.append(answer.split(b"\r\n")[0])
        self.assertTrue(any(b" 429 " in s for s in statuses), "no request was limited")
        self.assertTrue(any(b" 200 " in s for s in statuses))
        self.assert_unharmed()  # another client is served all the while

    def test_sigterm_exits_within_ten_seconds_while_sockets_are_held(self):
        held = []
        for i in range(200):
            s = socket.socket()
            s.bind(("127.0.0.5", 0))
            s.connect(("127.0.0.1", self.d.port))
            if i % 2:
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # half a request
            held.append(s)
        started = time.monotonic()
        self.d.process.send_signal(signal.SIGTERM)
        code = self.d.process.wait(timeout=10)
        self.assertEqual(code, 0)
        self.assertLess(time.monotonic() - started, 10)
        for s in held:
            s.close()
        self.d.process.stdout.close()
        self.d.process = None

    # -- small things right ---------------------------------------------------------------------

    def test_posts_without_a_body_are_answered_at_once(self):
        auth = ("Authorization: Bearer %s\r\n" % TOKEN).encode()
        for head in (b"POST /-/reload HTTP/1.1\r\nHost: x\r\nConnection: close\r\n",
                     b"POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n"):
            started = time.monotonic()
            answer = raw(self.d.port, head + auth + b"\r\n")
            self.assertIn(b" 200 ", answer.split(b"\r\n")[0], answer)
            self.assertLess(time.monotonic() - started, 1.0)
        fingerprint = next(iter(self.d.alerts().values()))["fingerprint"]
        resp = request(self.d.url("/api/v1/alerts/%s/ack" % fingerprint), "POST", token=TOKEN)
        self.assertEqual(resp.status, 200, resp.body)

    def test_scheme_case_methods_and_challenges(self):
        lower = request(self.d.url("/api/v1/alerts"), headers={"Authorization": "bearer " + TOKEN})
        self.assertEqual(lower.status, 200)
        # With credentials configured, they guard the door whatever name it is reached by.
        elsewhere = request(self.d.url("/api/v1/alerts"), headers={"Authorization": "Bearer " + TOKEN,
                                                                    "Host": "casewatch.example:8080"})
        self.assertEqual(elsewhere.status, 200)
        wrong_method = request(self.d.url("/api/v1/alerts"), "DELETE", token=TOKEN)
        self.assertEqual(wrong_method.status, 405)
        self.assertEqual(wrong_method.headers.get("Allow"), "GET")
        anonymous = request(self.d.url("/"))
        self.assertEqual(anonymous.status, 401)
        challenges = [v for k, v in anonymous.headers.items() if k.lower() == "www-authenticate"]
        self.assertTrue(any(c.startswith("Basic") for c in challenges), anonymous.headers)
        page = request(self.d.url("/"), headers={"Authorization": basic(*VICTOR)})
        self.assertEqual(page.status, 200)
        self.assertEqual(page.headers.get("Cache-Control"), "no-store")

    def test_every_answer_carries_the_same_guards_and_honours_close(self):
        auth = ("Authorization: Bearer %s\r\n" % TOKEN).encode()
        for data, status in (
                (b"GET /api/v1/alerts HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", b"401"),
                (b"GET /nowhere HTTP/1.1\r\nHost: x\r\n" + auth + b"Connection: close\r\n\r\n", b"404"),
                (b"DELETE /api/v1/alerts HTTP/1.1\r\nHost: x\r\n" + auth + b"Connection: close\r\n\r\n", b"405"),
                (b"GET /api/v1/alerts HTTP/1.0\r\n\r\n", b"401"),  # HTTP/1.0: closed after its answer
                (b"GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n", b"400"),
                (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n", b"431"),
                # A thousand filters would each be tried against every alert.
                (b"GET /api/v1/alerts?" + b"&".join(b"label.x%d=1" % i for i in range(1000)) +
                 b" HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n", b"400"),
                (b"GET /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", b"200")):
            started = time.monotonic()
            out = raw(self.d.port, data, timeout=8)
            self.assertLess(time.monotonic() - started, 3, data[:40])  # closed at once, not at the idle timeout
            head = out.split(b"\r\n\r\n")[0].lower()
            self.assertTrue(head.startswith(b"http/1.1 " + status), (data[:40], head[:80]))
            for guard in (b"cache-control: no-store", b"x-content-type-options: nosniff", b"x-frame-options: deny",
                          b"content-security-policy: default-src 'none'; frame-ancestors 'none'",
                          b"referrer-policy: no-referrer"):
                self.assertIn(guard, head, (data[:40], guard))
        # A page may run its own script and style, by their hashes, and nothing inline besides.
        for path in ("/", "/team?name=Assessment"):
            page = request(self.d.url(path), headers={"Authorization": basic(*ALICE)})
            policy = page.headers.get("Content-Security-Policy")
            self.assertRegex(policy, r"^default-src 'none'; script-src 'sha256-[A-Za-z0-9+/]+=*'; "
                                     r"style-src 'sha256-[A-Za-z0-9+/]+=*';.*frame-ancestors 'none'$")
            self.assertNotIn("unsafe-inline", policy)
            self.assertIn('class="ack"', page.body)
            self.assertNotRegex(page.body, r"<[^>]+\son[a-z]+=", path)  # no inline event handlers
            self.assertNotIn(" style=", page.body)
        filtered = request(self.d.url("/api/v1/alerts?label.team=Assessment&label.nothing=x"), token=TOKEN)
        self.assertEqual(filtered.json()["alerts"], [])  # every label filter must hold
        self.assertEqual(len(request(self.d.url("/api/v1/alerts?label.team=Assessment"), token=TOKEN).json()["alerts"]), 2)
        # A NUL ends a password where crypt() reads it: what follows must not pass unread.
        self.assertEqual(request(self.d.url("/"), headers={"Authorization": basic(VICTOR[0], VICTOR[1] + "\0anything")}).status, 401)
        self.assertEqual(request(self.d.url("/"), headers={"Authorization": basic(*VICTOR)}).status, 200)
        # Nor does a NUL in a query reach a page.
        page = request(self.d.url("/team?name=MASH%00x"), headers={"Authorization": basic(*VICTOR)})
        self.assertNotIn("\0", page.body)

    def test_an_open_route_reads_no_body_from_a_client_without_credentials(self):
        for path in (b"/-/healthy", b"/metrics"):
            started = time.monotonic()
            out = raw(self.d.port, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n", timeout=8)
            self.assertLess(time.monotonic() - started, 3, path)  # answered and closed, the body never awaited
            self.assertTrue(out.startswith(b"HTTP/1.1 401"), out[:80])
            self.assertIn(b"a request without credentials may carry no body", out)
        # Signed in, a body is read as before.
        out = raw(self.d.port, b"POST /api/v1/silences HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN.encode() +
                  b"\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}", timeout=8)
        self.assertTrue(out.startswith(b"HTTP/1.1 400"), out[:80])
        self.assertIn(b"matchers must be a non-empty object", out)
        self.assert_unharmed()

    def test_the_token_file_is_read_again_on_reload(self):
        self.d.write("grafana-token", "a-new-viewer-token\n")
        self.assertEqual(self.d.post("/-/reload").status, 200)
        self.assertEqual(request(self.d.url("/api/v1/feeds"), token="grafana-viewer-token").status, 401)
        self.assertEqual(request(self.d.url("/api/v1/feeds"), token="a-new-viewer-token").status, 200)
        # A token file gone: the reload is refused and the old tokens keep working.
        os.remove(os.path.join(self.d.dir, "grafana-token"))
        resp = self.d.post("/-/reload")
        self.assertEqual(resp.status, 400)
        self.assertIn("grafana-token: error: cannot read the token file", resp.json()["error"])
        self.assertEqual(request(self.d.url("/api/v1/feeds"), token="a-new-viewer-token").status, 200)

    # -- users and roles ------------------------------------------------------------------------

    def acks_by(self):
        db = sqlite3.connect(os.path.join(self.d.dir, "state", "casewatch.db"))
        try:
            return [json.loads(row[0])["created_by"] for row in db.execute("SELECT document FROM acks")]
        finally:
            db.close()

    def test_roles_decide_who_may_do_what(self):
        fingerprint = next(iter(self.d.alerts().values()))["fingerprint"]
        ack = self.d.url("/api/v1/alerts/%s/ack" % fingerprint)
        page_header = {"X-Casewatch-Request": "1"}
        viewer = request(ack, "POST", headers={"Authorization": basic(*VICTOR), **page_header})
        self.assertEqual(viewer.status, 403)
        self.assertIn("viewer", viewer.json()["error"])
        self.assertEqual(request(ack, "POST", token="grafana-viewer-token").status, 403)
        # A browser's request from another site carries the password but not the page's header.
        forged = request(ack, "POST", b'{"created_by": "someone else"}', headers={"Authorization": basic(*ALICE)})
        self.assertEqual(forged.status, 403)
        manager = request(ack, "POST", b'{"created_by": "someone else"}',
                          headers={"Authorization": basic(*ALICE), **page_header})
        self.assertEqual(manager.status, 200, manager.body)
        self.assertEqual(self.acks_by(), ["alice"])  # recorded as themself, whatever the body says
        reload = request(self.d.url("/-/reload"), "POST", headers={"Authorization": basic(*ALICE), **page_header})
        self.assertEqual(reload.status, 403)
        self.assertEqual(self.d.post("/-/reload").status, 200)  # the admin token

    def test_a_silence_over_every_alert_needs_an_admin_and_shows_on_every_page(self):
        ends = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3 * 86400))
        everything = json.dumps({"matchers": {"alertname": {"regex": ".*"}}, "ends_at": ends,
                                 "comment": "server move"}).encode()
        manager = request(self.d.url("/api/v1/silences"), "POST", everything,
                          headers={"Authorization": basic(*ALICE), "X-Casewatch-Request": "1"})
        self.assertEqual(manager.status, 403, manager.body)
        self.assertIn("needs an admin", manager.body)
        far = json.dumps({"matchers": {"alertname": "assessment_timescale"}, "ends_at": "2099-01-01T00:00:00Z"}).encode()
        self.assertIn("at most 90 days", self.d.post("/api/v1/silences", far).body)
        admin = self.d.post("/api/v1/silences", everything)
        self.assertEqual(admin.status, 201, admin.body)
        fingerprint = next(iter(self.d.alerts().values()))["fingerprint"]
        for path in ("/", "/team?name=Assessment", "/alerts/" + fingerprint):
            deadline = time.monotonic() + 5
            while True:  # the page is made from the next evaluation's snapshot
                page = request(self.d.url(path), headers={"Authorization": basic(*VICTOR)})
                if "Every alert is silenced" in page.body or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            self.assertIn("Every alert is silenced until", page.body, path)
            self.assertIn("by admin (server move)", page.body, path)
        self.d.stop()
        self.assertRegex(self.d.log(), r"silence [0-9a-f]{32} created by 'admin' until .*: it covers every alert")

    def test_failed_sign_ins_are_limited_and_logged_without_the_password(self):
        for _ in range(5):
            resp = request(self.d.url("/"), headers={"Authorization": basic("alice", "wrong-password-123")})
            self.assertEqual(resp.status, 401)
        resp = request(self.d.url("/"), headers={"Authorization": basic(*ALICE)})
        self.assertEqual(resp.status, 429)  # even the right password waits a minute now, from that address
        # From another address alice is not locked out: guesses elsewhere cannot keep her out.
        elsewhere = raw(self.d.port, ("GET / HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\nConnection: close\r\n\r\n"
                                      % basic(*ALICE)).encode(), source="127.0.0.2")
        self.assertTrue(elsewhere.startswith(b"HTTP/1.1 200"), elsewhere[:60])
        # Another person in the same office (the same address) still signs in...
        self.assertEqual(request(self.d.url("/"), headers={"Authorization": basic(*VICTOR)}).status, 200)
        # ...until that address has failed twenty times.
        for i in range(15):
            request(self.d.url("/"), headers={"Authorization": basic("user%d" % i, "wrong-password-123")})
        self.assertEqual(request(self.d.url("/"), headers={"Authorization": basic(*VICTOR)}).status, 429)
        self.d.stop()
        self.assertIn("sign-in failed for user 'alice' from 127.0.0.1", self.d.log())
        self.assert_log_holds_no_secret()

    def test_a_manager_acknowledges_in_a_browser(self):
        from selenium.webdriver.common.by import By

        driver = chromium(self, basic(*ALICE), window="800,600")
        driver.get(self.d.url("/"))
        # The page's style ran under its policy (by hash), as its script must for the click below.
        self.assertEqual(driver.execute_script("return getComputedStyle(document.body).backgroundColor"),
                         "rgb(250, 250, 250)")
        buttons = driver.find_elements(By.CSS_SELECTOR, "button.ack")
        self.assertEqual(len(buttons), 2)
        buttons[0].click()
        deadline = time.monotonic() + 10
        while buttons[0].text != "acknowledged" and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(buttons[0].text, "acknowledged")
        artefacts = os.environ.get("CASEWATCH_ARTEFACTS", "build/artefacts")
        os.makedirs(artefacts, exist_ok=True)
        driver.save_screenshot(os.path.join(artefacts, "status-page-acknowledged.png"))
        self.assertEqual(self.acks_by(), ["alice"])
        self.assertEqual(sum(1 for a in self.d.alerts().values() if a["silenced"]), 1)
        # A viewer sees no buttons.
        page = request(self.d.url("/"), headers={"Authorization": basic(*VICTOR)})
        self.assertNotIn('class="ack"', page.body)


class OpenFrontDoorTest(unittest.TestCase):
    """No user or token configured (the shipped default): reading is open on this machine, so a
    page of another site whose name has been pointed at 127.0.0.1 must not be answered."""

    def setUp(self):
        config = CONFIG.replace('auth_token_file = "api-token"\nusers_file = "users.toml"\n'
                                'tokens = [{ name = "grafana", file = "grafana-token", role = "viewer" }]\n',
                                'external_url = "https://casewatch.council.example/"\n')
        self.assertNotIn("users_file", config)
        self.d = Deployment(config, RULES, DATA).start()

    def tearDown(self):
        self.d.cleanup()

    def status_with_host(self, host):
        return request(self.d.url("/api/v1/alerts"), headers={"Host": host}).status

    def test_only_the_names_casewatch_is_known_by_are_answered(self):
        port = self.d.port
        for host in ("127.0.0.1:%d" % port, "localhost:%d" % port, "LOCALHOST.:%d" % port, "[::1]:%d" % port,
                     "casewatch.council.example", "casewatch.council.example:443", "10.1.2.3:%d" % port):
            self.assertEqual(self.status_with_host(host), 200, host)
        for host in ("attacker.example:%d" % port, "casewatch.council.example.attacker.example", "", "localhost@x"):
            refused = request(self.d.url("/api/v1/alerts"), headers={"Host": host})
            self.assertEqual(refused.status, 403, host)
            self.assertIn("answers only to the names it is known by", refused.body)
            self.assertNotIn("A1", refused.body)
        # Open routes too: nothing is answered to a name casewatch is not known by.
        self.assertEqual(request(self.d.url("/-/healthy"), headers={"Host": "attacker.example"}).status, 403)


if __name__ == "__main__":
    unittest.main()
