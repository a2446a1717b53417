-- The rules of bench/rules/subset.toml in SQL, for the macro benchmark (bench/macro.sh), over the
-- typed feed tables and the calendar that bench/sqlite_bench.py's load.sql (SQLite) or
-- prepare-duckdb (DuckDB) builds. One text for both peers: only SQL both speak (CASE rather than
-- SQLite's iif and two-argument min, no IS 1, DROP before CREATE so that DuckDB can run it twice
-- in one process). @d is the as-of date as a day number (days since 1970-01-01; bench/duckdb_bench.js
-- writes it in). Results go to two temporary tables, so the database is not written and the rules
-- can be run again at another date:
--   matches(rule, key, severity, due, value): the alerts, as casewatch's eval --format json lists them
--   agg_values(rule, key, value): every group's value of every aggregate rule
--
-- Expressions of the rules, written out in each query (the sqlite3 shell has no user functions):
--   add_working_days(x, n), n > 0: wd.day where wd.j = cal.wb + cal.working + n - 1 and cal.day = x
--                                  (the first working day after x is step 1)
--   add_working_days(x, n), n < 0: wd.day where wd.j = cal.wb + n and cal.day = x
--   add_months(x, n): months.first + min(cal.dom, months.len) - 1 where months.mi = cal.mi + n
--                     and cal.day = x (the day of the month kept, clamped to the month's end)
--   lookup('t', k, default): coalesce((SELECT v FROM lookup WHERE tbl = 't' AND k = k), default)
-- A deadline (SPEC 5.2) as of D: where true, start not null and start <= D, not done (done null or
-- done > D); critical when D > due, warning when D >= due - warn_before. When the due date is itself
-- a working day (a due_in or due counted in working days), due - k working days is wd.j - k.
-- Nulls: every comparison with a null is false in both languages, and no rule below negates one.

DROP TABLE IF EXISTS matches;
CREATE TEMP TABLE matches(rule TEXT NOT NULL, key TEXT NOT NULL, severity TEXT NOT NULL, due INTEGER,
                          value DOUBLE);
DROP TABLE IF EXISTS agg_values;
CREATE TEMP TABLE agg_values(rule TEXT NOT NULL, key TEXT NOT NULL, value DOUBLE);

-- assessment_timescale: start referral_date, done assessment_authorised, due_in 10 working days,
-- warn_before 2 working days.
INSERT INTO matches(rule, key, severity, due)
SELECT 'assessment_timescale', a.assessment_id, CASE WHEN @d > due.day THEN 'critical' ELSE 'warning' END, due.day
FROM assessments a
JOIN cal s ON s.day = a.referral_date
JOIN wd due ON due.j = s.wb + s.working + 10 - 1
JOIN wd warn ON warn.j = due.j - 2
WHERE a.referral_date <= @d
  AND (a.assessment_authorised IS NULL OR a.assessment_authorised > @d)
  AND @d >= warn.day
  AND (SELECT up FROM feeds WHERE name = 'assessments');

-- lac_review: where (ceased == null || ceased > today()) && latest_review > first_review; start
-- latest_review, due_in 6 months, warn_before 10 working days.
INSERT INTO matches(rule, key, severity, due)
SELECT 'lac_review', x.child_id, CASE WHEN @d > x.due THEN 'critical' ELSE 'warning' END, x.due
FROM (SELECT k.child_id, m.first + CASE WHEN s.dom < m.len THEN s.dom ELSE m.len END - 1 AS due
      FROM children_in_care k
      JOIN cal s ON s.day = k.latest_review
      JOIN months m ON m.mi = s.mi + 6
      WHERE (k.ceased IS NULL OR k.ceased > @d) AND k.latest_review > k.first_review
        AND k.latest_review <= @d) x
JOIN cal c ON c.day = x.due
JOIN wd warn ON warn.j = c.wb - 10
WHERE @d >= warn.day
  AND (SELECT up FROM feeds WHERE name = 'children_in_care');

-- lac_visit: where (ceased == null || ceased > today()) && last_visit >= placement_start
--   && (placement_start > add_months(today(), -12) || !coalesce(long_term_placement, false));
-- start last_visit, due_in 6 weeks, warn_before 5 working days.
INSERT INTO matches(rule, key, severity, due)
SELECT 'lac_visit', k.child_id, CASE WHEN @d > k.last_visit + 42 THEN 'critical' ELSE 'warning' END, k.last_visit + 42
FROM children_in_care k
JOIN cal c ON c.day = k.last_visit + 42
JOIN wd warn ON warn.j = c.wb - 5
WHERE (k.ceased IS NULL OR k.ceased > @d) AND k.last_visit >= k.placement_start
  AND (k.placement_start > (SELECT m.first + CASE WHEN t.dom < m.len THEN t.dom ELSE m.len END - 1
                            FROM cal t JOIN months m ON m.mi = t.mi - 12 WHERE t.day = @d)
       OR coalesce(k.long_term_placement, 0) = 0)
  AND k.last_visit <= @d
  AND @d >= warn.day
  AND (SELECT up FROM feeds WHERE name = 'children_in_care');

-- conference_report_shared: where conference_date >= today(); no start; due
-- add_working_days(conference_date, -3); done report_shared; warn_before 2 working days.
INSERT INTO matches(rule, key, severity, due)
SELECT 'conference_report_shared', f.conference_id, CASE WHEN @d > due.day THEN 'critical' ELSE 'warning' END, due.day
FROM conferences f
JOIN cal c ON c.day = f.conference_date
JOIN wd due ON due.j = c.wb - 3
JOIN wd warn ON warn.j = due.j - 2
WHERE f.conference_date >= @d
  AND (f.report_shared IS NULL OR f.report_shared > @d)
  AND @d >= warn.day
  AND (SELECT up FROM feeds WHERE name = 'conferences');

-- case_supervision_overdue: start coalesce(last_supervision, date_allocated); due add_days(start,
-- lookup('supervision_interval_days', case_type, 42)); warn_before 3 working days.
INSERT INTO matches(rule, key, severity, due)
SELECT 'case_supervision_overdue', x.child_id, CASE WHEN @d > x.due THEN 'critical' ELSE 'warning' END, x.due
FROM (SELECT s.child_id,
             CAST(coalesce(s.last_supervision, s.date_allocated)
                  + coalesce((SELECT v FROM lookup WHERE tbl = 'supervision_interval_days' AND k = s.case_type), 42)
                  AS INTEGER) AS due
      FROM case_supervision s
      WHERE coalesce(s.last_supervision, s.date_allocated) <= @d) x
JOIN cal c ON c.day = x.due
JOIN wd warn ON warn.j = c.wb - 3
WHERE @d >= warn.day
  AND (SELECT up FROM feeds WHERE name = 'case_supervision');

-- care_leaver_neet_without_pathway_plan (condition, critical): coalesce(activity, '') in ['G4',
-- 'G5', 'G6'] && (pathway_plan_review == null || add_months(pathway_plan_review, 6) < today()).
INSERT INTO matches(rule, key, severity)
SELECT 'care_leaver_neet_without_pathway_plan', l.child_id, 'critical'
FROM care_leavers l
LEFT JOIN cal p ON p.day = l.pathway_plan_review
LEFT JOIN months m ON m.mi = p.mi + 6
WHERE coalesce(l.activity, '') IN ('G4', 'G5', 'G6')
  AND (l.pathway_plan_review IS NULL OR m.first + CASE WHEN p.dom < m.len THEN p.dom ELSE m.len END - 1 < @d)
  AND (SELECT up FROM feeds WHERE name = 'care_leavers');

-- caseload_over_limit (aggregate): group_by [worker_id, team], value count(), when
-- value > lookup('caseload_limit', team, 20). The key is the group's values joined with '/'.
DROP TABLE IF EXISTS caseloads;
CREATE TEMP TABLE caseloads AS
SELECT coalesce(worker_id, '') || '/' || coalesce(team, '') AS key, team, count(*) AS value
FROM allocations
WHERE (SELECT up FROM feeds WHERE name = 'allocations')
GROUP BY worker_id, team;
INSERT INTO agg_values SELECT 'caseload_over_limit', key, value FROM caseloads;
INSERT INTO matches(rule, key, severity, value)
SELECT 'caseload_over_limit', key, 'warning', value FROM caseloads g
WHERE value > coalesce((SELECT v FROM lookup WHERE tbl = 'caseload_limit' AND k = g.team), 20);

-- kpi_child_seen_alone (aggregate): where visit_date > add_days(today(), -28) && visit_date <=
-- today() && child_seen == true; group_by [team]; value ratio(seen_alone == true); when
-- value < lookup('kpi_floor', 'child_seen_alone', 0.6).
DROP TABLE IF EXISTS seen_alone;
CREATE TEMP TABLE seen_alone AS
SELECT coalesce(team, '') AS key, sum(CASE WHEN seen_alone = 1 THEN 1.0 ELSE 0 END) / count(*) AS value
FROM visits
WHERE visit_date > @d - 28 AND visit_date <= @d AND child_seen = 1
  AND (SELECT up FROM feeds WHERE name = 'visits')
GROUP BY team;
INSERT INTO agg_values SELECT 'kpi_child_seen_alone', key, value FROM seen_alone;
INSERT INTO matches(rule, key, severity, value)
SELECT 'kpi_child_seen_alone', key, 'warning', value FROM seen_alone
WHERE value < coalesce((SELECT v FROM lookup WHERE tbl = 'kpi_floor' AND k = 'child_seen_alone'), 0.6);
