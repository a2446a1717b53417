#!/usr/bin/python3
"""Loading the same rows from PostgreSQL and from CSV (issue 11's "within 2 times the CSV path").

    /usr/bin/python3 bench/feed_sources.py [--feed assessments] [--runs 3] [--work DIR] [--no-build]

Builds (scripts/build.sh), generates the England profile's extracts with casewatch-gen (reused
from WORK/data while they are there), starts Debian's PostgreSQL in WORK/pg on a loopback port
(as `nobody` when run as root, since PostgreSQL refuses root), and copies one extract into it
twice: as a typed table (date columns `date`, the rest text: how a reporting database holds it)
and as all-text columns (exactly the extract's cells). Then, one process per run, it times
casewatch-phases loading the feed from the CSV file, from the typed table and from the text
table, checks that `casewatch eval --format json` gives the same alerts, values and counts from
each, times PostgreSQL's own psql copying each table out to /dev/null (the floor a database feed
cannot beat), and prints the median load time of each, the ratios to CSV and to that floor and peak
RSS, also written to WORK/feed-sources.json. Figures are of one machine at one time: indicative on a busy one.
"""
import argparse
import csv
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
from sinks import Postgres  # noqa: E402  (the integration tests' PostgreSQL, the one way to start it)

# bench/england.toml's assessments feed: its fields and a deadline rule that reads them.
FIELDS = """[feed.fields]
assessment_id = { column = "Assessment ID" }
child_id = { column = "Child Unique ID" }
referral_date = { column = "Date of referral", type = "date" }
assessment_start = { column = "Continuous Assessment Start Date", type = "date" }
child_seen = { column = "Child Seen During Continuous Assessment" }
assessment_authorised = { column = "Continuous Assessment Date of Authorisation", type = "date" }
needs_support = { column = "Was the child assessed as requiring LA children's social care support?" }
team = { column = "Allocated Team" }
worker = { column = "Allocated Worker" }
"""
FIELD_OF = {heading: field for field, heading in re.findall(r'^(\w+) = \{ column = "([^"]+)"', FIELDS, re.M)}
DATABASE_FIELDS = re.sub(r'^(\w+) = \{ column = "[^"]+"', r'\1 = { column = "\1"', FIELDS, flags=re.M)
DATE_COLUMNS = {"Date of referral", "Continuous Assessment Start Date", "Continuous Assessment Date of Authorisation"}
RULES = """
[[rule]]
name = "assessment_timescale"
kind = "deadline"
feed = "assessments"
start = "referral_date"
done = "assessment_authorised"
due_in = "45 working days"
warn_before = "5 working days"
labels = { team = "{{ team }}" }
annotations = { worker = "{{ worker }}" }
"""
AS_OF = "2026-11-26"


def config(source):
    head = 'rule_files = ["rules.toml"]\n[engine]\ntimezone = "Europe/London"\n\n[[feed]]\nname = "assessments"\n'
    head += 'key = "assessment_id"\nmax_rejected_ratio = 0.05\ntimeout = "10m"\n' if source != "csv" else 'key = "assessment_id"\n'
    if source == "csv":
        return head + 'path = "data/assessments.csv"\ndate_format = "%d/%m/%Y"\n' + FIELDS
    table = "assessments_typed" if source == "typed" else "assessments_text"
    text = 'type = "postgres"\ndsn_file = "bench.dsn"\nquery = "SELECT * FROM %s"\n' % table
    if source == "text":
        text += 'date_format = "%d/%m/%Y"\n'
    return head + text + DATABASE_FIELDS


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", default=os.path.join(REPO, "build", "bench-england"))
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    os.chdir(REPO)
    if not args.no_build:
        subprocess.run(["bash", "scripts/build.sh"], check=True, env=dict(os.environ, BUILD_DIR="build"))
    work = os.path.abspath(args.work)
    data = os.path.join(work, "data")
    extract = os.path.join(data, "assessments.csv")
    if not os.path.exists(extract):
        print("generating the england data as of %s into %s" % (AS_OF, data), flush=True)
        run(["build/casewatch-gen", "--profile", "england", "--as-of", AS_OF, "--seed", "1", "--out", data, "-q"])
    with open(extract, newline="", encoding="utf-8-sig") as f:
        headings = next(csv.reader(f))
    rows = sum(1 for _ in open(extract, "rb")) - 1
    size = os.path.getsize(extract)

    pg = Postgres()
    try:
        # PostgreSQL cuts names at 63 bytes, so the tables' columns are the fields' names (a view
        # would alias them the same way) and the database feeds map those.
        names = {h: FIELD_OF.get(h, "extra_%d" % i) for i, h in enumerate(headings)}
        pg.sql("CREATE ROLE bench LOGIN PASSWORD 'bench';")
        with open(extract, encoding="utf-8-sig") as f:
            body = f.read()
        text_columns = ", ".join("%s text" % names[h] for h in headings)
        # The extract's cells as they are, then a typed copy. A reporting database cannot hold
        # 31/02/2025 in a date column: rows with an impossible date (CSV rejects them) stay out.
        typed_columns = ", ".join("%s %s" % (names[h], "date" if h in DATE_COLUMNS else "text") for h in headings)
        cast = ", ".join("try_date(%s)" % names[h] if h in DATE_COLUMNS else names[h] for h in headings)
        valid = " AND ".join("(%s IS NULL OR try_date(%s) IS NOT NULL)" % (names[h], names[h]) for h in headings
                             if h in DATE_COLUMNS)
        pg.sql("""SET DateStyle = 'ISO, DMY';
CREATE FUNCTION try_date(t text) RETURNS date LANGUAGE plpgsql AS
  $$ BEGIN RETURN t::date; EXCEPTION WHEN others THEN RETURN NULL; END $$;
CREATE TABLE assessments_text (%s);
COPY assessments_text FROM STDIN WITH (FORMAT csv, HEADER true);
%s\\.
CREATE TABLE assessments_typed (%s);
INSERT INTO assessments_typed SELECT %s FROM assessments_text WHERE %s;
GRANT SELECT ON assessments_text, assessments_typed TO bench;
ANALYZE;
""" % (text_columns, body, typed_columns, cast, valid))
        del body

        os.makedirs(work, exist_ok=True)
        with open(os.path.join(work, "rules.toml"), "w") as f:
            f.write(RULES)
        with open(os.path.join(work, "bench.dsn"), "w") as f:
            f.write(pg.dsn("bench", "bench", "postgres"))
        configs = {}
        for source in ("csv", "typed", "text"):
            configs[source] = os.path.join(work, "feed-sources-%s.toml" % source)
            with open(configs[source], "w") as f:
                f.write(config(source))

        # The same matches from each source, or the figures mean nothing.
        outputs = {}
        for source, path in configs.items():
            out = json.loads(run(["build/casewatch", "eval", "-c", path, "--at", AS_OF, "--format", "json"]).stdout)
            outputs[source] = (out["alerts"], out["values"], [(f["records"], f["rejected"]) for f in out["feeds"]])
        for source in ("typed", "text"):
            same = outputs[source][:2] == outputs["csv"][:2] and [
                r for r, _ in outputs[source][2]] == [r for r, _ in outputs["csv"][2]]
            if not same:
                print("feed_sources: %s gives other matches than CSV" % source, file=sys.stderr)
                return 1

        results = {}
        for source, path in configs.items():
            samples = [json.loads(run(["build/casewatch-phases", path, AS_OF]).stdout) for _ in range(args.runs)]
            results[source] = {"load_seconds": statistics.median(s["load_seconds"] for s in samples),
                               "peak_rss_kb": max(s["peak_rss_kb"] for s in samples),
                               "records": samples[0]["records"]}
        # The floor: PostgreSQL's own psql copying each table's rows out to /dev/null.
        psql = pg.as_user + [os.path.join(pg.bin, "psql"), "-h", pg.dir, "-p", str(pg.port), "-U", "postgres", "-X", "-q"]
        for source in ("typed", "text"):
            copy = "COPY (SELECT * FROM assessments_%s) TO STDOUT WITH (FORMAT csv, HEADER true)" % source
            samples = []
            for _ in range(args.runs):
                start = time.monotonic()
                subprocess.run(psql + ["-c", copy], check=True, stdout=subprocess.DEVNULL)
                samples.append(time.monotonic() - start)
            results[source]["psql_copy_seconds"] = statistics.median(samples)
    finally:
        pg.stop()

    base = results["csv"]["load_seconds"]
    print("loading %d rows (%.1f MB of CSV, %d alerts), median of %d runs:" % (
        rows, size / 1e6, len(outputs["csv"][0]), args.runs))
    names = {"csv": "CSV file", "typed": "PostgreSQL, typed table", "text": "PostgreSQL, text columns"}
    for source, r in results.items():
        r["ratio_to_csv"] = r["load_seconds"] / base
        floor = ""
        if "psql_copy_seconds" in r:
            r["ratio_to_psql_copy"] = r["load_seconds"] / r["psql_copy_seconds"]
            floor = "  (psql's own COPY to /dev/null: %.3f s, %.2fx CSV; casewatch %.2fx that)" % (
                r["psql_copy_seconds"], r["psql_copy_seconds"] / base, r["ratio_to_psql_copy"])
        print("  %-26s %7.3f s  %5.2fx CSV  peak RSS %4d MiB%s" % (names[source], r["load_seconds"], r["ratio_to_csv"],
                                                                r["peak_rss_kb"] // 1024, floor))
    with open(os.path.join(work, "feed-sources.json"), "w") as f:
        json.dump({"rows": rows, "csv_bytes": size, "results": results}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
