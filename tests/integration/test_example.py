"""The example deployment as a newcomer runs it (issue 12): today's synthetic extracts from
casewatch-gen, the stand-ins of scripts/run-example.sh (scripts/stand-ins.py: a mail catcher and a
webhook catcher on loopback), the daemon on the real clock. Within a minute a team manager's email,
the Teams card of the critical alerts and Alertmanager's alerts arrive, each where the script
says."""
import datetime
import email
import email.policy
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import BINARY, Deployment
from sinks import free_port, wait_until

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GENERATOR = os.environ.get("CASEWATCH_GEN", os.path.join(os.path.dirname(BINARY), "casewatch-gen"))


class ExampleTest(unittest.TestCase):
    def setUp(self):
        self.cleanups = []

    def tearDown(self):
        for c in reversed(self.cleanups):
            c()

    def test_a_newcomer_sees_an_email_and_webhook_bodies_arrive_within_a_minute(self):
        work = tempfile.mkdtemp(prefix="casewatch-example-")
        self.cleanups.append(lambda: shutil.rmtree(work, ignore_errors=True))
        example = os.path.join(work, "improvement-plan")
        shutil.copytree(os.path.join(REPO, "examples", "improvement-plan"), example,
                        ignore=shutil.ignore_patterns("data", "state"))
        today = datetime.date.today().isoformat()
        subprocess.run([GENERATOR, "--profile", "la", "--as-of", today, "--seed", "1", "--out",
                        os.path.join(example, "data"), "-q"], check=True)
        # The stand-ins on free ports instead of run-example.sh's fixed ones.
        smtp_port, http_port = free_port(), free_port()
        config = os.path.join(example, "casewatch.toml")
        with open(config) as f:
            text = f.read()
        self.assertIn("smtp://127.0.0.1:2525", text)
        self.assertIn("http://127.0.0.1:9798", text)
        with open(config, "w") as f:
            f.write(text.replace(":2525", ":%d" % smtp_port).replace(":9798", ":%d" % http_port))
        url_file = os.path.join(example, "secrets", "teams-webhook-url")
        with open(url_file) as f:
            url = f.read()
        with open(url_file, "w") as f:
            f.write(url.replace(":9798", ":%d" % http_port))

        inbox = os.path.join(work, "inbox")
        stand_ins = subprocess.Popen(["/usr/bin/python3", os.path.join(REPO, "scripts", "stand-ins.py"), inbox,
                                      "--smtp-port", str(smtp_port), "--http-port", str(http_port)],
                                     stdout=subprocess.PIPE, text=True)
        self.cleanups.append(lambda: (stand_ins.terminate(), stand_ins.wait(), stand_ins.stdout.close()))
        self.assertTrue(stand_ins.stdout.readline().startswith("stand-ins: mail on"))

        d = Deployment.__new__(Deployment)
        d.dir, d.token, d.process, d.scheme, d.context = example, None, None, "http", None
        d.stderr_path = os.path.join(work, "stderr.log")
        d.start(at=None, extra=("--log-level", "info"))
        self.cleanups.append(d.cleanup)

        def files(kind):
            folder = os.path.join(inbox, kind)
            return sorted(os.listdir(folder)) if os.path.isdir(folder) else []

        wait_until(lambda: any(n.endswith("teams.json") for n in files("webhooks")) and
                   any("api_v2_alerts" in n for n in files("webhooks")) and files("mail"), 60,
                   "an email, the Teams card and Alertmanager's alerts")
        with open(os.path.join(inbox, "mail", files("mail")[0]), "rb") as f:
            message = email.message_from_bytes(f.read(), policy=email.policy.default)
        self.assertTrue(message["To"].endswith("@la.example.gov.uk"), message["To"])
        # "Assessment: 14 overdue, 2 due today, ...": the team, then what matters (issue 29).
        self.assertRegex(message["Subject"], r"^[A-Z][A-Za-z ]+: \d+ (overdue|due today|due this week|due later|"
                                             r"measures? off target|needing action)")
        self.assertIn("/team?name=", message.get_body(preferencelist=("plain",)).get_content())
        teams = [n for n in files("webhooks") if n.endswith("teams.json")][0]
        with open(os.path.join(inbox, "webhooks", teams)) as f:
            card = json.load(f)
        self.assertEqual(card["attachments"][0]["contentType"], "application/vnd.microsoft.card.adaptive")
        alerts = [n for n in files("webhooks") if "api_v2_alerts" in n][0]
        with open(os.path.join(inbox, "webhooks", alerts)) as f:
            posted = json.load(f)
        self.assertTrue(posted and all("alertname" in a["labels"] for a in posted))

    def test_every_rule_of_the_example_fires_on_the_generators_la_data(self):
        """A rule that never fires on realistic data is untested in practice (issue 13): each of
        the example's rules must raise at least one alert on the `la` profile, for three seeds."""
        work = tempfile.mkdtemp(prefix="casewatch-example-rules-")
        self.cleanups.append(lambda: shutil.rmtree(work, ignore_errors=True))
        config = os.path.join(REPO, "examples", "improvement-plan", "casewatch.toml")
        listed = subprocess.run([BINARY, "eval", "-c", config, "--at", "2017-06-14", "--rule", "nope"],
                                capture_output=True, text=True)
        self.assertEqual(listed.returncode, 2)  # an unknown rule is bad usage: the names below are real
        names = []
        for path in sorted(os.listdir(os.path.join(REPO, "examples", "improvement-plan", "rules"))):
            with open(os.path.join(REPO, "examples", "improvement-plan", "rules", path)) as f:
                names += [line.split('"')[1] for line in f if line.startswith("name = ")]
        self.assertGreaterEqual(len(names), 40)
        for seed in ("1", "2", "3"):
            example = os.path.join(work, seed)
            shutil.copytree(os.path.join(REPO, "examples", "improvement-plan"), example,
                            ignore=shutil.ignore_patterns("data", "state"))
            subprocess.run([GENERATOR, "--profile", "la", "--as-of", "2017-06-14", "--seed", seed, "--out",
                            os.path.join(example, "data"), "-q"], check=True)
            out = subprocess.run([BINARY, "eval", "-c", os.path.join(example, "casewatch.toml"), "--at", "2017-06-14",
                                  "--format", "json"], capture_output=True, text=True)
            fired = {a["rule"] for a in json.loads(out.stdout)["alerts"]}
            self.assertEqual([n for n in names if n not in fired], [], "seed %s" % seed)


if __name__ == "__main__":
    unittest.main()
