"""The ways casewatch could go quiet or leak, tried against the real daemon (issue 15): a cut or
partial extract, an extract that stops arriving, placeholder dates, a headerless extract, bytes
that break consumers, and a feed going down between evaluations."""
import json
import os
import shutil
import subprocess
import unittest

from harness import Deployment
from sinks import wait_until

CONFIG = """
rule_files = ["rules/*.toml"]
[server]
listen = "127.0.0.1:9797"
[engine]
timezone = "Europe/London"
evaluation_interval = "5m"
state_dir = "state"

[[feed]]
name = "assessments"
path = "data/assessments.csv"
key = "assessment_id"
date_format = "%d/%m/%Y"
{feed_extra}
[feed.fields]
assessment_id = {{ column = "Assessment ID" }}
child_id = {{ column = "Child Unique ID", personal = true }}
referral_date = {{ column = "Date of referral", type = "date" }}
authorised = {{ column = "Date of authorisation", type = "date" }}
team = {{ column = "Allocated Team" }}

[[receiver]]
name = "log"
type = "file"
path = "notifications.jsonl"

[[route]]
receiver = "log"
group_wait = "0s"
group_interval = "1m"
"""

RULES = {"assessments.toml": """
[[rule]]
name = "assessment_timescale"
kind = "deadline"
feed = "assessments"
start = "referral_date"
done = "authorised"
due_in = "10 working days"
warn_before = "2 working days"
labels = { team = "{{ team }}" }
metric_labels = ["team"]
annotations = { summary = "Assessment {{ assessment_id }} due {{ due_date }}" }

[[rule]]
name = "team_open_assessments"
kind = "aggregate"
feed = "assessments"
group_by = ["team"]
value = "count()"
when = "value >= 1"
severity = "info"
"""}

HEADER = "Assessment ID,Child Unique ID,Date of referral,Date of authorisation,Allocated Team\n"
# The manual clock starts at 09:00 BST on Wednesday 14 June 2017.
CLOCK_START = 1497427200


def rows(n, team="Assessment"):
    # Referred in May, never authorised: every one overdue on 14 June. In date order, as extracts are.
    return ["B%03d,C%03d,%02d/05/2017,,%s" % (i, i, 1 + i % 28, team) for i in range(n)]


def extract(lines):
    return HEADER + "".join(line + "\n" for line in lines)


class NoSilentMissesTest(unittest.TestCase):
    def setUp(self):
        self.d = None

    def tearDown(self):
        if self.d:
            self.d.cleanup()

    def deploy(self, data, feed_extra="", at="2017-06-14", extra=()):
        self.d = Deployment(CONFIG.format(feed_extra=feed_extra), RULES, {"assessments.csv": data})
        self.d.start(at=at, extra=extra)
        return self.d

    def deadline_alerts(self):
        return {k: a for k, a in self.d.alerts(rule="assessment_timescale").items()}

    def notified_resolved(self):
        path = os.path.join(self.d.dir, "notifications.jsonl")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            notes = [json.loads(line) for line in f if line.strip()]
        return [a for n in notes for a in n["alerts"] if a["status"] == "resolved"]

    def feed(self):
        return self.d.get("/api/v1/feeds").json()["feeds"][0]

    def test_an_extract_cut_mid_row_resolves_nothing(self):
        full = extract(rows(100))
        d = self.deploy(full)
        before = self.deadline_alerts()
        self.assertEqual(len(before), 100)
        # Cut to 60% of its bytes, within a shrink of 0.5: the last row is half written.
        cut = full.rindex("\n", 0, len(full) * 6 // 10) + 12
        d.write("data/assessments.csv", full[:cut])
        d.advance(60)
        self.assertEqual(set(self.deadline_alerts()), set(before))
        self.assertFalse(self.feed()["up"])
        self.assertIn("truncated", self.feed()["last_error"])
        self.assertEqual(self.notified_resolved(), [])

    def test_an_extract_cut_at_a_row_boundary_is_refused_by_the_shrink_limit(self):
        d = self.deploy(extract(rows(100)))
        before = self.deadline_alerts()
        d.write("data/assessments.csv", extract(rows(60)))
        d.advance(60)
        self.assertEqual(set(self.deadline_alerts()), set(before))
        self.assertIn("max_shrink_ratio 0.1", self.feed()["last_error"])
        self.assertEqual(self.notified_resolved(), [])

    def test_missing_records_resolve_only_after_the_grace_period(self):
        # A generous shrink limit lets the partial extract in: the records it lacks are missing,
        # not done.
        d = self.deploy(extract(rows(100)), feed_extra="max_shrink_ratio = 0.5")
        before = self.deadline_alerts()
        d.write("data/assessments.csv", extract(rows(60)))
        d.advance(60)
        self.assertTrue(self.feed()["up"])
        during = self.deadline_alerts()
        self.assertEqual(set(during), set(before))
        self.assertIsNotNone(during[("assessment_timescale", "B099")]["missing_since"])
        self.assertIsNone(during[("assessment_timescale", "B000")]["missing_since"])
        # The whole extract is back within the grace: the same alerts, their start times kept,
        # and no resolved notification was ever sent.
        d.advance(25 * 3600)
        self.assertEqual(set(self.deadline_alerts()), set(before))
        d.write("data/assessments.csv", extract(rows(100)))
        d.advance(60)
        after = self.deadline_alerts()
        for key, alert in before.items():
            self.assertEqual(after[key]["active_since"], alert["active_since"], key)
            self.assertIsNone(after[key]["missing_since"], key)
        self.assertEqual(self.notified_resolved(), [])
        # Gone for longer than resolve_missing_after (26h): then they resolve.
        d.write("data/assessments.csv", extract(rows(60)))
        d.advance(60)
        d.advance(26 * 3600)
        self.assertEqual(len(self.deadline_alerts()), 60)
        self.assertEqual(len([a for a in self.notified_resolved() if a["rule"] == "assessment_timescale"]), 40)

    def test_an_authorised_assessment_resolves_at_once(self):
        # Present and done is done: the grace is only for records that are missing.
        d = self.deploy(extract(rows(3)))
        d.write("data/assessments.csv", extract(rows(2) + ["B002,C002,03/05/2017,10/05/2017,Assessment"]))
        d.advance(60)
        self.assertNotIn(("assessment_timescale", "B002"), self.deadline_alerts())

    def test_an_extract_that_stops_arriving_goes_stale(self):
        d = Deployment(CONFIG.format(feed_extra='max_age = "26h"\nrefresh = "1h"\nmax_rejected_ratio = 0.5'), RULES,
                       {"assessments.csv": extract(rows(3) + ["B999,C999,bad date,,Assessment"])})
        self.d = d
        path = os.path.join(d.dir, "data", "assessments.csv")
        os.utime(path, (CLOCK_START - 3600, CLOCK_START - 3600))  # exported an hour before the clock
        d.start()
        self.assertTrue(self.feed()["up"])
        self.assertEqual(self.feed()["source_time"], "2017-06-14T07:00:00Z")
        # Re-read every hour, never changed: after max_age it is stale, however often it was read.
        for _ in range(26):
            d.advance(3600)
        feed = self.feed()
        self.assertTrue(feed["stale"])
        self.assertFalse(feed["up"])
        self.assertIn(("casewatch_feed_unhealthy", "assessments"), d.alerts())
        metrics = d.get("/metrics").body
        self.assertIn('casewatch_feed_up{feed="assessments"} 0', metrics)
        # The one bad row was counted once, not once per re-read.
        self.assertIn('casewatch_feed_rows_rejected_total{feed="assessments"} 1', metrics)
        self.assertIn('casewatch_feed_source_timestamp_seconds{feed="assessments"} %d' % (CLOCK_START - 3600), metrics)
        # A new export arrives: fresh again.
        d.write("data/assessments.csv", extract(rows(3)))
        os.utime(path, (CLOCK_START + 26 * 3600, CLOCK_START + 26 * 3600))
        d.advance(60)
        self.assertTrue(self.feed()["up"])
        self.assertNotIn(("casewatch_feed_unhealthy", "assessments"), d.alerts())

    def test_a_placeholder_date_does_not_close_a_deadline(self):
        d = self.deploy(extract(rows(3)), feed_extra="max_rejected_ratio = 0.5")
        self.assertIn(("assessment_timescale", "B001"), self.deadline_alerts())
        d.write("data/assessments.csv", extract(rows(1) + ["B001,C001,02/05/2017,01/01/1900,Assessment"] + rows(3)[2:]))
        d.advance(60)
        self.assertIn(("assessment_timescale", "B001"), self.deadline_alerts())
        self.assertIn("assessments.csv:3: row rejected: field 'authorised' (column \"Date of authorisation\"): "
                      "date outside engine.valid_dates (1901-01-01 to 2099-12-31)", d.log())

    def test_a_headerless_extract_leaks_no_child_data(self):
        d = self.deploy(extract(rows(3)))
        d.write("data/assessments.csv", "B000,C000,01/05/2017,,Jayden Smith Team\n")
        d.advance(60)
        feed = self.feed()
        self.assertFalse(feed["up"])
        self.assertIn("is the header row missing?", feed["last_error"])
        unhealthy = d.alerts()[("casewatch_feed_unhealthy", "assessments")]
        d.stop()
        for text in (d.log(), json.dumps(feed), json.dumps(unhealthy)):
            self.assertNotIn("Jayden", text)
            self.assertNotIn("01/05/2017", text)
            self.assertNotIn("C000", text)

    def test_bytes_that_would_break_consumers(self):
        promtool = shutil.which("promtool")
        if not promtool:
            self.fail("promtool not installed (scripts/setup.sh installs Debian's prometheus)")
        d = Deployment(CONFIG.format(feed_extra="max_rejected_ratio = 0.5"), RULES, {"assessments.csv": ""})
        self.d = d
        with open(os.path.join(d.dir, "data", "assessments.csv"), "wb") as f:
            # A Windows-1252 team name, a newline inside a key, a team name with a newline in it.
            f.write(HEADER.encode() + b"B1,C1,01/05/2017,,D\xe9partement\n\"B2\nforged\",C2,01/05/2017,,A\n"
                    b"B3,C3,01/05/2017,,\"North\nforged line\"\n")
        d.start(extra=("--log-level", "debug", "--log-format", "text"))
        metrics = d.get("/metrics").body
        self.assertIn('team="D\ufffdpartement"', metrics)
        result = subprocess.run([promtool, "check", "metrics"], input=metrics, capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertNotIn(("assessment_timescale", "B2\nforged"), d.alerts())
        self.assertIn(("team_open_assessments", "North\nforged line"), d.alerts())
        d.stop()
        for line in d.log().splitlines():
            self.assertFalse(line.startswith("forged"), line)
        self.assertIn("North\\nforged line", d.log())

    def test_a_feed_going_down_shows_within_a_second(self):
        # The real clock: the daemon polls its feeds every second; evaluations are 5 minutes apart.
        d = self.deploy(extract(rows(3)), at=None)
        path = os.path.join(d.dir, "data", "assessments.csv")
        os.rename(path, path + ".gone")
        wait_until(lambda: not self.feed()["up"], timeout=3, what="the feed to show down")
        self.assertIn("No such file or directory", self.feed()["last_error"])
        self.assertIn(("casewatch_feed_unhealthy", "assessments"), d.alerts())
        self.assertIn('casewatch_feed_up{feed="assessments"} 0', d.get("/metrics").body)
        os.rename(path + ".gone", path)
        wait_until(lambda: self.feed()["up"], timeout=3, what="the feed to come back")
        self.assertNotIn(("casewatch_feed_unhealthy", "assessments"), d.alerts())
        if os.geteuid() != 0:  # root reads whatever the mode says
            os.chmod(path, 0)
            wait_until(lambda: not self.feed()["up"], timeout=3, what="an unreadable feed to show down")
            os.chmod(path, 0o644)
        d.write("data/assessments.csv", "garbage\n")
        wait_until(lambda: not self.feed()["up"], timeout=3, what="a refused load to show down")


if __name__ == "__main__":
    unittest.main()
