"""What a manager reads (issue 29), for the example deployment on the generator's data as of
Monday 7 December 2026: `casewatch preview` writes every email, Teams card and Slack message the
rules would send. The Assessment team's email and the Teams card of its critical timescales are
golden files (tests/golden/example/; CASEWATCH_UPDATE_GOLDEN=1 rewrites them); every message is
checked for what a reader needs: most urgent first, plain-English timing, links to casewatch's
pages, subjects that say what matters, Teams cards valid against the Adaptive Card 1.4 schema."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import jsonschema

from harness import BINARY

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GENERATOR = os.environ.get("CASEWATCH_GEN", os.path.join(os.path.dirname(BINARY), "casewatch-gen"))
GOLDEN = os.path.join(REPO, "tests", "golden", "example")
SCHEMA = os.path.join(os.path.dirname(__file__), "schemas", "adaptive-card-1.4-casewatch.json")
AS_OF = "2026-12-07"
GOLDEN_FILES = ["team-email-assessment.txt", "team-email-assessment.html",
                "teams-critical-assessment-authorisation.teams.json"]


def timing_rank(timing):
    """Working days from today a timing phrase says: negative when overdue."""
    for pattern, rank in ((r"overdue by (\d+) working days?", lambda n: -int(n)),
                          (r"overdue since [\d/]+", lambda: -0.5), (r"due today", lambda: 0),
                          (r"due tomorrow", lambda: 1), (r"due in (\d+) working days? \(\w+\)", lambda n: int(n)),
                          (r"due on \w+", lambda: 0.5)):
        m = re.fullmatch(pattern, timing)
        if m:
            return rank(*m.groups())
    raise AssertionError("not a timing phrase: %r" % timing)


class MessagesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="casewatch-messages-")
        example = os.path.join(cls.work, "example")
        shutil.copytree(os.path.join(REPO, "examples", "improvement-plan"), example,
                        ignore=shutil.ignore_patterns("data", "state"))
        subprocess.run([GENERATOR, "--profile", "la", "--as-of", AS_OF, "--seed", "1", "--out",
                        os.path.join(example, "data")], check=True, capture_output=True)
        cls.out = os.path.join(cls.work, "messages")
        done = subprocess.run([BINARY, "preview", "-c", os.path.join(example, "casewatch.toml"), "--at", AS_OF,
                               "--out", cls.out], capture_output=True, text=True)
        # The generator writes malformed rows on purpose: the exit says so, the messages are made.
        assert done.returncode in (0, 1), done.stderr
        cls.files = sorted(os.listdir(cls.out))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    def read(self, name):
        with open(os.path.join(self.out, name), encoding="utf-8") as f:
            return f.read()

    def test_golden_messages(self):
        update = os.environ.get("CASEWATCH_UPDATE_GOLDEN") == "1"
        for name in GOLDEN_FILES:
            with self.subTest(name=name):
                got = self.read(name)
                path = os.path.join(GOLDEN, name)
                if update:
                    os.makedirs(GOLDEN, exist_ok=True)
                    with open(path, "w", encoding="utf-8") as f:
                        f.write(got)
                with open(path, encoding="utf-8") as f:
                    self.assertEqual(got, f.read(), "differs from %s (CASEWATCH_UPDATE_GOLDEN=1 rewrites it)" % path)

    def test_every_team_gets_one_email_most_urgent_first(self):
        emails = [f for f in self.files if f.startswith("team-email-") and f.endswith(".txt")]
        self.assertGreaterEqual(len(emails), 7)
        for name in emails:
            with self.subTest(email=name):
                text = self.read(name)
                subject = re.search(r"^Subject: (.*)$", text, re.M).group(1)
                # "Assessment: 14 overdue, 2 due today, ...": the team, then what matters, no jargon.
                self.assertRegex(subject, r"^[A-Z][A-Za-z ]+: \d+ (overdue|due today|due this week|due later|"
                                          r"measures? off target|needing action)")
                self.assertNotIn("alerts:", subject)
                self.assertNotIn("working days from today", text)
                self.assertNotRegex(text, r"-\d+ working days")
                firsts = []
                for section in re.split(r"\n(?=[^\n]+\n-+\n)", text.split("\nTimescales\n==========\n", 1)[-1]):
                    ranks = [timing_rank(m) for m in re.findall(r"^  - .*: ((?:overdue|due)[^\n]*?)(?: \(new\))?$",
                                                               section.split("\n\n", 1)[-1].split("\n=")[0], re.M)]
                    if ranks:
                        self.assertEqual(ranks, sorted(ranks), section[:400])
                        firsts.append(ranks[0])
                self.assertEqual(firsts, sorted(firsts), "workers most urgent first")
                # Every link goes to casewatch's team page or an alert's page.
                for url in re.findall(r"https?://\S+", text):
                    self.assertRegex(url, r"^http://127\.0\.0\.1:9797/(team\?name=[^ ]+|alerts/[0-9a-f]+)$")
                self.assertIn("/team?name=", text)
                html = self.read(name[:-4] + ".html")
                self.assertIn('<html lang="en-GB">', html)
                self.assertNotIn("<style", html)  # Outlook: inline styles only
                self.assertNotIn("<script", html)

    def test_teams_cards_are_valid_adaptive_cards_with_links(self):
        with open(SCHEMA, encoding="utf-8") as f:
            schema = json.load(f)
        cards = [f for f in self.files if f.endswith(".teams.json")]
        self.assertTrue(cards)
        for name in cards:
            with self.subTest(card=name):
                card = json.loads(self.read(name))
                jsonschema.validate(card, schema, format_checker=jsonschema.FormatChecker())
                content = card["attachments"][0]["content"]
                self.assertEqual(content["version"], "1.4")
                self.assertLess(len(json.dumps(card)), 28000, "Teams refuses cards over about 28 KB")
                title = content["body"][0]["text"]
                self.assertNotIn("alertname=", title)
                self.assertNotIn("[FIRING]", title)
                for container in (b for b in content["body"] if b["type"] == "Container"):
                    self.assertRegex(container["selectAction"]["url"], r"^http://127\.0\.0\.1:9797/alerts/[0-9a-f]+$")
                self.assertRegex(content["actions"][0]["url"], r"^http://127\.0\.0\.1:9797/")

    def test_schema_refuses_what_teams_would(self):
        with open(SCHEMA, encoding="utf-8") as f:
            schema = json.load(f)
        card = json.loads(self.read(GOLDEN_FILES[2]))
        card["attachments"][0]["content"]["body"][0]["color"] = "Red"
        with self.assertRaises(jsonschema.ValidationError):
            jsonschema.validate(card, schema)


if __name__ == "__main__":
    unittest.main()


class PreviewFilesTest(unittest.TestCase):
    """Groups keyed by long or look-alike label values still get a file each, and a file that
    cannot be written is said, with a failing exit, rather than listed as written."""

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="casewatch-preview-")
        self.addCleanup(shutil.rmtree, self.work, True)
        teams = ["T" * 300, "T" * 299 + "U", "Duty A", "duty-a"]
        with open(os.path.join(self.work, "cases.csv"), "w") as f:
            f.write("ID,Team\n" + "".join("%d,%s\n" % (i, t) for i, t in enumerate(teams)))
        with open(os.path.join(self.work, "rules.toml"), "w") as f:
            f.write('[[rule]]\nname = "open"\nkind = "condition"\nfeed = "cases"\nwhen = "true"\n'
                    'severity = "warning"\nlabels = { team = "{{ team }}" }\n')
        with open(os.path.join(self.work, "c.toml"), "w") as f:
            f.write('rule_files = ["rules.toml"]\n[[feed]]\nname = "cases"\npath = "cases.csv"\nkey = "id"\n'
                    '[feed.fields]\nid = { column = "ID" }\nteam = { column = "Team" }\n'
                    '[[receiver]]\nname = "mail"\ntype = "email"\nsmtp_url = "smtp://127.0.0.1:2525"\n'
                    'from = "casewatch@la.example.gov.uk"\nto = "duty@la.example.gov.uk"\n'
                    '[[route]]\nreceiver = "mail"\ngroup_by = ["team"]\n')
        self.out = os.path.join(self.work, "out")

    def preview(self):
        return subprocess.run([BINARY, "preview", "-c", os.path.join(self.work, "c.toml"), "--at", AS_OF,
                               "--out", self.out], capture_output=True, text=True)

    def test_every_group_has_its_own_file_of_a_name_the_file_system_takes(self):
        done = self.preview()
        self.assertEqual(done.returncode, 0, done.stderr)
        names = sorted(os.listdir(self.out))
        self.assertEqual(len(names), 8, names)  # four groups, a text and an HTML file each
        self.assertTrue(all(len(n) <= 120 for n in names), names)
        listed = sorted(os.path.basename(line) for line in done.stdout.split())
        self.assertEqual(listed, names)

    def test_a_file_that_cannot_be_written_fails_the_run(self):
        os.makedirs(os.path.join(self.out, "mail-duty-a.txt"))  # a folder where the file would go
        done = self.preview()
        self.assertEqual(done.returncode, 1)
        self.assertIn("cannot write", done.stderr)
        self.assertIn("mail-duty-a.txt", done.stderr)
        self.assertNotIn("mail-duty-a.txt\n", done.stdout)
