"""High availability (issue 12): two identical casewatch instances, each with its own state
directory, both sending to both peers of a real Alertmanager cluster (Debian's), which
de-duplicates. One instance is killed; every alert, old and new, still reaches the receiver,
and each exactly once."""
import datetime
import os
import shutil
import tempfile
import time
import unittest

from harness import Deployment
from sinks import Alertmanager, WebhookSink, free_port, wait_until

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
"""}

HEADER = "Assessment ID,Date of referral,Date of authorisation,Allocated Team\n"


def config(data_dir, alertmanagers):
    # The same config on both instances but for nothing: they share the extracts, not the state.
    return """
rule_files = ["rules/*.toml"]
[engine]
timezone = "Europe/London"
evaluation_interval = "10s"
state_dir = "state"

[[feed]]
name = "assessments"
path = "%s/assessments.csv"
key = "assessment_id"
date_format = "%%d/%%m/%%Y"
[feed.fields]
assessment_id = { column = "Assessment ID" }
referral_date = { column = "Date of referral", type = "date" }
authorised = { column = "Date of authorisation", type = "date" }
team = { column = "Allocated Team" }

[[receiver]]
name = "alertmanager"
type = "alertmanager"
urls = [%s]

[[route]]
receiver = "alertmanager"
""" % (data_dir, ", ".join('"%s"' % url for url in alertmanagers))


class HighAvailabilityTest(unittest.TestCase):
    def setUp(self):
        self.cleanups = []

    def tearDown(self):
        for c in reversed(self.cleanups):
            c()

    def extract(self, keys):
        # Referred 30 days ago and never authorised: overdue on the real clock.
        referred = (datetime.date.today() - datetime.timedelta(days=30)).strftime("%d/%m/%Y")
        path = os.path.join(self.data, "assessments.csv")
        with open(path + ".tmp", "w") as f:
            f.write(HEADER + "".join("%s,%s,,Assessment\n" % (k, referred) for k in keys))
        os.replace(path + ".tmp", path)

    def notified(self):
        """Firing notifications the receiver got, by alert key."""
        counts = {}
        for r in self.sink.requests:
            for alert in r["body"]["alerts"]:
                if alert["status"] == "firing":
                    counts[alert["labels"]["key"]] = counts.get(alert["labels"]["key"], 0) + 1
        return counts

    def no_duplicate_for(self, seconds):
        # A duplicate would come after the second peer's wait (3 s) and a group interval: the
        # absence of one can only be watched for a while.
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.assertTrue(all(n == 1 for n in self.notified().values()), self.notified())
            time.sleep(0.1)

    def test_two_instances_one_killed_every_alert_reaches_the_receiver_once(self):
        self.sink = WebhookSink()
        self.cleanups.append(self.sink.stop)
        ports = [free_port(), free_port()]
        first = Alertmanager(webhook="http://127.0.0.1:%d/hook" % self.sink.port, cluster_port=ports[0])
        self.cleanups.append(first.stop)
        second = Alertmanager(webhook="http://127.0.0.1:%d/hook" % self.sink.port, cluster_port=ports[1], peers=[ports[0]])
        self.cleanups.append(second.stop)
        wait_until(lambda: first.peers() == 2 and second.peers() == 2, 30, "the Alertmanager cluster to form")

        self.data = tempfile.mkdtemp(prefix="casewatch-ha-data-")
        self.cleanups.append(lambda: shutil.rmtree(self.data, ignore_errors=True))
        self.extract(["A1", "A2", "A3"])
        text = config(self.data, [first.url(), second.url()])
        instances = []
        for _ in range(2):
            d = Deployment(text, RULES, {})
            self.cleanups.append(d.cleanup)
            d.start(at=None, extra=("--log-level", "info"))
            instances.append(d)
        self.assertNotEqual(instances[0].dir, instances[1].dir)  # each its own state directory

        wait_until(lambda: set(self.notified()) == {"A1", "A2", "A3"}, 60, "the first three alerts")
        # Past every peer's wait (position x peer timeout) and a few group intervals: no duplicate.
        wait_until(lambda: len(first.alerts()) == 3 and len(second.alerts()) == 3, 30, "both peers to hold them")
        self.no_duplicate_for(8)

        instances[0].kill9()
        self.extract(["A1", "A2", "A3", "A4"])
        wait_until(lambda: "A4" in self.notified(), 60, "the new alert through the surviving instance")
        self.no_duplicate_for(8)
        self.assertEqual(self.notified(), {"A1": 1, "A2": 1, "A3": 1, "A4": 1})
        # The survivor keeps the old alerts firing in Alertmanager: none resolved by the kill.
        self.assertEqual(sorted(a["labels"]["key"] for a in second.alerts()), ["A1", "A2", "A3", "A4"])


if __name__ == "__main__":
    unittest.main()
