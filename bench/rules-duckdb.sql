-- The rules of bench/rules/subset.toml in DuckDB's SQL: bench/rules.sql (read it for how each rule
-- is written) spelt for DuckDB, over the typed feed tables and the calendar that
-- `bench/sqlite_bench.py prepare-duckdb` builds (the same tables, the same columns: dates as day
-- numbers, bools as 0/1). bench/duckdb_bench.js replaces @d with the as-of date as a day number and
-- runs it once per date; the results go to two temporary tables, as in SQLite:
--   matches(rule, key, severity, due, value) and agg_values(rule, key, value).
-- What differs from SQLite's text: CASE for iif, least() for the two-argument min(), an explicit
-- coalesce(x = 1, false) for SQLite's `x IS 1`, CREATE OR REPLACE so that it can run again.

CREATE OR REPLACE TEMP TABLE matches(rule VARCHAR NOT NULL, key VARCHAR NOT NULL, severity VARCHAR NOT NULL,
                                     due INTEGER, value DOUBLE);
CREATE OR REPLACE TEMP TABLE agg_values(rule VARCHAR NOT NULL, key VARCHAR NOT NULL, value DOUBLE);

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
FROM (SELECT k.child_id, m.first + least(s.dom, m.len) - 1 AS due
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
SELECT 'lac_visit', k.child_id, CASE WHEN @d > k.last_visit + 42 THEN 'critical' ELSE 'warning' END,
       k.last_visit + 42
FROM children_in_care k
JOIN cal c ON c.day = k.last_visit + 42
JOIN wd warn ON warn.j = c.wb - 5
WHERE (k.ceased IS NULL OR k.ceased > @d) AND k.last_visit >= k.placement_start
  AND (k.placement_start > (SELECT m.first + least(t.dom, m.len) - 1
                            FROM cal t JOIN months m ON m.mi = t.mi - 12 WHERE t.day = @d)
       OR coalesce(k.long_term_placement, 0) = 0)
  AND k.last_visit <= @d
  AND @d >= warn.day
  AND (SELECT up FROM feeds WHERE name = 'children_in_care');

-- conference_report_shared: where conference_date >= today(); no start; due
-- add_working_days(conference_date, -3); done report_shared; warn_before 2 working days.
INSERT INTO matches(rule, key, severity, due)
SELECT 'conference_report_shared', f.conference_id, CASE WHEN @d > due.day THEN 'critical' ELSE 'warning' END,
       due.day
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
  AND (l.pathway_plan_review IS NULL OR m.first + least(p.dom, m.len) - 1 < @d)
  AND (SELECT up FROM feeds WHERE name = 'care_leavers');

-- caseload_over_limit (aggregate): group_by [worker_id, team], value count(), when
-- value > lookup('caseload_limit', team, 20). The key is the group's values joined with '/'.
CREATE OR REPLACE TEMP TABLE caseloads AS
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
CREATE OR REPLACE TEMP TABLE seen_alone AS
SELECT coalesce(team, '') AS key, sum(CASE WHEN coalesce(seen_alone = 1, false) THEN 1 ELSE 0 END) / count(*) AS value
FROM visits
WHERE visit_date > @d - 28 AND visit_date <= @d AND child_seen = 1
  AND (SELECT up FROM feeds WHERE name = 'visits')
GROUP BY team;
INSERT INTO agg_values SELECT 'kpi_child_seen_alone', key, value FROM seen_alone;
INSERT INTO matches(rule, key, severity, value)
SELECT 'kpi_child_seen_alone', key, 'warning', value FROM seen_alone
WHERE value < coalesce((SELECT v FROM lookup WHERE tbl = 'kpi_floor' AND k = 'child_seen_alone'), 0.6);
