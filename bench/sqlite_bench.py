#!/usr/bin/python3
"""Helpers for bench/macro.sh: the SQLite and DuckDB sides of the macro benchmark, and its report.

  sqlite_bench.py prepare CONFIG OUT_DIR
      Writes OUT_DIR/load.sql: the calendar of working days (built-in England and Wales bank
      holidays plus the config's extra_non_working_days), the config's lookup tables, and for every
      feed of CONFIG an `.import` of its CSV into a raw table and the conversion of the raw rows
      into a typed table with casewatch's semantics (SPEC 4): cells trimmed, empty cells null, a
      row with fewer cells than the heading or with a cell that does not parse as its field's type
      rejected, the first row of a key kept, the load refused when too many rows are rejected. The rules themselves are
      bench/rules.sql, written by hand. Only the CSV header row is read here (to find the declared
      columns, as casewatch does); every data row is read by sqlite3.
  sqlite_bench.py prepare-duckdb CONFIG OUT_DIR
      Writes OUT_DIR/load.sql for DuckDB (bench/duckdb_bench.js): the same feeds, calendar and
      lookup tables, each CSV read by read_csv with every column as VARCHAR and converted by the
      same expressions as SQLite's, spelt for DuckDB (class DuckDB below), so that the same rows
      are accepted. The rules are bench/rules.sql, as for SQLite.
  sqlite_bench.py compare CASEWATCH_JSON PEER_DIR SUFFIX [PEER]
      Compares casewatch's matches, due dates, aggregate values and feed counts with a peer's
      (PEER_DIR/{matches,values,feeds}SUFFIX.tsv; PEER: SQLite, the default, or DuckDB); prints the
      first differences and exits 1 when they disagree.
  sqlite_bench.py feed-files CONFIG
      Prints the path of every feed's CSV, one a line (the files casewatch reads).
  sqlite_bench.py median TIME_REPORT...
      Prints the GNU time -v report (of several runs of one program) whose wall time is the median.
  sqlite_bench.py median-json FLOOR_JSON...
      Prints the floor report whose wall_seconds is the median.
  sqlite_bench.py report WORK_DIR ...
      Prints the table of figures and writes WORK_DIR/results.json (see macro.sh).

Debian's /usr/bin/python3, standard library only.
"""

import csv
import datetime
import glob
import json
import math
import os
import re
import sys
import tomllib

EPOCH = datetime.date(1970, 1, 1)
WHITESPACE = " \t\r\n"  # what casewatch trims from headings and cells

# ------------------------------------------------------------------------------------------------
# The calendar. Written independently of rules/calendar.cc from the published rules, and checked
# against the published dates (the table in the project's domain notes, 2016 to 2027).


def easter_sunday(year):
    """The anonymous Gregorian computus."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l) // 451
    month = (h + l - 7 * m + 114) // 31
    day = (h + l - 7 * m + 114) % 31 + 1
    return datetime.date(year, month, day)


def next_weekday(day):
    """The day itself if Monday to Friday, else the Monday after (a substitute day)."""
    while day.weekday() >= 5:
        day += datetime.timedelta(days=1)
    return day


def england_and_wales_bank_holidays(first=2015, last=2030):
    days = set()
    for year in range(first, last + 1):
        easter = easter_sunday(year)
        may1 = datetime.date(year, 5, 1)
        early_may = may1 + datetime.timedelta(days=(7 - may1.weekday()) % 7)
        may31 = datetime.date(year, 5, 31)
        spring = may31 - datetime.timedelta(days=may31.weekday())
        aug31 = datetime.date(year, 8, 31)
        summer = aug31 - datetime.timedelta(days=aug31.weekday())
        christmas = next_weekday(datetime.date(year, 12, 25))
        boxing = next_weekday(christmas + datetime.timedelta(days=1))
        days |= {next_weekday(datetime.date(year, 1, 1)), easter - datetime.timedelta(days=2),
                 easter + datetime.timedelta(days=1), early_may, spring, summer, christmas, boxing}
    # One-off changes by proclamation.
    changes = [((2020, 5, 4), (2020, 5, 8)), ((2022, 5, 30), (2022, 6, 2)), (None, (2022, 6, 3)),
               (None, (2022, 9, 19)), (None, (2023, 5, 8))]
    for removed, added in changes:
        if removed and first <= removed[0] <= last:
            days.discard(datetime.date(*removed))
        if first <= added[0] <= last:
            days.add(datetime.date(*added))
    return sorted(days)


PUBLISHED = {  # https://www.gov.uk/bank-holidays, as listed in the domain notes
    2016: "01-01 03-25 03-28 05-02 05-30 08-29 12-26 12-27",
    2017: "01-02 04-14 04-17 05-01 05-29 08-28 12-25 12-26",
    2018: "01-01 03-30 04-02 05-07 05-28 08-27 12-25 12-26",
    2019: "01-01 04-19 04-22 05-06 05-27 08-26 12-25 12-26",
    2020: "01-01 04-10 04-13 05-08 05-25 08-31 12-25 12-28",
    2021: "01-01 04-02 04-05 05-03 05-31 08-30 12-27 12-28",
    2022: "01-03 04-15 04-18 05-02 06-02 06-03 08-29 09-19 12-26 12-27",
    2023: "01-02 04-07 04-10 05-01 05-08 05-29 08-28 12-25 12-26",
    2024: "01-01 03-29 04-01 05-06 05-27 08-26 12-25 12-26",
    2025: "01-01 04-18 04-21 05-05 05-26 08-25 12-25 12-26",
    2026: "01-01 04-03 04-06 05-04 05-25 08-31 12-25 12-28",
    2027: "01-01 03-26 03-29 05-03 05-31 08-30 12-27 12-28",
}


def check_bank_holidays(days):
    for year, text in PUBLISHED.items():
        published = sorted(datetime.date(year, int(md[:2]), int(md[3:])) for md in text.split())
        computed = [d for d in days if d.year == year]
        if computed != published:
            raise SystemExit(f"bank holidays {year}: computed {computed}, published {published}")


def day_number(day):
    return (day - EPOCH).days


# ------------------------------------------------------------------------------------------------
# SQL for one feed.


def sql_text(value):
    return "'" + str(value).replace("'", "''") + "'"


def sql_ident(name):
    return '"' + name.replace('"', '""') + '"'


def ascii_lower(text):
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


def same_heading(a, b):
    return ascii_lower(a.strip(WHITESPACE)) == ascii_lower(b.strip(WHITESPACE))


class SQLite:
    """How an expression is spelt in SQLite (Debian's sqlite3 shell, with its REGEXP)."""
    name = "SQLite"
    ws = "char(32, 9, 13, 10)"  # the characters casewatch trims (a constant: computed once)
    types = {"string": "TEXT", "number": "REAL", "date": "INTEGER", "bool": "INTEGER"}
    bad = {"number": "'bad'", "date": "'bad'", "bool": "'bad'"}  # a cell that does not parse

    def trim(self, x):  # trimmed as casewatch trims, NULL when empty
        return f"NULLIF(trim({x}, {self.ws}), '')"

    def int(self, x):
        return f"CAST({x} AS INTEGER)"

    def real(self, x):
        return f"CAST({x} AS REAL)"

    def glob(self, x, pattern, negate=False):
        return f"{x} {'NOT ' if negate else ''}GLOB {sql_text(pattern)}"

    def regexp(self, x, pattern):
        return f"{x} REGEXP {sql_text(pattern)}"

    def int_of(self, condition):  # a truth value as 0 or 1
        return f"({condition})"

    def div(self, a, b):  # integer division, of non-negative numbers here
        return f"{a} / {b}"

    def days(self, y, m, d, iso):
        """Days since 1970-01-01 of a valid civil date, given as numbers and as ISO text."""
        return days_from_iso(iso)

    def valid(self, column, type):  # the parsed cell is not 'bad'
        return f"{column} IS NOT 'bad'"


class DuckDB(SQLite):
    """The same expressions in DuckDB: strict types (so a sentinel of the column's type stands for
    'bad'), TRY_CAST where SQLite's CAST reads a prefix, globs negated with '!', RE2 regexps, and
    nothing that raises an error on a text that is not a date or a number."""
    name = "DuckDB"
    ws = "(chr(32) || chr(9) || chr(13) || chr(10))"
    types = {"string": "VARCHAR", "number": "DOUBLE", "date": "INTEGER", "bool": "INTEGER"}
    BAD_DAY = -2147483648  # no date of four-digit years comes near
    bad = {"number": "CAST('NaN' AS DOUBLE)", "date": str(BAD_DAY), "bool": "2"}

    def trim(self, x):
        # trim() with a set of characters costs DuckDB several times a copy of the text: called only
        # on a cell that has one of them at an end (a tab, CR or LF anywhere, for speed).
        return (f"NULLIF(CASE WHEN starts_with({x}, ' ') OR ends_with({x}, ' ') OR contains({x}, chr(9)) "
                f"OR contains({x}, chr(13)) OR contains({x}, chr(10)) THEN trim({x}, {self.ws}) ELSE {x} END, '')")

    def int(self, x):
        return f"TRY_CAST({x} AS INTEGER)"

    def real(self, x):
        return f"TRY_CAST({x} AS DOUBLE)"

    def glob(self, x, pattern, negate=False):
        match = f"{x} GLOB {sql_text(pattern.replace('[^', '[!'))}"
        return f"NOT ({match})" if negate else match

    def regexp(self, x, pattern):
        return f"regexp_matches({x}, {sql_text(pattern)})"

    def int_of(self, condition):
        return f"CAST(({condition}) AS INTEGER)"

    def div(self, a, b):
        return f"{a} // {b}"

    def days(self, y, m, d, iso):
        return f"CAST(try(make_date({y}, {m}, {d})) - DATE '1970-01-01' AS INTEGER)"

    def valid(self, column, type):
        if type == "number":
            return f"NOT coalesce(isnan({column}), false)"
        return f"{column} IS DISTINCT FROM {self.bad[type]}"


SQLITE, DUCKDB = SQLite(), DuckDB()

# A time of day after a date, as casewatch accepts it (rules/date.cc is_time_suffix): 'T' or
# spaces, H:MM or HH:MM, optional :SS with an optional fraction, optional Z or +HH[[:]MM].
TIME = (r"([Tt]|[ \t\r\n]+)(\d|[01]\d|2[0-3]):[0-5]\d(:([0-5]\d|60)([.,]\d+)?)?"
        r"([Zz]|[-+](0\d|1[0-4])(:?[0-5]\d)?)?")
DMY_RE = r"^\d{1,2}/\d{1,2}/\d{4}(" + TIME + r")?$"
ISO_RE = r"^\d{4}-\d{2}-\d{2}(" + TIME + r")?$"


def month_length(y, m, q=SQLITE):
    return (f"(CASE WHEN {m} = 2 THEN 28 + {q.int_of(f'{y} % 4 = 0 AND ({y} % 100 <> 0 OR {y} % 400 = 0)')} "
            f"ELSE 30 + (({m} + {q.div(m, 8)}) % 2) END)")


def valid_civil(y, m, d, q=SQLITE):
    return f"({m} BETWEEN 1 AND 12 AND {d} BETWEEN 1 AND {month_length(y, m, q)})"


def days_from_iso(iso):
    """Days since 1970-01-01 of an ISO date text (julianday() does not check the day of month)."""
    return f"CAST(julianday({iso}) - 2440587.5 AS INTEGER)"


def date_expr(t, dmy, q=SQLITE):
    """A trimmed cell (NULL when empty) to a day number, NULL, or q.bad when it is not a date.

    dmy: the feed's date_format is %d/%m/%Y (the only one these benchmarks use); ISO dates are
    always accepted, as in casewatch. The first branch is the fast path for dd/mm/yyyy."""
    bad = q.bad["date"]
    if not dmy:
        fast = ""
    else:
        y, m, d = (q.int(f"substr({t}, 7, 4)"), q.int(f"substr({t}, 4, 2)"), q.int(f"substr({t}, 1, 2)"))
        iso = f"substr({t}, 7, 4) || '-' || substr({t}, 4, 2) || '-' || substr({t}, 1, 2)"
        fast = (f" WHEN {q.glob(t, '[0-9][0-9]/[0-9][0-9]/[0-9][0-9][0-9][0-9]')} THEN "
                f"CASE WHEN {valid_civil(y, m, d, q)} THEN {q.days(y, m, d, iso)} ELSE {bad} END")
        # d/m/yyyy with one- or two-digit day and month, and an optional time.
        p1 = f"instr({t}, '/')"
        rest = f"substr({t}, {p1} + 1)"
        p2 = f"instr({rest}, '/')"
        sd, sm, sy = f"substr({t}, 1, {p1} - 1)", f"substr({rest}, 1, {p2} - 1)", f"substr({rest}, {p2} + 1, 4)"
        y, m, d = q.int(sy), q.int(sm), q.int(sd)
        iso = f"printf('%04d-%02d-%02d', {y}, {m}, {d})"
        fast += (f" WHEN {q.regexp(t, DMY_RE)} AND {valid_civil(y, m, d, q)} THEN {q.days(y, m, d, iso)}")
    y, m, d = (q.int(f"substr({t}, 1, 4)"), q.int(f"substr({t}, 6, 2)"), q.int(f"substr({t}, 9, 2)"))
    return (f"CASE WHEN {t} IS NULL THEN NULL{fast}"
            f" WHEN {q.regexp(t, ISO_RE)} AND {valid_civil(y, m, d, q)} THEN {q.days(y, m, d, 'substr(' + t + ', 1, 10)')}"
            f" ELSE {bad} END")


NUMBER_RE = r"^(\+|-)?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"  # one sign at most, as casewatch takes


def number_expr(t, q=SQLITE):
    unsigned = f"(CASE WHEN substr({t}, 1, 1) = '+' THEN substr({t}, 2) ELSE {t} END)"
    mantissa = f"substr({t}, 1, instr(lower({t}) || 'e', 'e') - 1)"
    # Beyond a double's range (overflow, or a non-zero number that underflows to zero), from_chars
    # fails; subnormal numbers it takes.
    in_range = (f"abs({q.real(unsigned)}) <= 1.7976931348623157e308 AND "
                f"({q.real(unsigned)} <> 0 OR {q.glob(mantissa, '*[1-9]*', negate=True)})")
    return (f"CASE WHEN {t} IS NULL THEN NULL"
            f" WHEN {q.glob(t, '*[^0-9]*', negate=True)} AND length({t}) < 300 THEN {q.real(t)}"
            f" WHEN {q.regexp(t, NUMBER_RE)} AND {in_range} THEN {q.real(unsigned)}"
            f" ELSE {q.bad['number']} END")


def bool_expr(t, q=SQLITE):
    return (f"CASE WHEN {t} IS NULL THEN NULL WHEN lower({t}) IN ('true', 'yes', 'y', '1') THEN 1"
            f" WHEN lower({t}) IN ('false', 'no', 'n', '0') THEN 0 ELSE {q.bad['bool']} END")


# The tables of date texts seen, each with its day number, NULL (blank) or 'bad', by date_format.
DATE_FORMATS = {"": "dates_iso", "%d/%m/%Y": "dates_dmy"}

SQL_TYPE = SQLITE.types


def read_header(path):
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as f:
        return next(csv.reader(f))


def feed_columns(feed, base):
    """A feed's CSV path, its number of columns, and its fields as (field, type, raw column index
    from 1): the first column whose heading is the field's, compared as casewatch does."""
    name = feed["name"]
    if feed.get("type", "csv") != "csv":
        raise SystemExit(f"feed {name}: only csv feeds are benchmarked")
    path = os.path.join(base, feed["path"])
    header = read_header(path)
    fields = []
    for field, spec in feed["fields"].items():
        column = spec["column"]
        positions = [i for i, h in enumerate(header) if same_heading(h, column)]
        if not positions:
            raise SystemExit(f"{path}: missing column {column!r}; the columns found are {header}")
        fields.append((field, spec.get("type", "string"), positions[0] + 1))
    date_format = feed.get("date_format", "")
    if date_format not in DATE_FORMATS:
        raise SystemExit(f"feed {name}: date_format {date_format!r} is not supported here")
    return path, len(header), fields


def feed_sql(feed, base):
    name = feed["name"]
    path, ncols, fields = feed_columns(feed, base)
    key = feed["key"]
    date_format = feed.get("date_format", "")
    dates = DATE_FORMATS[date_format]
    raw = f"raw_{name}"
    out = [f"\n-- feed {name}: {feed['path']}"]
    out.append(f"CREATE TABLE {raw}(" + ", ".join(f"c{i} TEXT" for i in range(1, ncols + 1)) + ");")
    out.append(f".import --csv --skip 1 {sql_text(path)} {raw}")
    out.append(mark("import"))
    # A blank line is no record for casewatch; sqlite3 imports it as one empty cell.
    blank = f"(c1 = '' AND c2 IS NULL)" if ncols > 1 else "(c1 = '')"
    # Each distinct text of the date columns is parsed once, into the table of dates seen.
    date_cells = [f"SELECT DISTINCT c{i} AS txt FROM {raw} WHERE c{i} IS NOT NULL" for _, t, i in fields if t == "date"]
    if date_cells:
        parse = date_expr(SQLITE.trim("txt"), bool(date_format))
        out.append(f"INSERT OR IGNORE INTO {dates}(txt, day)\nSELECT txt, {parse}\nFROM (" +
                   "\n      UNION ".join(date_cells) + ");")
    columns = ", ".join(f"{sql_ident(f)} {SQL_TYPE[t]}" + (" PRIMARY KEY" if f == key else "")
                        for f, t, _ in fields)
    out.append(f"CREATE TABLE {sql_ident(name)}({columns});")
    parsed = []
    for f, t, i in fields:
        cell = SQLITE.trim(f"c{i}")
        expr = {"string": lambda c: c, "number": number_expr, "bool": bool_expr,
                "date": lambda c: f"(SELECT day FROM {dates} WHERE txt = c{i})"}[t](cell)
        parsed.append(f"  {expr} AS {sql_ident(f)}")
    checks = [f"{sql_ident(key)} IS NOT NULL"] + [f"{sql_ident(f)} IS NOT 'bad'" for f, t, _ in fields
                                                   if t != "string"]
    names = ", ".join(sql_ident(f) for f, _, _ in fields)
    # Rows are converted once (MATERIALIZED), then the valid ones inserted in file order: INSERT OR
    # IGNORE on the primary key keeps the first row of each key, as casewatch does. A row with
    # fewer cells than the heading casewatch rejects: .import fills the missing ones with NULL (an
    # empty cell it reads as '').
    out.append(f"WITH parsed AS MATERIALIZED (SELECT rowid AS rid,\n" + ",\n".join(parsed) +
               f"\n  FROM {raw} WHERE NOT {blank} AND c{ncols} IS NOT NULL)\n"
               f"INSERT OR IGNORE INTO {sql_ident(name)}({names})\n"
               f"SELECT {names} FROM parsed WHERE " + " AND ".join(checks) + " ORDER BY rid;")
    out.append(mark("convert"))
    ratio = float(feed.get("max_rejected_ratio", 0.05))
    out.append(f"INSERT INTO feeds(name, rows_read, records) SELECT {sql_text(name)}, "
               f"(SELECT count(*) FROM {raw} WHERE NOT {blank}), (SELECT count(*) FROM {sql_ident(name)});")
    out.append(f"UPDATE feeds SET rejected = rows_read - records, up = rows_read = 0 OR "
               f"CAST(rows_read - records AS REAL) / rows_read <= {ratio!r} WHERE name = {sql_text(name)};")
    return "\n".join(out)


def mark(step):
    """Records the time (seconds, to the millisecond) at the end of a step."""
    return f"INSERT INTO marks VALUES ({sql_text(step)}, (julianday('now') - 2440587.5) * 86400);"


CALENDAR_MARGIN_DAYS = 1000  # more than any shift the rules make from a date of the data


def calendar_sql():
    spans = [f"SELECT min(day) - {CALENDAR_MARGIN_DAYS}, max(day) + {CALENDAR_MARGIN_DAYS} FROM {table} "
             f"WHERE typeof(day) = 'integer'" for table in sorted(set(DATE_FORMATS.values()))]
    return """
-- Working days. cal has every day from 1900 to 2199, and further when the data holds dates further
-- off (any date seen in a date column), so that every date a rule shifts is in it (casewatch's
-- calendar has no bounds): whether it is a working day, wb (the number of working days before it,
-- from cal's first day), its month (mi = year * 12 + month - 1) and its day of the month; wd
-- numbers the working days (wd.j = cal.wb); months gives each month's first day and length. Day
-- numbers count from 1970-01-01, as casewatch's do. The first day's civil date is Howard Hinnant's
-- civil_from_days; each next one steps from the day before.
CREATE TEMP TABLE span AS SELECT min(lo) AS lo, max(hi) AS hi FROM (
  SELECT unixepoch('1900-01-01') / 86400 AS lo, unixepoch('2199-12-31') / 86400 AS hi""" + "".join(
        "\n  UNION ALL " + q for q in spans) + """);
CREATE TABLE cal(day INTEGER PRIMARY KEY, working INTEGER NOT NULL, wb INTEGER NOT NULL,
                 mi INTEGER NOT NULL, dom INTEGER NOT NULL);
WITH RECURSIVE c1 AS (SELECT lo AS x, lo + 719468 AS z FROM span),
c2 AS MATERIALIZED (SELECT x, z, (CASE WHEN z >= 0 THEN z ELSE z - 146096 END) / 146097 AS era FROM c1),
c3 AS MATERIALIZED (SELECT x, era, z - era * 146097 AS doe FROM c2),
c4 AS MATERIALIZED (SELECT x, era, doe, (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365 AS yoe FROM c3),
c5 AS MATERIALIZED (SELECT x, era, yoe, doe - (365 * yoe + yoe / 4 - yoe / 100) AS doy FROM c4),
c6 AS MATERIALIZED (SELECT x, era, yoe, doy, (5 * doy + 2) / 153 AS mp FROM c5),
first AS MATERIALIZED (SELECT x, iif(mp < 10, mp + 3, mp - 9) AS m, doy - (153 * mp + 2) / 5 + 1 AS dom,
                              yoe + era * 400 + (mp >= 10) AS y FROM c6),
-- then day after day: the next day of the month, or the first of the next month.
d(x, y, m, dom, len) AS (
  SELECT x, y, m, dom, """ + month_length("y", "m") + """ FROM first
  UNION ALL
  SELECT x + 1, iif(dom < len, y, y + (m = 12)), iif(dom < len, m, m % 12 + 1), iif(dom < len, dom + 1, 1),
         iif(dom < len, len, """ + month_length("iif(m = 12, y + 1, y)", "(m % 12 + 1)") + """)
  FROM d WHERE x < (SELECT hi FROM span)),
w AS (SELECT x, dom, y * 12 + m - 1 AS mi,
             (((x + 3) % 7 + 7) % 7 < 5 AND x NOT IN non_working) AS working FROM d)
INSERT INTO cal SELECT x, working, sum(working) OVER (ORDER BY x ROWS UNBOUNDED PRECEDING) - working, mi, dom
FROM w;
CREATE TABLE wd(j INTEGER PRIMARY KEY, day INTEGER NOT NULL);
INSERT INTO wd SELECT wb, day FROM cal WHERE working;
CREATE TABLE months(mi INTEGER PRIMARY KEY, first INTEGER NOT NULL, len INTEGER NOT NULL);
INSERT INTO months SELECT mi, min(day), count(*) FROM cal  -- whole months only
WHERE mi > (SELECT min(mi) FROM cal) AND mi < (SELECT max(mi) FROM cal) GROUP BY mi;"""


def load_config(path):
    with open(path, "rb") as f:
        return tomllib.load(f)


def non_working_days(config, base):
    """Day numbers of the bank holidays (built in, or the config's calendar file) and the config's
    extra_non_working_days."""
    engine = config.get("engine", {})
    calendar = engine.get("calendar", "england-and-wales")
    if calendar == "england-and-wales":
        holidays = england_and_wales_bank_holidays()
        check_bank_holidays(holidays)
    else:
        holidays = []
        with open(os.path.join(base, calendar)) as f:
            for line in f:
                line = line.strip(WHITESPACE)
                if line and not line.startswith("#"):
                    holidays.append(datetime.date.fromisoformat(line))
    non_working = set(holidays)
    for day in engine.get("extra_non_working_days", []):
        non_working.add(day if isinstance(day, datetime.date) else datetime.date.fromisoformat(day))
    return sorted(day_number(d) for d in non_working)


def lookup_rows(config):
    """The config's lookup tables as (table, key, value) for lookup('table', key, default)."""
    rows = []
    for table, entries in config.get("tables", {}).items():
        for key, value in entries.items():
            rows.append((table, key, int(value) if isinstance(value, bool) else value))
    return rows


def prepare(config_path, out_dir):
    config = load_config(config_path)
    base = os.path.dirname(os.path.abspath(config_path))
    out = ["-- Generated by bench/sqlite_bench.py prepare from " + config_path + ": do not edit.",
           ".output /dev/null", "PRAGMA journal_mode = OFF;", ".output stdout", "PRAGMA synchronous = OFF;", "PRAGMA temp_store = MEMORY;",
           "PRAGMA cache_size = -65536;",
           "-- Timestamps after each step, for the report (after PRAGMA temp_store, which drops TEMP).",
           "CREATE TEMP TABLE marks(step TEXT NOT NULL, t REAL NOT NULL);", mark("start"), "BEGIN;"]
    out.append("""
-- Bank holidays and closure days (the calendar itself is built once the feeds are loaded).
CREATE TABLE non_working(day INTEGER PRIMARY KEY);""")
    days = non_working_days(config, base)
    out.append("INSERT INTO non_working VALUES " + ", ".join(f"({d})" for d in days) + ";")
    out.append("""
-- The config's lookup tables, for lookup('table', key, default).
CREATE TABLE lookup(tbl TEXT NOT NULL, k TEXT NOT NULL, v, PRIMARY KEY (tbl, k)) WITHOUT ROWID;""")
    rows = [f"({sql_text(table)}, {sql_text(key)}, {sql_text(value) if isinstance(value, str) else repr(value)})"
            for table, key, value in lookup_rows(config)]
    if rows:
        out.append("INSERT INTO lookup VALUES " + ", ".join(rows) + ";")
    out.append("""
-- The texts of date cells seen, each parsed once: its day number, NULL when blank, 'bad' when it
-- is not a date (with the feed's date_format, or ISO).""")
    for table in sorted(set(DATE_FORMATS.values())):
        out.append(f"CREATE TABLE {table}(txt TEXT PRIMARY KEY, day) WITHOUT ROWID;")
    out.append("""
-- Each feed's counts, as casewatch reports them; up = the load is accepted (SPEC 4, load safety).
CREATE TABLE feeds(name TEXT PRIMARY KEY, rows_read INTEGER, records INTEGER, rejected INTEGER,
                   up INTEGER);""")
    for feed in config.get("feed", []):
        out.append(feed_sql(feed, base))
    out.append(calendar_sql())
    out.append("COMMIT;")
    out.append(mark("calendar"))
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "load.sql"), "w") as f:
        f.write("\n".join(out) + "\n")


# ------------------------------------------------------------------------------------------------
# The same load in DuckDB: every CSV read by read_csv with every column as VARCHAR, converted with
# the expressions above (DUCKDB's spelling of them: the same semantics, the same rows accepted).

def duckdb_feed_sql(feed, base):
    name = feed["name"]
    path, ncols, fields = feed_columns(feed, base)
    key = feed["key"]
    dmy = bool(feed.get("date_format", ""))
    q = DUCKDB
    raw = f"raw_{name}"
    out = [f"\n-- feed {name}: {feed['path']}"]
    # As sqlite3's .import: the heading row skipped, RFC 4180 quoting, the cells of extra columns
    # ignored (strict_mode = false), the missing cells of a short row NULL (null_padding) and no
    # other cell NULL (an unquoted cell never holds the line feed of nullstr), so that the short
    # rows, which casewatch rejects, can be told. Blank lines DuckDB skips, as casewatch does. The
    # table keeps the file's order: rowid is the row's place in the file. It holds only the columns
    # of the fields and the last one (DuckDB's reader then builds no string for the other cells).
    columns = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(1, ncols + 1))
    kept = ", ".join(f"c{i}" for i in sorted({i for _, _, i in fields} | {ncols}))
    out.append(f"CREATE TABLE {raw} AS SELECT {kept} FROM read_csv({sql_text(path)}, header = false, skip = 1,\n"
               f"  columns = {{{columns}}},\n"
               f"  auto_detect = false, delim = ',', quote = '\"', escape = '\"', strict_mode = false,\n"
               f"  null_padding = true, nullstr = chr(10), allow_quoted_nulls = false);")
    out.append("-- @mark import")
    # As in SQLite, each distinct text of the date columns is parsed once, into the table of dates
    # seen, and a cell finds its day by a join (twice as fast as parsing every cell in DuckDB too).
    dates = f"dates_{name}"
    date_cells = [f"SELECT DISTINCT c{i} AS txt FROM {raw}" for _, t, i in fields if t == "date"]
    if date_cells:
        out.append(f"CREATE TEMP TABLE {dates} AS SELECT txt, {date_expr('t', dmy, q)} AS day\n"
                   f"FROM (SELECT txt, {q.trim('txt')} AS t FROM (" + "\n      UNION ".join(date_cells) +
                   ") WHERE txt IS NOT NULL);")
    cells, joins, parsed = [], [], []
    for n, (f, t, i) in enumerate(fields):
        if t == "date":
            cells.append(f"c{i} AS t{n}")
            joins.append(f"LEFT JOIN {dates} d{n} ON d{n}.txt = t{n}")
            parsed.append(f"  d{n}.day AS {sql_ident(f)}")
            continue
        cells.append(f"{q.trim(f'c{i}')} AS t{n}")
        expr = {"string": lambda c: c, "number": lambda c: number_expr(c, q),
                "bool": lambda c: bool_expr(c, q)}[t](f"t{n}")
        parsed.append(f"  {expr} AS {sql_ident(f)}")
    checks = [f"{sql_ident(key)} IS NOT NULL"] + [q.valid(sql_ident(f), t) for f, t, _ in fields if t != "string"]
    typed = ", ".join(f"CAST({sql_ident(f)} AS {q.types[t]}) AS {sql_ident(f)}" for f, t, _ in fields)
    # The valid rows, and of each key the first in the file, as casewatch keeps.
    out.append(f"CREATE TABLE {sql_ident(name)} AS\n"
               f"WITH cells AS (SELECT rowid AS rid, " + ", ".join(cells) + f"\n  FROM {raw} WHERE c{ncols} IS NOT NULL),\n"
               f"parsed AS (SELECT rid,\n" + ",\n".join(parsed) + "\n  FROM cells " + " ".join(joins) + ")\n"
               f"SELECT {typed} FROM parsed WHERE " + " AND ".join(checks) +
               f"\nQUALIFY row_number() OVER (PARTITION BY {sql_ident(key)} ORDER BY rid) = 1;")
    ratio = float(feed.get("max_rejected_ratio", 0.05))
    out.append(f"INSERT INTO feeds SELECT {sql_text(name)}, n, r, n - r, n = 0 OR CAST(n - r AS DOUBLE) / n <= "
               f"CAST({ratio!r} AS DOUBLE)\nFROM (SELECT (SELECT count(*) FROM {raw}) AS n, "
               f"(SELECT count(*) FROM {sql_ident(name)}) AS r);")
    out.append(f"DROP TABLE {raw};  -- its memory, for the next feed")
    out.append("-- @mark convert")
    return "\n".join(out), [f for f, t, _ in fields if t == "date"]


def duckdb_calendar_sql(date_columns):
    """The tables cal, wd and months of calendar_sql(), built the DuckDB way (a range of days,
    DuckDB's own proleptic Gregorian calendar for the civil dates)."""
    spans = [f"SELECT min({sql_ident(c)}) - {CALENDAR_MARGIN_DAYS}, max({sql_ident(c)}) + {CALENDAR_MARGIN_DAYS} "
             f"FROM {sql_ident(t)}" for t, c in date_columns]
    lo, hi = day_number(datetime.date(1900, 1, 1)), day_number(datetime.date(2199, 12, 31))
    return f"""
-- Working days, as in load.sql of SQLite: every day from 1900 to 2199 and further when the data
-- holds dates further off; working, wb (working days before it), mi (year * 12 + month - 1), dom.
CREATE TEMP TABLE span AS SELECT min(lo) AS lo, max(hi) AS hi FROM (
  SELECT {lo} AS lo, {hi} AS hi""" + "".join("\n  UNION ALL " + q for q in spans) + """);
CREATE TABLE cal AS
WITH d AS (SELECT CAST(x AS INTEGER) AS x, DATE '1970-01-01' + CAST(x AS INTEGER) AS dt
           FROM (SELECT unnest(range(lo, hi + 1)) AS x FROM span)),
w AS (SELECT x, dayofmonth(dt) AS dom, year(dt) * 12 + month(dt) - 1 AS mi,
             CAST(isodow(dt) < 6 AND x NOT IN (SELECT day FROM non_working) AS INTEGER) AS working FROM d)
SELECT x AS day, working, CAST(sum(working) OVER (ORDER BY x ROWS UNBOUNDED PRECEDING) - working AS INTEGER) AS wb,
       CAST(mi AS INTEGER) AS mi, CAST(dom AS INTEGER) AS dom
FROM w;
CREATE TABLE wd AS SELECT wb AS j, day FROM cal WHERE working = 1;
CREATE TABLE months AS SELECT mi, min(day) AS first, CAST(count(*) AS INTEGER) AS len FROM cal  -- whole months only
WHERE mi > (SELECT min(mi) FROM cal) AND mi < (SELECT max(mi) FROM cal) GROUP BY mi;
-- @mark calendar"""


def prepare_duckdb(config_path, out_dir):
    """OUT_DIR/load.sql for bench/duckdb_bench.js: the feeds, the calendar and the lookup tables that
    bench/rules.sql reads, the same as load.sql of SQLite holds."""
    config = load_config(config_path)
    base = os.path.dirname(os.path.abspath(config_path))
    out = ["-- Generated by bench/sqlite_bench.py prepare-duckdb from " + config_path + ": do not edit.",
           "-- bench/duckdb_bench.js runs it, noting the time at each '-- @mark STEP' line.",
           "-- @mark start",
           "CREATE TABLE non_working(day INTEGER PRIMARY KEY);",
           "INSERT INTO non_working VALUES " + ", ".join(f"({d})" for d in non_working_days(config, base)) + ";",
           "CREATE TABLE lookup(tbl VARCHAR NOT NULL, k VARCHAR NOT NULL, v DOUBLE, PRIMARY KEY (tbl, k));"]
    rows = lookup_rows(config)
    if any(isinstance(v, str) for _, _, v in rows):
        raise SystemExit("prepare-duckdb: text values in lookup tables are not supported here")
    if rows:
        out.append("INSERT INTO lookup VALUES " + ", ".join(
            f"({sql_text(t)}, {sql_text(k)}, CAST({v!r} AS DOUBLE))" for t, k, v in rows) + ";")
    out.append("CREATE TABLE feeds(name VARCHAR PRIMARY KEY, rows_read BIGINT, records BIGINT, rejected BIGINT, "
               "up BOOLEAN);")
    date_columns = []
    for feed in config.get("feed", []):
        text, dates = duckdb_feed_sql(feed, base)
        out.append(text)
        date_columns += [(feed["name"], c) for c in dates]
    out.append(duckdb_calendar_sql(date_columns))
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "load.sql"), "w") as f:
        f.write("\n".join(out) + "\n")


# ------------------------------------------------------------------------------------------------
# Comparison.


def iso_date(day_number_text):
    """A day number to YYYY-MM-DD, as casewatch prints dates (Hinnant's civil_from_days: Python's
    datetime stops at year 1, SQLite's date() is off for some days before 1582)."""
    if day_number_text == "":
        return ""
    z = int(day_number_text) + 719468
    era = z // 146097  # floor division
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    y = yoe + era * 400 + (m <= 2)
    return f"{'-' if y < 0 else ''}{abs(y):04d}-{m:02d}-{d:02d}"


def group_text(value):
    """A group's value in an aggregate alert's key, as casewatch writes it (SPEC 5.5)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


def parse_number(text):
    return None if text == "" else float(text)


def read_tsv(path):
    with open(path, newline="") as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip("\n")]


def compare(casewatch_json, sqlite_dir, suffix, peer="SQLite"):
    with open(casewatch_json) as f:
        cw = json.load(f)
    matches = read_tsv(os.path.join(sqlite_dir, f"matches{suffix}.tsv"))
    values = read_tsv(os.path.join(sqlite_dir, f"values{suffix}.tsv"))
    feeds = read_tsv(os.path.join(sqlite_dir, f"feeds{suffix}.tsv"))
    sql_rules = set(benchmarked_rules(os.path.dirname(os.path.abspath(casewatch_json))))
    problems = []

    # Feed counts: records and rejected rows.
    cw_feeds = {f["name"]: (f.get("records"), f.get("rejected"), f.get("up", True)) for f in cw["feeds"]}
    sql_feeds = {name: (int(records), int(rejected), up == "1") for name, records, rejected, up in feeds}
    for name in sorted(set(cw_feeds) | set(sql_feeds)):
        if cw_feeds.get(name) != sql_feeds.get(name):
            problems.append(f"feed {name}: casewatch (records, rejected, up) {cw_feeds.get(name)}, "
                            f"{peer} {sql_feeds.get(name)}")

    # Matches: (rule, key) -> (severity, due date, value).
    def cw_match(a):
        value = a.get("value")
        return (a["severity"], a.get("due_date") or "", value)

    cw_m = {(a["rule"], a["key"]): cw_match(a) for a in cw["alerts"] if a["rule"] in sql_rules}
    sql_m = {(r, k): (s, iso_date(due), parse_number(v)) for r, k, s, due, v in matches}
    only_cw = sorted(set(cw_m) - set(sql_m))
    only_sql = sorted(set(sql_m) - set(cw_m))
    differ = sorted(k for k in set(cw_m) & set(sql_m)
                    if cw_m[k][:2] != sql_m[k][:2] or not close(cw_m[k][2], sql_m[k][2]))
    for k in only_cw:
        problems.append(f"only casewatch: {k[0]} {k[1]} {cw_m[k]}")
    for k in only_sql:
        problems.append(f"only {peer}:{' ' * max(1, 10 - len(peer))}{k[0]} {k[1]} {sql_m[k]}")
    for k in differ:
        problems.append(f"differ:         {k[0]} {k[1]} casewatch {cw_m[k]} {peer} {sql_m[k]}")

    # Aggregate values, every group.
    cw_v = {(v["rule"], "/".join(map(group_text, v["group"].values()))): v.get("value")
            for v in cw["values"] if v["rule"] in sql_rules}
    sql_v = {(r, k): parse_number(v) for r, k, v in values}
    for k in sorted(set(cw_v) | set(sql_v)):
        if k not in cw_v or k not in sql_v or not close(cw_v[k], sql_v[k]):
            problems.append(f"value {k[0]} [{k[1]}]: casewatch {cw_v.get(k, 'missing')}, "
                            f"{peer} {sql_v.get(k, 'missing')}")

    missing_rules = sql_rules - {a["rule"] for a in cw["alerts"]} - {v["rule"] for v in cw["values"]}
    summary = {
        "alerts": len(sql_m), "values": len(sql_v), "rules": len(sql_rules),
        "rules_without_matches": sorted(missing_rules),
    }
    if problems:
        print(f"MISMATCH ({suffix or 'as-of'}): {len(problems)} differences between casewatch and {peer}; the first:")
        for p in problems[:25]:
            print("  " + p)
        return 1, summary
    print(f"  {peer}: same matches{suffix and ' (' + suffix.strip('-') + ')'}: {len(sql_m)} alerts of {len(sql_rules)} rules, "
          f"{len(sql_v)} aggregate values, {len(sql_feeds)} feeds' counts")
    if missing_rules:
        print(f"  note: no match and no value at all for {', '.join(sorted(missing_rules))}: nothing compared there")
    return 0, summary


def benchmarked_rules(work):
    """The names of the rules in WORK/rules/*.toml (the profile's rules, which its rules.sql implements)."""
    names = []
    for path in sorted(glob.glob(os.path.join(work, "rules", "*.toml"))):
        with open(path, "rb") as f:
            names += [rule["name"] for rule in tomllib.load(f).get("rule", [])]
    return names


# The rules bench/rules.sql implements (bench/rules/subset.toml).
RULES = ["assessment_timescale", "lac_review", "lac_visit", "conference_report_shared",
         "case_supervision_overdue", "care_leaver_neet_without_pathway_plan", "caseload_over_limit",
         "kpi_child_seen_alone"]


def check_rules_verbatim(repo):
    """Warns when a rule of bench/rules/subset.toml differs from the example's rule of that name."""
    def blocks(paths):
        out = {}
        for path in paths:
            with open(path) as f:
                for block in re.split(r"(?m)^(?=\[\[rule\]\]\n)", f.read())[1:]:
                    block = re.sub(r"(?m)^#.*\n?", "", block).strip()  # comments between rules
                    name = re.search(r'(?m)^name = "(\w+)"', block)
                    if name:
                        out[name.group(1)] = block
        return out
    bench = blocks([os.path.join(repo, "bench/rules/subset.toml")])
    example = blocks(sorted(glob.glob(os.path.join(repo, "examples/improvement-plan/rules/*.toml"))))
    if sorted(bench) != sorted(RULES):
        print(f"warning: bench/rules/subset.toml has {sorted(bench)}, bench/rules.sql implements {sorted(RULES)}")
    for name, block in bench.items():
        if example.get(name) != block:
            print(f"warning: rule {name} in bench/rules/subset.toml differs from examples/improvement-plan/rules")


# ------------------------------------------------------------------------------------------------
# The report.


def time_v(path):
    """Wall seconds and peak RSS (MB) from a GNU time -v report."""
    wall = rss = None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("Elapsed (wall clock) time"):
                parts = line.rsplit(" ", 1)[1].split(":")
                wall = sum(float(p) * 60 ** i for i, p in enumerate(reversed(parts)))
            elif line.startswith("Maximum resident set size"):
                rss = int(line.rsplit(" ", 1)[1]) / 1024
    return wall, rss


def sqlite_steps(path):
    """Seconds spent in each step of the SQLite run, from the marks it recorded."""
    steps = {"import": 0.0, "convert": 0.0, "calendar": 0.0, "rules": 0.0, "output": 0.0}
    previous = None
    for step, t in read_tsv(path):
        t = float(t)
        if previous is not None and step in steps:
            steps[step] += t - previous
        previous = t
    return {k: round(v, 3) for k, v in steps.items()}


def read_json(path):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def report(work, profile, as_of, seed, data_dir, match_summary):
    t = lambda name: time_v(os.path.join(work, name))
    with open(os.path.join(work, "phases.json")) as f:
        phases = json.load(f)
    steps = sqlite_steps(os.path.join(work, "sqlite", "marks.tsv"))
    csv_files = sorted(glob.glob(os.path.join(data_dir, "*.csv")))
    with open(os.path.join(work, "casewatch.toml"), "rb") as f:
        config = tomllib.load(f)
    used = [os.path.normpath(os.path.join(work, feed["path"])) for feed in config.get("feed", [])]
    csv_bytes_used = sum(os.path.getsize(p) for p in used if os.path.exists(p))
    cw_cold, sql_cold, sql_warm = t("time-casewatch.txt"), t("time-sqlite.txt"), t("time-sqlite-warm.txt")
    cw_warm = (phases["warm_eval_seconds"], phases["peak_rss_kb"] / 1024)
    ratio = lambda a, b: round(a / b, 3) if a and b else "n/a"

    # DuckDB (e, f), when it ran: the cold process, and the second evaluation of the warm one.
    duck_dir = os.path.join(work, "duckdb")
    duck_timing = read_json(os.path.join(duck_dir, "warm.json"))
    duck_ran = duck_timing is not None and os.path.exists(os.path.join(work, "time-duckdb.txt"))
    if duck_ran:
        duck_cold = t("time-duckdb.txt")
        last = duck_timing["runs"][-1]
        duck_warm = (last["rules_seconds"] + last["output_seconds"], t("time-duckdb-warm.txt")[1])
        duck_steps = sqlite_steps(os.path.join(duck_dir, "marks.tsv"))
        duck_summary = read_json(os.path.join(duck_dir, "compare.json"))
    # The floor (g), when built: its own wall time (finer than GNU time's hundredths), GNU time's RSS.
    floor = read_json(os.path.join(work, "floor.json"))
    floor_all = read_json(os.path.join(work, "floor-all.json"))
    if floor:
        floor_run = (floor["wall_seconds"], t("time-floor.txt")[1])

    rows = [
        ("(a) casewatch eval, cold: load, evaluate, print", cw_cold),
        ("(b) casewatch warm re-evaluation at DATE+1 [1]", cw_warm),
        ("(c) SQLite cold: .import, convert, rules, output", sql_cold),
        ("(d) SQLite warm: the rules again at DATE+1", sql_warm),
    ]
    if duck_ran:
        rows += [("(e) DuckDB cold: read_csv, convert, rules, output", duck_cold),
                 ("(f) DuckDB warm: the rules again at DATE+1 [2]", duck_warm)]
    if floor:
        rows.append(("(g) the floor: mmap, split, dates, one core [3]", floor_run))

    # The targets of issues 10 and 30 that this benchmark measures.
    targets = []
    if duck_ran:
        r = cw_cold[0] / duck_cold[0]
        targets.append({"target": "cold eval at most 1/5 of DuckDB's time", "measured":
                        f"{r:.2f} of DuckDB's time ({duck_cold[0] / cw_cold[0]:.1f} times faster)", "met": r <= 0.2})
    else:
        targets.append({"target": "cold eval at most 1/5 of DuckDB's time", "measured": "DuckDB skipped", "met": None})
    if floor:
        r = cw_cold[0] / floor_run[0]
        targets.append({"target": "cold eval at most 3 times the floor", "measured": f"{r:.1f} times the floor",
                        "met": r <= 3})
    else:
        targets.append({"target": "cold eval at most 3 times the floor", "measured": "floor not built", "met": None})
    rss_bytes = cw_cold[1] * 1024 * 1024
    targets.append({"target": "cold eval peak RSS at most the bytes of the CSVs it reads",
                    "measured": f"{rss_bytes / csv_bytes_used:.2f} times the {csv_bytes_used / 1e6:.0f} MB read",
                    "met": rss_bytes <= csv_bytes_used})
    daemon = read_json(os.path.join(work, "daemon-rounds.json"))
    if daemon:
        p50 = daemon["same_day_p50_seconds"]
        targets.append({"target": "warm evaluation round in the daemon at most 50 ms (p50 of "
                                  "casewatch_evaluation_duration_seconds over 20 rounds, feeds unchanged)",
                        "measured": f"{p50 * 1000:.1f} ms (the next day's round: "
                                    f"{daemon['next_day_round_seconds']:.2f} s)", "met": p50 <= 0.05})
        next_day = daemon["next_day_round_seconds"]
        targets.append({"target": "next day's round in the daemon at most 50 ms (the round at 09:00 on DATE+1)",
                        "measured": f"{next_day * 1000:.0f} ms", "met": next_day <= 0.05})
        steady = daemon["steady_rss_bytes"]
        targets.append({"target": "daemon steady RSS at most 1.5 times the CSV bytes",
                        "measured": f"{steady / csv_bytes_used:.2f} times ({steady / 2**20:.0f} MiB)",
                        "met": steady <= 1.5 * csv_bytes_used})
    targets.append({"target": "(for comparison) warm re-evaluation at DATE+1, evaluation only: (b)",
                    "measured": f"{cw_warm[0] * 1000:.0f} ms", "met": cw_warm[0] <= 0.05})

    results = {
        "profile": profile, "as_of": as_of, "seed": seed,
        "csv_bytes_total": sum(os.path.getsize(p) for p in csv_files),
        "csv_bytes_benchmarked": csv_bytes_used,
        "csv_files_benchmarked": [os.path.basename(p) for p in used],
        "records": phases.get("records"),
        "rules": match_summary.get("rules"),
        "alerts": match_summary.get("alerts"),
        "aggregate_values": match_summary.get("values"),
        "same_matches": {"sqlite": True, "duckdb": True if duck_ran else None},
        "phases": [{"phase": name, "wall_seconds": round(w, 4), "peak_rss_mb": round(r, 1)}
                   for name, (w, r) in rows],
        "casewatch_phases": phases,
        "daemon_rounds": daemon,
        "sqlite_steps_seconds": steps,
        "ratios_casewatch_over_sqlite": {
            "cold_wall": ratio(cw_cold[0], sql_cold[0]),
            "cold_peak_rss": ratio(cw_cold[1], sql_cold[1]),
            "warm_wall": ratio(cw_warm[0], sql_warm[0]),
        },
        "duckdb": None if not duck_ran else {
            "version": duck_timing.get("duckdb"),
            "steps_seconds": duck_steps,
            "alerts_compared": (duck_summary or {}).get("alerts"),
        },
        "ratios_casewatch_over_duckdb": None if not duck_ran else {
            "cold_wall": ratio(cw_cold[0], duck_cold[0]),
            "cold_peak_rss": ratio(cw_cold[1], duck_cold[1]),
            "warm_wall": ratio(cw_warm[0], duck_warm[0]),
        },
        "floor": floor and {**floor, "peak_rss_mb": round(floor_run[1], 1), "every_csv_of_the_data_folder": floor_all},
        "casewatch_cold_over_floor": ratio(cw_cold[0], floor_run[0]) if floor else None,
        "targets": targets,
        "note": "one run of each on whatever else the machine is doing: indicative figures. [1] timed "
                "inside casewatch-phases, whose peak RSS is given (it holds every feed loaded). [2] timed "
                "inside the DuckDB process (rules and output, after a first evaluation at DATE), whose "
                "peak RSS is given. [3] the CSVs casewatch reads; wall time measured inside the floor "
                "program, RSS by GNU time (the mapped pages of the files count).",
    }
    mb = lambda n: n / 1e6
    print()
    print(f"macro benchmark: profile {profile}, as of {as_of}, seed {seed}")
    print(f"  CSV: {mb(results['csv_bytes_total']):.1f} MB in all, {mb(csv_bytes_used):.1f} MB "
          f"in the {len(used)} feeds benchmarked ({results['records']} records); "
          f"{results['alerts']} alerts and {results['aggregate_values']} aggregate values from {results['rules']} rules")
    print(f"  matches checked equal: SQLite yes, DuckDB {'yes' if duck_ran else 'skipped'} (as of DATE and DATE+1)")
    print()
    print(f"  {'phase':52} {'wall s':>8} {'peak RSS MB':>12}")
    for name, (wall, rss) in rows:
        print(f"  {name:52} {wall:8.3f} {rss:12.1f}")
    print()
    if duck_ran:
        r = results["ratios_casewatch_over_duckdb"]
        print(f"  casewatch/DuckDB: cold wall {r['cold_wall']}, cold peak RSS {r['cold_peak_rss']}, "
              f"warm wall {r['warm_wall']}")
    else:
        print("  casewatch/DuckDB: DuckDB skipped (see above)")
    r = results["ratios_casewatch_over_sqlite"]
    print(f"  casewatch/SQLite: cold wall {r['cold_wall']}, cold peak RSS {r['cold_peak_rss']}, "
          f"warm wall {r['warm_wall']}")
    if floor:
        print(f"  casewatch cold / floor: {results['casewatch_cold_over_floor']} (the floor: {floor['wall_seconds']:.3f} s "
              f"for {mb(floor['bytes']):.1f} MB, {floor['mb_per_second']:.0f} MB/s"
              + (f"; every CSV of the data folder, {mb(floor_all['bytes']):.1f} MB: {floor_all['wall_seconds']:.3f} s"
                 if floor_all else "") + ")")
    else:
        print("  casewatch cold / floor: build/casewatch-floor is missing (not built yet)")
    print(f"  casewatch phases: load {phases['load_seconds']:.3f} s, evaluate {phases['eval_seconds']:.3f} s, "
          f"warm re-evaluate {phases['warm_eval_seconds']:.3f} s, render {phases['render_seconds']:.3f} s")
    print(f"  SQLite steps: " + ", ".join(f"{k} {v:.3f} s" for k, v in steps.items()))
    if duck_ran:
        print(f"  DuckDB steps ({results['duckdb']['version']}): " +
              ", ".join(f"{k} {v:.3f} s" for k, v in duck_steps.items()))
    print(f"  [1] timed inside casewatch-phases; its peak RSS (every feed loaded)")
    if duck_ran:
        print(f"  [2] timed inside the DuckDB process (rules and output, after a first evaluation); its peak RSS")
    if floor:
        print(f"  [3] the CSVs casewatch reads; timed inside the floor program")
    print()
    print("  targets (issues 10 and 30):")
    for target in targets:
        verdict = {True: "met", False: "NOT met", None: "not measured"}[target["met"]]
        print(f"    {verdict:12} {target['target']}: {target['measured']}")
    path = os.path.join(work, "results.json")
    with open(path, "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    print(f"  written to {path}")


def main(argv):
    if len(argv) >= 3 and argv[1] == "prepare":
        prepare(argv[2], argv[3])
        return 0
    if len(argv) == 4 and argv[1] == "prepare-duckdb":
        prepare_duckdb(argv[2], argv[3])
        return 0
    if len(argv) in (5, 6) and argv[1] == "compare":
        code, summary = compare(*argv[2:])
        with open(os.path.join(argv[3], f"compare{argv[4]}.json"), "w") as f:
            json.dump(summary, f)
        return code
    if len(argv) == 3 and argv[1] == "feed-files":
        config = load_config(argv[2])
        base = os.path.dirname(os.path.abspath(argv[2]))
        for feed in config.get("feed", []):
            print(os.path.normpath(os.path.join(base, feed["path"])))
        return 0
    if len(argv) >= 3 and argv[1] in ("median", "median-json"):
        # The run in the middle: one run on a busy two-core machine can be a tenth off.
        def wall(path):
            return time_v(path)[0] if argv[1] == "median" else read_json(path)["wall_seconds"]
        runs = sorted(argv[2:], key=wall)
        print(runs[len(runs) // 2])
        return 0
    if len(argv) == 3 and argv[1] == "check-rules":
        check_rules_verbatim(argv[2])
        return 0
    if len(argv) == 7 and argv[1] == "report":
        with open(os.path.join(argv[2], "sqlite", "compare.json")) as f:
            summary = json.load(f)
        report(argv[2], argv[3], argv[4], argv[5], argv[6], summary)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
