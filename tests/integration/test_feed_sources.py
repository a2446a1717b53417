"""Feeds from the systems councils run (issue 11): referrals from a real PostgreSQL (Debian's,
started by the test), care leavers from a JSON API over HTTPS (a certificate made with openssl
now), caseloads from CSV. The same data as CSV gives exactly the same matches; every fault gives a
clear error naming the feed and changes nothing."""
import datetime
import http.server
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import threading
import unittest
import urllib.parse

from harness import BINARY, Deployment
from sinks import Postgres, free_port

AS_OF = "2017-06-14"
# The example deployment's rules and caseloads (examples/feed-sources) are this test's.
EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "feed-sources")
TOKEN = "json-api-token"

# Referrals: (id, child, referral date, authorised (local date or None), team, hours, urgent, closed text)
REFERRALS = []
for i in range(40):
    referral = datetime.date(2017, 5, 2) + datetime.timedelta(days=i)
    authorised = referral + datetime.timedelta(days=9) if i % 3 == 0 else None
    REFERRALS.append(("R%03d" % i, "C%03d" % (i // 2), referral, authorised, ["Assessment", "Child Protection"][i % 2],
                      "%d.%d" % (i % 7, i % 10), i % 4 == 0, "" if i % 5 else "01/06/2017"))
BAD_REFERRALS = [("R900", "C900", datetime.date(2017, 6, 1), None, "Assessment", "2.5", False, "not a date"),
                 ("R001", "C999", datetime.date(2017, 6, 2), None, "Assessment", "1", True, "")]  # a repeated key

LEAVERS = []
for i in range(25):
    LEAVERS.append({"id": "L%02d" % i, "child": {"id": "C%02d" % i, "dob": "%d-03-%02d" % (1998 + i % 4, 1 + i % 28)},
                    "activity": ["G4", "F1", "G6", "P1", "G5"][i % 5],
                    "pathway_plan_review": None if i % 6 == 0 else "2016-%02d-15" % (1 + i % 12)})
LEAVERS.append({"id": "L90", "child": {"id": {"not": "a value"}}, "activity": "G4"})  # rejected

with open(os.path.join(EXAMPLE, "data", "caseloads.csv")) as f:
    CASELOADS = f.read()


def ddmmyyyy(d):
    return d.strftime("%d/%m/%Y") if d else ""


def referrals_csv(rows):
    out = "Referral ID,Child Unique ID,Date of referral,Date authorised,Allocated Team,Hours,Urgent?,Closed\n"
    for r in rows:
        out += "%s,%s,%s,%s,%s,%s,%s,%s\n" % (r[0], r[1], ddmmyyyy(r[2]), ddmmyyyy(r[3]), r[4], r[5],
                                              "yes" if r[6] else "no", r[7])
    return out


def leavers_csv(records):
    out = "id,child_id,dob,activity,review\n"
    for r in records:
        child = r["child"]
        if isinstance(child.get("id"), dict):
            out += "%s,,not a date,%s,\n" % (r["id"], r["activity"])  # rejected here as the JSON record is
            continue
        out += "%s,%s,%s,%s,%s\n" % (r["id"], child["id"], child["dob"], r["activity"], r["pathway_plan_review"] or "")
    return out


with open(os.path.join(EXAMPLE, "rules.toml")) as f:
    RULES = f.read()


HEAD = """
rule_files = ["rules.toml"]
[engine]
timezone = "Europe/London"
state_dir = "state"
"""

REFERRAL_FIELDS = """[feed.fields]
referral_id = { column = "Referral ID" }
child_id = { column = "Child Unique ID", personal = true }
referral_date = { column = "Date of referral", type = "date" }
authorised = { column = "Date authorised", type = "date" }
team = { column = "Allocated Team" }
hours = { column = "Hours", type = "number" }
urgent = { column = "Urgent?", type = "bool" }
closed = { column = "Closed", type = "date" }
"""

CSV_FEEDS = """
[[feed]]
name = "referrals"
path = "referrals.csv"
key = "referral_id"
date_format = "%d/%m/%Y"
max_rejected_ratio = 0.2
""" + REFERRAL_FIELDS + """
[[feed]]
name = "leavers"
path = "leavers.csv"
key = "leaver_id"
max_rejected_ratio = 0.2
[feed.fields]
leaver_id = { column = "id" }
child_id = { column = "child_id", personal = true }
dob = { column = "dob", type = "date", personal = true }
activity = { column = "activity" }
review = { column = "review", type = "date" }
"""

CASELOAD_FEED = """
[[feed]]
name = "caseloads"
path = "caseloads.csv"
key = "worker"
[feed.fields]
worker = { column = "Worker" }
team = { column = "Team" }
cases = { column = "Cases", type = "number" }
"""


def source_feeds(api_url, query="SELECT * FROM referrals", records="/data/items", extra_json="", timeout="10s"):
    return """
[[feed]]
name = "referrals"
type = "postgres"
dsn_file = "referrals.dsn"
query = %s
key = "referral_id"
date_format = "%%d/%%m/%%Y"
max_rejected_ratio = 0.2
timeout = "%s"
""" % (json.dumps(query), timeout) + REFERRAL_FIELDS + """
[[feed]]
name = "leavers"
type = "json_http"
url = "%s"
key = "leaver_id"
bearer_token_file = "api-token"
ca_file = "api-ca.pem"
records = "%s"
max_rejected_ratio = 0.2
%s
[feed.fields]
leaver_id = { column = "id" }
child_id = { column = "child.id", personal = true }
dob = { column = "child.dob", type = "date", personal = true }
activity = { column = "activity" }
review = { column = "pathway_plan_review", type = "date" }
""" % (api_url, records, extra_json)


class Api:
    """A JSON API over HTTPS on loopback: pages of care leavers, a bearer token, faults on demand."""

    def __init__(self, directory):
        self.cert = os.path.join(directory, "api-ca.pem")
        key = os.path.join(directory, "api-key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                        "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", self.cert],
                       check=True, capture_output=True)
        self.mode = "ok"
        self.page_size = 10
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.headers.get("Authorization") != "Bearer " + TOKEN:
                    return self.answer(401, b'{"error": "who are you"}')
                url = urllib.parse.urlparse(self.path)
                page = int(urllib.parse.parse_qs(url.query).get("page", ["1"])[0])
                if api.mode == "500":
                    return self.answer(500, b"oops")
                if api.mode == "invalid":
                    return self.answer(200, b'{"data": {"items": [{"id": "L1", ')
                if api.mode == "loop":
                    return self.answer(200, b'{"data": {"items": []}}', {"Link": '</leavers?page=1>; rel="next"'})
                items = LEAVERS[(page - 1) * api.page_size:page * api.page_size]
                links = {}
                if page * api.page_size < len(LEAVERS):
                    links["Link"] = '</leavers?page=%d>; rel="next", </leavers?page=1>; rel="first"' % (page + 1)
                body = {"data": {"count": len(items), "items": items}, "meta": {"page": page}}
                if api.mode == "object":
                    body = {"data": {"items": {"id": "L1"}}}
                self.answer(200, json.dumps(body).encode(), links)

            def answer(self, status, body, headers=None):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self):
        return "https://127.0.0.1:%d/leavers?page=1" % self.port

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class FeedSourcesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres()
        rows = []
        for r in REFERRALS + BAD_REFERRALS:
            # Stored typed: a date, a timestamp with time zone (an instant on the local date, given in
            # UTC), a numeric, a boolean; "Closed" is free text as some systems keep dates.
            authorised = "NULL" if r[3] is None else "'%s 23:30:00+00'" % (r[3] - datetime.timedelta(days=1)).isoformat()
            rows.append("('%s', '%s', DATE '%s', %s, '%s', %s, %s, %s)" % (
                r[0], r[1], r[2].isoformat(), authorised, r[4], r[5], "true" if r[6] else "false",
                "NULL" if not r[7] else "'%s'" % r[7]))
        cls.pg.sql("""
CREATE ROLE casewatch_reader LOGIN PASSWORD 'reader-secret';
-- A role with other defaults: the session casewatch opens must not depend on them.
ALTER ROLE casewatch_reader SET DateStyle = 'SQL, DMY';
ALTER ROLE casewatch_reader SET TimeZone = 'America/New_York';
CREATE DATABASE council OWNER postgres;
""")
        cls.pg.sql("""
CREATE TABLE referrals ("Referral ID" text, "Child Unique ID" text, "Date of referral" date,
  "Date authorised" timestamptz, "Allocated Team" text, "Hours" numeric(6,2), "Urgent?" boolean, "Closed" text);
INSERT INTO referrals VALUES %s;
CREATE SEQUENCE counter;
GRANT SELECT ON referrals TO casewatch_reader;
GRANT USAGE ON SEQUENCE counter TO casewatch_reader;
""" % ",\n".join(rows), database="council")

    @classmethod
    def tearDownClass(cls):
        cls.pg.stop()

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="casewatch-sources-")
        self.api = Api(self.dir)
        self.cleanups = [self.api.stop, lambda: shutil.rmtree(self.dir, ignore_errors=True)]

    def tearDown(self):
        for c in reversed(self.cleanups):
            c()

    def write(self, name, text):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(text)

    def deployment(self, feeds, dsn=None):
        self.write("casewatch.toml", HEAD + feeds + CASELOAD_FEED)
        self.write("rules.toml", RULES)
        self.write("caseloads.csv", CASELOADS)
        self.write("referrals.csv", referrals_csv(REFERRALS + BAD_REFERRALS))
        self.write("leavers.csv", leavers_csv(LEAVERS))
        self.write("referrals.dsn", dsn or self.pg.dsn("casewatch_reader", "reader-secret", "council"))
        self.write("api-token", TOKEN + "\n")
        return os.path.join(self.dir, "casewatch.toml")

    def casewatch(self, *args):
        return subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=120)

    def eval_json(self, config):
        result = self.casewatch("eval", "-c", config, "--at", AS_OF, "--format", "json")
        return result, (json.loads(result.stdout) if result.stdout.strip().startswith("{") else None)

    def test_the_same_data_through_postgres_and_json_gives_the_same_matches_as_csv(self):
        self.api.page_size = 7  # four pages
        mixed, from_sources = self.eval_json(self.deployment(source_feeds(self.api.url())))
        self.assertEqual(mixed.returncode, 0, mixed.stderr)
        csv, from_csv = self.eval_json(self.deployment(CSV_FEEDS))
        self.assertEqual(csv.returncode, 0, csv.stderr)
        self.assertEqual(from_sources["alerts"], from_csv["alerts"])
        self.assertEqual(from_sources["values"], from_csv["values"])
        self.assertGreater(len(from_csv["alerts"]), 20)
        counts = {f["name"]: (f["records"], f["rejected"]) for f in from_sources["feeds"]}
        self.assertEqual(counts, {f["name"]: (f["records"], f["rejected"]) for f in from_csv["feeds"]})
        self.assertEqual(counts["referrals"], (40, 2))  # the bad date and the repeated key, rejected alone
        self.assertEqual(counts["leavers"], (25, 1))
        # Rejected rows name the feed, the row and the field, never the value.
        self.assertIn("postgres feed 'referrals':41: row rejected: field 'closed' (column \"Closed\"): not a date",
                      mixed.stderr)
        self.assertIn("json_http feed 'leavers':26: row rejected: field 'child_id' (column \"child.id\"): "
                      "not a single value", mixed.stderr)
        self.assertNotIn("not a date\"", mixed.stderr)

    def test_the_example_deployment_reads_through_its_read_only_role(self):
        """examples/feed-sources as shipped: its views.sql and readonly-role.sql applied to the
        database, its config with only the API's address and the secrets filled in."""
        self.pg.sql("""
CREATE SCHEMA IF NOT EXISTS reporting;
DROP TABLE IF EXISTS reporting.referral;
CREATE TABLE reporting.referral AS SELECT "Referral ID" AS referral_id, "Child Unique ID" AS child_id,
  "Date of referral" AS referral_date, "Date authorised" AS authorised_at, "Allocated Team" AS allocated_team,
  "Hours" AS contact_hours, "Urgent?" AS urgent, "Closed" AS closed FROM referrals;
""", database="council")
        for script, variables in (("views.sql", []), ("readonly-role.sql", ["-v", "password=example-secret"])):
            with open(os.path.join(EXAMPLE, script)) as f:
                self.pg.run("psql", "-h", self.pg.dir, "-p", str(self.pg.port), "-U", "postgres", "-d", "council",
                            "-q", "-X", *variables, stdin=f.read())
        deployment = os.path.join(self.dir, "example")
        shutil.copytree(EXAMPLE, deployment)
        config = os.path.join(deployment, "casewatch.toml")
        with open(config) as f:
            text = f.read()
        text = text.replace("https://casemanagement.council.example/api/v1/care-leavers?page=1", self.api.url())
        with open(config, "w") as f:
            f.write(text)
        os.mkdir(os.path.join(deployment, "secrets"))
        with open(os.path.join(deployment, "secrets", "referrals.dsn"), "w") as f:
            f.write(self.pg.dsn("casewatch", "example-secret", "council"))
        with open(os.path.join(deployment, "secrets", "api-token"), "w") as f:
            f.write(TOKEN)
        shutil.copy(self.api.cert, os.path.join(deployment, "secrets", "council-ca.pem"))
        self.api.page_size = 10
        checked = self.casewatch("check", "-c", config, "--probe")
        self.assertEqual(checked.returncode, 0, checked.stderr)
        example, from_example = self.eval_json(config)
        self.assertEqual(example.returncode, 0, example.stderr)
        csv, from_csv = self.eval_json(self.deployment(CSV_FEEDS))
        self.assertEqual(from_example["alerts"], from_csv["alerts"])
        self.assertEqual(from_example["values"], from_csv["values"])
        # The role reads its views and nothing else, and cannot write even outside casewatch's session.
        with open(config, "w") as f:
            f.write(text.replace("SELECT * FROM casewatch.referrals", "SELECT * FROM public.referrals"))
        refused, _ = self.eval_json(config)
        self.assertEqual(refused.returncode, 1)
        self.assertIn("permission denied for table referrals", refused.stderr)
        wrote = subprocess.run(self.pg.as_user + [os.path.join(self.pg.bin, "psql"), self.pg.dsn("casewatch", "example-secret", "council"),
                                "-X", "-c", "CREATE TEMP TABLE t (x int)"], capture_output=True, text=True)
        self.assertIn("read-only transaction", wrote.stderr)

    def test_check_validates_each_source_and_probe_reads_their_first_rows(self):
        config = self.deployment(source_feeds(self.api.url()))
        result = self.casewatch("check", "-c", config, "--probe")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("feed referrals: OK: 10 rows read, 0 rejected", result.stdout)
        self.assertIn("feed leavers: OK: 10 rows read, 0 rejected", result.stdout)
        self.write("casewatch.toml", HEAD + source_feeds("notaurl", query="SELECT 1; DROP TABLE referrals") +
                   CASELOAD_FEED)
        os.remove(os.path.join(self.dir, "referrals.dsn"))
        result = self.casewatch("check", "-c", config)
        self.assertEqual(result.returncode, 1)
        for problem in ("'dsn_file' %s cannot be read" % os.path.join(self.dir, "referrals.dsn"),
                        "'query' must be one SQL statement",
                        "'url' must be an http:// or https:// URL with a host"):
            self.assertIn(problem, result.stderr)

    def fails(self, feeds, expected, dsn=None):
        config = self.deployment(feeds, dsn=dsn)
        result, out = self.eval_json(config)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn(expected, result.stderr)
        return result

    def test_every_postgres_fault_is_a_clear_error_naming_the_feed(self):
        url = self.api.url()
        refused_port = free_port()
        r = self.fails(source_feeds(url), "postgres feed 'referrals': cannot connect:",
                       dsn="host=127.0.0.1 port=%d user=casewatch_reader dbname=council connect_timeout=2" % refused_port)
        self.assertIn("Connection refused", r.stderr)
        self.fails(source_feeds(url), "password authentication failed for user \"casewatch_reader\"",
                   dsn=self.pg.dsn("casewatch_reader", "wrong", "council"))
        self.fails(source_feeds(url, query="SELECT * FROM referrals WHERE"), "the query failed: syntax error")
        self.fails(source_feeds(url, query='SELECT "Referral ID", "Allocated Team" FROM referrals'),
                   "postgres feed 'referrals': missing columns")
        # Read-only: a query that would write is refused by the server.
        self.fails(source_feeds(url, query="SELECT nextval('counter') AS x, * FROM referrals"),
                   "cannot execute nextval() in a read-only transaction")
        # A data error quotes the value: casewatch leaves it out.
        r = self.fails(source_feeds(url, query='SELECT *, "Closed"::date AS c FROM referrals'), "the query failed:")
        self.assertNotIn("not a date\"", r.stderr)
        self.assertIn("(SQLSTATE 22", r.stderr)
        # statement_timeout from the feed's timeout.
        self.fails(source_feeds(url, query="SELECT *, pg_sleep(3) FROM referrals", timeout="1s"),
                   "canceling statement due to statement timeout")

    def test_every_json_fault_is_a_clear_error_naming_the_feed(self):
        for mode, expected in (("500", "json_http feed 'leavers': page 1: HTTP 500"),
                               ("invalid", "json_http feed 'leavers': page 1: invalid JSON at byte"),
                               ("object", "json_http feed 'leavers': page 1: '/data/items' is not an array"),
                               ("loop", "json_http feed 'leavers': the pages' rel=\"next\" links go round in a loop")):
            self.api.mode = mode
            self.fails(source_feeds(self.api.url()), expected)
        self.api.mode = "ok"
        self.fails(source_feeds(self.api.url(), records="/data/missing"), "page 1: no records at '/data/missing'")
        self.fails(source_feeds(self.api.url(), extra_json="max_response_bytes = 100"),
                   "the response is larger than max_response_bytes (100)")
        # The token is wrong: 401.
        config = self.deployment(source_feeds(self.api.url()))
        self.write("api-token", "wrong\n")
        result, _ = self.eval_json(config)
        self.assertIn("json_http feed 'leavers': page 1: HTTP 401", result.stderr)
        # Without the council's CA the certificate is not trusted.
        feeds = source_feeds(self.api.url()).replace('ca_file = "api-ca.pem"\n', "")
        self.fails(feeds, "json_http feed 'leavers': page 1: SSL certificate problem")

    def test_the_daemon_keeps_the_previous_snapshot_when_a_source_fails(self):
        config = self.deployment(source_feeds(self.api.url()))
        d = Deployment.__new__(Deployment)
        d.dir = self.dir
        d.token = None
        d.process = None
        d.stderr_path = os.path.join(self.dir, "stderr.log")
        d.scheme, d.context = "http", None
        d.start(at=AS_OF)
        self.cleanups.append(lambda: d.stop())
        before = d.alerts()
        self.assertGreater(len(before), 20)
        self.api.mode = "500"
        self.write("referrals.dsn", self.pg.dsn("casewatch_reader", "wrong", "council"))
        d.advance(3600)  # past the default refresh
        feeds = {f["name"]: f for f in d.get("/api/v1/feeds").json()["feeds"]}
        self.assertFalse(feeds["referrals"]["up"])
        self.assertIn("password authentication failed", feeds["referrals"]["last_error"])
        self.assertFalse(feeds["leavers"]["up"])
        self.assertIn("HTTP 500", feeds["leavers"]["last_error"])
        after = d.alerts()
        for key in before:
            if key[0] != "casewatch_feed_unhealthy":
                self.assertIn(key, after)
        self.assertIn(("casewatch_feed_unhealthy", "referrals"), after)


if __name__ == "__main__":
    unittest.main()
