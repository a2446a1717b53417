"""Starts real casewatch processes on loopback for the integration tests.

Time is driven by the daemon's manual test clock (--test-clock, POST /-/test/advance), so no
test sleeps to wait for a timer. Every process is started with port 0 and reports the port it
bound on stdout.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

BINARY = os.environ.get("CASEWATCH_BINARY", "build/casewatch")


# The assessments extract most integration tests read: its [[feed]] (append it to a config) and
# its CSV.
ASSESSMENTS_FEED = """
[[feed]]
name = "assessments"
path = "data/assessments.csv"
key = "assessment_id"
date_format = "%d/%m/%Y"
[feed.fields]
assessment_id = { column = "Assessment ID" }
referral_date = { column = "Date of referral", type = "date" }
authorised = { column = "Date of authorisation", type = "date" }
team = { column = "Allocated Team" }
"""
ASSESSMENTS_HEADER = "Assessment ID,Date of referral,Date of authorisation,Allocated Team\n"


def assessments_csv(rows):
    return ASSESSMENTS_HEADER + "".join(r + "\n" for r in rows)


def chromium(testcase, authorization, window="1100,1400"):
    """Headless Chromium through Debian's chromedriver, sending `authorization` (an Authorization
    header value) with every request as a browser does once signed in; quit by the test's cleanup."""
    driver_path = shutil.which("chromedriver")
    if not driver_path:
        testcase.fail("chromedriver not installed (scripts/setup.sh installs Debian's chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    profile = tempfile.mkdtemp(prefix="casewatch-chromium-")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=" + window, "--user-data-dir=" + profile):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    testcase.addCleanup(lambda: (driver.quit(), shutil.rmtree(profile, ignore_errors=True)))
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Authorization": authorization}})
    return driver


class Response:
    def __init__(self, status, body, headers):
        self.status = status
        self.body = body
        self.headers = headers

    def json(self):
        return json.loads(self.body)


def request(url, method="GET", body=None, token=None, headers=None, context=None):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, method=method)
    if data is None and method in ("POST", "PUT", "DELETE"):
        req.data = b""
    if token:
        req.add_header("Authorization", "Bearer " + token)
    for name, value in (headers or {}).items():
        req.add_header(name, value)
    try:
        with urllib.request.urlopen(req, timeout=30, context=context) as resp:
            return Response(resp.status, resp.read().decode(), dict(resp.headers))
    except urllib.error.HTTPError as err:
        return Response(err.code, err.read().decode(), dict(err.headers))


class Deployment:
    """A folder with a config, rules and data, and the daemon running on it."""

    def __init__(self, config_text, rules, data, token=None):
        self.dir = tempfile.mkdtemp(prefix="casewatch-it-")
        os.makedirs(os.path.join(self.dir, "rules"))
        os.makedirs(os.path.join(self.dir, "data"))
        self.token = token
        if token:
            with open(os.path.join(self.dir, "api-token"), "w") as f:
                f.write(token + "\n")
        self.write("casewatch.toml", config_text)
        for name, text in rules.items():
            self.write(os.path.join("rules", name), text)
        for name, text in data.items():
            self.write(os.path.join("data", name), text)
        self.process = None
        self.port = None
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self.scheme = "http"
        self.context = None  # an ssl.SSLContext when the daemon serves TLS

    def write(self, relative, text):
        path = os.path.join(self.dir, relative)
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)  # as an extract job would: never half a file

    def start(self, at="2017-06-14", extra=(), ready=True):
        """Starts the daemon on the manual test clock at `at`, or on the real clock when `at` is None
        (then its timers run: feeds are polled every second); waits for /-/ready unless not `ready`."""
        clock = ["--test-clock", at] if at else []
        with open(self.stderr_path, "a") as stderr:
            self.process = subprocess.Popen(
                [BINARY, "run", "-c", os.path.join(self.dir, "casewatch.toml"), "--listen", "127.0.0.1:0",
                 *clock, *(extra or ("--log-level", "debug"))],
                stdout=subprocess.PIPE, stderr=stderr, text=True)
        line = self.process.stdout.readline()
        if not line.startswith("listening on port "):
            self.process.wait(timeout=10)
            raise RuntimeError("casewatch did not start: " + line + self.log())
        self.port = int(line.split()[-1])
        if ready:
            self.wait_ready()
        return self

    def wait_ready(self):
        # Readiness is an event the test waits for, not a timer: poll until the first evaluation.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.get("/-/ready").status == 200:
                return
            time.sleep(0.02)
        raise RuntimeError("casewatch never became ready:\n" + self.log())

    def url(self, path):
        return "%s://127.0.0.1:%d%s" % (self.scheme, self.port, path)

    def get(self, path, token=None):
        return request(self.url(path), token=token if token is not None else self.token, context=self.context)

    def post(self, path, body=None, token=None):
        return request(self.url(path), "POST", body, token=token if token is not None else self.token,
                       context=self.context)

    def advance(self, seconds):
        resp = self.post("/-/test/advance?seconds=%d" % seconds)
        assert resp.status == 200, resp.body
        return resp

    def alerts(self, **filters):
        query = "&".join("%s=%s" % (k.replace("label_", "label."), v) for k, v in filters.items())
        resp = self.get("/api/v1/alerts" + ("?" + query if query else ""))
        assert resp.status == 200, resp.body
        return {(a["rule"], a["key"]): a for a in resp.json()["alerts"]}

    def stop(self, sig=signal.SIGTERM):
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            code = self.process.wait(timeout=10)
            self.process.stdout.close()
            self.process = None
            return code
        return None

    def kill9(self):
        self.process.kill()
        self.process.wait(timeout=10)
        self.process.stdout.close()
        self.process = None

    def log(self):
        with open(self.stderr_path) as f:
            return f.read()

    def cleanup(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
            self.process.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)
