// The commands (SPEC 2, 8) end to end: in process through casewatch_main, and a few through the
// real binary. Fixtures: tests/fixtures/cli (a good config, data and rule tests),
// tests/fixtures/cli_feed_down (feeds that cannot be loaded), tests/fixtures/cli_errors (mistakes).
#include "cli/commands.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "casewatch/version.h"

namespace casewatch {
namespace {

const std::string kFixtures = std::string(CASEWATCH_SOURCE_DIR) + "/tests/fixtures/";

struct Result {
  int code = -1;
  std::string out, err;
};

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

// Runs casewatch_main; the fixtures folder is taken off paths in the output.
Result run(std::vector<std::string> args) {
  args.insert(args.begin(), "casewatch");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::ostringstream out, err;
  Result r;
  r.code = casewatch_main(static_cast<int>(args.size()), argv.data(), out, err);
  r.out = out.str();
  r.err = err.str();
  replace_all(r.out, kFixtures, "");
  replace_all(r.err, kFixtures, "");
  return r;
}

std::string fixture(const std::string& name) { return kFixtures + name; }

// Runs the real binary in `dir` with a shell command line.
Result run_binary(const std::string& dir, const std::string& args) {
  std::string base = (std::filesystem::temp_directory_path() /
                      ("casewatch_cli_test_" + std::to_string(::getpid()) + "_" +
                       testing::UnitTest::GetInstance()->current_test_info()->name()))
                         .string();
  std::string command = "cd '" + dir + "' && '" + std::string(CASEWATCH_BINARY) + "' " + args + " >'" + base +
                        ".out' 2>'" + base + ".err'";
  int status = std::system(command.c_str());
  Result r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  auto slurp = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    std::filesystem::remove(path);
    return s.str();
  };
  r.out = slurp(base + ".out");
  r.err = slurp(base + ".err");
  return r;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

using Lines = std::vector<std::string>;

// Runs of spaces as one.
std::string squeeze(const std::string& text) {
  std::string out;
  for (char c : text)
    if (c != ' ' || out.empty() || out.back() != ' ') out += c;
  return out;
}

constexpr const char* kRejectedA5 =
    "cli/data/assessments.csv:7: row rejected: field 'referral_date' (column \"Date of referral\"): not a date "
    "(expected %d/%m/%Y or YYYY-MM-DD)\n";

// The cli fixture evaluated as of 14 June 2017 (a Wednesday; Spring bank holiday 29 May).
//   A1  referred Thu 1 June: due Thu 15 June, warned from Tue 13th      -> warning
//   A10 referred Fri 2 June, no worker: due Fri 16 June, warned from the 14th -> warning; unallocated
//   A2  referred Mon 15 May: due Tue 30 May (the bank holiday skipped)   -> critical
//   A3  authorised 20 May (done)                                         -> nothing
//   A4  referred 20 June (after the as-of date)                          -> nothing
//   A5  31/02/2017: the row is rejected
//   A6  referred 1 June, authorised 15 June (after the as-of date)       -> warning
constexpr const char* kEvalJson = R"json({
  "evaluated_at": "2017-06-14T09:00:00+01:00",
  "alerts": [
    {
      "rule": "assessment_timescale",
      "key": "A1",
      "severity": "warning",
      "labels": {
        "alertname": "assessment_timescale",
        "key": "A1",
        "severity": "warning",
        "team": "Assessment"
      },
      "annotations": {
        "summary": "Assessment A1 due 2017-06-15 (1 working days)"
      },
      "due_date": "2017-06-15",
      "value": null
    },
    {
      "rule": "assessment_timescale",
      "key": "A10",
      "severity": "warning",
      "labels": {
        "alertname": "assessment_timescale",
        "key": "A10",
        "severity": "warning",
        "team": "Duty"
      },
      "annotations": {
        "summary": "Assessment A10 due 2017-06-16 (2 working days)"
      },
      "due_date": "2017-06-16",
      "value": null
    },
    {
      "rule": "assessment_timescale",
      "key": "A2",
      "severity": "critical",
      "labels": {
        "alertname": "assessment_timescale",
        "key": "A2",
        "severity": "critical",
        "team": "Assessment"
      },
      "annotations": {
        "summary": "Assessment A2 due 2017-05-30 (-11 working days)"
      },
      "due_date": "2017-05-30",
      "value": null
    },
    {
      "rule": "assessment_timescale",
      "key": "A6",
      "severity": "warning",
      "labels": {
        "alertname": "assessment_timescale",
        "key": "A6",
        "severity": "warning",
        "team": "Duty"
      },
      "annotations": {
        "summary": "Assessment A6 due 2017-06-15 (1 working days)"
      },
      "due_date": "2017-06-15",
      "value": null
    },
    {
      "rule": "open_by_team",
      "key": "Assessment",
      "severity": "warning",
      "labels": {
        "alertname": "open_by_team",
        "key": "Assessment",
        "severity": "warning",
        "team": "Assessment"
      },
      "annotations": {
        "summary": "Assessment has 3 open assessments"
      },
      "due_date": null,
      "value": 3.0
    },
    {
      "rule": "unallocated",
      "key": "A10",
      "severity": "critical",
      "labels": {
        "alertname": "unallocated",
        "key": "A10",
        "severity": "critical",
        "team": "Duty"
      },
      "annotations": {
        "summary": "Assessment A10 has no worker"
      },
      "due_date": null,
      "value": null
    }
  ],
  "values": [
    {
      "rule": "authorised_ratio",
      "group": {},
      "value": 0.3333333333333333
    },
    {
      "rule": "open_by_team",
      "group": {
        "team": "Assessment"
      },
      "value": 3.0
    },
    {
      "rule": "open_by_team",
      "group": {
        "team": "Duty"
      },
      "value": 1.0
    }
  ],
  "feeds": [
    {
      "name": "assessments",
      "up": true,
      "records": 6,
      "rejected": 1
    }
  ]
}
)json";

// ---------------------------------------------------------------------------------------------
// check

TEST(CliCheck, GoodConfig) {
  Result r = run({"check", "-c", fixture("cli/casewatch.toml")});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, "cli/casewatch.toml: OK: 1 feeds, 4 rules in 1 files\n");
  EXPECT_EQ(r.err, "");
}

TEST(CliCheck, ReportsEveryProblemOnePerLine) {
  Result r = run({"check", "-c", fixture("cli_errors/casewatch.toml")});
  EXPECT_EQ(r.code, kExitProblems);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(lines(r.err), (Lines{
      "cli_errors/casewatch.toml:3:1: error: unknown key 'colour' in the config",
      "cli_errors/casewatch.toml:6:23: error: 'evaluation_interval' must be an interval such as \"30s\", \"5m\", \"2h\" or \"1d\"",
      "cli_errors/casewatch.toml:16:34: error: field type 'text' is not one of string, number, date, bool",
      "cli_errors/rules/a.toml:6:10: error: 'due_in' must be a period such as \"10 working days\", \"3 days\", \"6 weeks\" or \"6 months\"",
      "cli_errors/rules/a.toml:14:19: error: cannot compare date with string",
      "cli_errors/rules/a.toml:17:8: error: rule 'assessment_timescale' is defined twice",
      "cli_errors/rules/a.toml:19:8: error: unknown feed 'visits'",
  }));
}

TEST(CliCheck, MissingConfigFile) {
  Result r = run({"check", "-c", fixture("nope/casewatch.toml")});
  EXPECT_EQ(r.code, kExitProblems);
  EXPECT_EQ(r.err, "nope/casewatch.toml: error: cannot read the file\n");
}

TEST(CliCheck, DoesNotReadTheData) {
  // The feed files of cli_feed_down are missing or bad: check only loads their definitions.
  Result r = run({"check", "-c", fixture("cli_feed_down/casewatch.toml")});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "cli_feed_down/casewatch.toml: OK: 3 feeds, 6 rules in 2 files\n");
  EXPECT_EQ(r.err, "");
}

// ---------------------------------------------------------------------------------------------
// eval

TEST(CliEval, JsonOutputExactly) {
  Result r = run({"eval", "-c", fixture("cli/casewatch.toml"), "--at", "2017-06-14", "--format", "json"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, kEvalJson);
  // Rejected rows are reported, with file, line and field, but never the cell's value.
  EXPECT_EQ(r.err, kRejectedA5);
  EXPECT_EQ(r.err.find("31/02"), std::string::npos);
}

TEST(CliEval, JsonAlertsSortedByRuleThenKey) {
  Result r = run({"eval", "-c", fixture("cli/casewatch.toml"), "--at", "2017-06-14", "--format", "json"});
  auto j = nlohmann::json::parse(r.out);
  std::vector<std::pair<std::string, std::string>> ids;
  for (const auto& a : j["alerts"]) ids.emplace_back(a["rule"], a["key"]);
  auto sorted = ids;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(ids, sorted);
  EXPECT_EQ(ids.size(), 6u);
}

TEST(CliEval, TableOutputExactly) {
  Result r = run({"eval", "-c", fixture("cli/casewatch.toml"), "--at", "2017-06-14"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out,
            "Alerts as of 2017-06-14T09:00:00+01:00: 6 (2 critical, 4 warning, 0 info)\n"
            "\n"
            "RULE                  KEY         SEVERITY  DUE         VALUE  SUMMARY\n"
            "assessment_timescale  A1          warning   2017-06-15         Assessment A1 due 2017-06-15 (1 working days)\n"
            "assessment_timescale  A10         warning   2017-06-16         Assessment A10 due 2017-06-16 (2 working days)\n"
            "assessment_timescale  A2          critical  2017-05-30         Assessment A2 due 2017-05-30 (-11 working days)\n"
            "assessment_timescale  A6          warning   2017-06-15         Assessment A6 due 2017-06-15 (1 working days)\n"
            "open_by_team          Assessment  warning               3      Assessment has 3 open assessments\n"
            "unallocated           A10         critical                     Assessment A10 has no worker\n"
            "\n"
            "RULE              GROUP       VALUE\n"
            "authorised_ratio  (all)       0.3333333333333333\n"
            "open_by_team      Assessment  3\n"
            "open_by_team      Duty        1\n"
            "\n"
            "FEED         STATUS  RECORDS  REJECTED\n"
            "assessments  up      6        1\n");
  EXPECT_EQ(r.err, kRejectedA5);
}

TEST(CliEval, AsOfDatesMoveTheDeadlines) {
  auto severities = [](const std::string& at) {
    Result r = run({"eval", "-c", fixture("cli/casewatch.toml"), "--at", at, "--format", "json",
                    "--rule", "assessment_timescale"});
    EXPECT_EQ(r.code, kExitOk) << r.err;
    std::string out;
    auto j = nlohmann::json::parse(r.out);
    for (const auto& a : j["alerts"])
      out += a["key"].get<std::string>() + "=" + a["severity"].get<std::string>() + " ";
    return out;
  };
  EXPECT_EQ(severities("2017-06-12"), "A2=critical ");
  EXPECT_EQ(severities("2017-06-13"), "A1=warning A2=critical A6=warning ");
  EXPECT_EQ(severities("2017-06-15"), "A1=warning A10=warning A2=critical ");  // A6 done on the 15th
  EXPECT_EQ(severities("2017-06-16"), "A1=critical A10=warning A2=critical ");
  // 23:30 UTC on the 15th is already the 16th in London (BST).
  EXPECT_EQ(severities("2017-06-15T23:30:00Z"), "A1=critical A10=warning A2=critical ");
  EXPECT_EQ(severities("2017-06-15T23:30:00+01:00"), "A1=warning A10=warning A2=critical ");
  // On 15 May only A2 and A3 have started (A3's authorisation on the 20th is in the future), and
  // nothing is due yet.
  EXPECT_EQ(severities("2017-05-15"), "");
}

TEST(CliEval, EvaluatedAtInTheConfigTimezone) {
  Result r = run({"eval", "-c", fixture("cli/casewatch.toml"), "--at", "2017-06-13T23:30:00Z", "--format", "json",
                  "--rule", "unallocated"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(nlohmann::json::parse(r.out)["evaluated_at"], "2017-06-14T00:30:00+01:00");
  r = run({"eval", "-c", fixture("cli/casewatch.toml"), "--at", "2017-01-10", "--format", "json", "--rule",
           "unallocated"});
  EXPECT_EQ(nlohmann::json::parse(r.out)["evaluated_at"], "2017-01-10T09:00:00+00:00");
}

TEST(CliEval, OnlyTheNamedRules) {
  Result r = run({"eval", "-c", fixture("cli/casewatch.toml"), "--at", "2017-06-14", "--format", "json", "--rule",
                  "unallocated", "--rule", "open_by_team"});
  EXPECT_EQ(r.code, kExitOk);
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["alerts"].size(), 2u);
  EXPECT_EQ(j["alerts"][0]["rule"], "open_by_team");
  EXPECT_EQ(j["alerts"][0]["value"], 3);
  EXPECT_EQ(j["alerts"][1]["rule"], "unallocated");
  EXPECT_EQ(j["alerts"][1]["key"], "A10");
  // Values only of the named aggregate rules.
  ASSERT_EQ(j["values"].size(), 2u);
  for (const auto& v : j["values"]) EXPECT_EQ(v["rule"], "open_by_team");
  EXPECT_EQ(j["feeds"].size(), 1u);
}

TEST(CliEval, UnknownRuleIsBadUsage) {
  Result r = run({"eval", "-c", fixture("cli/casewatch.toml"), "--at", "2017-06-14", "--rule", "unallocated",
                  "--rule", "no_such_rule"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "casewatch eval: unknown rule 'no_such_rule'\n");
}

TEST(CliEval, BadAtIsBadUsage) {
  for (const char* at : {"14/06/2017", "2017-02-30", "tomorrow", "2017-06-14T09:00:00", ""}) {
    Result r = run({"eval", "-c", fixture("cli/casewatch.toml"), "--at", at});
    EXPECT_EQ(r.code, kExitUsage) << at;
    EXPECT_EQ(r.out, "") << at;
    EXPECT_EQ(r.err, "casewatch eval: --at must be YYYY-MM-DD or an RFC 3339 timestamp, not '" + std::string(at) + "'\n")
        << at;
  }
}

TEST(CliEval, WithoutAtEvaluatesNow) {
  Result r = run({"eval", "-c", fixture("cli/casewatch.toml"), "--format", "json", "--rule", "unallocated"});
  EXPECT_EQ(r.code, kExitOk);
  auto j = nlohmann::json::parse(r.out);
  std::string at = j["evaluated_at"];
  ASSERT_EQ(at.size(), 25u) << at;
  EXPECT_EQ(at[4], '-');
  EXPECT_EQ(at[10], 'T');
  EXPECT_TRUE(at.ends_with(":00")) << at;
  // A condition rule sees the snapshot as it is, whatever the date.
  EXPECT_EQ(j["alerts"].size(), 1u);
}

TEST(CliEval, ConfigWithErrorsIsRefused) {
  Result r = run({"eval", "-c", fixture("cli_errors/casewatch.toml"), "--at", "2017-06-14"});
  EXPECT_EQ(r.code, kExitProblems);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(lines(r.err).size(), 7u) << r.err;
}

TEST(CliEval, FeedsThatCannotBeLoadedFailTheRunButTheOthersAlertsArePrinted) {
  Result r = run({"eval", "-c", fixture("cli_feed_down/casewatch.toml"), "--at", "2017-06-14", "--format", "json"});
  EXPECT_EQ(r.code, kExitProblems);
  auto j = nlohmann::json::parse(r.out);
  // Every alert of the good feed, exactly as with the good config alone.
  auto good = nlohmann::json::parse(kEvalJson);
  EXPECT_EQ(j["alerts"], good["alerts"]);
  EXPECT_EQ(j["values"], good["values"]);
  EXPECT_EQ(j["feeds"], nlohmann::json::parse(R"json([
    {"name": "assessments", "up": true, "records": 6, "rejected": 1},
    {"name": "visits", "up": false, "records": 0, "rejected": 0,
     "error": "cli_feed_down/data/visits.csv: No such file or directory"},
    {"name": "referrals", "up": false, "records": 0, "rejected": 2,
     "error": "2 of 3 rows rejected, more than max_rejected_ratio 0.05"}
  ])json"));
  EXPECT_EQ(lines(r.err), (Lines{
      "cli/data/assessments.csv:7: row rejected: field 'referral_date' (column \"Date of referral\"): not a date (expected %d/%m/%Y or YYYY-MM-DD)",
      "cli_feed_down/data/visits.csv: error: feed 'visits' not loaded: cli_feed_down/data/visits.csv: No such file or directory",
      "cli_feed_down/data/referrals.csv:3: row rejected: field 'received' (column \"Received\"): not a date (expected YYYY-MM-DD)",
      "cli_feed_down/data/referrals.csv:4: row rejected: field 'received' (column \"Received\"): not a date (expected YYYY-MM-DD)",
      "cli_feed_down/data/referrals.csv: error: feed 'referrals' not loaded: 2 of 3 rows rejected, more than max_rejected_ratio 0.05",
  }));
}

TEST(CliEval, TableShowsAFeedThatIsDown) {
  Result r = run({"eval", "-c", fixture("cli_feed_down/casewatch.toml"), "--at", "2017-06-14", "--rule",
                  "visit_overdue"});
  EXPECT_EQ(r.code, kExitProblems);
  // (Columns are as wide as the full path, which the test takes off: compare with single spaces.)
  EXPECT_EQ(squeeze(r.out),
            "Alerts as of 2017-06-14T09:00:00+01:00: 0 (0 critical, 0 warning, 0 info)\n"
            "\n"
            "FEED STATUS RECORDS REJECTED\n"
            "visits DOWN: cli_feed_down/data/visits.csv: No such file or directory 0 0\n");
  // Only the feeds of the named rules are loaded.
  EXPECT_EQ(r.err,
            "cli_feed_down/data/visits.csv: error: feed 'visits' not loaded: cli_feed_down/data/visits.csv: No such "
            "file or directory\n");
}

TEST(CliEval, RulesOfGoodFeedsOnlySucceed) {
  Result r = run({"eval", "-c", fixture("cli_feed_down/casewatch.toml"), "--at", "2017-06-14", "--rule",
                  "unallocated"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
}

// ---------------------------------------------------------------------------------------------
// test

TEST(CliTest, PassingFile) {
  Result r = run({"test", fixture("cli/tests/pass.toml")});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out,
            "PASS  cli/tests/pass.toml: due soon, overdue over the Spring bank holiday, and done\n"
            "PASS  cli/tests/pass.toml: from CSV with the feed's headings\n"
            "PASS  cli/tests/pass.toml: nothing to say\n"
            "3 passed, 0 failed\n");
  EXPECT_EQ(r.err, "");
}

TEST(CliTest, FailingFileListsWhatWasMissingAndWhatWasExtra) {
  Result r = run({"test", fixture("cli/tests/fail.toml")});
  EXPECT_EQ(r.code, kExitProblems);
  EXPECT_EQ(r.out,
            "PASS  cli/tests/fail.toml: passes\n"
            "FAIL  cli/tests/fail.toml:14: wrong severity, a missing alert and an extra one (at 2017-06-16)\n"
            "        missing: assessment_timescale key=A1 severity=warning\n"
            "        missing: open_by_team key=Duty severity=warning\n"
            "        extra: assessment_timescale key=A1 severity=critical\n"
            "        extra: unallocated key=A2 severity=critical\n"
            "FAIL  cli/tests/fail.toml:38: wrong labels and annotations (at 2017-06-14)\n"
            "        assessment_timescale key=A1 severity=warning: label region is \"(absent)\", expected \"North\"\n"
            "        assessment_timescale key=A1 severity=warning: label team is \"Assessment\", expected \"Duty\"\n"
            "        assessment_timescale key=A1 severity=warning: annotation summary is \"Assessment A1 due 2017-06-15 "
            "(1 working days)\", expected \"Assessment A1 due soon\"\n"
            "1 passed, 2 failed\n");
  EXPECT_EQ(r.err, "");
}

TEST(CliTest, SeveralFilesAreCountedTogether) {
  Result r = run({"test", fixture("cli/tests/pass.toml"), fixture("cli/tests/fail.toml")});
  EXPECT_EQ(r.code, kExitProblems);
  EXPECT_TRUE(r.out.ends_with("\n4 passed, 2 failed\n")) << r.out;
}

class CliTestFiles : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() /
            ("casewatch_cli_test_" + std::to_string(::getpid()) + "_" +
             testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  Result run_test(const std::string& path) {
    Result r = run({"test", path});
    replace_all(r.out, dir_ + "/", "");
    replace_all(r.err, dir_ + "/", "");
    return r;
  }
  std::string config_line() const { return "config = \"" + kFixtures + "cli/casewatch.toml\"\n"; }
  std::string dir_;
};

TEST_F(CliTestFiles, ProblemsInATestFileAreReportedWithPositions) {
  std::string path = write("t.toml", config_line() + R"t(rules = ["assessment_timescale", "nope"]

[[case]]
name = "a"
at = "2017-06-14"

[[case.expect]]
rule = "unallocated"
key = "A1"
severity = "warning"
)t");
  Result r = run_test(path);
  EXPECT_EQ(r.code, kExitProblems);
  EXPECT_EQ(r.out, "0 passed, 0 failed\n");
  EXPECT_EQ(lines(r.err), (Lines{
      "t.toml:2:9: error: unknown rule 'nope'",
      "t.toml:8:1: error: expectation names rule 'unallocated', which this file does not test",
  }));
}

TEST_F(CliTestFiles, ValueAssertionsCompareAnAggregatesValuePerGroup) {
  std::string path = write("t.toml", config_line() + R"t(rules = ["open_by_team", "authorised_ratio"]

[[case]]
name = "values"
at = "2017-06-14"
[case.feeds.assessments]
rows = [
  { assessment_id = "A1", team = "Duty", referral_date = "2017-06-01" },
  { assessment_id = "A2", team = "Duty", referral_date = "2017-06-01" },
  { assessment_id = "A3", team = "East", referral_date = "2017-06-01", authorised = "2017-06-02" },
]

[[case.value]]
rule = "open_by_team"
group = { team = "Duty" }
value = 2

[[case.value]]
rule = "authorised_ratio"
value = 0.333333
tolerance = 1e-6

# East has no open assessment, so no group.
[[case.value]]
rule = "open_by_team"
group = { team = "East" }

[[case]]
name = "wrong values"
at = "2017-06-14"
[case.feeds.assessments]
rows = [ { assessment_id = "A1", team = "Duty", referral_date = "2017-06-01" } ]

[[case.value]]
rule = "open_by_team"
group = { team = "Duty" }
value = 2

[[case.value]]
rule = "open_by_team"
group = { team = "West" }
value = 1

[[case.value]]
rule = "authorised_ratio"
)t");
  Result r = run_test(path);
  EXPECT_EQ(r.code, kExitProblems) << r.err;
  EXPECT_EQ(r.out,
            "PASS  t.toml: values\n"
            "FAIL  t.toml:29: wrong values (at 2017-06-14)\n"
            "        open_by_team group {team = \"Duty\"}: value is 1, expected 2\n"
            "        open_by_team group {team = \"West\"}: no such group, expected value 1\n"
            "        authorised_ratio group {}: value is 0, expected none\n"
            "1 passed, 1 failed\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(CliTestFiles, ValueAssertionsNameAnAggregateAndItsGroupByFields) {
  std::string path = write("t.toml", config_line() + R"t(rules = ["open_by_team", "assessment_timescale"]

[[case]]
name = "a"
at = "2017-06-14"

[[case.value]]
rule = "open_by_team"
group = { worker = "W1" }
value = 1

[[case.value]]
rule = "assessment_timescale"
value = 1

[[case.value]]
rule = "open_by_team"
group = { team = "Duty" }
value = "two"
)t");
  Result r = run_test(path);
  EXPECT_EQ(r.code, kExitProblems);
  EXPECT_EQ(lines(r.err), (Lines{"t.toml:20:9: error: 'value' must be a number"}));
  std::string fixed = write("u.toml", config_line() + R"t(rules = ["open_by_team", "assessment_timescale"]

[[case]]
name = "a"
at = "2017-06-14"

[[case.value]]
rule = "open_by_team"
group = { worker = "W1" }
value = 1

[[case.value]]
rule = "assessment_timescale"
value = 1
)t");
  r = run_test(fixed);
  EXPECT_EQ(r.code, kExitProblems);
  EXPECT_EQ(lines(r.err), (Lines{
      "u.toml:8:1: error: 'group' must name exactly the rule's group_by fields (team)",
      "u.toml:13:1: error: rule 'assessment_timescale' is not an aggregate: it has no value",
  }));
}

TEST_F(CliTestFiles, BadDataInACaseFailsThatCaseOnly) {
  std::string path = write("t.toml", config_line() + R"t(
[[case]]
name = "unknown feed and field"
at = "2017-06-14"
[case.feeds.visits]
rows = []
[case.feeds.assessments]
rows = [ { assessment_id = "A1", referal_date = "2017-06-01" } ]

[[case]]
name = "a bad date"
at = "2017-06-14"
[case.feeds.assessments]
rows = [ { assessment_id = "A1", referral_date = "2017-06-31" } ]

[[case]]
name = "bad at"
at = "14/06/2017"

[[case]]
name = "fine"
at = "2017-06-14"
)t");
  Result r = run_test(path);
  EXPECT_EQ(r.code, kExitProblems);
  EXPECT_EQ(r.out,
            "FAIL  t.toml: unknown feed and field (errors above)\n"
            "FAIL  t.toml: a bad date (errors above)\n"
            "FAIL  t.toml: bad at (errors above)\n"
            "PASS  t.toml: fine\n"
            "1 passed, 3 failed\n");
  EXPECT_EQ(lines(r.err), (Lines{
      // (a case's feeds in name order)
      "t.toml:9:34: error: feed 'assessments' has no field 'referal_date'",
      "t.toml:6:1: error: unknown feed 'visits'",
      // at the cell that does not parse
      "t.toml:15:34: error: row rejected: field 'referral_date': not a date (expected %d/%m/%Y or YYYY-MM-DD)",
      "t.toml:17:1: error: 'at' must be YYYY-MM-DD or RFC 3339, not '14/06/2017'",
  }));
}

TEST_F(CliTestFiles, ARowWithoutItsKey) {
  std::string path = write("t.toml", config_line() + R"t(
[[case]]
name = "no key"
at = "2017-06-14"
[case.feeds.assessments]
rows = [ { team = "Duty", worker = "W1" } ]
)t");
  Result r = run_test(path);
  EXPECT_EQ(r.code, kExitProblems);
  EXPECT_EQ(r.err, "t.toml:7:12: error: row rejected: field 'assessment_id': empty key\n");
}

TEST_F(CliTestFiles, ExpectationsMustBeTables) {
  std::string path = write("t.toml", config_line() + R"t(
[[case]]
name = "a"
at = "2017-06-14"
expect = [ "assessment_timescale A1 warning" ]
)t");
  Result r = run_test(path);
  EXPECT_EQ(r.code, kExitProblems);
  EXPECT_EQ(r.out, "0 passed, 0 failed\n");
  EXPECT_EQ(r.err, "t.toml:6:12: error: each expectation must be a table with 'rule', 'key' and 'severity'\n");
}

TEST_F(CliTestFiles, ItsConfigDoesNotLoad) {
  std::string path = write("t.toml", "config = \"" + kFixtures + "cli_errors/casewatch.toml\"\n"
                                     "[[case]]\nname = \"a\"\nat = \"2017-06-14\"\n");
  Result r = run_test(path);
  EXPECT_EQ(r.code, kExitProblems);
  EXPECT_EQ(r.out, "0 passed, 0 failed\n");
  auto e = lines(r.err);
  ASSERT_EQ(e.size(), 8u) << r.err;
  EXPECT_EQ(e[0], "cli_errors/casewatch.toml:3:1: error: unknown key 'colour' in the config");
  EXPECT_EQ(e[7], "t.toml: error: its config cli_errors/casewatch.toml does not load");
}

TEST_F(CliTestFiles, ATestFileThatDoesNotParse) {
  std::string path = write("t.toml", "config = \n");
  Result r = run_test(path);
  EXPECT_EQ(r.code, kExitProblems);
  EXPECT_EQ(r.out, "0 passed, 0 failed\n");
  ASSERT_EQ(lines(r.err).size(), 1u) << r.err;
  EXPECT_TRUE(r.err.starts_with("t.toml:1:")) << r.err;
}

TEST_F(CliTestFiles, MissingTestFile) {
  Result r = run_test(dir_ + "/nope.toml");
  EXPECT_EQ(r.code, kExitProblems);
  EXPECT_EQ(r.err, "nope.toml: error: cannot read the file\n");
  EXPECT_EQ(r.out, "0 passed, 0 failed\n");
}

// A small config in a temporary folder, for data the fixtures should not hold.
constexpr const char* kTempConfig = R"t(rule_files = ["rules.toml"]
[[feed]]
name = "cases"
path = "cases.csv"
key = "id"
max_rejected_ratio = 1
[feed.fields]
id = { column = "ID" }
team = { column = "Team" }
n = { column = "N", type = "number" }
)t";

constexpr const char* kTempRules = R"t([[rule]]
name = "by_team"
kind = "condition"
feed = "cases"
when = "n > 0"
for = "2d"
labels = { team = "{{ team }}" }

[[rule]]
name = "per_team"
kind = "aggregate"
feed = "cases"
group_by = ["team"]
value = "count()"
)t";

TEST_F(CliTestFiles, DataThatIsNotUtf8DoesNotCrashJsonOutput) {
  std::string config = write("casewatch.toml", kTempConfig);
  write("rules.toml", kTempRules);
  write("cases.csv", "ID,Team,N\nK1,D\xe9partement,1\nK2,Caf\xc3,2\n");  // Windows-1252, and a cut sequence
  Result r = run({"eval", "-c", config, "--at", "2017-06-14", "--format", "json"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  nlohmann::json j;
  ASSERT_NO_THROW(j = nlohmann::json::parse(r.out)) << r.out;
  ASSERT_EQ(j["alerts"].size(), 2u);  // `for` is ignored by eval
  EXPECT_EQ(j["alerts"][0]["severity"], "warning");  // the default
  EXPECT_EQ(j["alerts"][0]["labels"]["team"], "D\xEF\xBF\xBDpartement");  // U+FFFD
  EXPECT_EQ(j["values"].size(), 2u);
  r = run({"backtest", "-c", config, "--from", "2017-06-14", "--to", "2017-06-14", "--format", "json"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_NO_THROW(nlohmann::json::parse(r.out)) << r.out;
}

// The alerts are rendered in chunks on every core: many chunks' worth still make one JSON array,
// every alert once, in key order, each rendered as a lone one is.
TEST_F(CliTestFiles, ManyAlertsAreWrittenOnceEachAndInOrder) {
  std::string config = write("casewatch.toml", kTempConfig);
  write("rules.toml", kTempRules);
  std::string csv = "ID,Team,N\n";
  const int alerts = 11000;
  for (int i = 0; i < alerts; ++i) csv += "K" + std::to_string(100000 + i) + ",T" + std::to_string(i % 7) + ",1\n";
  write("cases.csv", csv);
  Result r = run({"eval", "-c", config, "--at", "2017-06-14", "--format", "json", "--rule", "by_team"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  nlohmann::json j;
  ASSERT_NO_THROW(j = nlohmann::json::parse(r.out));
  ASSERT_EQ(j["alerts"].size(), static_cast<size_t>(alerts));
  for (int i = 0; i < alerts; ++i) {
    ASSERT_EQ(j["alerts"][i]["key"], "K" + std::to_string(100000 + i)) << i;
    ASSERT_EQ(j["alerts"][i]["labels"]["team"], "T" + std::to_string(i % 7)) << i;
  }
  write("cases.csv", "ID,Team,N\nK100005,T5,1\n");
  Result one = run({"eval", "-c", config, "--at", "2017-06-14", "--format", "json", "--rule", "by_team"});
  const std::string alone = nlohmann::json::parse(one.out)["alerts"][0].dump();
  EXPECT_EQ(j["alerts"][5].dump(), alone);
  EXPECT_NE(r.out.find("    {\n      \"rule\": \"by_team\",\n      \"key\": \"K100005\""), std::string::npos);
}

TEST_F(CliTestFiles, OnlyTheFirstHundredRejectedRowsAreListed) {
  std::string config = write("casewatch.toml", kTempConfig);
  write("rules.toml", kTempRules);
  std::string csv = "ID,Team,N\n";
  for (int i = 0; i < 130; ++i) csv += "K" + std::to_string(i) + ",T,SECRET" + std::to_string(i) + "\n";
  csv += "GOOD,T,1\n";
  write("cases.csv", csv);
  Result r = run({"eval", "-c", config, "--at", "2017-06-14", "--format", "json", "--rule", "by_team"});
  replace_all(r.err, dir_ + "/", "");
  EXPECT_EQ(r.code, kExitOk) << r.err;
  auto e = lines(r.err);
  ASSERT_EQ(e.size(), 101u);
  EXPECT_EQ(e[0], "cases.csv:2: row rejected: field 'n' (column \"N\"): not a number");
  EXPECT_EQ(e[99], "cases.csv:101: row rejected: field 'n' (column \"N\"): not a number");
  EXPECT_EQ(e[100], "cases.csv: 30 more rows rejected");
  EXPECT_EQ(r.err.find("SECRET"), std::string::npos);
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["feeds"][0]["rejected"], 130);
  EXPECT_EQ(j["feeds"][0]["records"], 1);
  EXPECT_EQ(j["alerts"].size(), 1u);
}

// ---------------------------------------------------------------------------------------------
// backtest

TEST(CliForecast, WhatFallsDueEachDayIfNothingIsDone) {
  // A1 (Assessment) is due Thursday 15 June and A10 (Duty) Friday 16 June; A6 is authorised on
  // its due day, A2 is overdue already.
  Result csv = run({"forecast", "-c", fixture("cli/casewatch.toml"), "--from", "2017-06-14", "--to", "2017-06-19",
                    "--format", "csv"});
  EXPECT_EQ(csv.code, kExitOk) << csv.err;
  EXPECT_EQ(csv.out,
            "date,team,worker,rule,due\n"
            "2017-06-15,Assessment,,assessment_timescale,1\n"
            "2017-06-16,Duty,,assessment_timescale,1\n");
  Result table = run({"forecast", "-c", fixture("cli/casewatch.toml"), "--from", "2017-06-14", "--to", "2017-06-19"});
  EXPECT_EQ(lines(table.out), (Lines{
      "DATE        TEAM        WORKER  DUE  RULES",
      "2017-06-14                      0",
      "2017-06-15  Assessment          1    assessment_timescale 1",
      "2017-06-16  Duty                1    assessment_timescale 1",
      "2017-06-19                      0",
  }));  // the weekend of 17-18 June is left out: nothing falls due on it
  Result json = run({"forecast", "-c", fixture("cli/casewatch.toml"), "--from", "2017-06-15", "--to", "2017-06-15",
                     "--format", "json"});
  auto j = nlohmann::json::parse(json.out);
  EXPECT_EQ(j["days"].size(), 1u);
  EXPECT_EQ(j["days"][0]["due"], 1);
  EXPECT_EQ(j["days"][0]["counts"][0]["team"], "Assessment");
  EXPECT_EQ(run({"forecast", "-c", fixture("cli/casewatch.toml"), "--from", "2017-06-19", "--to", "2017-06-14"}).code,
            kExitUsage);
}

TEST(CliBacktest, TableOverAWeekAsADeadlineApproaches) {
  Result r = run({"backtest", "-c", fixture("cli/casewatch.toml"), "--from", "2017-06-12", "--to", "2017-06-16"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  auto all = lines(r.out);
  ASSERT_EQ(all.size(), 26u) << r.out;
  EXPECT_EQ(all[0], "DATE        RULE                  GROUP       INFO  WARNING  CRITICAL  VALUE");
  // The deadline rule's rows: nothing new, then warnings as the deadlines approach, then overdue.
  Lines deadline;
  for (const auto& line : all)
    if (line.find("assessment_timescale") != std::string::npos) deadline.push_back(line);
  EXPECT_EQ(deadline, (Lines{
      "2017-06-12  assessment_timescale              0     0        1",
      "2017-06-13  assessment_timescale              0     2        1",
      "2017-06-14  assessment_timescale              0     3        1",
      "2017-06-15  assessment_timescale              0     2        1",
      "2017-06-16  assessment_timescale              0     1        2",
  }));
  EXPECT_EQ(Lines(all.begin() + 1, all.begin() + 6), (Lines{
      "2017-06-12  assessment_timescale              0     0        1",
      "2017-06-12  unallocated                       0     0        1",
      "2017-06-12  open_by_team          Assessment  0     1        0         3",
      "2017-06-12  open_by_team          Duty        0     0        0         1",
      "2017-06-12  authorised_ratio                  0     0        0         0.3333333333333333",
  }));
  EXPECT_EQ(r.err, kRejectedA5);  // the feed is loaded once
}

TEST(CliBacktest, Csv) {
  Result r = run({"backtest", "-c", fixture("cli/casewatch.toml"), "--from", "2017-06-15", "--to", "2017-06-16",
                  "--format", "csv"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out,
            "date,rule,group,info,warning,critical,value\n"
            "2017-06-15,assessment_timescale,,0,2,1,\n"
            "2017-06-15,unallocated,,0,0,1,\n"
            "2017-06-15,open_by_team,Assessment,0,1,0,3\n"
            "2017-06-15,open_by_team,Duty,0,0,0,1\n"
            "2017-06-15,authorised_ratio,,0,0,0,0.3333333333333333\n"
            "2017-06-16,assessment_timescale,,0,1,2,\n"
            "2017-06-16,unallocated,,0,0,1,\n"
            "2017-06-16,open_by_team,Assessment,0,1,0,3\n"
            "2017-06-16,open_by_team,Duty,0,0,0,1\n"
            "2017-06-16,authorised_ratio,,0,0,0,0.3333333333333333\n");
}

TEST(CliBacktest, Json) {
  Result r = run({"backtest", "-c", fixture("cli/casewatch.toml"), "--from", "2017-06-09", "--to", "2017-06-16",
                  "--format", "json"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["from"], "2017-06-09");
  EXPECT_EQ(j["to"], "2017-06-16");
  ASSERT_EQ(j["days"].size(), 8u);
  std::string counts;
  for (const auto& d : j["days"]) {
    ASSERT_EQ(d["rules"].size(), 4u);
    const auto& deadline = d["rules"][0];
    EXPECT_EQ(deadline["rule"], "assessment_timescale");
    EXPECT_FALSE(deadline.contains("values"));
    counts += d["date"].get<std::string>().substr(8) + ":" + std::to_string(deadline["warning"].get<int>()) + "/" +
              std::to_string(deadline["critical"].get<int>()) + " ";
  }
  // Weekends (10th, 11th) change nothing: working days are counted.
  EXPECT_EQ(counts, "09:0/1 10:0/1 11:0/1 12:0/1 13:2/1 14:3/1 15:2/1 16:1/2 ");
  EXPECT_EQ(j["days"][0]["rules"][2], nlohmann::json::parse(R"json(
    {"rule": "open_by_team", "info": 0, "warning": 1, "critical": 0,
     "values": [{"group": {"team": "Assessment"}, "value": 3}, {"group": {"team": "Duty"}, "value": 1}]})json"));
  EXPECT_EQ(j["days"][0]["rules"][3]["values"][0]["group"], nlohmann::json::object());
}

TEST(CliBacktest, Rfc3339DatesAreDatesToo) {
  Result r = run({"backtest", "-c", fixture("cli/casewatch.toml"), "--from", "2017-06-15T23:30:00Z", "--to",
                  "2017-06-16", "--format", "csv"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_TRUE(r.out.starts_with("date,rule,group,info,warning,critical,value\n2017-06-16,assessment_timescale,,0,1,2,\n"))
      << r.out;
}

TEST(CliBacktest, BadRangeIsBadUsage) {
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"2017-06-16", "2017-06-15"}, {"16/06/2017", "2017-06-17"}, {"2017-06-15", "soon"}}) {
    Result r = run({"backtest", "-c", fixture("cli/casewatch.toml"), "--from", from, "--to", to});
    EXPECT_EQ(r.code, kExitUsage) << from << " " << to;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err,
              "casewatch backtest: --from and --to must be DATEs (YYYY-MM-DD or RFC 3339) with --from <= --to\n");
  }
}

TEST(CliBacktest, AFeedThatCannotBeLoaded) {
  Result r = run({"backtest", "-c", fixture("cli_feed_down/casewatch.toml"), "--from", "2017-06-14", "--to",
                  "2017-06-14", "--format", "csv"});
  EXPECT_EQ(r.code, kExitProblems);
  // The good feed's rules are still counted; the others have no rows.
  EXPECT_EQ(r.out,
            "date,rule,group,info,warning,critical,value\n"
            "2017-06-14,assessment_timescale,,0,3,1,\n"
            "2017-06-14,unallocated,,0,0,1,\n"
            "2017-06-14,open_by_team,Assessment,0,1,0,3\n"
            "2017-06-14,open_by_team,Duty,0,0,0,1\n"
            "2017-06-14,authorised_ratio,,0,0,0,0.3333333333333333\n");
}

// ---------------------------------------------------------------------------------------------
// usage

TEST(CliUsage, BadUsageExitsTwo) {
  const std::vector<std::vector<std::string>> bad = {
      {},
      {"frobnicate"},
      {"check"},
      {"check", "-c"},
      {"eval"},
      {"eval", "-c", fixture("cli/casewatch.toml"), "--format", "xml"},
      {"eval", "-c", fixture("cli/casewatch.toml"), "--bogus"},
      {"test"},
      {"backtest", "-c", fixture("cli/casewatch.toml"), "--from", "2017-06-14"},
      {"backtest", "-c", fixture("cli/casewatch.toml"), "--from", "2017-06-14", "--to", "2017-06-14", "--format", "xml"},
      {"--no-such-flag"},
  };
  for (const auto& args : bad) {
    Result r = run(args);
    EXPECT_EQ(r.code, kExitUsage) << testing::PrintToString(args);
    EXPECT_FALSE(r.out.empty() && r.err.empty()) << testing::PrintToString(args);
  }
}

TEST(CliUsage, HelpExitsZero) {
  Result r = run({"--help"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_NE(r.out.find("backtest"), std::string::npos) << r.out;
}

TEST(CliUsage, Version) {
  Result r = run({"--version"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, std::string("casewatch ") + CASEWATCH_VERSION + "\n");
  EXPECT_EQ(r.err, "");
}

// ---------------------------------------------------------------------------------------------
// The real binary, run from the fixture's folder with relative paths

TEST(CliBinary, Version) {
  Result r = run_binary(kFixtures, "--version");
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, std::string("casewatch ") + CASEWATCH_VERSION + "\n");
}

TEST(CliBinary, CheckOkAndWithErrors) {
  Result ok = run_binary(fixture("cli"), "check -c casewatch.toml");
  EXPECT_EQ(ok.code, 0);
  EXPECT_EQ(ok.out, "casewatch.toml: OK: 1 feeds, 4 rules in 1 files\n");
  Result bad = run_binary(fixture("cli_errors"), "check -c casewatch.toml");
  EXPECT_EQ(bad.code, 1);
  EXPECT_EQ(bad.out, "");
  auto e = lines(bad.err);
  ASSERT_EQ(e.size(), 7u) << bad.err;
  EXPECT_EQ(e[0], "casewatch.toml:3:1: error: unknown key 'colour' in the config");
  EXPECT_EQ(e[4], "rules/a.toml:14:19: error: cannot compare date with string");
}

TEST(CliBinary, EvalJson) {
  Result r = run_binary(fixture("cli"), "eval -c casewatch.toml --at 2017-06-14 --format json");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, kEvalJson);
  EXPECT_EQ(r.err,
            "data/assessments.csv:7: row rejected: field 'referral_date' (column \"Date of referral\"): not a date "
            "(expected %d/%m/%Y or YYYY-MM-DD)\n");
}

TEST(CliBinary, EvalWithAFeedDown) {
  Result r = run_binary(fixture("cli_feed_down"), "eval -c casewatch.toml --at 2017-06-14");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("assessment_timescale  A2"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("data/visits.csv: error: feed 'visits' not loaded: data/visits.csv: No such file or directory\n"),
            std::string::npos)
      << r.err;
}

TEST(CliBinary, TestAndBadUsage) {
  Result pass = run_binary(fixture("cli"), "test tests/pass.toml");
  EXPECT_EQ(pass.code, 0) << pass.err;
  EXPECT_TRUE(pass.out.ends_with("3 passed, 0 failed\n")) << pass.out;
  Result fail = run_binary(fixture("cli"), "test tests/fail.toml tests/pass.toml");
  EXPECT_EQ(fail.code, 1);
  EXPECT_TRUE(fail.out.ends_with("4 passed, 2 failed\n")) << fail.out;
  EXPECT_EQ(run_binary(fixture("cli"), "eval --at 2017-06-14").code, 2);
  EXPECT_EQ(run_binary(fixture("cli"), "").code, 2);
  EXPECT_EQ(run_binary(fixture("cli"), "eval -c casewatch.toml --at yesterday").code, 2);
  EXPECT_EQ(run_binary(fixture("cli"), "eval -c casewatch.toml --rule nope").code, 2);
}

TEST(CliBinary, BacktestTable) {
  Result r = run_binary(fixture("cli"), "backtest -c casewatch.toml --from 2017-06-16 --to 2017-06-16");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "DATE        RULE                  GROUP       INFO  WARNING  CRITICAL  VALUE\n"
            "2017-06-16  assessment_timescale              0     1        2\n"
            "2017-06-16  unallocated                       0     0        1\n"
            "2017-06-16  open_by_team          Assessment  0     1        0         3\n"
            "2017-06-16  open_by_team          Duty        0     0        0         1\n"
            "2017-06-16  authorised_ratio                  0     0        0         0.3333333333333333\n");
}

// The original fixture keeps working.
TEST(CliBinary, BasicFixture) {
  Result r = run_binary(fixture("basic"), "check -c casewatch.toml");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "casewatch.toml: OK: 1 feeds, 2 rules in 1 files\n");
}

}  // namespace
}  // namespace casewatch
