-- The rules of bench/match-heavy/rules.toml in SQL, for the match-heavy profile of the macro
-- benchmark (bench/macro.sh --profile match-heavy), over the typed feed tables and the calendar of
-- bench/sqlite_bench.py's load.sql (SQLite) or prepare-duckdb (DuckDB). Written as bench/rules.sql
-- is (see its head for the expressions, the deadline semantics and the nulls): one text for both
-- peers, results in the temporary tables matches(rule, key, severity, due, value) and
-- agg_values(rule, key, value), @d the as-of date as a day number. Each peer returns every match's
-- rule, key, severity and due date, as casewatch's eval does, so that the three do the same work.
--   add_months(@d, -12): (SELECT m.first + CASE WHEN t.dom < m.len THEN t.dom ELSE m.len END - 1
--                         FROM cal t JOIN months m ON m.mi = t.mi - 12 WHERE t.day = @d)

DROP TABLE IF EXISTS matches;
CREATE TEMP TABLE matches(rule TEXT NOT NULL, key TEXT NOT NULL, severity TEXT NOT NULL, due INTEGER,
                          value DOUBLE);
DROP TABLE IF EXISTS agg_values;
CREATE TEMP TABLE agg_values(rule TEXT NOT NULL, key TEXT NOT NULL, value DOUBLE);

-- cin_child_seen: where open; start last_seen, due_in 20 working days, warn_before 12 working days.
INSERT INTO matches(rule, key, severity, due)
SELECT 'cin_child_seen', n.child_id, CASE WHEN @d > due.day THEN 'critical' ELSE 'warning' END, due.day
FROM children_in_need n
JOIN cal s ON s.day = n.last_seen
JOIN wd due ON due.j = s.wb + s.working + 20 - 1
JOIN wd warn ON warn.j = due.j - 12
WHERE (n.cin_closure_date IS NULL OR n.cin_closure_date > @d)
  AND n.last_seen <= @d
  AND @d >= warn.day
  AND (SELECT up FROM feeds WHERE name = 'children_in_need');

-- cin_plan_review: where open && cin_plan_start_date > add_months(today(), -12); start
-- cin_plan_start_date, due_in 6 months, warn_before 10 working days.
INSERT INTO matches(rule, key, severity, due)
SELECT 'cin_plan_review', x.child_id, CASE WHEN @d > x.due THEN 'critical' ELSE 'warning' END, x.due
FROM (SELECT n.child_id, m.first + CASE WHEN s.dom < m.len THEN s.dom ELSE m.len END - 1 AS due
      FROM children_in_need n
      JOIN cal s ON s.day = n.cin_plan_start_date
      JOIN months m ON m.mi = s.mi + 6
      WHERE (n.cin_closure_date IS NULL OR n.cin_closure_date > @d)
        AND n.cin_plan_start_date > (SELECT m.first + CASE WHEN t.dom < m.len THEN t.dom ELSE m.len END - 1
                                     FROM cal t JOIN months m ON m.mi = t.mi - 12 WHERE t.day = @d)
        AND n.cin_plan_start_date <= @d) x
JOIN cal c ON c.day = x.due
JOIN wd warn ON warn.j = c.wb - 10
WHERE @d >= warn.day
  AND (SELECT up FROM feeds WHERE name = 'children_in_need');

-- cin_without_plan (condition, warning): open && cin_plan_start_date == null &&
-- add_working_days(cin_start_date, 60) < today() && cin_start_date > add_months(today(), -12).
INSERT INTO matches(rule, key, severity)
SELECT 'cin_without_plan', n.child_id, 'warning'
FROM children_in_need n
JOIN cal s ON s.day = n.cin_start_date
JOIN wd w ON w.j = s.wb + s.working + 60 - 1
WHERE (n.cin_closure_date IS NULL OR n.cin_closure_date > @d)
  AND n.cin_plan_start_date IS NULL
  AND w.day < @d
  AND n.cin_start_date > (SELECT m.first + CASE WHEN t.dom < m.len THEN t.dom ELSE m.len END - 1
                          FROM cal t JOIN months m ON m.mi = t.mi - 12 WHERE t.day = @d)
  AND (SELECT up FROM feeds WHERE name = 'children_in_need');

-- cp_visit: where plan_end == null || plan_end > today(); start coalesce(last_visit, plan_start),
-- due_in 10 working days, warn_before 8 working days.
INSERT INTO matches(rule, key, severity, due)
SELECT 'cp_visit', p.cp_plan_id, CASE WHEN @d > due.day THEN 'critical' ELSE 'warning' END, due.day
FROM child_protection p
JOIN cal s ON s.day = coalesce(p.last_visit, p.plan_start)
JOIN wd due ON due.j = s.wb + s.working + 10 - 1
JOIN wd warn ON warn.j = due.j - 8
WHERE (p.plan_end IS NULL OR p.plan_end > @d)
  AND coalesce(p.last_visit, p.plan_start) <= @d
  AND @d >= warn.day
  AND (SELECT up FROM feeds WHERE name = 'child_protection');

-- cp_review_conference: where plan_end == null || plan_end > today(); start
-- coalesce(latest_review_conference, plan_start), due_in 3 months, warn_before 25 working days.
INSERT INTO matches(rule, key, severity, due)
SELECT 'cp_review_conference', x.cp_plan_id, CASE WHEN @d > x.due THEN 'critical' ELSE 'warning' END, x.due
FROM (SELECT p.cp_plan_id, m.first + CASE WHEN s.dom < m.len THEN s.dom ELSE m.len END - 1 AS due
      FROM child_protection p
      JOIN cal s ON s.day = coalesce(p.latest_review_conference, p.plan_start)
      JOIN months m ON m.mi = s.mi + 3
      WHERE (p.plan_end IS NULL OR p.plan_end > @d)
        AND coalesce(p.latest_review_conference, p.plan_start) <= @d) x
JOIN cal c ON c.day = x.due
JOIN wd warn ON warn.j = c.wb - 25
WHERE @d >= warn.day
  AND (SELECT up FROM feeds WHERE name = 'child_protection');

-- lac_visit: where ceased == null || ceased > today(); start coalesce(last_visit,
-- looked_after_start), due_in 6 weeks, warn_before 10 working days.
INSERT INTO matches(rule, key, severity, due)
SELECT 'lac_visit', x.child_id, CASE WHEN @d > x.due THEN 'critical' ELSE 'warning' END, x.due
FROM (SELECT k.child_id, coalesce(k.last_visit, k.looked_after_start) + 42 AS due
      FROM children_in_care k
      WHERE (k.ceased IS NULL OR k.ceased > @d)
        AND coalesce(k.last_visit, k.looked_after_start) <= @d) x
JOIN cal c ON c.day = x.due
JOIN wd warn ON warn.j = c.wb - 10
WHERE @d >= warn.day
  AND (SELECT up FROM feeds WHERE name = 'children_in_care');

-- lac_health_assessment: where ceased == null || ceased > today(); start
-- coalesce(last_health_assessment, looked_after_start), due_in 6 months, warn_before 40 working days.
INSERT INTO matches(rule, key, severity, due)
SELECT 'lac_health_assessment', x.child_id, CASE WHEN @d > x.due THEN 'critical' ELSE 'warning' END, x.due
FROM (SELECT k.child_id, m.first + CASE WHEN s.dom < m.len THEN s.dom ELSE m.len END - 1 AS due
      FROM children_in_care k
      JOIN cal s ON s.day = coalesce(k.last_health_assessment, k.looked_after_start)
      JOIN months m ON m.mi = s.mi + 6
      WHERE (k.ceased IS NULL OR k.ceased > @d)
        AND coalesce(k.last_health_assessment, k.looked_after_start) <= @d) x
JOIN cal c ON c.day = x.due
JOIN wd warn ON warn.j = c.wb - 40
WHERE @d >= warn.day
  AND (SELECT up FROM feeds WHERE name = 'children_in_care');

-- lac_dental_check: where ceased == null || ceased > today(); start coalesce(last_dental_check,
-- looked_after_start), due_in 12 months, warn_before 60 working days.
INSERT INTO matches(rule, key, severity, due)
SELECT 'lac_dental_check', x.child_id, CASE WHEN @d > x.due THEN 'critical' ELSE 'warning' END, x.due
FROM (SELECT k.child_id, m.first + CASE WHEN s.dom < m.len THEN s.dom ELSE m.len END - 1 AS due
      FROM children_in_care k
      JOIN cal s ON s.day = coalesce(k.last_dental_check, k.looked_after_start)
      JOIN months m ON m.mi = s.mi + 12
      WHERE (k.ceased IS NULL OR k.ceased > @d)
        AND coalesce(k.last_dental_check, k.looked_after_start) <= @d) x
JOIN cal c ON c.day = x.due
JOIN wd warn ON warn.j = c.wb - 60
WHERE @d >= warn.day
  AND (SELECT up FROM feeds WHERE name = 'children_in_care');

-- case_supervision_due: start coalesce(last_supervision, date_allocated); due add_days(start,
-- lookup('supervision_interval_days', case_type, 42)); warn_before 2 working days.
INSERT INTO matches(rule, key, severity, due)
SELECT 'case_supervision_due', x.child_id, CASE WHEN @d > x.due THEN 'critical' ELSE 'warning' END, x.due
FROM (SELECT s.child_id,
             CAST(coalesce(s.last_supervision, s.date_allocated)
                  + coalesce((SELECT v FROM lookup WHERE tbl = 'supervision_interval_days' AND k = s.case_type), 42)
                  AS INTEGER) AS due
      FROM case_supervision s
      WHERE coalesce(s.last_supervision, s.date_allocated) <= @d) x
JOIN cal c ON c.day = x.due
JOIN wd warn ON warn.j = c.wb - 2
WHERE @d >= warn.day
  AND (SELECT up FROM feeds WHERE name = 'case_supervision');

-- cin_per_worker (aggregate): where open; group_by [team, worker]; value count(); when value > 20.
DROP TABLE IF EXISTS cin_per_worker;
CREATE TEMP TABLE cin_per_worker AS
SELECT coalesce(team, '') || '/' || coalesce(worker, '') AS key, count(*) AS value
FROM children_in_need
WHERE (cin_closure_date IS NULL OR cin_closure_date > @d)
  AND (SELECT up FROM feeds WHERE name = 'children_in_need')
GROUP BY team, worker;
INSERT INTO agg_values SELECT 'cin_per_worker', key, value FROM cin_per_worker;
INSERT INTO matches(rule, key, severity, value)
SELECT 'cin_per_worker', key, 'warning', value FROM cin_per_worker WHERE value > 20;
