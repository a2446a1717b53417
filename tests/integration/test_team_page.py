"""The team page a manager opens in the morning (issue 13), in headless Chromium: a known data set
on the test clock, what the page says of it (worker by worker, most urgent first, in plain words,
the team's measure with its sparkline, the days ahead), a manager acknowledging and silencing from
it, and the alert page's history. Screenshots go to the test artefacts."""
import os
import time
import unittest

from harness import Deployment, chromium, request
from sinks import WebhookSink, wait_until
from test_front_door import basic, hash_password

CONFIG = """
rule_files = ["rules/*.toml"]
[server]
listen = "127.0.0.1:9797"
auth_token_file = "api-token"
users_file = "users.toml"
[engine]
timezone = "Europe/London"
evaluation_interval = "1h"
state_dir = "state"
[metrics]
known_label_values = { team = ["Assessment", "Child in Need"] }

[[feed]]
name = "assessments"
path = "data/assessments.csv"
key = "assessment_id"
date_format = "%d/%m/%Y"
[feed.fields]
assessment_id = { column = "Assessment ID" }
child_id = { column = "Child ID", personal = true }
referral_date = { column = "Date of referral", type = "date" }
authorised = { column = "Date authorised", type = "date" }
team = { column = "Team" }
worker = { column = "Worker" }

[[route]]
receiver = "hook"
group_by = ["team"]
group_wait = "0s"

[[receiver]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:HOOK_PORT/hook"
"""

RULES = {"assessments.toml": """
[[rule]]
name = "assessment_timescale"
kind = "deadline"
feed = "assessments"
start = "referral_date"
done = "authorised"
due_in = "10 working days"
warn_before = "5 working days"
labels = { team = "{{ team }}", worker = "{{ worker }}" }
annotations = { summary = "Assessment {{ assessment_id }} (child {{ child_id }}) is due for authorisation" }

[[rule]]
name = "kpi_assessments_authorised"
kind = "aggregate"
feed = "assessments"
description = "The share of assessments authorised."
where = "referral_date <= today()"
group_by = ["team"]
value = "ratio(authorised != null && authorised <= today())"
when = "value < 0.9"
export = true
unit = "ratio"
labels = { team = "{{ team }}" }

[[rule]]
name = "kpi_assessments_authorised_authority"
kind = "aggregate"
feed = "assessments"
where = "referral_date <= today()"
value = "ratio(authorised != null && authorised <= today())"
when = "value < 0.9"
export = true
unit = "ratio"
labels = { team = "All teams" }
"""}

# As of Wednesday 14 June 2017 (29 May was a bank holiday):
DATA = {"assessments.csv": """Assessment ID,Child ID,Date of referral,Date authorised,Team,Worker
A1,C1,26/05/2017,,Assessment,"Smith, Jo"
A2,C2,31/05/2017,,Assessment,"Smith, Jo"
A3,C3,01/06/2017,,Assessment,"Khan, Ali"
A4,C4,05/06/2017,,Assessment,"Khan, Ali"
A5,C5,01/06/2017,02/06/2017,Assessment,"Khan, Ali"
A6,C6,26/05/2017,,Child in Need,"Other, Person"
"""}
# A1 was due Monday 12 June: overdue by 2 working days. A2 is due today, A3 tomorrow, A4 on
# Monday 19 June (3 working days); A5 is done. A6 is another team's.

TOKEN = "team-page-admin-token"
ALICE = ("alice", "alice's long passphrase")  # a manager
VICTOR = ("victor", "victor's passphrase")    # a viewer


class TeamPageTest(unittest.TestCase):
    def setUp(self):
        self.hook = WebhookSink()
        self.d = Deployment(CONFIG.replace("HOOK_PORT", str(self.hook.port)), RULES, DATA, token=TOKEN)
        self.d.write("users.toml", '[users.alice]\npassword_hash = "%s"\nrole = "manager"\n'
                                   '[users.victor]\npassword_hash = "%s"\nrole = "viewer"\n'
                     % (hash_password(ALICE[1]), hash_password(VICTOR[1])))
        # Three mornings of the measure for its sparkline: Monday, Tuesday, Wednesday.
        self.d.start(at="2017-06-12")
        self.d.advance(86400)
        self.d.advance(86400)
        wait_until(lambda: self.hook.accepted(), 20, "the team's notification")

    def tearDown(self):
        self.d.cleanup()
        self.hook.stop()

    def screenshot(self, driver, name):
        artefacts = os.environ.get("CASEWATCH_ARTEFACTS", "build/artefacts")
        os.makedirs(artefacts, exist_ok=True)
        path = os.path.join(artefacts, name)
        driver.save_screenshot(path)
        self.assertGreater(os.path.getsize(path), 1000)

    def wait_text(self, element, text):
        deadline = time.monotonic() + 10
        while element.text != text and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(element.text, text)

    def test_a_manager_sees_the_teams_morning_and_acts_on_it(self):
        from selenium.webdriver.common.by import By

        driver = chromium(self, basic(*ALICE))
        driver.get(self.d.url("/"))
        driver.find_element(By.LINK_TEXT, "Assessment").click()  # the team links of the status page
        self.assertEqual(driver.find_element(By.TAG_NAME, "h1").text, "Assessment")
        self.assertIn("Last evaluation 14/06/2017 09:00", driver.find_element(By.CLASS_NAME, "meta").text)
        self.assertIn("times in Europe/London", driver.find_element(By.CLASS_NAME, "meta").text)
        counts = {k: driver.find_element(By.ID, "count-" + k).text for k in ("overdue", "today", "week", "other")}
        self.assertEqual(counts, {"overdue": "1", "today": "1", "week": "2", "other": "1"})

        # Worker by worker, the most urgent first; in each, the earliest due first.
        workers = [h.text for h in driver.find_elements(By.CSS_SELECTOR, "h3.worker")]
        self.assertEqual(workers, ["Smith, Jo (1 overdue, 1 due today)", "Khan, Ali (2 due this week)"])
        rows = driver.find_elements(By.CSS_SELECTOR, "tr[data-bucket]")
        wording = [(r.get_attribute("data-bucket"), r.find_elements(By.TAG_NAME, "td")[1].text) for r in rows
                   if r.get_attribute("data-bucket") != "other"]
        self.assertEqual(wording, [("overdue", "overdue by 2 working days"), ("today", "due today"),
                                   ("week", "due tomorrow"), ("week", "due in 3 working days (Monday)")])
        self.assertIn("Assessment A1 (child C1)", rows[0].text)
        self.assertNotIn("Other, Person", driver.page_source)  # another team's child is not here

        # The team's measure: 1 of 5 authorised, past its target, with three days of trend.
        tile = driver.find_element(By.CSS_SELECTOR, '.kpi[data-rule="kpi_assessments_authorised"]')
        self.assertIn("Assessments authorised", tile.text)
        self.assertIn("20%", tile.text)
        self.assertIn("past its target", tile.text)
        points = tile.find_element(By.TAG_NAME, "polyline").get_attribute("points").split()
        self.assertEqual(len(points), 3)

        # What falls due ahead: A3 on Thursday, A4 on Monday.
        ahead = {r.find_elements(By.TAG_NAME, "td")[0].text: r.find_elements(By.TAG_NAME, "td")[2].text
                 for r in driver.find_elements(By.CSS_SELECTOR, "#forecast tr")[1:]}
        self.assertEqual(ahead["Thu 15/06/2017"], "Khan, Ali 1")
        self.assertEqual(ahead["Mon 19/06/2017"], "Khan, Ali 1")
        self.assertEqual(ahead["Fri 16/06/2017"], "")
        self.screenshot(driver, "team-page.png")

        # Acknowledge the overdue one, silence the Monday one.
        rows[0].find_element(By.CSS_SELECTOR, "button.ack").click()
        self.wait_text(rows[0].find_element(By.CSS_SELECTOR, "button.ack"), "acknowledged")
        rows[3].find_element(By.CSS_SELECTOR, "button.silence").click()
        self.wait_text(rows[3].find_element(By.CSS_SELECTOR, "button.silence"), "silenced for 7 days")
        alerts = self.d.alerts()
        self.assertTrue(alerts[("assessment_timescale", "A1")]["silenced"])
        self.assertTrue(alerts[("assessment_timescale", "A4")]["silenced"])
        self.assertFalse(alerts[("assessment_timescale", "A2")]["silenced"])
        silences = self.d.get("/api/v1/silences").json()["silences"]
        self.assertEqual([(s["created_by"], s["matchers"]) for s in silences],
                         [("alice", {"alertname": "assessment_timescale", "key": "A4"})])

        # The overdue alert's page: what it is and what happened to it.
        driver.get(self.d.url("/team?name=Assessment"))
        driver.find_elements(By.CSS_SELECTOR, "tr[data-bucket=overdue] a")[0].click()
        self.assertEqual(driver.find_element(By.ID, "due").text, "Due 12/06/2017: overdue by 2 working days")
        history = [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#history li")]
        self.assertEqual(history[0], "First seen 12/06/2017 09:00")
        self.assertEqual(history[1], "Firing since 12/06/2017 09:00")
        self.assertTrue(any(h.startswith("Notification sent to hook at ") for h in history), history)
        self.assertTrue(any(h.startswith("Acknowledged by alice at ") for h in history), history)
        labels = {tr.find_element(By.TAG_NAME, "th").text: tr.find_element(By.TAG_NAME, "td").text
                  for tr in driver.find_elements(By.CSS_SELECTOR, "#labels tr")}
        self.assertEqual(labels["team"], "Assessment")
        self.assertEqual(labels["worker"], "Smith, Jo")
        self.screenshot(driver, "alert-page.png")

    def test_a_viewer_sees_the_page_without_buttons(self):
        page = request(self.d.url("/team?name=Assessment"), headers={"Authorization": basic(*VICTOR)})
        self.assertEqual(page.status, 200)
        self.assertIn("overdue by 2 working days", page.body)
        self.assertNotIn('class="ack"', page.body)
        self.assertNotIn('class="silence"', page.body)
        self.assertEqual(request(self.d.url("/team"), headers={"Authorization": basic(*VICTOR)}).status, 400)
        self.assertEqual(request(self.d.url("/alerts/nope"), headers={"Authorization": basic(*VICTOR)}).status, 404)
        # The authority's measures are on the page of the team its rules name ("All teams").
        authority = request(self.d.url("/team?name=All%20teams"), headers={"Authorization": basic(*VICTOR)})
        self.assertIn('data-rule="kpi_assessments_authorised_authority"', authority.body)
        self.assertIn("16.7%", authority.body)  # 1 of 6
        self.assertNotIn('data-rule="kpi_assessments_authorised"', authority.body)
        # Signed out: nothing.
        self.assertEqual(request(self.d.url("/team?name=Assessment")).status, 401)

    def test_the_sparkline_survives_a_restart(self):
        self.d.stop()
        self.d.start(at="2017-06-14")
        page = self.d.get("/team?name=Assessment")
        self.assertEqual(page.body.count("<polyline"), 1)
        tile = page.body[page.body.index('data-rule="kpi_assessments_authorised"'):]
        points = tile[tile.index('points="') + 8:]
        self.assertEqual(len(points[:points.index('"')].split()), 3)


if __name__ == "__main__":
    unittest.main()
