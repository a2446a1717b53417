"""Notifications against real peers on loopback (issue 5): aiosmtpd, a failing then recovering
webhook, Debian's Alertmanager; and, with the daemon's manual clock, active_time across a bank
holiday, digests, escalation and repeat_interval."""
import datetime
import json
import os
import unittest

from harness import ASSESSMENTS_FEED, Deployment, assessments_csv
from sinks import Alertmanager, SmtpSink, WebhookSink, wait_until

BASE = """
rule_files = ["rules/*.toml"]
[server]
listen = "127.0.0.1:9797"
external_url = "http://casewatch.example/"
auth_token_file = "api-token"
[engine]
timezone = "Europe/London"
evaluation_interval = "5m"
state_dir = "state"

[tables.team_email]
"Assessment" = "assessment.manager@la.example.gov.uk"
"Child Protection" = "cp.manager@la.example.gov.uk"
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
annotations = { summary = "Assessment {{ assessment_id }} due {{ due_date }}" }
"""}


def jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


class NotificationTest(unittest.TestCase):
    def setUp(self):
        self.cleanups = []

    def tearDown(self):
        for c in reversed(self.cleanups):
            c()

    def deploy(self, routing, rows, at):
        d = Deployment(BASE + ASSESSMENTS_FEED + routing, RULES, {"assessments.csv": assessments_csv(rows)}, token="t0ken")
        self.cleanups.append(d.cleanup)
        d.start(at=at)
        return d

    def test_email_one_message_per_team_group(self):
        smtp = SmtpSink()
        self.cleanups.append(smtp.stop)
        routing = """
[[receiver]]
name = "managers"
type = "email"
smtp_url = "smtp://127.0.0.1:%d"
from = "casewatch@la.example.gov.uk"
to = "{{ lookup('team_email', team, 'duty@la.example.gov.uk') }}"
subject = "[casewatch] {{ team }}: {{ count }} alerts"
allowed_recipient_domains = ["la.example.gov.uk"]

[[route]]
receiver = "managers"
group_by = ["team"]
group_wait = "30s"
""" % smtp.port
        # As of Wed 2017-06-14: A1, A2 (Assessment) due soon, C1 (Child Protection) overdue.
        d = self.deploy(routing, ["A1,02/06/2017,,Assessment", "A2,01/06/2017,,Assessment",
                                  "C1,25/05/2017,,Child Protection", "A3,15/05/2017,20/05/2017,Assessment"],
                        at="2017-06-14")
        self.assertEqual(smtp.messages, [])  # group_wait has not passed
        d.advance(30)
        wait_until(lambda: len(smtp.messages) == 2, what="two emails")
        by_to = {m["to"][0]: m for m in smtp.messages}
        self.assertEqual(set(by_to), {"assessment.manager@la.example.gov.uk", "cp.manager@la.example.gov.uk"})
        assessment = by_to["assessment.manager@la.example.gov.uk"]["message"]
        self.assertEqual(assessment["Subject"], "[casewatch] Assessment: 2 alerts")
        text = assessment.get_body(preferencelist=("plain",)).get_content()
        html = assessment.get_body(preferencelist=("html",)).get_content()
        for part in (text, html):
            self.assertIn("A1", part)
            self.assertIn("A2", part)
            self.assertIn("2017-06-16", part)
            self.assertNotIn("C1", part)
        cp = by_to["cp.manager@la.example.gov.uk"]["message"]
        # Due Thursday 25 May + 10 working days (the late May bank holiday out): 9 June, 3 working days ago.
        self.assertIn("Assessment C1 due 2017-06-09: overdue by 3 working days", cp.get_body(preferencelist=("plain",)).get_content())
        self.assertIn("/team?name=Child%20Protection", cp.get_body(preferencelist=("plain",)).get_content())
        # Nothing changed: no second message before repeat_interval (4h by default).
        d.advance(3600)
        self.assertEqual(len(smtp.messages), 2)
        self.assertIn('casewatch_notifications_total{outcome="sent",receiver="managers"} 2', d.get("/metrics").body)

    def test_webhook_retries_until_it_recovers_with_the_same_id(self):
        sink = WebhookSink(fail_first=3)
        self.cleanups.append(sink.stop)
        routing = """
[[receiver]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:%d/alerts"
format = "json"

[[route]]
receiver = "hook"
group_by = ["team"]
group_wait = "0s"
""" % sink.port
        d = self.deploy(routing, ["A1,02/06/2017,,Assessment"], at="2017-06-14")
        d.advance(0)  # the first attempt, at start-up, fails
        self.assertEqual(len(sink.requests), 1)
        for backoff in (10, 20, 40):  # capped exponential backoff
            d.advance(backoff - 1)
            before = len(sink.requests)
            self.assertEqual(d.advance(0).status, 200)
            self.assertEqual(len(sink.requests), before)  # not retried before its time
            d.advance(1)
            self.assertEqual(len(sink.requests), before + 1)
        wait_until(lambda: len(sink.accepted()) == 1, what="the retry to succeed")
        ids = {r["headers"]["X-Casewatch-Notification-Id"] for r in sink.requests}
        self.assertEqual(len(ids), 1)  # every attempt carried the same id
        self.assertEqual(len(sink.requests), 4)
        body = sink.accepted()[0]["body"]
        self.assertEqual(body["version"], "4")
        self.assertEqual(body["status"], "firing")
        self.assertEqual(body["groupLabels"], {"team": "Assessment"})
        self.assertEqual([a["labels"]["key"] for a in body["alerts"]], ["A1"])
        d.advance(600)
        self.assertEqual(len(sink.accepted()), 1)  # delivered: not sent again
        metrics = d.get("/metrics").body
        self.assertIn('casewatch_notifications_total{outcome="failed",receiver="hook"} 3', metrics)
        self.assertIn('casewatch_notification_queue{receiver="hook"} 0', metrics)

    def test_kill_9_with_a_full_outbox_then_everything_is_delivered(self):
        sink = WebhookSink(fail_first=1000)
        self.cleanups.append(sink.stop)
        routing = """
[[receiver]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:%d/alerts"

[[route]]
receiver = "hook"
group_by = ["key"]
group_wait = "0s"
""" % sink.port
        d = self.deploy(routing, ["A1,02/06/2017,,Assessment", "A2,01/06/2017,,Assessment", "A3,31/05/2017,,Assessment"],
                        at="2017-06-14")
        d.advance(1)
        wait_until(lambda: len({r["body"]["groupKey"] for r in sink.requests}) == 3, what="three attempts")
        attempted = {r["headers"]["X-Casewatch-Notification-Id"] for r in sink.requests}
        self.assertIn('casewatch_notification_queue{receiver="hook"} 3', d.get("/metrics").body)
        d.kill9()
        sink.fail_first = 0
        sink.requests.clear()
        d.start(at="2017-06-14T09:10:00+01:00")
        d.advance(1)
        wait_until(lambda: len(sink.accepted()) == 3, what="the outbox to drain")
        delivered = {r["headers"]["X-Casewatch-Notification-Id"] for r in sink.accepted()}
        self.assertEqual(delivered, attempted)  # the same notifications, nothing lost, no new ones

    def test_alertmanager_receives_and_resolves(self):
        am = Alertmanager()
        self.cleanups.append(am.stop)
        routing = """
[[receiver]]
name = "am"
type = "alertmanager"
urls = ["%s"]

[[route]]
receiver = "am"
""" % am.url()
        # Alertmanager judges endsAt against its own clock, so this test runs at the real time.
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        referral = (now - datetime.timedelta(days=30)).strftime("%d/%m/%Y")
        d = self.deploy(routing, ["A1,%s,,Assessment" % referral, "A2,%s,,Assessment" % referral],
                        at=now.strftime("%Y-%m-%dT%H:%M:%SZ"))
        wait_until(lambda: len(am.alerts()) == 2, what="alertmanager to hold both alerts")
        labels = {a["labels"]["key"]: a["labels"] for a in am.alerts()}
        self.assertEqual(labels["A1"]["alertname"], "assessment_timescale")
        self.assertEqual(labels["A1"]["severity"], "critical")
        self.assertEqual(labels["A1"]["team"], "Assessment")
        done = now.strftime("%d/%m/%Y")
        d.write("data/assessments.csv", assessments_csv(["A1,%s,%s,Assessment" % (referral, done), "A2,%s,,Assessment" % referral]))
        d.advance(0)  # the test clock stays at the real time: Alertmanager compares endsAt with its own clock
        wait_until(lambda: [a["labels"]["key"] for a in am.alerts()] == ["A2"], what="A1 to resolve in alertmanager")

    def file_routing(self, route_extra, group_wait="0s"):
        return """
[[receiver]]
name = "log"
type = "file"
path = "notifications.jsonl"

[[route]]
receiver = "log"
group_by = ["team"]
group_wait = "%s"
%s
""" % (group_wait, route_extra)

    def test_active_time_holds_notifications_across_a_bank_holiday(self):
        d = self.deploy(self.file_routing('active_time = ["working-days 08:00-18:00"]'),
                        ["A1,04/08/2017,,Assessment"], at="2017-08-25T18:30:00+01:00")  # Friday evening, A1 overdue
        log = os.path.join(d.dir, "notifications.jsonl")
        d.advance(60)
        self.assertEqual(jsonl(log), [])  # outside the window: held
        d.advance(2 * 86400 + 14 * 3600)  # Monday 28 August 2017, 08:31: the summer bank holiday
        self.assertEqual(jsonl(log), [])
        d.advance(86400)  # Tuesday 08:31
        notes = jsonl(log)
        self.assertEqual(len(notes), 1)
        self.assertEqual(notes[0]["alerts"][0]["key"], "A1")

    def test_digest_at_its_time_marks_new_alerts(self):
        d = self.deploy(self.file_routing('digest = "working-days 08:30"'),
                        ["A1,02/06/2017,,Assessment"], at="2017-06-14T07:00:00+01:00")
        log = os.path.join(d.dir, "notifications.jsonl")
        d.advance(3600)  # 08:00
        self.assertEqual(jsonl(log), [])
        d.advance(1800)  # 08:30: the digest
        notes = jsonl(log)
        self.assertEqual(len(notes), 1)
        self.assertTrue(notes[0]["digest"])
        self.assertEqual([(a["key"], a["is_new"]) for a in notes[0]["alerts"]], [("A1", True)])
        d.write("data/assessments.csv", assessments_csv(["A1,02/06/2017,,Assessment", "A2,01/06/2017,,Assessment"]))
        d.advance(3600)  # A2 appears: no message until the next digest
        self.assertEqual(len(jsonl(log)), 1)
        d.advance(86400 - 3600)  # Thursday 08:30
        notes = jsonl(log)
        self.assertEqual(len(notes), 2)
        self.assertEqual(sorted((a["key"], a["is_new"]) for a in notes[1]["alerts"]), [("A1", False), ("A2", True)])

    def test_escalation_after_working_days(self):
        routing = """
[[receiver]]
name = "manager"
type = "file"
path = "manager.jsonl"
[[receiver]]
name = "head"
type = "file"
path = "head.jsonl"

[[route]]
match = { severity = "critical" }
escalate_after = "2 working days"
receiver = "head"
group_wait = "0s"
continue = true

[[route]]
receiver = "manager"
group_wait = "0s"
"""
        # Due Thursday 24 August 2017; critical from Friday 25th; Monday 28th is a bank holiday.
        d = self.deploy(routing, ["A1,10/08/2017,,Assessment"], at="2017-08-25T09:00:00+01:00")
        head = os.path.join(d.dir, "head.jsonl")
        d.advance(60)
        self.assertEqual(len(jsonl(os.path.join(d.dir, "manager.jsonl"))), 1)
        d.advance(3 * 86400)  # Monday (bank holiday): one working day has not passed yet
        self.assertEqual(jsonl(head), [])
        d.advance(86400)  # Tuesday: 1 working day
        self.assertEqual(jsonl(head), [])
        d.advance(86400)  # Wednesday: 2 working days
        self.assertEqual([a["key"] for a in jsonl(head)[0]["alerts"]], ["A1"])

    def test_repeat_interval(self):
        d = self.deploy(self.file_routing('repeat_interval = "1h"'), ["A1,02/06/2017,,Assessment"], at="2017-06-14")
        log = os.path.join(d.dir, "notifications.jsonl")
        d.advance(1)
        self.assertEqual(len(jsonl(log)), 1)
        d.advance(1800)
        self.assertEqual(len(jsonl(log)), 1)
        d.advance(1800)
        self.assertEqual(len(jsonl(log)), 2)
        self.assertEqual(jsonl(log)[0]["id"] != jsonl(log)[1]["id"], True)

    def test_silences_and_acknowledgement(self):
        d = self.deploy(self.file_routing("", group_wait="10s"), ["A1,02/06/2017,,Assessment", "C1,02/06/2017,,Child Protection"],
                        at="2017-06-14")
        log = os.path.join(d.dir, "notifications.jsonl")
        resp = d.post("/api/v1/silences", {"matchers": {"team": "Child Protection"}, "ends_at": "2017-06-30T00:00:00Z",
                                           "created_by": "team manager", "comment": "covered in the weekly meeting"})
        self.assertEqual(resp.status, 201, resp.body)
        silence_id = resp.json()["id"]
        listed = d.get("/api/v1/silences").json()["silences"]
        self.assertEqual([(s["id"], s["state"]) for s in listed], [(silence_id, "active")])
        self.assertEqual(d.post("/api/v1/silences", {"matchers": {}}).status, 400)
        self.assertEqual(d.post("/api/v1/silences", b"{not json").status, 400)
        d.advance(10)
        notes = jsonl(log)
        self.assertEqual([[a["key"] for a in n["alerts"]] for n in notes], [["A1"]])
        alerts = d.alerts()
        self.assertTrue(alerts[("assessment_timescale", "C1")]["silenced"])
        self.assertIn('state="silenced"} 1', d.get("/metrics").body)
        # Acknowledge A1 while it is a warning: silenced until its severity rises.
        a1 = alerts[("assessment_timescale", "A1")]
        self.assertEqual(d.post("/api/v1/alerts/%s/ack" % a1["fingerprint"], {"created_by": "manager"}).status, 200)
        self.assertEqual(d.post("/api/v1/alerts/ffffffffffffffff/ack").status, 404)
        self.assertTrue(d.alerts()[("assessment_timescale", "A1")]["silenced"])
        d.advance(86400)  # Thursday 15th: A1 (due 16th) still a warning
        self.assertTrue(d.alerts()[("assessment_timescale", "A1")]["silenced"])
        d.advance(2 * 86400)  # Saturday 17th: overdue, critical: the acknowledgement lapses
        self.assertFalse(d.alerts()[("assessment_timescale", "A1")]["silenced"])
        self.assertEqual(request_delete(d, "/api/v1/silences/" + silence_id), 200)
        self.assertEqual(request_delete(d, "/api/v1/silences/" + silence_id), 404)
        self.assertFalse(d.alerts()[("assessment_timescale", "C1")]["silenced"])


def request_delete(d, path):
    from harness import request
    return request(d.url(path), "DELETE", token=d.token).status


if __name__ == "__main__":
    unittest.main()
