-- The view casewatch's `referrals` feed reads: the reporting database's own table, with the
-- columns a rule needs under Annex A's headings and nothing more (no names, no addresses).
-- Column types carry over: a date stays a date, a timestamptz is read as its date in
-- engine.timezone, numeric is a number, boolean a bool; free-text dates are parsed with the
-- feed's date_format. Owned by the schema's owner, so the casewatch role needs no access to
-- reporting.referral itself.
\set ON_ERROR_STOP on

CREATE SCHEMA IF NOT EXISTS casewatch;

CREATE OR REPLACE VIEW casewatch.referrals AS
SELECT referral_id        AS "Referral ID",
       child_id           AS "Child Unique ID",
       referral_date      AS "Date of referral",
       authorised_at      AS "Date authorised",
       allocated_team     AS "Allocated Team",
       contact_hours      AS "Hours",
       urgent             AS "Urgent?",
       closed             AS "Closed"
FROM reporting.referral;
-- A council may limit it to Annex A's 14 months (WHERE referral_date >= current_date - 425);
-- casewatch backtest then sees only those.
