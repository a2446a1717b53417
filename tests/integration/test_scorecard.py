"""The improvement board's scorecard end to end: the example deployment on today's synthetic
extracts (casewatch-gen), the daemon on the real clock, Debian's Prometheus scraping it every
second with prometheus/casewatch.rules.yml, and every query of the Grafana dashboard
(dashboards/casewatch-scorecard.json) run against that Prometheus as Grafana would run it. Also:
no label in Prometheus carries a child's identifier or date of birth, and promtool accepts the
rules and passes their unit tests (prometheus/tests/)."""
import csv
import datetime
import glob
import html
import json
import os
import re
import shutil
import subprocess
import tempfile
import tomllib
import unittest
import urllib.error
import urllib.parse
import urllib.request

from harness import BINARY, Deployment
from sinks import free_port, wait_until

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GENERATOR = os.environ.get("CASEWATCH_GEN", os.path.join(os.path.dirname(BINARY), "casewatch-gen"))
RULES = os.path.join(REPO, "prometheus", "casewatch.rules.yml")
DASHBOARD = os.path.join(REPO, "dashboards", "casewatch-scorecard.json")
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
REAL_TEAM = "Assessment"
WINDOW = "1m"  # for $__rate_interval, $__interval and $__range: a minute holds 1s scrapes
CASEWATCH_URL = "http://127.0.0.1:9797"  # the casewatch_url variable's default: the example's listen
# Panels drawn from the same counter as an alert, and that alert.
PANEL_ALERTS = {"Rows rejected in the time range": "CasewatchFeedRowsRejected",
                "State write failures": "CasewatchStateWriteFailing",
                "Rule evaluation failures": "CasewatchRuleEvaluationFailing"}
RECORDED = ["casewatch:kpi_value:avg_over_time_30d", "casewatch:kpi_value:avg_over_time_90d",
            "casewatch:alerts_firing:sum_by_team_severity", "casewatch:alerts_firing:sum_by_rule_team"]


def panels(items):
    """Every panel, including those nested in collapsed rows."""
    for panel in items:
        yield panel
        yield from panels(panel.get("panels", []))


def substitute(expr, team):
    """What Grafana sends for a target: the team variable's value (the regex `.*` for All, as its
    allValue says) and the interval variables."""
    expr = re.sub(r"\$\{?__(rate_interval|interval|range)\}?", WINDOW, expr)
    return re.sub(r"\$\{team(:[a-z]+)?\}|\$team\b|\[\[team\]\]", team, expr)


def regex_value(team):
    """A selected team as Grafana writes it into a PromQL regex: metacharacters escaped inside the
    string literal (so the backslash is doubled)."""
    return re.sub(r"([\\^$.|?*+()\[\]{}])", r"\\\\\1", team)


class Prometheus:
    """Debian's prometheus on a free loopback port, its TSDB in a temporary folder."""

    def __init__(self, work, target_port):
        binary = shutil.which("prometheus")
        if not binary:
            raise AssertionError("prometheus not installed (scripts/setup.sh installs Debian's prometheus)")
        self.dir = os.path.join(work, "prometheus")
        os.makedirs(self.dir)
        config = os.path.join(self.dir, "prometheus.yml")
        with open(config, "w") as f:
            json.dump({"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                       "rule_files": [RULES],
                       "scrape_configs": [{"job_name": "casewatch",
                                           "static_configs": [{"targets": ["127.0.0.1:%d" % target_port]}]}]},
                      f)  # JSON is YAML
        self.port = free_port()
        self.log_path = os.path.join(self.dir, "log")
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                [binary, "--config.file=" + config, "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
                 "--web.listen-address=127.0.0.1:%d" % self.port],
                stdout=subprocess.DEVNULL, stderr=log)

    def get(self, path, **params):
        url = "http://127.0.0.1:%d%s" % (self.port, path)
        if params:
            url += "?" + urllib.parse.urlencode(params, doseq=True)
        with urllib.request.urlopen(url, timeout=10) as resp:
            return json.loads(resp.read())

    def ready(self):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/-/ready" % self.port, timeout=2) as resp:
                return resp.status == 200
        except OSError:
            return False

    def query(self, expr):
        """The instant query's result vector; fails on an error (a bad expression)."""
        try:
            answer = self.get("/api/v1/query", query=expr)
        except urllib.error.HTTPError as err:
            raise AssertionError("%s: %s" % (expr, err.read().decode()))
        assert answer["status"] == "success", answer
        assert answer["data"]["resultType"] == "vector", answer
        return answer["data"]["result"]

    def log(self):
        with open(self.log_path) as f:
            return f.read()[-4000:]

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class ScorecardTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="casewatch-scorecard-")
        cls.addClassCleanup(shutil.rmtree, cls.work, True)
        example = os.path.join(cls.work, "improvement-plan")
        shutil.copytree(os.path.join(REPO, "examples", "improvement-plan"), example,
                        ignore=shutil.ignore_patterns("data", "state"))
        cls.data = os.path.join(example, "data")
        subprocess.run([GENERATOR, "--profile", "la", "--as-of", datetime.date.today().isoformat(),
                        "--seed", "1", "--out", cls.data, "-q"], check=True)
        # Notifications go to ports nobody listens on (not run-example.sh's 2525 and 9798, where
        # someone's stand-ins may be): they fail and are retried, as with peers down.
        config = os.path.join(example, "casewatch.toml")
        with open(config) as f:
            text = f.read()
        with open(config, "w") as f:
            f.write(text.replace(":2525", ":%d" % free_port()).replace(":9798", ":%d" % free_port()))
        url_file = os.path.join(example, "secrets", "teams-webhook-url")
        with open(url_file) as f:
            url = f.read()
        with open(url_file, "w") as f:
            f.write(url.replace(":9798", ":%d" % free_port()))
        with open(config, "rb") as f:
            cls.known_teams = set(tomllib.load(f)["metrics"]["known_label_values"]["team"])

        cls.casewatch = Deployment.__new__(Deployment)
        d = cls.casewatch
        d.dir, d.token, d.process, d.scheme, d.context = example, None, None, "http", None
        d.stderr_path = os.path.join(cls.work, "casewatch.log")
        d.start(at=None, extra=("--log-level", "info"))
        cls.addClassCleanup(d.cleanup)

        cls.prometheus = Prometheus(cls.work, d.port)
        cls.addClassCleanup(cls.prometheus.stop)
        p = cls.prometheus
        try:
            wait_until(p.ready, 60, "Prometheus to start")
            wait_until(lambda: [s["value"][1] for s in p.query('up{job="casewatch"}')] == ["1"], 60,
                       "Prometheus to scrape casewatch")
            # A few scrapes (rate() over a minute needs two samples) and the rules evaluated on them.
            wait_until(lambda: p.query('count_over_time(up{job="casewatch"}[1m]) >= 3'), 60, "three scrapes")
            wait_until(lambda: all(p.query(name) for name in RECORDED), 60, "the recording rules")
        except AssertionError as err:
            raise AssertionError("%s\nprometheus log:\n%s\ncasewatch log:\n%s" % (err, p.log(), d.log()[-4000:]))

    @classmethod
    def dashboard(cls):
        with open(DASHBOARD) as f:
            return json.load(f)

    def targets(self):
        for panel in panels(self.dashboard()["panels"]):
            for target in panel.get("targets", []):
                yield panel, target

    def teams(self):
        """The team variable's values, as Grafana asks Prometheus for label_values(SELECTOR, team)."""
        variable = [v for v in self.dashboard()["templating"]["list"] if v["name"] == "team"][0]
        selector = re.fullmatch(r"label_values\((.+), *team\)", variable["query"]).group(1)
        answer = self.prometheus.get("/api/v1/label/team/values", **{"match[]": selector})
        self.assertEqual(answer["status"], "success")
        return answer["data"]

    def test_dashboard_is_ready_for_file_provisioning(self):
        board = self.dashboard()
        self.assertEqual(board["uid"], "casewatch-scorecard")
        self.assertIsNone(board.get("id"))
        self.assertNotIn("__inputs", board)
        self.assertGreaterEqual(board["schemaVersion"], 36)
        variables = {v["name"]: v for v in board["templating"]["list"]}
        source = variables["datasource"]
        self.assertEqual((source["type"], source["query"]), ("datasource", "prometheus"))
        team = variables["team"]
        self.assertEqual(team["query"], 'label_values(casewatch_rule_value{rule=~"kpi_.*"}, team)')
        self.assertTrue(team["multi"] and team["includeAll"])
        self.assertEqual(team["datasource"], DATASOURCE)
        # Every panel and every target reads the chosen data source, none a fixed one.
        count = 0
        for panel in panels(board["panels"]):
            self.assertEqual(panel.get("datasource"), DATASOURCE, panel["title"])
            for target in panel.get("targets", []):
                self.assertEqual(target.get("datasource"), DATASOURCE, panel["title"])
                count += 1
        self.assertGreater(count, 40)
        ids = [p["id"] for p in panels(board["panels"])]
        self.assertEqual(len(ids), len(set(ids)), "panel ids are unique")

    def test_every_dashboard_query_returns_series(self):
        teams = self.teams()
        checked = 0
        for panel, target in self.targets():
            expr = target["expr"]
            with self.subTest(panel=panel["title"], refId=target["refId"]):
                self.assertNotRegex(substitute(expr, ".*"), r"\$[A-Za-z_{\[]", "a variable the test does not know")
                series = self.prometheus.query(substitute(expr, ".*"))
                self.assertTrue(series, "no series for %s" % substitute(expr, ".*"))
                if "$team" not in expr:
                    continue
                # One team: only its series (or none, where it has no such cases); and each
                # measure has some team's series.
                for s in self.prometheus.query(substitute(expr, REAL_TEAM)):
                    self.assertEqual(s["metric"].get("team", REAL_TEAM), REAL_TEAM, substitute(expr, REAL_TEAM))
                self.assertTrue(any(self.prometheus.query(substitute(expr, regex_value(t))) for t in teams),
                                "no team has series for %s" % expr)
                checked += 1
        self.assertGreaterEqual(checked, 20)  # the 13 measures by team and the alert panels

    def test_counter_panels_agree_with_their_alerts(self):
        # A panel drawn beside an alert shows something (a value above 0) whenever the alert's
        # expression has series: a counter already above 0 when Prometheus first sees it (the
        # first load's rejected rows) counts, as in the alert, where increase() alone sees 0.
        # $__range as Grafana sends it for the dashboard's default time range, and as the alerts'
        # own hour.
        board = self.dashboard()
        default_range = re.fullmatch(r"now-(\d+[smhdwy])", board["time"]["from"]).group(1)
        rules = {r["name"]: r for g in self.prometheus.get("/api/v1/rules")["data"]["groups"] for r in g["rules"]}
        by_title = {p["title"]: p for p in panels(board["panels"])}
        fired = 0
        for title, alert in PANEL_ALERTS.items():
            panel, expr = by_title[title], rules[alert]["query"]
            self.assertIn(alert, panel["description"], title)
            metrics = set(re.findall(r"casewatch_[a-z_]+_total", expr))
            self.assertTrue(metrics)
            (target,) = panel["targets"]
            for metric in metrics:
                self.assertIn(metric, target["expr"], "%s reads the metric %s alerts on" % (title, alert))
            alerting = self.prometheus.query(expr)
            fired += bool(alerting)
            for window in (default_range, "1h"):
                query = substitute(re.sub(r"\$\{?__range\}?", window, target["expr"]), ".*")
                shown = self.prometheus.query(query)
                for s in alerting:
                    # The panel's series for this one: those whose labels all agree with it.
                    mine = [float(p["value"][1]) for p in shown
                            if all(s["metric"].get(k) == v for k, v in p["metric"].items() if k != "__name__")]
                    self.assertTrue(mine and max(mine) > 0,
                                    "%s fires for %s but panel %r shows %s over %s (%s)"
                                    % (alert, s["metric"], title, mine or "nothing", window, query))
        # The la extracts hold rejected rows: CasewatchFeedRowsRejected fires, so this compared something.
        self.assertGreaterEqual(fired, 1)

    def test_panels_say_none_and_by_team_panels_link_to_casewatch(self):
        board = self.dashboard()
        variables = {v["name"]: v for v in board["templating"]["list"]}
        base = variables["casewatch_url"]
        self.assertIn(base["type"], ("constant", "textbox"))
        self.assertEqual((base["query"], base["current"]["value"]), (CASEWATCH_URL, CASEWATCH_URL))
        by_team = 0
        for panel in panels(board["panels"]):
            if panel["type"] == "row":
                continue
            defaults = panel["fieldConfig"]["defaults"]
            with self.subTest(panel=panel["title"]):
                self.assertIsInstance(defaults.get("noValue"), str)
                self.assertRegex(defaults["noValue"], r"^\w", "a text, not Grafana's No data")
                links = defaults.get("links", []) + [link for o in panel["fieldConfig"]["overrides"]
                                                     for prop in o["properties"] if prop["id"] == "links"
                                                     for link in prop["value"]]
                for link in links:
                    self.assertTrue(link["url"].startswith("${casewatch_url}/"), link)
                    self.assertTrue(link["title"], link)
                if not any("$team" in t["expr"] for t in panel["targets"]):
                    continue
                by_team += 1
                self.assertRegex(defaults["noValue"], r"(?i)this team|none")
                team_links = [l for l in defaults.get("links", []) if "/team?name=" in l["url"]]
                self.assertTrue(team_links, "a link to casewatch's team page")
                for target in panel["targets"]:
                    self.check_team_link(panel, target)
        self.assertGreaterEqual(by_team, 20)  # the 13 measures by team and the alert panels

    def check_team_link(self, panel, target):
        """The link a series of this target gets (an override for its refId, else the defaults')
        names the series' own team when it has one, and opens a casewatch page for it."""
        links = panel["fieldConfig"]["defaults"].get("links", [])
        for o in panel["fieldConfig"]["overrides"]:
            if o["matcher"] == {"id": "byFrameRefID", "options": target["refId"]}:
                links = next((p["value"] for p in o["properties"] if p["id"] == "links"), links)
        series = self.prometheus.query(substitute(target["expr"], ".*"))
        self.assertTrue(series)
        has_team = all("team" in s["metric"] for s in series)
        per_series = "${__data.fields.team" if target.get("format") == "table" else "${__field.labels.team"
        for link in links:
            if not has_team:
                self.assertNotIn("__field.labels.team", link["url"], "%s has no team label" % target["refId"])
        if has_team:
            self.assertTrue(any(per_series in l["url"] for l in links),
                            "%s %s: a link to each series' own team" % (panel["title"], target["refId"]))
        # The links open casewatch's pages: the variables as Grafana fills them in.
        team = next((s["metric"]["team"] for s in series if "team" in s["metric"]), REAL_TEAM)
        for link in links:
            url = re.sub(r"\$\{(__field\.labels|__data\.fields)\.team(:percentencode)?\}",
                         urllib.parse.quote(team, safe=""), link["url"])
            url = re.sub(r"\$\{team(:percentencode)?\}", urllib.parse.quote(REAL_TEAM, safe=""), url)
            self.assertNotRegex(url[len("${casewatch_url}"):], r"\$", "a variable the test does not know")
            resp = self.casewatch.get(url[len("${casewatch_url}"):])
            self.assertEqual(resp.status, 200, (link, resp.body[:300]))
            name = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get("name")
            if name:  # the team page of that team
                self.assertIn("<h1>%s</h1>" % html.escape(name[0], quote=False), resp.body, url)

    def test_ratios_are_between_0_and_1_and_the_authority_has_every_measure(self):
        measures = {s["metric"]["rule"]: float(s["value"][1])
                    for s in self.prometheus.query('casewatch_rule_value{rule=~"kpi_.*_authority"}')}
        exprs = " ".join(t["expr"] for _, t in self.targets())
        for rule in measures:
            self.assertIn('rule="%s"' % rule, exprs, "the dashboard has a headline for " + rule)
        self.assertEqual(len(measures), 13)
        for s in self.prometheus.query('casewatch_rule_value{unit="ratio"}'):
            self.assertTrue(0 <= float(s["value"][1]) <= 1, s)

    def test_team_variable_lists_the_example_teams(self):
        teams = self.teams()
        # "All teams" labels the authority's alerts; its values carry no team label.
        self.assertLessEqual(self.known_teams - {"All teams"}, set(teams))
        self.assertIn(REAL_TEAM, teams)

    def test_rules_evaluate_on_real_data_and_only_rows_rejected_fires(self):
        groups = self.prometheus.get("/api/v1/rules")["data"]["groups"]
        rules = [r for g in groups for r in g["rules"]]
        with open(RULES) as f:
            self.assertEqual(len(rules), len(re.findall(r"^\s+- (?:record|alert):", f.read(), re.M)))
        for r in rules:
            self.assertEqual((r["name"], r["health"], r.get("lastError", "")), (r["name"], "ok", ""))
        # The la extracts hold deliberately bad rows: the first load's rejections already count
        # (the series is above 0 when Prometheus first sees it). Nothing else is wrong yet;
        # failing notifications are still within their 15 minutes.
        rejected = {s["metric"]["feed"] for s in self.prometheus.query("casewatch_feed_rows_rejected_total > 0")}
        self.assertTrue(rejected)
        alerts = self.prometheus.get("/api/v1/alerts")["data"]["alerts"]
        firing = {(a["labels"]["alertname"], a["labels"].get("feed")) for a in alerts if a["state"] == "firing"}
        self.assertEqual(firing, {("CasewatchFeedRowsRejected", feed) for feed in rejected})
        self.assertLessEqual({a["labels"]["alertname"] for a in alerts},
                             {"CasewatchFeedRowsRejected", "CasewatchNotificationsFailing",
                              "CasewatchNotificationQueueGrowing"})

    def test_no_label_value_is_a_child_identifier_or_date_of_birth(self):
        personal = set()
        for path in glob.glob(os.path.join(self.data, "*.csv")):
            with open(path, newline="", encoding="utf-8-sig") as f:
                for row in csv.DictReader(f):
                    for column, value in row.items():
                        if column is None or value is None:  # a short or long (rejected) row
                            continue
                        value = value.strip()
                        if column.strip().lower() in ("child unique id", "date of birth") and value:
                            personal.add(value)
                            if re.fullmatch(r"\d\d/\d\d/\d{4}", value):  # and its ISO spelling
                                day, month, year = value.split("/")
                                personal.add("%s-%s-%s" % (year, month, day))
        self.assertGreater(len(personal), 1000)
        answer = self.prometheus.get("/api/v1/series",
                                     **{"match[]": ['{__name__=~"casewatch.*"}', '{__name__=~"ALERTS.*"}']})
        self.assertEqual(answer["status"], "success")
        values = {v for series in answer["data"] for v in series.values()}
        self.assertGreater(len(answer["data"]), 1000)
        self.assertIn(REAL_TEAM, values)  # the label values are really there to compare
        self.assertEqual(values & personal, set())
        ids = [p for p in personal if not re.match(r"\d", p)]
        self.assertEqual([(v, i) for v in values for i in ids if i in v], [])


class PromtoolTest(unittest.TestCase):
    def test_rules_pass_promtool_check_and_their_unit_tests(self):
        promtool = shutil.which("promtool")
        if not promtool:
            self.fail("promtool not installed (scripts/setup.sh installs Debian's prometheus)")
        tests = sorted(glob.glob(os.path.join(REPO, "prometheus", "tests", "*.yml")))
        self.assertTrue(tests)
        for command in ([promtool, "check", "rules", RULES],
                        [promtool, "test", "rules", *tests],
                        [promtool, "check", "config", os.path.join(REPO, "prometheus", "prometheus.example.yml")]):
            result = subprocess.run(command, capture_output=True, text=True)
            self.assertEqual(result.returncode, 0,
                             "%s:\n%s%s" % (" ".join(command[1:3]), result.stdout, result.stderr))


if __name__ == "__main__":
    unittest.main()
