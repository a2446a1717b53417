"""What an operator lives with (issue 12): links from the port really bound, the listen flag under
its Prometheus name, check from standard input, STATE_DIRECTORY, JSON logs with rule, feed and
key as fields (identifiers only at debug), and alert data in files only the service can read."""
import json
import os
import stat
import subprocess
import tempfile
import unittest

from harness import ASSESSMENTS_FEED, BINARY, Deployment, assessments_csv

CONFIG = """
rule_files = ["rules/*.toml"]
[engine]
timezone = "Europe/London"
%s
[[receiver]]
name = "log"
type = "file"
path = "notifications.jsonl"
[[route]]
receiver = "log"
group_by = ["team"]
group_wait = "0s"
"""
RULES = {"assessments.toml": """
[[rule]]
name = "assessment_timescale"
kind = "deadline"
feed = "assessments"
start = "referral_date"
done = "authorised"
due_in = "10 working days"
labels = { team = "{{ team }}" }
"""}
DATA = {"assessments.csv": assessments_csv(["A1,01/05/2017,,Assessment", "A2,02/05/2017,,Child Protection"])}


class OperationsTest(unittest.TestCase):
    def setUp(self):
        self.cleanups = []
        self.old_umask = os.umask(0o022)

    def tearDown(self):
        os.umask(self.old_umask)
        for c in reversed(self.cleanups):
            c()

    def deploy(self, engine_extra='state_dir = "state"', start=True, extra=None, env=None):
        d = Deployment((CONFIG % engine_extra) + ASSESSMENTS_FEED, RULES, DATA)
        self.cleanups.append(d.cleanup)
        if start:
            if env:
                old = {k: os.environ.get(k) for k in env}
                os.environ.update(env)
                try:
                    d.start(extra=extra)
                finally:
                    for k, v in old.items():
                        if v is None:
                            del os.environ[k]
                        else:
                            os.environ[k] = v
            else:
                d.start(extra=extra)
        return d

    def test_links_point_at_the_port_really_bound_and_alert_files_are_private(self):
        d = self.deploy()  # --listen 127.0.0.1:0: a port chosen at start
        d.advance(0)
        with open(os.path.join(d.dir, "notifications.jsonl")) as f:
            records = [json.loads(line) for line in f]
        self.assertTrue(records)
        self.assertEqual({r["external_url"] for r in records}, {"http://127.0.0.1:%d/" % d.port})
        for name in ("notifications.jsonl", "state/casewatch.db"):
            mode = stat.S_IMODE(os.stat(os.path.join(d.dir, name)).st_mode)
            self.assertEqual(mode, 0o600, name)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(d.dir, "state")).st_mode), 0o700)

    def test_web_listen_address_is_the_listen_flag(self):
        d = self.deploy(start=False)
        process = subprocess.Popen([BINARY, "run", "-c", os.path.join(d.dir, "casewatch.toml"),
                                    "--web.listen-address", "127.0.0.1:0", "--test-clock", "2017-06-14"],
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            self.assertTrue(process.stdout.readline().startswith("listening on port "))
        finally:
            process.terminate()
            process.wait(timeout=10)
            process.stdout.close()

    def test_check_reads_the_config_from_standard_input(self):
        d = self.deploy(start=False)
        with open(os.path.join(d.dir, "casewatch.toml")) as f:
            text = f.read()
        ok = subprocess.run([BINARY, "check", "-c", "-"], input=text, cwd=d.dir, capture_output=True, text=True)
        self.assertEqual(ok.returncode, 0, ok.stderr)
        self.assertIn("<stdin>: OK: 1 feeds, 1 rules", ok.stdout)
        bad = subprocess.run([BINARY, "check", "-c", "-"], input=text.replace('key = "assessment_id"', 'key = "nope"'),
                             cwd=d.dir, capture_output=True, text=True)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("<stdin>:", bad.stderr)

    def test_state_directory_from_systemd_holds_the_state(self):
        state = tempfile.mkdtemp(prefix="casewatch-state-directory-")
        self.cleanups.append(lambda: subprocess.run(["rm", "-rf", state]))
        d = self.deploy(engine_extra="", env={"STATE_DIRECTORY": state})  # no state_dir: the unit's
        self.assertTrue(os.path.exists(os.path.join(state, "casewatch.db")))
        self.assertFalse(os.path.exists(os.path.join(d.dir, "state")))

    def test_json_logs_carry_rule_feed_and_key_as_fields_and_keys_only_at_debug(self):
        for level in ("info", "debug"):
            d = self.deploy(extra=("--log-format", "json", "--log-level", level))
            d.advance(0)
            d.stop()
            records = [json.loads(line) for line in d.log().splitlines() if line.startswith("{")]
            loaded = [r for r in records if r["message"].startswith("loaded ")]
            self.assertEqual([r.get("feed") for r in loaded], ["assessments"])
            counts = [r for r in records if r["message"].startswith("alerts: ")]
            self.assertEqual(counts[0]["rule"], "assessment_timescale")
            self.assertEqual(counts[0]["message"], "alerts: 2 firing")
            for r in records:
                if r["level"] != "debug":
                    self.assertNotIn("key", r)
                    self.assertFalse({"A1", "A2"} & set(json.dumps(r).replace('"', " ").split()), r)
            transitions = {r["key"] for r in records if r["level"] == "debug" and "key" in r}
            self.assertEqual(transitions, {"A1", "A2"} if level == "debug" else set())


if __name__ == "__main__":
    unittest.main()
