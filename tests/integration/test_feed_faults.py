"""Feeds that fail in any way stop nothing else (issue 27): each feed source against hostile peers
started here (an HTTP API that misbehaves on purpose, a real PostgreSQL whose backend is paused
mid-COPY, files that are not extracts), and the daemon beside them: every other feed is still
polled, rules still evaluate, /-/ready tells the truth, SIGTERM stops it in time, no secret
reaches any output, every byte is valid UTF-8 wherever it goes, a rejected row keeps its record
present, and staleness comes from what the source really said."""
import gzip
import http.server
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

from harness import BINARY, Deployment, request
from sinks import Postgres, SmtpSink, WebhookSink, free_port, wait_until

TESTS_BINARY = os.environ.get("CASEWATCH_TESTS", os.path.join(os.path.dirname(BINARY), "tests", "casewatch_tests"))
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
# AddressSanitizer keeps freed memory in quarantine (256 MB) and shadows the rest: peak RSS is not
# the program's own there, so the memory bounds are asserted on the normal build only.
SANITIZED = os.environ.get("CASEWATCH_SANITIZED") in ("1", "ON", "TRUE")
AS_OF = "2017-06-14"

REFERRAL_RULE = """
[[rule]]
name = "referral_timescale"
kind = "deadline"
feed = "referrals"
start = "referral_date"
done = "authorised"
due_in = "10 working days"
labels = { team = "{{ team }}" }
annotations = { summary = "Referral {{ referral_id }} due {{ due_date }}" }
"""

CASELOAD_RULE = """
[[rule]]
name = "caseload_high"
kind = "condition"
feed = "caseloads"
when = "cases > 20"
labels = { team = "{{ team }}" }
"""

REFERRAL_FIELDS = """[feed.fields]
referral_id = { column = "id" }
referral_date = { column = "referred", type = "date" }
authorised = { column = "authorised", type = "date" }
team = { column = "team" }
"""

CASELOADS = """
[[feed]]
name = "caseloads"
path = "caseloads.csv"
key = "worker"
[feed.fields]
worker = { column = "Worker" }
team = { column = "Team" }
cases = { column = "Cases", type = "number" }
"""
CASELOADS_CSV = "Worker,Team,Cases\nW1,Assessment,25\nW2,Assessment,12\n"

HEAD = """
rule_files = ["rules.toml"]
[engine]
timezone = "Europe/London"
evaluation_interval = "%s"
state_dir = "state"
"""


def json_feed(url, extra=""):
    return """
[[feed]]
name = "referrals"
type = "json_http"
url = "%s"
key = "referral_id"
records = "/items"
bearer_token_file = "api-token"
timeout = "10s"
%s
""" % (url, extra) + REFERRAL_FIELDS


def records_page(first, count):
    return [{"id": "R%05d" % i, "referred": "2017-05-%02d" % (1 + i % 28), "authorised": None, "team": "Assessment"}
            for i in range(first, first + count)]


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that hangs up mid-answer is what some of these tests do on purpose


class HostileApi:
    """A JSON API on loopback that misbehaves as told (`mode`), recording every request it gets
    with the Authorization header it came with."""

    def __init__(self, host="127.0.0.1", tls_dir=None):
        self.mode = "ok"
        self.delay = 0.0
        self.requests = []
        self.lock = threading.Lock()
        self.link = None  # a fixed rel="next" target for page 1
        self.raw, self.step = b"", 0  # mode "raw": the body, and the size of the pieces it is sent in
        self.offset = 0   # the first record's number (two APIs give different records)
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                with api.lock:
                    api.requests.append({"path": self.path, "authorization": self.headers.get("Authorization")})
                url = urllib.parse.urlparse(self.path)
                page = int(urllib.parse.parse_qs(url.query).get("page", ["1"])[0])
                if api.delay:
                    time.sleep(api.delay)
                headers = {}
                if api.mode == "endless":  # always one more page, each distinct
                    headers["Link"] = '<%s?page=%d>; rel="next"' % (url.path, page + 1)
                    body = {"items": records_page(page, 1)}
                elif api.mode == "relative_query":  # RFC 3986: "?page=2" keeps the path
                    if page == 1:
                        headers["Link"] = '<?page=2>; rel="next"'
                    body = {"items": records_page(page * 10, 2)} if url.path == "/f/x" else {"items": "wrong page"}
                elif api.mode == "link":
                    headers["Link"] = '<%s>; rel="next"' % api.link
                    body = {"items": records_page(api.offset, 3)}
                elif api.mode == "static":  # the same bytes every time, and a date far ahead
                    headers["Last-Modified"] = "Wed, 01 Jan 2098 00:00:00 GMT"
                    body = {"items": records_page(0, 5) + [{"id": "BAD", "referred": "not a date", "team": "A"}]}
                elif api.mode == "redirect":  # a redirect would carry the token wherever it says
                    self.send_response(302)
                    self.send_header("Location", api.link)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                elif api.mode == "raw":  # api.raw as it is, in pieces of api.step bytes (0: whole)
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    if not api.step:
                        self.send_header("Content-Length", str(len(api.raw)))
                        self.end_headers()
                        self.wfile.write(api.raw)
                        return
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for at in range(0, len(api.raw), api.step):
                        piece = api.raw[at:at + api.step]
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                        self.wfile.flush()
                        time.sleep(0.001)  # so that each piece is read apart
                    self.wfile.write(b"0\r\n\r\n")
                    return
                elif api.mode == "many_links":  # the one with rel="next" after 150 that have none
                    if page == 1:
                        self.send_response(200)
                        self.send_header("Content-Type", "application/json")
                        for k in range(150):
                            self.send_header("Link", '</docs/%d>; rel="help"' % k)
                        self.send_header("Link", '<%s?page=2>; rel="next"' % url.path)
                        data = json.dumps({"items": records_page(0, 3)}).encode()
                        self.send_header("Content-Length", str(len(data)))
                        self.end_headers()
                        self.wfile.write(data)
                        return
                    body = {"items": records_page(100, 3)}
                elif api.mode == "huge_header":
                    headers["X-Padding"] = "p" * 200_000
                    body = {"items": records_page(0, 3)}
                elif api.mode == "whitespace":  # 100 MB of blanks between the records and the end
                    return self.send_gzip(json.dumps({"items": records_page(0, 3)}).encode()[:-2] + b" " * 100_000_000 + b"]}")
                elif api.mode == "nesting":
                    return self.send_gzip(b'{"items":[' + b"[" * 20_000_000)
                else:
                    body = {"items": records_page(api.offset, 3)}
                data = json.dumps(body).encode()
                if api.mode == "static":
                    # Sent in pieces of another size every time: the content is what counts.
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Transfer-Encoding", "chunked")
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    step = 7 + len(api.requests) % 13
                    for at in range(0, len(data), step):
                        piece = data[at:at + step]
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                        self.wfile.flush()
                    self.wfile.write(b"0\r\n\r\n")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def send_gzip(self, raw):
                """A small page on the wire that decodes to `raw`."""
                packed = gzip.compress(raw, 9)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(packed)))
                self.end_headers()
                self.wfile.write(packed)

            def log_message(self, *args):
                pass

        self.server = QuietServer((host, 0), Handler)
        self.scheme = "http"
        self.cert = None
        if tls_dir:
            self.cert = os.path.join(tls_dir, "api-ca.pem")
            key = os.path.join(tls_dir, "api-key.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=" + host,
                            "-addext", "subjectAltName=IP:" + host, "-keyout", key, "-out", self.cert],
                           check=True, capture_output=True)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.cert, key)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.host = host
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path="/records?page=1"):
        return "%s://%s:%d%s" % (self.scheme, self.host, self.port, path)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class SilentPort:
    """Accepts connections (the kernel's backlog) and never answers."""

    def __init__(self):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(64)
        self.port = self.socket.getsockname()[1]

    def close(self):
        self.socket.close()


class FaultTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="casewatch-faults-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.write("caseloads.csv", CASELOADS_CSV)
        self.write("api-token", "api-token-value\n")

    def write(self, name, text, mode="w"):
        path = os.path.join(self.dir, name)
        with open(path + ".tmp", mode) as f:
            f.write(text)
        os.replace(path + ".tmp", path)
        return path

    def read(self, name):
        with open(os.path.join(self.dir, name)) as f:
            return f.read()

    def config(self, feeds, interval="5m", extra="", rules=None):
        """The config, and its rules: the referrals rule where there is a referrals feed."""
        if rules is None:
            rules = (REFERRAL_RULE if 'name = "referrals"' in feeds else "") + CASELOAD_RULE
        self.write("rules.toml", rules)
        return self.write("casewatch.toml", HEAD % interval + extra + feeds + CASELOADS)

    def casewatch(self, *args, timeout=120):
        return subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=timeout)

    def eval_json(self, config, at=AS_OF):
        result = self.casewatch("eval", "-c", config, "--at", at, "--format", "json")
        out = json.loads(result.stdout) if result.stdout.strip().startswith("{") else None
        return result, out

    def daemon(self, at=AS_OF, extra=(), token=None, ready=True):
        d = Deployment.__new__(Deployment)
        d.dir, d.token, d.process = self.dir, token, None
        d.stderr_path = os.path.join(self.dir, "stderr.log")
        d.scheme, d.context = "http", None
        d.start(at=at, extra=extra, ready=ready)
        self.addCleanup(d.cleanup_process)
        return d

    def feeds(self, d):
        return {f["name"]: f for f in d.get("/api/v1/feeds").json()["feeds"]}


# Deployment.cleanup removes the folder too; these tests keep theirs to the end of the test.
def _cleanup_process(self):
    if self.process and self.process.poll() is None:
        self.process.kill()
        self.process.wait()
        self.process.stdout.close()


Deployment.cleanup_process = _cleanup_process


class JsonApiFaults(FaultTest):
    def setUp(self):
        super().setUp()
        self.api = HostileApi()
        self.addCleanup(self.api.stop)

    def test_an_endless_chain_of_slow_pages_is_stopped_at_load_timeout_while_the_daemon_goes_on(self):
        self.api.mode, self.api.delay = "endless", 0.4
        self.config(json_feed(self.api.url(), 'refresh = "2s"\nload_timeout = "3s"'), interval="1s")
        d = self.daemon(at=None, extra=("--log-level", "debug"))  # the real clock: its timers run
        # The first round waited for the first load: down at its deadline, the other feed loaded.
        feeds = self.feeds(d)
        self.assertFalse(feeds["referrals"]["up"])
        self.assertEqual(feeds["referrals"]["last_error"],
                         "json_http feed 'referrals': the load did not finish within load_timeout (3s)")
        self.assertTrue(feeds["caseloads"]["up"])
        self.assertEqual(d.get("/-/ready").status, 200)
        self.assertIn("feed referrals is down: json_http feed 'referrals'", d.get("/-/ready").body)
        alerts = d.alerts()
        self.assertIn(("casewatch_feed_unhealthy", "referrals"), alerts)
        self.assertIn(("caseload_high", "W1"), alerts)
        # The next load is under way (refresh 2s) and shows in the metrics; meanwhile the file feed
        # is still polled every second.
        wait_until(lambda: self.feeds(d)["referrals"]["loading_since"] is not None, 10, "the next load to start")
        metrics = d.get("/metrics").body
        self.assertRegex(metrics, r'casewatch_feed_load_started_timestamp_seconds\{feed="referrals"\} [1-9]')
        self.assertRegex(metrics, r'casewatch_feed_load_duration_seconds_count\{feed="referrals"\} [1-9]')
        os.remove(os.path.join(self.dir, "caseloads.csv"))
        wait_until(lambda: not self.feeds(d)["caseloads"]["up"], 3, "the deleted file to show down")
        self.assertIn("No such file or directory", self.feeds(d)["caseloads"]["last_error"])
        # Rules still evaluate, every second.
        before = {r["name"]: r["last_evaluation"] for r in d.get("/api/v1/rules").json()["rules"]}
        wait_until(lambda: {r["name"]: r["last_evaluation"] for r in d.get("/api/v1/rules").json()["rules"]} != before,
                   5, "another round")
        # SIGTERM while a load is under way: the daemon stops within its deadline, exit 0.
        self.assertIsNotNone(self.feeds(d)["referrals"]["loading_since"])
        started = time.monotonic()
        self.assertEqual(d.stop(), 0)
        self.assertLess(time.monotonic() - started, 10)
        # Every page was asked for with the token, from this one origin.
        self.assertTrue(all(r["authorization"] == "Bearer api-token-value" for r in self.api.requests))

    def test_more_pages_than_max_pages_fail_the_load_with_that_reason(self):
        self.api.mode = "endless"
        config = self.config(json_feed(self.api.url(), "max_pages = 20"))
        result, out = self.eval_json(config)
        self.assertEqual(result.returncode, 1)
        self.assertIn("json_http feed 'referrals': more than max_pages (20) pages: the rel=\"next\" links go on", result.stderr)
        self.assertNotIn("loop", result.stderr)
        self.assertEqual(len(self.api.requests), 20)

    def test_a_relative_query_link_keeps_the_path(self):
        self.api.mode = "relative_query"
        result, out = self.eval_json(self.config(json_feed(self.api.url("/f/x?page=1"))))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual([r["path"] for r in self.api.requests], ["/f/x?page=1", "/f/x?page=2"])
        self.assertEqual({f["name"]: f["records"] for f in out["feeds"]}["referrals"], 4)

    def test_credentials_never_go_to_another_origin(self):
        other = HostileApi(host="127.0.0.2")
        self.addCleanup(other.stop)
        self.api.mode = "link"
        for target, reason in ((other.url("/records?page=2"), "leads to another origin (http://127.0.0.2:%d)" % other.port),
                               ("http://127.0.0.1:%d/records?page=2" % free_port(), "leads to another origin"),
                               ("http://169.254.169.254/latest/meta-data/", "leads to another origin (http://169.254.169.254:80)"),
                               ("http://user:pw@127.0.0.1:%d/x" % self.api.port, "carries a user name or password"),
                               ("gopher://127.0.0.1/x", "is not an http or https URL")):
            self.api.link = target
            result, out = self.eval_json(self.config(json_feed(self.api.url())))
            self.assertEqual(result.returncode, 1, target)
            self.assertIn("json_http feed 'referrals': page 1: its rel=\"next\" link", result.stderr)
            self.assertIn(reason, result.stderr)
        self.api.mode = "redirect"
        self.api.link = other.url("/records?page=1")
        result, out = self.eval_json(self.config(json_feed(self.api.url())))
        self.assertIn("json_http feed 'referrals': page 1: HTTP 302", result.stderr)
        self.assertEqual(other.requests, [])
        # An origin the config names is followed, with the token.
        self.api.mode = "link"
        self.api.link = other.url("/records?page=2")
        other.mode, other.offset = "ok", 100
        result, out = self.eval_json(self.config(json_feed(self.api.url(), 'allowed_origins = ["http://127.0.0.2:%d"]' % other.port)))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(other.requests[0]["authorization"], "Bearer api-token-value")

    def test_https_never_links_down_to_http(self):
        secure = HostileApi(tls_dir=self.dir)
        self.addCleanup(secure.stop)
        secure.mode = "link"
        secure.link = self.api.url("/records?page=2")  # the same host, in clear
        feeds = json_feed(secure.url(), 'ca_file = "api-ca.pem"\nallowed_origins = ["http://127.0.0.1:%d"]' % self.api.port)
        result, out = self.eval_json(self.config(feeds))
        self.assertEqual(result.returncode, 1)
        self.assertIn("its rel=\"next\" link goes from https to http (http://127.0.0.1:%d): refused, the credentials "
                      "would travel in clear" % self.api.port, result.stderr)
        self.assertEqual(self.api.requests, [])

    def eval_usage(self, config):
        """eval under a small Python of its own: its exit code, its stderr and its peak RSS in KiB.

        A child forked from this test process would report the test's own RSS as its peak (Linux keeps the
        high-water mark across exec), so a fresh interpreter forks it and reads wait4's figure."""
        measure = ("import os, sys\n"
                   "pid = os.fork()\n"
                   "if pid == 0:\n"
                   "    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)\n"
                   "    os.execv(sys.argv[1], sys.argv[1:])\n"
                   "_, status, usage = os.wait4(pid, 0)\n"
                   "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss, file=open(sys.argv[0] + '.out', 'w'))\n")
        script = os.path.join(self.dir, "measure.py")
        with open(script, "w") as f:
            f.write(measure)
        result = subprocess.run([sys.executable, script, BINARY, "eval", "-c", config, "--at", AS_OF],
                                capture_output=True, text=True, timeout=120)
        code, peak = map(int, self.read("measure.py.out").split())
        return code, result.stderr, peak

    def test_a_nesting_bomb_is_refused_in_little_memory(self):
        config = self.config(json_feed(self.api.url()))
        code, err, baseline = self.eval_usage(config)  # the same eval of a page of three records
        self.assertEqual(code, 0, err)
        self.api.mode = "nesting"
        code, err, bomb = self.eval_usage(config)
        self.assertEqual(code, 1)
        self.assertIn("json_http feed 'referrals': page 1: the JSON nests deeper than 64 levels", err)
        # The page decodes to 20 MB of '[' and costs a bounded buffer: libcurl, while the transfer is
        # paused, holds what one network read decodes to (a 200 MB bomb measured the same, 32 MB).
        if not SANITIZED:
            self.assertLess(bomb - baseline, 40 * 1024, (baseline, bomb))

    def test_a_page_of_blanks_is_read_in_little_memory(self):
        config = self.config(json_feed(self.api.url()))
        code, err, baseline = self.eval_usage(config)
        self.assertEqual(code, 0, err)
        self.api.mode = "whitespace"
        code, err, blanks = self.eval_usage(config)
        self.assertEqual(code, 0, err)  # blanks are JSON: the page is read, its three records kept
        if not SANITIZED:
            self.assertLess(blanks - baseline, 40 * 1024, (baseline, blanks))

    def test_a_header_too_long_for_libcurl_is_named_as_one(self):
        self.api.mode = "huge_header"
        result, out = self.eval_json(self.config(json_feed(self.api.url())))
        self.assertEqual(result.returncode, 1)
        self.assertIn("json_http feed 'referrals': page 1: a response header is longer than 100 KB: refused", result.stderr)

    def test_the_next_link_is_found_among_any_number_of_link_headers(self):
        self.api.mode = "many_links"
        result, out = self.eval_json(self.config(json_feed(self.api.url())))
        self.assertEqual(result.returncode, 0, result.stderr)
        keys = {a["key"] for a in out["alerts"] if a["rule"] == "referral_timescale"}
        self.assertEqual(keys, {"R00000", "R00001", "R00002", "R00100", "R00101", "R00102"})

    def test_a_stalled_first_load_shows_as_loading_and_a_reload_with_new_limits_restarts_it(self):
        self.api.delay = 60  # every request stalls
        self.config(json_feed(self.api.url(), 'load_timeout = "1h"').replace('timeout = "10s"', 'timeout = "2m"'), interval="1s")
        d = self.daemon(at=None, ready=False)
        wait_until(lambda: self.feeds(d)["referrals"]["loading_since"] is not None, 10, "the first load to show")
        ready = d.get("/-/ready")
        self.assertEqual(ready.status, 503)
        self.assertIn("It waits for the first load of: referrals", ready.body)
        self.assertRegex(d.get("/metrics").body, r'casewatch_feed_load_started_timestamp_seconds\{feed="referrals"\} [1-9]')
        # A reload meanwhile (the same feed, a shorter load_timeout) neither ends the wait nor
        # raises an alert with no reason; the load under way is stopped, one with the new limit runs.
        self.write("casewatch.toml", self.read("casewatch.toml").replace('load_timeout = "1h"', 'load_timeout = "3s"'))
        d.process.send_signal(signal.SIGHUP)
        wait_until(lambda: "configuration reloaded" in d.log(), 5, "the reload")
        self.assertEqual(d.get("/-/ready").status, 503)
        self.assertNotIn(("casewatch_feed_unhealthy", "referrals"), d.alerts())
        wait_until(lambda: d.get("/-/ready").status == 200, 10, "the new load's deadline")
        self.assertEqual(self.feeds(d)["referrals"]["last_error"],
                         "json_http feed 'referrals': the load did not finish within load_timeout (3s)")
        alert = d.alerts()[("casewatch_feed_unhealthy", "referrals")]
        self.assertIn("within load_timeout (3s)", alert["annotations"]["summary"])
        self.assertEqual(d.stop(), 0)

    def test_text_is_read_the_same_however_the_page_is_cut(self):
        # As a CSV cell's: a byte that is not UTF-8 and a \\u escape of half a surrogate pair become
        # U+FFFD, in whatever pieces they arrive; everything else is read as written.
        teams = [(b"Bad\x81\x8dByte", "Bad\ufffd\ufffdByte"), ("\u00c9quipe \U0001f600".encode(), "\u00c9quipe \U0001f600"),
                 (b"\\ud800 lone", "\ufffd lone"), (b"low \\udc00", "low \ufffd"), (b"\\ud83d\\ude00 pair", "\U0001f600 pair"),
                 (b'quote \\" and \\\\ slash \\u0041', 'quote " and \\ slash A'), (b"Caf\xc3", "Caf\ufffd"),
                 (b"\\ud800\\u0041", "\ufffdA")]
        records = b",".join(b'{"id": "R%d",  \n\t "referred": "2017-05-02", "authorised": null, "team": "%s"}' % (i, raw)
                            for i, (raw, _) in enumerate(teams))
        self.api.mode = "raw"
        self.api.raw = b'{"items":   [' + records + b"]}" + b" \n" * 100
        config = self.config(json_feed(self.api.url()))
        for step in (0, 1, 2, 3, 5, 7, 11):
            self.api.step = step
            result, out = self.eval_json(config)
            self.assertEqual(result.returncode, 0, (step, result.stderr))
            read = sorted(a["labels"]["team"] for a in out["alerts"] if a["rule"] == "referral_timescale")
            self.assertEqual(read, sorted(team for _, team in teams), step)

    def test_the_same_pages_again_are_not_fresh_and_a_future_date_is_unknown(self):
        self.api.mode = "static"
        self.config(json_feed(self.api.url(), 'refresh = "1h"\nmax_age = "26h"\nmax_rejected_ratio = 0.5'))
        d = self.daemon()
        first = self.feeds(d)["referrals"]
        self.assertTrue(first["up"])
        self.assertIsNone(first["source_time"])  # Last-Modified in 2098 counts as unknown
        in_the_future = lambda: len([line for line in d.log().splitlines()
                                     if "modification time is in the future" in line and "feed=referrals" in line])
        self.assertEqual(in_the_future(), 1)
        for hour in range(27):
            d.advance(3600)  # read again every hour: the same content in other pieces
        feed = self.feeds(d)["referrals"]
        self.assertGreater(len(self.api.requests), 20)
        self.assertTrue(feed["stale"])
        self.assertFalse(feed["up"])
        self.assertEqual(feed["last_success"], first["last_success"])
        self.assertEqual(in_the_future(), 1)  # logged once
        # Its one rejected row counted once, however often the same content was read.
        self.assertIn('casewatch_feed_rows_rejected_total{feed="referrals"} 1\n', d.get("/metrics").body)

    def test_eval_and_probe_are_bounded_by_load_timeout_too(self):
        silent = SilentPort()
        self.addCleanup(silent.close)
        config = self.config(json_feed("http://127.0.0.1:%d/records" % silent.port, 'load_timeout = "2s"').replace('timeout = "10s"', 'timeout = "1m"'))
        for args in (("eval", "-c", config, "--at", AS_OF), ("check", "-c", config, "--probe")):
            started = time.monotonic()
            result = self.casewatch(*args, timeout=30)
            self.assertEqual(result.returncode, 1)
            self.assertIn("the load did not finish within load_timeout (2s)", result.stderr)
            self.assertLess(time.monotonic() - started, 15)


class PostgresFaults(FaultTest):
    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres()
        cls.pg.sql("CREATE ROLE reader LOGIN PASSWORD 'reader-secret'; CREATE DATABASE council;")
        rows = ",".join("('R%03d', DATE '2017-05-%02d', NULL, 'Assessment')" % (i, 1 + i % 28) for i in range(40))
        cls.pg.sql("""
CREATE TABLE referrals (id text, referred date, authorised date, team text);
INSERT INTO referrals VALUES %s;
CREATE TABLE settings (delay float);
INSERT INTO settings VALUES (0);
-- Each row waits settings.delay seconds: a source that streams as slowly as it is told.
CREATE FUNCTION nap(t text) RETURNS text LANGUAGE sql VOLATILE AS $$ SELECT pg_sleep((SELECT delay FROM settings)); SELECT t $$;
CREATE TABLE escape_probe (v text);
-- A NOTICE and an error that quote a row, as a view's or a function's own code may.
CREATE FUNCTION noisy(t text) RETURNS text LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'row %% seen', t; RETURN t; END $$;
CREATE FUNCTION boom(t text) RETURNS text LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'bad row %%', t; END $$;
-- The same, with the SQLSTATE of a data error, an internal one and a missing relation.
CREATE FUNCTION boom_as(t text, code text) RETURNS text LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'child %% of 12 Acacia Road', t USING ERRCODE = code; END $$;
GRANT SELECT ON referrals, settings TO reader;
""" % rows, database="council")

    @classmethod
    def tearDownClass(cls):
        cls.pg.stop()

    def pg_feed(self, extra="", query='SELECT nap(id) AS id, referred, authorised, team FROM referrals'):
        self.write("referrals.dsn", self.pg.dsn("reader", "reader-secret", "council"))
        return """
[[feed]]
name = "referrals"
type = "postgres"
dsn_file = "referrals.dsn"
query = %s
key = "referral_id"
%s
""" % (json.dumps(query), extra) + REFERRAL_FIELDS

    def backend(self):
        out = self.pg.sql("SELECT pid FROM pg_stat_activity WHERE application_name = 'casewatch' AND state = 'active' "
                          "AND query LIKE 'COPY%';", database="council")
        pids = [int(p) for p in re.findall(r"^\s*(\d+)\s*$", out, re.M)]
        return pids[0] if pids else None

    def set_delay(self, seconds):
        self.pg.sql("UPDATE settings SET delay = %s;" % seconds, database="council")

    def test_a_backend_paused_mid_copy_stops_nothing_else(self):
        self.set_delay(0)
        self.config(self.pg_feed('refresh = "2s"\nload_timeout = "4s"\ntimeout = "60s"'), interval="1s")
        d = self.daemon(at=None)
        self.assertTrue(self.feeds(d)["referrals"]["up"])
        self.assertIn(("referral_timescale", "R000"), d.alerts())
        # The next load streams slowly; once it is copying, its backend is stopped dead.
        self.set_delay(0.3)
        paused = []
        wait_until(lambda: self.backend() is not None, 15, "the copy to start")
        pid = self.backend()
        os.kill(pid, signal.SIGSTOP)
        paused.append(pid)
        self.addCleanup(lambda: [os.kill(p, signal.SIGCONT) for p in paused])
        # Everything else goes on.
        os.remove(os.path.join(self.dir, "caseloads.csv"))
        wait_until(lambda: not self.feeds(d)["caseloads"]["up"], 3, "the deleted file to show down")
        self.assertEqual(d.get("/-/ready").status, 200)
        rounds = d.get("/api/v1/rules").json()["rules"][0]["last_evaluation"]
        wait_until(lambda: d.get("/api/v1/rules").json()["rules"][0]["last_evaluation"] != rounds, 5, "another round")
        # The feed in trouble is down with its reason at its deadline; its alerts stay.
        wait_until(lambda: not self.feeds(d)["referrals"]["up"], 10, "the stalled load's deadline")
        self.assertEqual(self.feeds(d)["referrals"]["last_error"],
                         "postgres feed 'referrals': the load did not finish within load_timeout (4s)")
        self.assertIn('casewatch_feed_load_started_timestamp_seconds{feed="referrals"}', d.get("/metrics").body)
        alerts = d.alerts()
        self.assertIn(("referral_timescale", "R000"), alerts)
        self.assertIn(("casewatch_feed_unhealthy", "referrals"), alerts)
        # SIGTERM with a load under way (the next one, its own backend sleeping): exit 0 in time.
        wait_until(lambda: self.feeds(d)["referrals"]["loading_since"] is not None, 10, "the next load")
        started = time.monotonic()
        self.assertEqual(d.stop(), 0)
        self.assertLess(time.monotonic() - started, 10)

    def test_a_connection_string_never_reaches_an_output(self):
        secret = "Sup3r%zzSecretPw"
        for dsn in ("postgresql://casewatch:%s@127.0.0.1:%d/council" % (secret, self.pg.port),
                    "postgresql://casewatch:%s@[127.0.0.1/council" % secret.replace("%zz", ""),
                    "host=127.0.0.1 port=%d user=reader password=%s dbname=council sslmode=disable" % (self.pg.port, secret)):
            self.config(self.pg_feed())
            self.write("referrals.dsn", dsn + "\n")
            result, out = self.eval_json(os.path.join(self.dir, "casewatch.toml"))
            self.assertEqual(result.returncode, 1)
            self.assertIn("postgres feed 'referrals': ", result.stderr)
            plain = secret.replace("%zz", "")
            for text in (result.stderr, result.stdout):
                self.assertNotIn(secret, text)
                self.assertNotIn(plain, text)
                self.assertNotIn("Sup3r", text)

    def test_what_the_server_says_about_rows_stays_out_of_every_output(self):
        self.set_delay(0)
        result, out = self.eval_json(self.config(self.pg_feed(
            query="SELECT noisy(id) AS id, referred, authorised, team FROM referrals")))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn("seen", result.stderr)  # a NOTICE goes nowhere
        result, out = self.eval_json(self.config(self.pg_feed(
            query="SELECT boom(id) AS id, referred, authorised, team FROM referrals")))
        self.assertEqual(result.returncode, 1)
        self.assertIn("the query failed: an error raised by the query's own code, its text left out (SQLSTATE P0001)",
                      result.stderr)
        self.assertNotIn("R0", result.stderr)
        for code in ("22023", "XX000", "42P01", "08006"):  # raised by the query's code: whatever it chose
            result, out = self.eval_json(self.config(self.pg_feed(
                query="SELECT boom_as(id, '%s') AS id, referred, authorised, team FROM referrals" % code)))
            self.assertEqual(result.returncode, 1)
            self.assertIn("an error raised by the query's own code, its text left out (SQLSTATE %s)" % code, result.stderr)
            self.assertNotIn("Acacia", result.stderr)
        # A built-in data error quotes the value bare.
        result, out = self.eval_json(self.config(self.pg_feed(
            query="SELECT id, (id || '-02-31')::date AS referred, authorised, team FROM referrals")))
        self.assertEqual(result.returncode, 1)
        self.assertIn("the query failed: a data error, its text left out as it may quote a row (SQLSTATE 22", result.stderr)
        self.assertNotIn("R0", result.stderr)
        result, out = self.eval_json(self.config(self.pg_feed(
            query="SELECT id::regclass::text AS id, referred, authorised, team FROM referrals")))
        self.assertEqual(result.returncode, 1)
        self.assertIn('the query failed: relation "..." does not exist (SQLSTATE 42P01)', result.stderr)
        self.assertNotIn("R0", result.stderr)

    def test_secrets_of_any_shape_are_redacted_and_the_load_ends(self):
        # A password that is part of "[redacted]", and one with a quote that ends libpq's parse.
        for dsn, secret in (("host=127.0.0.1 port=%d user=reader password=red dbname=council" % self.pg.port, None),
                            ('postgresql://reader:pa"ss-word-9@127.0.0.1:%d/council' % self.pg.port, 'ss-word-9')):
            self.config(self.pg_feed())
            self.write("referrals.dsn", dsn + "\n")
            result, out = self.eval_json(os.path.join(self.dir, "casewatch.toml"))  # within the run's timeout
            self.assertEqual(result.returncode, 1)
            self.assertIn("postgres feed 'referrals': ", result.stderr)
            if secret:
                self.assertNotIn(secret, result.stderr + result.stdout)
        self.write("referrals.dsn", "\nhost=127.0.0.1 port=%d user=reader password=reader-secret dbname=council\n" % self.pg.port)
        result, out = self.eval_json(os.path.join(self.dir, "casewatch.toml"))
        self.assertIn("referrals.dsn: its first line is empty: no connection string", result.stderr)

    def test_a_host_that_never_answers_fails_over_to_the_next(self):
        self.set_delay(0)
        silent = SilentPort()
        self.addCleanup(silent.close)
        self.config(self.pg_feed('timeout = "2s"'))
        self.write("referrals.dsn", "host=127.0.0.1,127.0.0.1 port=%d,%d user=reader password=reader-secret dbname=council\n"
                   % (silent.port, self.pg.port))
        result, out = self.eval_json(os.path.join(self.dir, "casewatch.toml"))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(len([a for a in out["alerts"] if a["rule"] == "referral_timescale"]), 40)

    def test_rows_are_numbered_as_the_database_returns_them(self):
        query = ("SELECT * FROM (VALUES ('M1', DATE '2017-05-01', NULL::date, E'two\\nlines'), "
                 "('M2', DATE '2017-05-02', NULL, 'T'), ('M3', NULL, DATE '1850-01-01', 'T')) v(id, referred, authorised, team)")
        result, out = self.eval_json(self.config(self.pg_feed('max_rejected_ratio = 0.5', query=query)))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("postgres feed 'referrals':3: row rejected", result.stderr)

    def test_the_query_is_checked_as_the_server_will_run_it(self):
        self.set_delay(0)
        escape = os.path.join(self.pg.dir, "escaped.csv")
        config = self.config(self.pg_feed(query="SELECT * FROM referrals) TO '%s' --" % escape))
        checked = self.casewatch("check", "-c", config)
        self.assertEqual(checked.returncode, 1)
        self.assertIn("'query' has a ')' that closes no '('", checked.stderr)
        # A trailing comment: accepted by check, by the probe and by eval alike.
        config = self.config(self.pg_feed(query="SELECT * FROM referrals -- every referral"))
        self.assertEqual(self.casewatch("check", "-c", config).returncode, 0)
        probe = self.casewatch("check", "-c", config, "--probe")
        self.assertEqual(probe.returncode, 0, probe.stderr)
        result, out = self.eval_json(config)
        self.assertEqual(result.returncode, 0, result.stderr)
        # The source's own defence, where check is bypassed: as a superuser, who could write files.
        env = dict(os.environ, CASEWATCH_TEST_POSTGRES_DSN=self.pg.dsn("postgres", "superuser-secret", "council"),
                   CASEWATCH_TEST_POSTGRES_DIR=self.pg.dir)
        live = subprocess.run([TESTS_BINARY, "--gtest_filter=PostgresLive.*"], capture_output=True, text=True, env=env,
                              timeout=120)
        self.assertEqual(live.returncode, 0, live.stdout + live.stderr)
        self.assertIn("[  PASSED  ] 4 tests.", live.stdout)
        self.assertFalse(os.path.exists(escape))


class CsvFaults(FaultTest):
    def test_a_fifo_is_named_as_one_and_does_not_block(self):
        self.config("")
        os.remove(os.path.join(self.dir, "caseloads.csv"))
        os.mkfifo(os.path.join(self.dir, "caseloads.csv"))
        result = self.casewatch("eval", "-c", os.path.join(self.dir, "casewatch.toml"), "--at", AS_OF, timeout=30)
        self.assertEqual(result.returncode, 1)
        self.assertIn("caseloads.csv: a named pipe (FIFO), not a regular file", result.stderr)

    def test_a_file_with_no_line_breaks_is_refused(self):
        self.config("")
        with open(os.path.join(self.dir, "caseloads.csv"), "w") as f:
            f.write("Worker,Team,Cases\n" + "x" * (70 << 20))
        result = self.casewatch("eval", "-c", os.path.join(self.dir, "casewatch.toml"), "--at", AS_OF, timeout=120)
        self.assertEqual(result.returncode, 1)
        self.assertIn("line 2: a row longer than 64 MiB (no line end where one was expected)", result.stderr)

    def test_a_row_of_commas_is_rejected_alone(self):
        self.config("")
        self.write("caseloads.csv", CASELOADS_CSV + "W3,MASH," + "," * 50_000 + "\nW4,MASH,30\n")
        result, out = self.eval_json(os.path.join(self.dir, "casewatch.toml"))
        self.assertEqual(result.returncode, 1)  # one of three rows rejected: over max_rejected_ratio
        self.assertIn("caseloads.csv:4: row rejected: more than 10000 fields", result.stderr)

    def test_a_restart_keeps_the_last_count_so_a_cut_extract_is_still_refused(self):
        self.config("", extra="")
        self.write("caseloads.csv", "Worker,Team,Cases\n" + "".join("W%d,Assessment,%d\n" % (i, 20 + i) for i in range(40)))
        d = self.daemon()
        self.assertEqual(self.feeds(d)["caseloads"]["records"], 40)
        self.assertEqual(d.stop(), 0)
        self.write("caseloads.csv", "Worker,Team,Cases\n" + "".join("W%d,Assessment,%d\n" % (i, 20 + i) for i in range(4)))
        d = self.daemon()
        feed = self.feeds(d)["caseloads"]
        self.assertFalse(feed["up"])
        self.assertEqual(feed["last_error"], "4 records, down from 40: shrank by more than max_shrink_ratio 0.1")
        self.assertIn(("caseload_high", "W30"), d.alerts())  # the alerts of the records it lost stay

    def test_a_future_modification_time_is_unknown_so_the_feed_still_goes_stale(self):
        self.config("")
        text = self.read("casewatch.toml").replace(
            'key = "worker"', 'key = "worker"\nmax_age = "26h"')
        self.write("casewatch.toml", text)
        future = time.mktime((2098, 1, 1, 0, 0, 0, 0, 0, 0))
        os.utime(os.path.join(self.dir, "caseloads.csv"), (future, future))
        d = self.daemon()
        self.assertTrue(self.feeds(d)["caseloads"]["up"])
        self.assertIsNone(self.feeds(d)["caseloads"]["source_time"])
        d.advance(27 * 3600)
        feed = self.feeds(d)["caseloads"]
        self.assertTrue(feed["stale"])
        self.assertIn(("casewatch_feed_unhealthy", "caseloads"), d.alerts())

    def test_a_modification_time_before_2000_is_unknown_too(self):
        self.config("")
        os.utime(os.path.join(self.dir, "caseloads.csv"), (1, 1))  # a copy that lost its time
        d = self.daemon()
        self.assertTrue(self.feeds(d)["caseloads"]["up"])
        self.assertIsNone(self.feeds(d)["caseloads"]["source_time"])
        self.assertIn("the source's modification time is before 2000", d.log())

    def test_a_rejected_row_keeps_its_record_present_and_its_alert_held(self):
        header = "id,referred,authorised,team\n"
        self.write("referrals.csv", header + "R1,2017-05-01,,Assessment\nR2,2017-05-02,,Assessment\n")
        feed = """
[[feed]]
name = "referrals"
path = "referrals.csv"
key = "referral_id"
date_format = "%d/%m/%Y"
max_rejected_ratio = 0.5
max_shrink_ratio = 0.9
""" + REFERRAL_FIELDS
        self.config(feed, extra="""
[[receiver]]
name = "log"
type = "file"
path = "notifications.jsonl"
[[route]]
receiver = "log"
group_wait = "0s"
group_interval = "1m"
""")
        d = self.daemon()
        self.assertIn(("referral_timescale", "R1"), d.alerts())
        # R1's authorised date is a placeholder outside engine.valid_dates: the row is rejected.
        self.write("referrals.csv", header + "R1,2017-05-01,01/01/1900,Assessment\nR2,2017-05-02,,Assessment\n")
        d.advance(60)
        held = d.alerts()[("referral_timescale", "R1")]
        self.assertIsNotNone(held["rejected_since"])
        self.assertIsNone(held["missing_since"])
        for _ in range(30):  # past resolve_missing_after (26h): still held, never resolved
            d.advance(3600)
        held = d.alerts()[("referral_timescale", "R1")]
        self.assertIsNotNone(held["rejected_since"])
        page = d.get("/alerts/" + held["fingerprint"]).body
        self.assertIn("its record's latest row was rejected", page)
        self.assertIn("held: its latest row was rejected", d.get("/team?name=Assessment").body)
        with open(os.path.join(self.dir, "notifications.jsonl")) as f:
            resolved = [a for line in f for a in json.loads(line)["alerts"] if a["status"] == "resolved"]
        self.assertEqual([a["key"] for a in resolved], [])
        # The row readable again with a real date: done, resolved.
        self.write("referrals.csv", header + "R1,2017-05-01,02/05/2017,Assessment\nR2,2017-05-02,,Assessment\n")
        d.advance(60)
        self.assertNotIn(("referral_timescale", "R1"), d.alerts())
        # A record that really leaves the extract is missing, not held.
        self.write("referrals.csv", header + "R1,2017-05-01,02/05/2017,Assessment\n")
        d.advance(60)
        gone = d.alerts()[("referral_timescale", "R2")]
        self.assertIsNotNone(gone["missing_since"])
        self.assertIsNone(gone["rejected_since"])


class EveryOutput(FaultTest):
    """Every byte 0x80-0xFF through every output, and a secret in every secret file kept out of
    all of them."""

    def test_every_high_byte_becomes_valid_utf8_in_every_output(self):
        smtp = SmtpSink()
        self.addCleanup(smtp.stop)
        hook = WebhookSink()
        self.addCleanup(hook.stop)
        # Each a lone byte that cannot start or continue a UTF-8 sequence here: one U+FFFD each.
        rows = "".join("W%d%s,Bad%sByte,%d\n" % (b, chr(b), chr(b), 21 + b % 3) for b in range(0x80, 0x100))
        self.write("caseloads.csv", ("Worker,Team,Cases\n" + rows).encode("latin-1"), mode="wb")
        rules = CASELOAD_RULE.replace('labels = { team = "{{ team }}" }',
                                      'labels = { team = "{{ team }}" }\nmetric_labels = ["team"]\n'
                                      'annotations = { summary = "{{ worker }} of {{ team }} has {{ cases }} cases" }') + """
[[rule]]
name = "team_caseload"
kind = "aggregate"
feed = "caseloads"
group_by = ["team"]
value = "sum(cases)"
export = true
when = "value > 0"
"""
        extra = """
[[receiver]]
name = "log"
type = "file"
path = "notifications.jsonl"
[[receiver]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:%d/hook"
[[receiver]]
name = "mail"
type = "email"
smtp_url = "smtp://127.0.0.1:%d"
from = "casewatch@council.example"
to = "team@council.example"
[[route]]
receiver = "log"
group_by = ["alertname", "team"]
group_wait = "0s"
continue = true
[[route]]
receiver = "hook"
group_by = ["alertname", "team"]
group_wait = "0s"
continue = true
[[route]]
receiver = "mail"
group_by = ["alertname", "team"]
group_wait = "0s"
""" % (hook.port, smtp.port)
        config = self.config("", extra=extra, rules=rules)
        # eval: JSON and table
        result = subprocess.run([BINARY, "eval", "-c", config, "--at", AS_OF, "--format", "json"], capture_output=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        out = json.loads(result.stdout.decode("utf-8"))
        self.assertEqual(len([a for a in out["alerts"] if a["rule"] == "caseload_high"]), 128)
        self.assertEqual({v["group"]["team"] for v in out["values"]}, {"Bad\ufffdByte"})
        table = subprocess.run([BINARY, "eval", "-c", config, "--at", AS_OF], capture_output=True)
        table.stdout.decode("utf-8")
        # the daemon: API, metrics (through promtool), pages, notifications, logs; and a restart
        # from the state it wrote (the crash loop was at start)
        for attempt in range(2):
            d = self.daemon()
            d.advance(60)
            alerts = request(d.url("/api/v1/alerts"))
            json.loads(alerts.body)
            metrics = d.get("/metrics").body
            check = subprocess.run([PROMTOOL, "check", "metrics"], input=metrics.encode("utf-8"), capture_output=True)
            self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
            self.assertIn('team="Bad\ufffdByte"', metrics)
            for path in ("/", "/team?name=" + urllib.parse.quote("Bad\ufffdByte"), "/api/v1/feeds", "/api/v1/rules"):
                self.assertEqual(d.get(path).status, 200, path)
            self.assertEqual(d.stop(), 0)
        with open(os.path.join(self.dir, "notifications.jsonl"), "rb") as f:
            for line in f:
                json.loads(line.decode("utf-8"))
        wait_until(lambda: len(hook.accepted()) > 0 and len(smtp.messages) > 0, 20, "the webhook and the email")
        for r in hook.requests:
            json.dumps(r["body"], ensure_ascii=False).encode("utf-8")
        for m in smtp.messages:
            self.assertIn("Bad\ufffdByte", m["message"].get_body(("plain",)).get_content())
            self.assertIn("Bad\ufffdByte", m["message"].get_body(("html",)).get_content())
        with open(os.path.join(self.dir, "stderr.log"), "rb") as f:
            f.read().decode("utf-8")

    def test_no_secret_reaches_any_output(self):
        secrets = {name: "planted-%s-%s" % (name, os.urandom(6).hex()) for name in
                   ("dsn", "uri", "token", "header", "query", "webhook", "smtp", "admin")}
        silent = SilentPort()
        self.addCleanup(silent.close)
        refused = free_port()
        self.write("bad.dsn", "postgresql://casewatch:%s%%zz@127.0.0.1:%d/council\n" % (secrets["dsn"], refused))
        self.write("uri.dsn", "postgresql://casewatch:%s@[127.0.0.1:%d/council\n" % (secrets["uri"], refused))
        self.write("api-token", secrets["token"] + "\n")
        self.write("api-header", secrets["header"] + "\n")
        self.write("webhook-url", "http://127.0.0.1:%d/hooks/%s\n" % (refused, secrets["webhook"]))
        self.write("smtp-password", secrets["smtp"] + "\n")
        self.write("admin-token", secrets["admin"] + "\n")
        feeds = ""
        for name, dsn in (("bad_dsn", "bad.dsn"), ("bad_uri", "uri.dsn")):
            feeds += """
[[feed]]
name = "%s"
type = "postgres"
dsn_file = "%s"
query = "SELECT * FROM referrals"
key = "referral_id"
""" % (name, dsn) + REFERRAL_FIELDS
        feeds += """
[[feed]]
name = "api"
type = "json_http"
url = "http://127.0.0.1:%d/records?api_key=%s"
bearer_token_file = "api-token"
headers = { "X-Api-Key" = { file = "api-header" } }
key = "referral_id"
records = "/items"
load_timeout = "2s"
""" % (silent.port, secrets["query"]) + REFERRAL_FIELDS
        extra = """
[server]
auth_token_file = "admin-token"
[[receiver]]
name = "log"
type = "file"
path = "notifications.jsonl"
[[receiver]]
name = "hook"
type = "webhook"
url_file = "webhook-url"
max_attempts = 2
[[receiver]]
name = "mail"
type = "email"
smtp_url = "smtp://127.0.0.1:%d"
username = "casewatch"
password_file = "smtp-password"
from = "casewatch@council.example"
to = "team@council.example"
max_attempts = 2
[[route]]
receiver = "log"
group_wait = "0s"
continue = true
[[route]]
receiver = "hook"
group_wait = "0s"
continue = true
[[route]]
receiver = "mail"
group_wait = "0s"
""" % refused
        smtp = SmtpSink()  # no STARTTLS: with a username, casewatch will not send the password
        self.addCleanup(smtp.stop)
        extra = extra.replace('smtp_url = "smtp://127.0.0.1:%d"' % refused, 'smtp_url = "smtp://127.0.0.1:%d"' % smtp.port)
        config = self.config(feeds, extra=extra, rules=REFERRAL_RULE.replace('feed = "referrals"', 'feed = "api"') + CASELOAD_RULE)
        outputs = []
        for args in (("check", "-c", config), ("check", "-c", config, "--probe"),
                     ("eval", "-c", config, "--at", AS_OF, "--format", "json"), ("eval", "-c", config, "--at", AS_OF)):
            r = self.casewatch(*args, timeout=60)
            outputs.append(" ".join(args[:1]) + ":\n" + r.stdout + r.stderr)
        d = self.daemon(extra=("--log-level", "trace"), token=secrets["admin"])
        for _ in range(3):
            d.advance(120)  # deliveries fail and are retried
        for path in ("/api/v1/feeds", "/api/v1/alerts", "/api/v1/rules", "/metrics", "/-/ready", "/",
                     "/team?name=Assessment"):
            outputs.append(path + ":\n" + d.get(path).body)
        feeds_now = self.feeds_with_token(d)
        self.assertFalse(feeds_now["bad_dsn"]["up"])
        self.assertIn("the connection string in its dsn_file cannot be parsed", feeds_now["bad_dsn"]["last_error"])
        self.assertFalse(feeds_now["bad_uri"]["up"])
        self.assertFalse(feeds_now["api"]["up"])
        self.assertEqual(d.stop(), 0)
        outputs.append("log:\n" + self.read("stderr.log"))
        outputs.append("notifications:\n" + self.read("notifications.jsonl"))
        with open(os.path.join(self.dir, "state", "casewatch.db"), "rb") as f:
            outputs.append("state:\n" + f.read().decode("latin-1"))
        everything = "\n".join(outputs)
        self.assertIn("casewatch_feed_unhealthy", everything)  # the outputs were really read
        for name, secret in secrets.items():
            self.assertNotIn(secret, everything, name)

    def feeds_with_token(self, d):
        return {f["name"]: f for f in d.get("/api/v1/feeds").json()["feeds"]}


if __name__ == "__main__":
    unittest.main()
