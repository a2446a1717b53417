"""Real peers for the notification tests, on loopback ports: an SMTP server (Debian's aiosmtpd),
a webhook sink that can be told to fail, and Debian's Prometheus Alertmanager."""
import email
import email.policy
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout=20, what="condition"):
    """Waits for an event in another process (a message arriving), not for a timer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


class SmtpSink:
    """aiosmtpd's Controller in this process; every message is kept with its envelope."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages = []
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
                sink.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "message": message})
                return "250 Message accepted for delivery"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        self.controller.stop()


class WebhookSink:
    """Answers 500 to the first `fail_first` requests, then 200; records every request."""

    def __init__(self, fail_first=0):
        self.requests = []
        self.fail_first = fail_first
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with sink.lock:
                    failing = len(sink.requests) < sink.fail_first
                    sink.requests.append({"path": self.path, "headers": dict(self.headers),
                                          "body": json.loads(body), "status": 500 if failing else 200})
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def accepted(self):
        with self.lock:
            return [r for r in self.requests if r["status"] == 200]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Alertmanager:
    """Debian's prometheus-alertmanager on a loopback port: alone (clustering off), or a peer of a
    cluster (`cluster_port` its own gossip port, `peers` the others'). With `webhook`, it
    notifies that URL, one group per alert (alertname and key), each once."""

    def __init__(self, webhook=None, cluster_port=None, peers=()):
        binary = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"
        self.dir = tempfile.mkdtemp(prefix="casewatch-am-")
        config = os.path.join(self.dir, "alertmanager.yml")
        with open(config, "w") as f:
            if webhook:
                f.write("route:\n  receiver: hook\n  group_by: [alertname, key]\n  group_wait: 1s\n"
                        "  group_interval: 1s\n  repeat_interval: 1h\n"
                        "receivers:\n  - name: hook\n    webhook_configs:\n      - url: '%s'\n"
                        "        send_resolved: false\n" % webhook)
            else:
                f.write("route:\n  receiver: 'null'\n  group_wait: 1s\nreceivers:\n  - name: 'null'\n")
        self.port = free_port()
        if cluster_port:
            # Loopback is no private address: the advertised one is given. A peer waits its
            # position times the peer timeout before notifying, for the others' log to reach it.
            cluster = ["--cluster.listen-address=127.0.0.1:%d" % cluster_port,
                       "--cluster.advertise-address=127.0.0.1:%d" % cluster_port,
                       "--cluster.peer-timeout=3s", "--cluster.gossip-interval=100ms",
                       "--cluster.pushpull-interval=2s"] + ["--cluster.peer=127.0.0.1:%d" % p for p in peers]
        else:
            cluster = ["--cluster.listen-address="]
        self.process = subprocess.Popen(
            [binary, "--config.file=" + config, "--storage.path=" + self.dir,
             "--web.listen-address=127.0.0.1:%d" % self.port, *cluster],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "log"), "w"))
        wait_until(self.ready, 30, "alertmanager to start")

    def peers(self):
        with urllib.request.urlopen(self.url() + "/api/v2/status", timeout=5) as resp:
            return len(json.loads(resp.read())["cluster"].get("peers") or [])

    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def ready(self):
        try:
            with urllib.request.urlopen(self.url() + "/-/ready", timeout=2) as resp:
                return resp.status == 200
        except OSError:
            return False

    def alerts(self, active=True):
        query = "?active=true&silenced=false&inhibited=false" if active else ""
        with urllib.request.urlopen(self.url() + "/api/v2/alerts" + query, timeout=5) as resp:
            return json.loads(resp.read())

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


class Postgres:
    """Debian's PostgreSQL, its own cluster in a temporary folder on a loopback port. initdb and
    pg_ctl refuse to run as root: as root they run as `nobody`."""

    def __init__(self):
        import glob
        import pwd
        self.bin = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
        self.dir = tempfile.mkdtemp(prefix="casewatch-pg-")
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        self.as_user = []
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(self.dir, nobody.pw_uid, nobody.pw_gid)
            self.as_user = ["runuser", "-u", "nobody", "--"]
        self.port = free_port()
        password_file = os.path.join(self.dir, "superuser-password")
        with open(password_file, "w") as f:
            f.write("superuser-secret\n")
        if self.as_user:
            os.chown(password_file, pwd.getpwnam("nobody").pw_uid, -1)
        self.run("initdb", "-D", self.data, "-U", "postgres", "--auth-local=trust",
                 "--auth-host=scram-sha-256", "--pwfile=" + password_file, "-E", "UTF8", "--locale=C.UTF-8")
        self.run("pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "log"), "-w", "-o",
                 "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" % (self.port, self.dir),
                 "start")

    def run(self, program, *args, stdin=None):
        result = subprocess.run(self.as_user + [os.path.join(self.bin, program), *args], input=stdin,
                                capture_output=True, text=True, cwd=self.dir)
        if result.returncode != 0:
            raise RuntimeError("%s failed: %s%s" % (program, result.stdout, result.stderr))
        return result.stdout

    def sql(self, statements, database="postgres"):
        """Runs SQL as the superuser over the local socket."""
        return self.run("psql", "-h", self.dir, "-p", str(self.port), "-U", "postgres", "-d", database,
                        "-v", "ON_ERROR_STOP=1", "-q", "-X", stdin=statements)

    def dsn(self, user, password, database):
        return "host=127.0.0.1 port=%d user=%s password=%s dbname=%s sslmode=disable" % (
            self.port, user, password, database)

    def stop(self):
        try:
            self.run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
