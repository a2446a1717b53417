// The config loader (SPEC 3-5): defaults, every problem reported with its exact position,
// calendars, lookup tables; intervals; and DATE arguments (SPEC 2) in the engine's timezone.
#include "config/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/as_of.h"
#include "config/toml_util.h"

namespace casewatch {
namespace {

Day day(int y, unsigned m, unsigned d) { return days_from_civil(y, m, d); }

constexpr const char* kFeed = R"t([[feed]]
name = "assessments"
path = "data/assessments.csv"
key = "assessment_id"
date_format = "%d/%m/%Y"

[feed.fields]
assessment_id = { column = "Assessment ID" }
child_id = { column = "Child ID" }
referral_date = { column = "Date of referral", type = "date" }
authorised = { column = "Date authorised", type = "date" }
team = { column = "Team" }
hours = { column = "Hours", type = "number" }
urgent = { column = "Urgent", type = "bool" }
)t";

class ConfigTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() /
            ("casewatch_config_test_" + std::to_string(::getpid()) + "_" +
             testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  void write(const std::string& name, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(path(name)).parent_path());
    std::ofstream(path(name), std::ios::binary) << text;
  }

  std::optional<Config> load(const std::string& name = "casewatch.toml") {
    diagnostics_ = Diagnostics();
    return load_config(path(name), diagnostics_);
  }

  // Every diagnostic, formatted, with the temporary folder taken off the file names.
  std::vector<std::string> errors() const {
    std::vector<std::string> out;
    for (const auto& d : diagnostics_.items()) {
      std::string line = d.format();
      if (line.starts_with(dir_ + "/")) line = line.substr(dir_.size() + 1);
      out.push_back(line);
    }
    return out;
  }

  // Loads a config that must fail and returns its errors.
  std::vector<std::string> failing(const std::string& name = "casewatch.toml") {
    auto config = load(name);
    EXPECT_FALSE(config.has_value());
    return errors();
  }

  std::string dir_;
  Diagnostics diagnostics_;
};

using Lines = std::vector<std::string>;

// ---------------------------------------------------------------------------------------------
// Defaults and valid configs

TEST_F(ConfigTest, EmptyConfigGetsEveryDefault) {
  write("casewatch.toml", "");
  auto config = load();
  ASSERT_TRUE(config) << testing::PrintToString(errors());
  EXPECT_TRUE(diagnostics_.empty());
  EXPECT_EQ(config->server.listen, "127.0.0.1:9797");
  EXPECT_TRUE(config->server.public_metrics);
  EXPECT_EQ(config->server.max_silence_seconds, 90 * 86400);
  EXPECT_EQ(config->server.auth_token_file, "");
  EXPECT_EQ(config->server.tls_cert_file, "");
  EXPECT_EQ(config->engine.timezone, "Europe/London");
  EXPECT_EQ(config->engine.calendar, "england-and-wales");
  EXPECT_EQ(config->engine.evaluation_interval_seconds, 300);
  EXPECT_EQ(config->engine.state_dir, dir_ + "/state");
  EXPECT_TRUE(config->engine.extra_non_working_days.empty());
  EXPECT_EQ(config->directory, dir_);
  EXPECT_TRUE(config->feeds.empty());
  EXPECT_TRUE(config->rules.empty());
  EXPECT_TRUE(config->rule_files.empty());
  ASSERT_TRUE(config->calendar);
  ASSERT_TRUE(config->tables);
  // The built-in calendar: Spring bank holiday 2017, Christmas 2022's substitute day.
  EXPECT_FALSE(config->calendar->is_working_day(day(2017, 5, 29)));
  EXPECT_FALSE(config->calendar->is_working_day(day(2022, 12, 27)));
  EXPECT_TRUE(config->calendar->is_working_day(day(2017, 5, 30)));
}

TEST_F(ConfigTest, FeedDefaults) {
  write("casewatch.toml", kFeed);
  auto config = load();
  ASSERT_TRUE(config) << testing::PrintToString(errors());
  ASSERT_EQ(config->feeds.size(), 1u);
  const FeedConfig& feed = config->feeds[0];
  EXPECT_EQ(feed.name, "assessments");
  EXPECT_EQ(feed.type, FeedType::Csv);
  EXPECT_EQ(feed.path, dir_ + "/data/assessments.csv");
  EXPECT_EQ(feed.key, "assessment_id");
  EXPECT_DOUBLE_EQ(feed.max_rejected_ratio, 0.05);
  EXPECT_DOUBLE_EQ(feed.max_shrink_ratio, 0.1);
  EXPECT_EQ(feed.resolve_missing_after_seconds, 26 * 3600);
  EXPECT_EQ(feed.valid_dates.from, days_from_civil(1901, 1, 1));
  EXPECT_EQ(feed.valid_dates.until, days_from_civil(2099, 12, 31));
  EXPECT_EQ(feed.refresh_seconds, 300);
  EXPECT_FALSE(feed.max_age_seconds.has_value());
  EXPECT_EQ(feed.date_format, "%d/%m/%Y");
  ASSERT_EQ(feed.fields.size(), 7u);
  ASSERT_TRUE(feed.schema);
  ASSERT_EQ(feed.schema->fields.size(), 7u);
  auto field = [&](const std::string& name) -> const FieldConfig& {
    int i = feed.schema->field_index(name);
    EXPECT_GE(i, 0) << name;
    EXPECT_EQ(feed.fields[i].name, name);  // fields and schema in the same order
    return feed.fields[i];
  };
  // Type string unless given.
  EXPECT_EQ(field("assessment_id").column, "Assessment ID");
  EXPECT_EQ(field("assessment_id").type, Type::String);
  EXPECT_EQ(field("child_id").type, Type::String);
  EXPECT_EQ(field("referral_date").column, "Date of referral");
  EXPECT_EQ(field("referral_date").type, Type::Date);
  EXPECT_EQ(field("hours").type, Type::Number);
  EXPECT_EQ(field("urgent").type, Type::Bool);
  EXPECT_EQ(feed.schema->key, static_cast<size_t>(feed.schema->field_index("assessment_id")));
}

TEST_F(ConfigTest, EverySettingIsRead) {
  write("casewatch.toml", std::string(R"t(rule_files = ["rules/*.toml", "more/extra.toml", "rules/a.toml"]

[server]
listen = "0.0.0.0:8080"
auth_token_file = "secrets/api-token"
tls_cert_file = "tls/cert.pem"
tls_key_file = "/etc/casewatch/key.pem"
public_metrics = false
max_silence = "14d"

[engine]
timezone = "America/New_York"
calendar = "england-and-wales"
extra_non_working_days = ["2017-12-27"]
evaluation_interval = "30s"
state_dir = "/var/lib/casewatch"

)t") + kFeed + R"t(
[[feed]]
name = "visits2"
path = "/data/visits.csv"
key = "id"
refresh = "2h"
max_age = "26h"
max_rejected_ratio = 0
max_shrink_ratio = 1

[feed.fields]
id = { column = "ID" }
)t");
  write("rules/b.toml", R"t([[rule]]
name = "b_rule"
kind = "condition"
feed = "visits2"
when = "id == 'x'"
severity = "critical"
for = "2d"
enabled = false
)t");
  write("rules/a.toml", R"t([[rule]]
name = "a_rule"
kind = "deadline"
feed = "assessments"
start = "referral_date"
done = "authorised"
due_in = "10 working days"
warn_before = "2 working days"
labels = { team = "{{ team }}" }
annotations = { summary = "due {{ due_date }}" }
metric_labels = ["team"]
)t");
  write("more/extra.toml", R"t([[rule]]
name = "extra_rule"
kind = "aggregate"
feed = "assessments"
group_by = ["team"]
value = "ratio(is_null(authorised))"
when = "value > 0.5"
export = true
)t");
  auto config = load();
  ASSERT_TRUE(config) << testing::PrintToString(errors());
  EXPECT_EQ(config->server.listen, "0.0.0.0:8080");
  EXPECT_EQ(config->server.auth_token_file, dir_ + "/secrets/api-token");
  EXPECT_EQ(config->server.tls_cert_file, dir_ + "/tls/cert.pem");
  EXPECT_EQ(config->server.tls_key_file, "/etc/casewatch/key.pem");
  EXPECT_FALSE(config->server.public_metrics);
  EXPECT_EQ(config->server.max_silence_seconds, 14 * 86400);
  EXPECT_EQ(config->engine.timezone, "America/New_York");
  EXPECT_EQ(config->engine.evaluation_interval_seconds, 30);
  EXPECT_EQ(config->engine.state_dir, "/var/lib/casewatch");
  EXPECT_EQ(config->engine.extra_non_working_days, std::vector<Day>{day(2017, 12, 27)});
  ASSERT_EQ(config->feeds.size(), 2u);
  const FeedConfig& visits = config->feeds[1];
  EXPECT_EQ(visits.path, "/data/visits.csv");
  EXPECT_EQ(visits.refresh_seconds, 7200);
  EXPECT_EQ(visits.max_age_seconds, 26 * 3600);
  EXPECT_DOUBLE_EQ(visits.max_rejected_ratio, 0);
  EXPECT_DOUBLE_EQ(visits.max_shrink_ratio, 1);
  EXPECT_EQ(visits.date_format, "");
  // Rule files: every match, sorted, each once; rules in file then definition order.
  EXPECT_EQ(config->rule_files,
            (Lines{dir_ + "/more/extra.toml", dir_ + "/rules/a.toml", dir_ + "/rules/b.toml"}));
  ASSERT_EQ(config->rules.size(), 3u);
  EXPECT_EQ(config->rules[0].spec.name, "extra_rule");
  EXPECT_EQ(config->rules[1].spec.name, "a_rule");
  EXPECT_EQ(config->rules[2].spec.name, "b_rule");
  EXPECT_EQ(config->rule_index("b_rule"), 2);
  EXPECT_EQ(config->rule_index("nope"), -1);
  EXPECT_EQ(config->feed_index("visits2"), 1);
  const Rule& a = config->rules[1];
  EXPECT_EQ(a.spec.kind, RuleKind::Deadline);
  EXPECT_EQ(a.feed, 0u);
  ASSERT_TRUE(a.spec.due_in);
  EXPECT_EQ(a.spec.due_in->amount, 10);
  EXPECT_EQ(a.spec.due_in->unit, PeriodUnit::WorkingDays);
  ASSERT_TRUE(a.spec.warn_before);
  EXPECT_EQ(a.spec.warn_before->amount, 2);
  EXPECT_EQ(a.spec.metric_labels, Lines{"team"});
  const Rule& b = config->rules[2];
  EXPECT_EQ(b.spec.severity, Severity::Critical);
  EXPECT_EQ(b.spec.for_seconds, 2 * 86400);
  EXPECT_FALSE(b.spec.enabled);
  EXPECT_EQ(b.feed, 1u);
  EXPECT_TRUE(config->rules[0].spec.export_value);
}

TEST_F(ConfigTest, ConfigGivenWithoutAFolderResolvesAgainstTheWorkingDirectory) {
  EXPECT_EQ(resolve_path(".", "data/a.csv"), "data/a.csv");
  EXPECT_EQ(resolve_path("/etc/cw", "data/../x.csv"), "/etc/cw/x.csv");
  EXPECT_EQ(resolve_path("/etc/cw", "/abs/x.csv"), "/abs/x.csv");
  EXPECT_EQ(resolve_path("conf", "rules/*.toml"), "conf/rules/*.toml");
}

// ---------------------------------------------------------------------------------------------
// Problems, each at its exact position

TEST_F(ConfigTest, MissingConfigFile) {
  EXPECT_EQ(failing("nope.toml"), Lines{"nope.toml: error: cannot read the file"});
}

TEST_F(ConfigTest, TomlSyntaxErrorPosition) {
  write("casewatch.toml", "rule_files = []\n[engine]\ntimezone = Europe/London\n");
  EXPECT_EQ(failing(), Lines{"casewatch.toml:3:12: error: Error while parsing value: could not determine value type"});
}

TEST_F(ConfigTest, TomlSyntaxErrorInARuleFile) {
  write("casewatch.toml", std::string("rule_files = [\"rules/*.toml\"]\n") + kFeed);
  write("rules/a.toml", "[[rule]]\nname = \"a\"\nkind = \"condition\n");
  auto e = failing();
  ASSERT_EQ(e.size(), 1u);
  EXPECT_TRUE(e[0].starts_with("rules/a.toml:3:18: error: ")) << e[0];
}

TEST_F(ConfigTest, UnknownKeysAreRejectedWherever) {
  write("casewatch.toml", R"t(rule_files = ["rules/*.toml"]
colour = "blue"

[server]
port = 9797

[engine]
time_zone = "Europe/London"

[[feed]]
name = "assessments"
path = "data/assessments.csv"
key = "assessment_id"
pathh = "x"

[feed.fields]
assessment_id = { column = "Assessment ID", format = "x" }
)t");
  write("rules/a.toml", R"t(severity = "info"

[[rule]]
name = "a"
kind = "condition"
feed = "assessments"
when = "true"
due_in = "3 days"
)t");
  EXPECT_EQ(failing(), (Lines{
                           "casewatch.toml:2:1: error: unknown key 'colour' in the config",
                           "casewatch.toml:5:1: error: unknown key 'port' in [server]",
                           "casewatch.toml:8:1: error: unknown key 'time_zone' in [engine]",
                           "casewatch.toml:14:1: error: unknown key 'pathh' in [[feed]]",
                           "casewatch.toml:17:45: error: unknown key 'format' in field 'assessment_id'",
                           "rules/a.toml:1:1: error: unknown key 'severity' in a rule file",
                           "rules/a.toml:8:1: error: unknown key 'due_in' in a condition rule",
                       }));
}

// One run reports every problem, in the config and in every rule file, each at its position.
TEST_F(ConfigTest, SeveralMistakesAreAllReportedWithExactPositions) {
  write("casewatch.toml", std::string(R"t(rule_files = ["rules/*.toml"]

[engine]
evaluation_interval = "5 minutes"
extra_non_working_days = ["2017-12-27", 2017-12-28, "28/12/2017"]

[tables.caseload_limit]
"Assessment" = 18
"Duty" = [1, 2]

)t") + kFeed + R"t(
[[feed]]
name = "visits"
path = "data/visits.csv"
key = "visit_id"
max_rejected_ratio = "high"
max_shrink_ratio = 1.5

[feed.fields]
visit_id = { column = "Visit ID" }
when_seen = { column = "Seen", type = "datetime" }
)t");
  write("rules/a.toml", R"t([[rule]]
name = "open_too_long"
kind = "condition"
feed = "assessments"
when = "referral_date < today() && caseload > 3"

[[rule]]
name = "visits_missing"
kind = "condition"
feed = "nosuch"
when = "true"

[[rule]]
name = "multi_line"
kind = "deadline"
feed = "assessments"
start = "referral_date"
due_in = "10 fortnights"
where = """
team != null &&
  referral_date == 'Assessment'"""
)t");
  write("rules/b.toml", R"t([[rule]]
name = "open_too_long"
kind = "condition"
feed = "assessments"
when = "true"
for = "two days"
severity = "urgent"

[[rule]]
name = "caseload"
kind = "aggregate"
feed = "assessments"
group_by = ["assessment_id"]
value = "count()"
export = true
labels = { team = "{{ lookup('caseload_limit', team) }}" }
)t");
  EXPECT_EQ(failing(), (Lines{
      "casewatch.toml:4:23: error: 'evaluation_interval' must be an interval such as \"30s\", \"5m\", \"2h\" or \"1d\"",
      "casewatch.toml:5:53: error: extra_non_working_days must hold dates (YYYY-MM-DD)",
      "casewatch.toml:9:10: error: table values must be numbers, strings or booleans",
      "casewatch.toml:30:22: error: 'max_rejected_ratio' must be a number",
      "casewatch.toml:31:20: error: 'max_shrink_ratio' must be between 0 and 1",
      "casewatch.toml:35:39: error: field type 'datetime' is not one of string, number, date, bool",
      "rules/a.toml:5:36: error: unknown field 'caseload'",
      "rules/a.toml:10:8: error: unknown feed 'nosuch'",
      "rules/a.toml:18:10: error: 'due_in' must be a period such as \"10 working days\", \"3 days\", \"6 weeks\" or \"6 months\"",
      "rules/a.toml:21:17: error: cannot compare date with string",
      "rules/b.toml:2:8: error: rule 'open_too_long' is defined twice",
      "rules/b.toml:7:12: error: severity 'urgent' is not one of info, warning, critical",
      "rules/b.toml:6:7: error: 'for' must be an interval such as \"30s\", \"5m\", \"2h\" or \"1d\"",
      "rules/b.toml:15:10: error: cannot export a rule grouped by its feed's key 'assessment_id': record keys must never become metric labels",
      "rules/b.toml:16:23: error: lookup() takes 3 arguments, not 2",
  }));
}

TEST_F(ConfigTest, FeedDefinitionProblems) {
  write("casewatch.toml", R"t([[feed]]
name = "Bad-Name"
path = "a.csv"
key = "id"
[feed.fields]
id = { column = "ID" }

[[feed]]
name = "dup"
path = "a.csv"
key = "id"
[feed.fields]
id = { column = "ID" }

[[feed]]
name = "dup"
type = "ftp"
key = "id"
[feed.fields]
id = { column = "ID" }

[[feed]]
name = "no_path"
key = "count"
date_format = "%d/%q/%Y"
url = "http://x"
[feed.fields]
count = { column = "N", type = "number" }
"not valid" = { column = "X" }
in = { column = "In" }
nocolumn = { type = "date" }

[[feed]]
name = "no_key"
path = "a.csv"
key = "missing"
[feed.fields]
id = "ID"
)t");
  EXPECT_EQ(failing(), (Lines{
      "casewatch.toml:2:8: error: feed name 'Bad-Name' must match [a-z][a-z0-9_]*",
      "casewatch.toml:16:8: error: feed 'dup' is declared twice",
      "casewatch.toml:17:8: error: feed type 'ftp' is not one of csv, json_http, postgres",
      "casewatch.toml:22:1: error: a csv feed needs 'path'",
      "casewatch.toml:26:7: error: 'url' does not apply to a csv feed",
      "casewatch.toml:25:15: error: date format \"%d/%q/%Y\": unsupported %q (use %d %e %m %b %B %Y %y %%)",
      // toml++ keeps a table's keys sorted: the fields come in name order
      "casewatch.toml:30:1: error: field name 'in' must be a name usable in expressions ([A-Za-z_][A-Za-z0-9_]*, not a keyword)",
      "casewatch.toml:31:12: error: field 'nocolumn' needs a 'column'",
      "casewatch.toml:29:1: error: field name 'not valid' must be a name usable in expressions ([A-Za-z_][A-Za-z0-9_]*, not a keyword)",
      "casewatch.toml:24:7: error: key field 'count' must have type string",
      "casewatch.toml:38:6: error: field 'id' must be a table such as { column = \"Heading\", type = \"date\" }",
      "casewatch.toml:36:7: error: key 'missing' is not one of the feed's fields",
  }));
}

TEST_F(ConfigTest, ServerProblems) {
  write("casewatch.toml", R"t([server]
listen = "9797"
tls_cert_file = "cert.pem"
public_metrics = "yes"
max_silence = "400d"
)t");
  EXPECT_EQ(failing(), (Lines{
      "casewatch.toml:2:10: error: 'listen' must be HOST:PORT, e.g. \"127.0.0.1:9797\"",
      "casewatch.toml:4:18: error: 'public_metrics' must be true or false",
      "casewatch.toml:5:15: error: 'max_silence' may be at most \"366d\"",
      "casewatch.toml:1:1: error: set both 'tls_cert_file' and 'tls_key_file', or neither",
  }));
}

TEST_F(ConfigTest, MetricsKnownLabelValuesAndAnAggregatesUnit) {
  write("casewatch.toml", std::string(R"t(rule_files = ["rules/*.toml"]
[metrics]
known_label_values = { team = ["Assessment", "MASH"] }

)t") + kFeed);
  write("rules/a.toml", R"t(
[[rule]]
name = "open_by_team"
kind = "aggregate"
feed = "assessments"
group_by = ["team"]
value = "count()"
export = true
unit = "cases"
)t");
  auto config = load();
  ASSERT_TRUE(config) << errors()[0];
  EXPECT_EQ(config->metrics.known_label_values.at("team"), (std::vector<std::string>{"Assessment", "MASH"}));
  EXPECT_EQ(config->rules[0].spec.unit, "cases");
}

TEST_F(ConfigTest, MetricsAndUnitProblems) {
  write("casewatch.toml", std::string(R"t(rule_files = ["rules/*.toml"]
[metrics]
known_label_values = { "bad-name" = ["x"], team = "Assessment" }
other = 1

)t") + kFeed);
  write("rules/a.toml", R"t(
[[rule]]
name = "a"
kind = "aggregate"
feed = "assessments"
value = "count()"
unit = "per cent"

[[rule]]
name = "b"
kind = "aggregate"
feed = "assessments"
group_by = ["team"]
value = "count()"
export = true
unit = "ratio"

[[rule]]
name = "c"
kind = "condition"
feed = "assessments"
when = "true"
unit = "ratio"
)t");
  auto lines = failing();
  auto has = [&](const std::string& text) {
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(text) != std::string::npos; });
  };
  EXPECT_TRUE(has("'bad-name' is not a Prometheus label name")) << testing::PrintToString(lines);
  EXPECT_TRUE(has("unknown key 'other' in [metrics]")) << testing::PrintToString(lines);
  EXPECT_TRUE(has("unit 'per cent' must be a word")) << testing::PrintToString(lines);
  EXPECT_TRUE(has("unknown key 'unit' in a condition rule")) << testing::PrintToString(lines);
  EXPECT_TRUE(has("casewatch.toml:3:51: error: 'team' must be an array of strings")) << testing::PrintToString(lines);
}

TEST_F(ConfigTest, UnknownTimezone) {
  write("casewatch.toml", "[engine]\ntimezone = \"Mars/Olympus_Mons\"\n");
  EXPECT_EQ(failing(), Lines{"casewatch.toml:2:12: error: unknown timezone 'Mars/Olympus_Mons'"});
  write("casewatch.toml", "[engine]\ntimezone = \"../../etc/passwd\"\n");
  EXPECT_EQ(failing(), Lines{"casewatch.toml:2:12: error: unknown timezone '../../etc/passwd'"});
  // A folder of zones, or another file of the database, would silently be UTC.
  write("casewatch.toml", "[engine]\ntimezone = \"Europe\"\n");
  EXPECT_EQ(failing(), Lines{"casewatch.toml:2:12: error: unknown timezone 'Europe'"});
  write("casewatch.toml", "[engine]\ntimezone = \"zone.tab\"\n");
  EXPECT_EQ(failing(), Lines{"casewatch.toml:2:12: error: unknown timezone 'zone.tab'"});
  write("casewatch.toml", "[engine]\ntimezone = \"/usr/share/zoneinfo/Europe/London\"\n");
  EXPECT_EQ(failing(), Lines{"casewatch.toml:2:12: error: unknown timezone '/usr/share/zoneinfo/Europe/London'"});
  for (const char* zone : {"Europe/London", "UTC", "America/New_York", "Europe/Dublin"}) {
    write("casewatch.toml", "[engine]\ntimezone = \"" + std::string(zone) + "\"\n");
    EXPECT_TRUE(load()) << zone << testing::PrintToString(errors());
  }
}

TEST_F(ConfigTest, RuleFilesGlobMatchingNoFile) {
  write("casewatch.toml", "rule_files = [\"rules/*.toml\", \"nothing/*.toml\", \"missing.toml\"]\n");
  write("rules/a.toml", "");
  EXPECT_EQ(failing(), (Lines{
      "casewatch.toml:1:31: error: rule_files pattern 'nothing/*.toml' matches no file",
      "casewatch.toml:1:49: error: rule_files pattern 'missing.toml' matches no file",
  }));
}

TEST_F(ConfigTest, RuleFilesMustBeStrings) {
  write("casewatch.toml", "rule_files = \"rules/*.toml\"\n");
  EXPECT_EQ(failing(), Lines{"casewatch.toml:1:14: error: 'rule_files' must be an array of strings"});
}

TEST_F(ConfigTest, DuplicateRuleNamesAcrossFilesReportTheSecond) {
  write("casewatch.toml", std::string("rule_files = [\"rules/*.toml\"]\n") + kFeed);
  write("rules/a.toml", "[[rule]]\nname = \"same\"\nkind = \"condition\"\nfeed = \"assessments\"\nwhen = \"true\"\n");
  write("rules/b.toml",
        "[[rule]]\nname = \"other\"\nkind = \"condition\"\nfeed = \"assessments\"\nwhen = \"true\"\n\n"
        "[[rule]]\n  name   =   \"same\"\nkind = \"condition\"\nfeed = \"assessments\"\nwhen = \"true\"\n");
  EXPECT_EQ(failing(), Lines{"rules/b.toml:8:14: error: rule 'same' is defined twice"});
}

TEST_F(ConfigTest, RuleNeedsNameKindAndFeed) {
  write("casewatch.toml", std::string("rule_files = [\"rules/*.toml\"]\n") + kFeed);
  write("rules/a.toml", R"t([[rule]]
description = "nothing else"

[[rule]]
name = "Bad Name"
kind = "threshold"
feed = "assessments"
start = "referral_date"
value = "count()"
)t");
  EXPECT_EQ(failing(), (Lines{
      "rules/a.toml:1:1: error: a rule needs a 'name'",
      "rules/a.toml:1:1: error: a rule needs a 'kind'",
      "rules/a.toml:1:1: error: a rule needs a 'feed'",
      "rules/a.toml:5:8: error: rule name 'Bad Name' must match [a-z][a-z0-9_]*",
      "rules/a.toml:6:8: error: rule kind 'threshold' is not one of deadline, condition, aggregate",
  }));
}

// A key with the wrong type is reported once, not again as missing by the rule compiler.
TEST_F(ConfigTest, AKeyOfTheWrongTypeIsReportedOnce) {
  write("casewatch.toml", std::string("rule_files = [\"rules/*.toml\"]\n") + kFeed);
  write("rules/a.toml", R"t([[rule]]
name = "c"
kind = "condition"
feed = "assessments"
when = true

[[rule]]
name = "a"
kind = "aggregate"
feed = "assessments"
value = 3

[[rule]]
name = "d"
kind = "deadline"
feed = "assessments"
start = "referral_date"
due = 2017-06-01

[[rule]]
name = "e"
kind = "deadline"
feed = "assessments"
start = "referral_date"
due_in = 10

[[rule]]
name = "f"
kind = "deadline"
feed = "assessments"
start = "referral_date"
due_in = "10 days"
labels = "team"
metric_labels = ["team"]
)t");
  EXPECT_EQ(failing(), (Lines{
      "rules/a.toml:5:8: error: 'when' must be a string",
      "rules/a.toml:11:9: error: 'value' must be a string",
      "rules/a.toml:18:7: error: 'due' must be a string",
      "rules/a.toml:25:10: error: 'due_in' must be a string",
      "rules/a.toml:33:10: error: 'labels' must be a table",
  }));
}

TEST_F(ConfigTest, DueInAndWarnBeforePeriods) {
  write("casewatch.toml", std::string("rule_files = [\"rules/*.toml\"]\n") + kFeed);
  std::string rules;
  const std::vector<std::pair<std::string, std::string>> good = {
      {"10 working days", "2 working days"}, {"1 working day", "1 day"}, {"6 months", "30 days"},
      {"1 month", "1 week"},                 {"6 weeks", "3 days"},     {"  3 days ", "0 days"}};
  for (size_t i = 0; i < good.size(); ++i)
    rules += "[[rule]]\nname = \"good" + std::to_string(i) +
             "\"\nkind = \"deadline\"\nfeed = \"assessments\"\nstart = \"referral_date\"\ndue_in = \"" + good[i].first +
             "\"\nwarn_before = \"" + good[i].second + "\"\n\n";
  write("rules/a.toml", rules);
  auto config = load();
  ASSERT_TRUE(config) << testing::PrintToString(errors());
  ASSERT_EQ(config->rules.size(), good.size());
  EXPECT_EQ(config->rules[1].spec.due_in->unit, PeriodUnit::WorkingDays);
  EXPECT_EQ(config->rules[1].spec.warn_before->unit, PeriodUnit::Days);
  EXPECT_EQ(config->rules[2].spec.due_in->unit, PeriodUnit::Months);
  EXPECT_EQ(config->rules[2].spec.due_in->amount, 6);
  EXPECT_EQ(config->rules[3].spec.warn_before->unit, PeriodUnit::Weeks);

  write("rules/a.toml", R"t([[rule]]
name = "bad"
kind = "deadline"
feed = "assessments"
start = "referral_date"
due_in = "10 fortnights"
warn_before = "-2 days"

[[rule]]
name = "bad2"
kind = "deadline"
feed = "assessments"
start = "referral_date"
due_in = "ten days"
warn_before = "2"

[[rule]]
name = "neither"
kind = "deadline"
feed = "assessments"
start = "referral_date"

[[rule]]
name = "both"
kind = "deadline"
feed = "assessments"
start = "referral_date"
due_in = "3 days"
due = "add_days(referral_date, 3)"

[[rule]]
name = "no_start"
kind = "deadline"
feed = "assessments"
due_in = "3 days"
)t");
  const std::string period = "must be a period such as \"10 working days\", \"3 days\", \"6 weeks\" or \"6 months\"";
  EXPECT_EQ(failing(), (Lines{
      "rules/a.toml:6:10: error: 'due_in' " + period,
      "rules/a.toml:7:15: error: 'warn_before' " + period,
      "rules/a.toml:14:10: error: 'due_in' " + period,
      "rules/a.toml:15:15: error: 'warn_before' " + period,
      "rules/a.toml:17:1: error: a deadline rule needs exactly one of 'due_in' and 'due'",
      "rules/a.toml:28:11: error: a deadline rule needs exactly one of 'due_in' and 'due'",
      "rules/a.toml:31:1: error: 'due_in' counts from 'start', which is missing",
  }));
}

TEST_F(ConfigTest, UnknownFeedInARule) {
  write("casewatch.toml", std::string("rule_files = [\"rules/*.toml\"]\n") + kFeed);
  write("rules/a.toml", "[[rule]]\nname = \"x\"\nkind = \"condition\"\nfeed = \"assesments\"\nwhen = \"nonsense ==\"\n");
  EXPECT_EQ(failing(), Lines{"rules/a.toml:4:8: error: unknown feed 'assesments'"});
}

TEST_F(ConfigTest, ExpressionErrorsAtTheirPositionInEveryKindOfString) {
  write("casewatch.toml", std::string("rule_files = [\"rules/*.toml\"]\n") + kFeed);
  // Basic, literal, multi-line basic and multi-line literal strings; escapes; templates inside
  // inline tables; a non-ASCII character before the error (columns count characters, as toml++
  // does for every other position).
  write("rules/a.toml",
        "[[rule]]\n"                                                        // 1
        "name = \"a\"\n"                                                    // 2
        "kind = \"condition\"\n"                                            // 3
        "feed = \"assessments\"\n"                                          // 4
        "where = 'team == \"x\" && nope'\n"                                 // 5: col 25
        "when = \"team == \\\"\\u00e9\\\" && nope2\"\n"                     // 6: col 31
        "annotations = { summary = \"Réf {{ team }}\", d = \"{{ bad }}\" }\n"  // 7: col 53
        "\n"
        "[[rule]]\n"                                                        // 9
        "name = \"b\"\n"
        "kind = \"condition\"\n"
        "feed = \"assessments\"\n"
        "when = '''\n"                                                      // 13
        "team != null\n"
        "   && unknown_fn(team)'''\n"                                       // 15: col 7
        "labels = { team = \"\"\"\n"                                        // 16
        "{{ team }} {{\n"
        "     hours + 'x' }}\"\"\" }\n");                                   // 18: col 14
  EXPECT_EQ(failing(), (Lines{
      "rules/a.toml:5:25: error: unknown field 'nope'",
      "rules/a.toml:6:31: error: unknown field 'nope2'",
      "rules/a.toml:7:53: error: unknown field 'bad'",
      "rules/a.toml:15:7: error: unknown function 'unknown_fn'",
      "rules/a.toml:18:14: error: the right side of '+' must be a number, not string",
  }));
}

TEST_F(ConfigTest, ExpressionErrorPositionsInMultiLineStringsWithCrlfAndLineEndingBackslashes) {
  write("casewatch.toml", std::string("rule_files = [\"rules/*.toml\"]\n") + kFeed);
  write("rules/crlf.toml",
        "[[rule]]\r\nname = \"crlf\"\r\nkind = \"condition\"\r\nfeed = \"assessments\"\r\n"
        "when = \"\"\"\r\nteam != null &&\r\n  hours > 'x'\"\"\"\r\n"  // line 7, col 9
        "\r\n[[rule]]\r\nname = \"crlf2\"\r\nkind = \"condition\"\r\nfeed = \"assessments\"\r\n"
        "when = \"\"\"team != null && \\  \r\n\r\n   sizee > 1\"\"\"\r\n");  // line 15, col 4
  write("rules/cont.toml",
        "[[rule]]\nname = \"cont\"\nkind = \"condition\"\nfeed = \"assessments\"\n"
        "when = \"\"\"team != null && \\\n"  // a line-ending backslash drops the newline and the indent
        "\n"
        "     sizee > 3\"\"\"\n");  // line 7, col 6
  EXPECT_EQ(failing(), (Lines{
      "rules/cont.toml:7:6: error: unknown field 'sizee'",
      "rules/crlf.toml:7:9: error: cannot compare number with string",
      "rules/crlf.toml:15:4: error: unknown field 'sizee'",
  }));
}

TEST_F(ConfigTest, ExportOnARuleGroupedByTheKeyIsRefused) {
  write("casewatch.toml", std::string("rule_files = [\"rules/*.toml\"]\n") + kFeed);
  write("rules/a.toml", R"t([[rule]]
name = "by_team"
kind = "aggregate"
feed = "assessments"
group_by = ["team"]
value = "count()"
export = true

[[rule]]
name = "by_child"
kind = "aggregate"
feed = "assessments"
group_by = ["team", "assessment_id"]
value = "count()"
export = true

[[rule]]
name = "by_child_unexported"
kind = "aggregate"
feed = "assessments"
group_by = ["assessment_id"]
value = "count()"
)t");
  EXPECT_EQ(failing(), Lines{"rules/a.toml:15:10: error: cannot export a rule grouped by its feed's key "
                             "'assessment_id': record keys must never become metric labels"});
  // Without the offending rule the rest loads.
  write("rules/a.toml", R"t([[rule]]
name = "by_team"
kind = "aggregate"
feed = "assessments"
group_by = ["team"]
value = "count()"
export = true
)t");
  EXPECT_TRUE(load()) << testing::PrintToString(errors());
}

// Personal fields (the key always, and any field marked personal) never reach /metrics: not as
// an exported group, not through a metric label's template.
TEST_F(ConfigTest, PersonalFieldsAreRefusedWhereTheyWouldReachMetrics) {
  std::string feed = kFeed;
  feed.replace(feed.find("child_id = { column = \"Child ID\" }"), 34,
               "child_id = { column = \"Child ID\", personal = true }");
  write("casewatch.toml", "rule_files = [\"rules/*.toml\"]\n" + feed);
  write("rules/a.toml", R"t([[rule]]
name = "by_child"
kind = "aggregate"
feed = "assessments"
group_by = ["child_id"]
value = "count()"
export = true

[[rule]]
name = "labelled_by_key"
kind = "condition"
feed = "assessments"
when = "urgent"
labels = { team = "{{ team }}", case = "{{ assessment_id }}", child = "{{ lower(child_id) }}" }
metric_labels = ["team", "case", "child"]

[[rule]]
name = "by_child_unexported"
kind = "aggregate"
feed = "assessments"
group_by = ["child_id"]
value = "count()"
labels = { child = "{{ child_id }}" }
)t");
  EXPECT_EQ(failing(), (Lines{
      "rules/a.toml:7:10: error: cannot export a rule grouped by the personal field 'child_id': its values would "
      "become metric labels on /metrics",
      "rules/a.toml:15:17: error: metric label 'case' reads the personal field 'assessment_id': it would publish "
      "data about a child on /metrics",
      "rules/a.toml:15:17: error: metric label 'child' reads the personal field 'child_id': it would publish data "
      "about a child on /metrics",
  }));
  auto loaded = [&] {
    write("rules/a.toml", "");
    return load();
  }();
  ASSERT_TRUE(loaded) << testing::PrintToString(errors());
  auto personal = [&](const std::string& name) {
    for (const FieldConfig& f : loaded->feeds[0].fields)
      if (f.name == name) return f.personal;
    ADD_FAILURE() << name;
    return false;
  };
  EXPECT_TRUE(personal("child_id"));       // as marked
  EXPECT_TRUE(personal("assessment_id"));  // the key, always
  EXPECT_FALSE(personal("team"));
}

TEST_F(ConfigTest, TokensAndUsersFile) {
  write("casewatch.toml", R"t([server]
users_file = "secrets/users.toml"
tokens = [{ name = "grafana", file = "secrets/grafana", role = "viewer" },
          { name = "bot", file = "secrets/bot", role = "manager" }]
)t");
  auto config = load();
  ASSERT_TRUE(config) << testing::PrintToString(errors());
  EXPECT_EQ(config->server.users_file, dir_ + "/secrets/users.toml");
  ASSERT_EQ(config->server.tokens.size(), 2u);
  EXPECT_EQ(config->server.tokens[1].name, "bot");
  EXPECT_EQ(config->server.tokens[1].file, dir_ + "/secrets/bot");
  EXPECT_EQ(config->server.tokens[1].role, "manager");
  write("casewatch.toml", R"t([server]
tokens = [{ name = "grafana", file = "g", role = "boss" }, { file = "h", role = "viewer", colour = "red" }, 3]
)t");
  EXPECT_EQ(failing(), (Lines{
      "casewatch.toml:2:50: error: a token's 'role' must be viewer, manager or admin",
      "casewatch.toml:2:91: error: unknown key 'colour' in a token",
      "casewatch.toml:2:60: error: a token needs a 'name' (it is recorded as created_by)",
      "casewatch.toml:2:109: error: each token must be a table { name = \"...\", file = \"...\", role = \"viewer\" }",
  }));
}

TEST_F(ConfigTest, ValidDatesAndTheMissingGrace) {
  std::string feed = kFeed;
  feed.insert(feed.find("[feed.fields]"), "resolve_missing_after = \"3d\"\n");
  write("casewatch.toml", "[engine]\nvalid_dates = [\"1950-01-01\", 2040-12-31]\n" + feed);
  auto config = load();
  ASSERT_TRUE(config) << testing::PrintToString(errors());
  EXPECT_EQ(config->engine.valid_dates.from, day(1950, 1, 1));
  EXPECT_EQ(config->feeds[0].valid_dates.until, day(2040, 12, 31));
  EXPECT_EQ(config->feeds[0].resolve_missing_after_seconds, 3 * 86400);
  write("casewatch.toml", "[engine]\nvalid_dates = [\"2040-01-01\", \"1950-12-31\"]\n");
  EXPECT_EQ(failing(), Lines{"casewatch.toml:2:15: error: 'valid_dates' must be two dates, the first no later than "
                             "the second, e.g. [\"1901-01-01\", \"2099-12-31\"]"});
  write("casewatch.toml", "[engine]\nvalid_dates = [\"1950-01-01\"]\n");
  EXPECT_EQ(failing().size(), 1u);
}

TEST_F(ConfigTest, CheckingFindsTypeErrorsKnownFromTheFieldTypes) {
  write("casewatch.toml", std::string("rule_files = [\"rules/*.toml\"]\n") + kFeed);
  write("rules/a.toml", R"t([[rule]]
name = "a"
kind = "condition"
feed = "assessments"
when = "referral_date > 'x'"

[[rule]]
name = "b"
kind = "condition"
feed = "assessments"
when = "days_between(referral_date)"

[[rule]]
name = "c"
kind = "condition"
feed = "assessments"
when = "hours + 1"

[[rule]]
name = "d"
kind = "aggregate"
feed = "assessments"
group_by = ["team", "nosuch"]
value = "count()"
)t");
  EXPECT_EQ(failing(), (Lines{
      "rules/a.toml:5:23: error: cannot compare date with string",
      "rules/a.toml:11:9: error: days_between() takes 2 arguments, not 1",
      "rules/a.toml:17:9: error: 'when' must give a bool, but this gives a number",
      "rules/a.toml:23:12: error: unknown field 'nosuch' in group_by",
  }));
}

// ---------------------------------------------------------------------------------------------
// Calendars and lookup tables

TEST_F(ConfigTest, ExtraNonWorkingDaysAsStringsAndTomlDates) {
  write("casewatch.toml", "[engine]\nextra_non_working_days = [\"2017-12-27\", 2017-12-28, 2018-01-02]\n");
  auto config = load();
  ASSERT_TRUE(config) << testing::PrintToString(errors());
  EXPECT_EQ(config->engine.extra_non_working_days,
            (std::vector<Day>{day(2017, 12, 27), day(2017, 12, 28), day(2018, 1, 2)}));
  const Calendar& c = *config->calendar;
  EXPECT_FALSE(c.is_working_day(day(2017, 12, 27)));
  EXPECT_FALSE(c.is_working_day(day(2017, 12, 28)));
  EXPECT_TRUE(c.is_working_day(day(2017, 12, 29)));
  EXPECT_FALSE(c.is_working_day(day(2017, 12, 25)));  // still the built-in bank holidays
  EXPECT_FALSE(c.is_working_day(day(2018, 1, 1)));
  // 22 Dec 2017 (Fri) + 1 working day: not Christmas, Boxing Day, 27, 28; the 29th.
  EXPECT_EQ(c.add_working_days(day(2017, 12, 22), 1), day(2017, 12, 29));
}

TEST_F(ConfigTest, ExtraNonWorkingDaysMustBeDates) {
  write("casewatch.toml",
        "[engine]\nextra_non_working_days = [\"2017-02-30\", 5, \"27/12/2017\", 2017-12-27T09:00:00]\n");
  EXPECT_EQ(failing(), (Lines{
      "casewatch.toml:2:27: error: extra_non_working_days must hold dates (YYYY-MM-DD)",
      "casewatch.toml:2:41: error: extra_non_working_days must hold dates (YYYY-MM-DD)",
      "casewatch.toml:2:44: error: extra_non_working_days must hold dates (YYYY-MM-DD)",
      "casewatch.toml:2:58: error: extra_non_working_days must hold dates (YYYY-MM-DD)",
  }));
  write("casewatch.toml", "[engine]\nextra_non_working_days = \"2017-12-27\"\n");
  EXPECT_EQ(failing(), Lines{"casewatch.toml:2:26: error: 'extra_non_working_days' must be an array of dates"});
}

TEST_F(ConfigTest, CalendarFileReplacesTheBuiltInBankHolidays) {
  write("casewatch.toml",
        "[engine]\ncalendar = \"calendars/wales.txt\"\nextra_non_working_days = [\"2017-06-14\"]\n");
  write("calendars/wales.txt", "# local calendar\n\n2017-06-12\n  2017-06-13  \n# end\n");
  auto config = load();
  ASSERT_TRUE(config) << testing::PrintToString(errors());
  EXPECT_EQ(config->engine.calendar, "calendars/wales.txt");
  const Calendar& c = *config->calendar;
  EXPECT_FALSE(c.is_working_day(day(2017, 6, 12)));
  EXPECT_FALSE(c.is_working_day(day(2017, 6, 13)));
  EXPECT_FALSE(c.is_working_day(day(2017, 6, 14)));  // the extra days still count
  EXPECT_TRUE(c.is_working_day(day(2017, 6, 15)));
  EXPECT_TRUE(c.is_working_day(day(2017, 5, 29)));  // not a bank holiday of this calendar
  EXPECT_FALSE(c.is_working_day(day(2017, 6, 17)));  // weekends never are
}

TEST_F(ConfigTest, CalendarFileProblems) {
  write("casewatch.toml", "[engine]\ncalendar = \"cal.txt\"\n");
  write("cal.txt", "2017-06-12\n12/06/2017\n\n2017-02-30\n");
  EXPECT_EQ(failing(), (Lines{"cal.txt:2:1: error: not a date (expected YYYY-MM-DD)",
                              "cal.txt:4:1: error: not a date (expected YYYY-MM-DD)"}));
  write("casewatch.toml", "[engine]\ncalendar = \"scotland\"\n");
  EXPECT_EQ(failing(),
            Lines{"casewatch.toml:2:12: error: calendar 'scotland' is neither 'england-and-wales' nor a readable file"});
  // A folder opens but holds no dates: it must not pass as an empty calendar.
  std::filesystem::create_directories(path("calendars"));
  write("casewatch.toml", "[engine]\ncalendar = \"calendars\"\n");
  EXPECT_EQ(failing(),
            Lines{"casewatch.toml:2:12: error: calendar 'calendars' is neither 'england-and-wales' nor a readable file"});
}

// json_http's bounds and the origin rule, as check sees them.
TEST_F(ConfigTest, JsonFeedBoundsAndOrigins) {
  write("token", "t\n");
  std::string deep = "/a";
  for (int i = 0; i < 70; ++i) deep += "/a";
  write("casewatch.toml", R"([[feed]]
name = "leavers"
type = "json_http"
url = "https://api.example/leavers"
bearer_token_file = "token"
records = ")" + deep + R"("
max_pages = 0
allowed_origins = ["https://api2.example", "https://api3.example/path", "ftp://x"]
load_timeout = "0s"
max_records = 2.5
key = "id"
[feed.fields]
id = { column = "id" }
)");
  EXPECT_EQ(failing(), (std::vector<std::string>{
                           "casewatch.toml:6:11: error: 'records' is nested deeper than JSON may be (64 levels)",
                           "casewatch.toml:7:13: error: 'max_pages' must be a whole number of at least 1",
                           "casewatch.toml:8:44: error: 'allowed_origins' entries are origins such as "
                           "\"https://api.council.example:8443\" (a scheme, a host and a port at most)",
                           "casewatch.toml:8:73: error: 'allowed_origins' entries are origins such as "
                           "\"https://api.council.example:8443\" (a scheme, a host and a port at most)",
                           "casewatch.toml:9:16: error: 'load_timeout' must be at least 1s",
                           "casewatch.toml:10:15: error: 'max_records' must be a whole number of at least 1",
                       }));
  write("casewatch.toml", R"([[feed]]
name = "leavers"
type = "json_http"
url = "https://api.example/leavers"
allowed_origins = ["https://API2.example", "http://10.0.0.5:8080/"]
load_timeout = "2m"
max_records = 500
max_pages = 7
key = "id"
[feed.fields]
id = { column = "id" }
)");
  auto config = load();
  ASSERT_TRUE(config) << (errors().empty() ? "" : errors()[0]);
  const FeedConfig& feed = config->feeds[0];
  EXPECT_EQ(feed.allowed_origins, (std::vector<std::string>{"https://api2.example:443", "http://10.0.0.5:8080"}));
  EXPECT_EQ(feed.load_timeout_seconds, 120);
  EXPECT_EQ(feed.max_records, 500);
  EXPECT_EQ(feed.max_pages, 7);
  // csv and postgres feeds have no pages.
  write("casewatch.toml", R"([[feed]]
name = "f"
path = "f.csv"
max_pages = 3
key = "id"
[feed.fields]
id = { column = "id" }
)");
  EXPECT_EQ(failing(), (std::vector<std::string>{"casewatch.toml:4:13: error: 'max_pages' does not apply to a csv feed"}));
}

// A url is checked as the loader will request it.
TEST_F(ConfigTest, JsonFeedUrlsAreThoseTheLoaderCanRequest) {
  auto write_feed = [&](std::string url) {
    write("casewatch.toml", "[[feed]]\nname = \"leavers\"\ntype = \"json_http\"\nurl = \"" + url +
                                "\"\nkey = \"id\"\n[feed.fields]\nid = { column = \"id\" }\n");
  };
  for (const char* url : {"http://api.example/x?a b", "http://api.example/x\\ty", "https://user:pw@api.example/x",
                          "http://:8080/x", "http://api.example:99999/x", "file:///etc/passwd", "http://"}) {
    write_feed(url);
    EXPECT_EQ(failing(), (std::vector<std::string>{"casewatch.toml:4:7: error: 'url' must be an http:// or https:// URL "
                                                   "with a host, no user name or password and no spaces"}))
        << url;
  }
  for (const char* url : {"http://api.example/x?a=b%20c", "https://API.example:8443/", "http://[::1]:8080/x"}) {
    write_feed(url);
    EXPECT_TRUE(load()) << url << (errors().empty() ? "" : errors()[0]);
  }
}

TEST_F(ConfigTest, LookupTables) {
  write("casewatch.toml", std::string(R"t(rule_files = ["rules/*.toml"]

[tables.caseload_limit]
"Assessment" = 18
"Corporate Parenting" = 15.5

[tables.team_email]
"Assessment" = "assessment@example.org"

[tables.flags]
"x" = true

[tables.empty]
)t") + kFeed);
  write("rules/a.toml", R"t([[rule]]
name = "a"
kind = "condition"
feed = "assessments"
when = "hours > lookup('caseload_limit', team, 20) && lookup('flags', team, false)"
labels = { to = "{{ lookup('team_email', team, 'duty@example.org') }}" }
)t");
  auto config = load();
  ASSERT_TRUE(config) << testing::PrintToString(errors());
  const LookupTables& t = *config->tables;
  ASSERT_TRUE(t.find("caseload_limit", "Assessment"));
  EXPECT_EQ(t.find("caseload_limit", "Assessment")->type, Type::Number);
  EXPECT_DOUBLE_EQ(t.find("caseload_limit", "Assessment")->number, 18);
  EXPECT_DOUBLE_EQ(t.find("caseload_limit", "Corporate Parenting")->number, 15.5);
  EXPECT_EQ(t.find("team_email", "Assessment")->text, "assessment@example.org");
  EXPECT_TRUE(t.find("flags", "x")->boolean);
  EXPECT_EQ(t.find("caseload_limit", "Duty"), nullptr);
  EXPECT_TRUE(t.has_table("empty"));
  EXPECT_FALSE(t.has_table("nope"));
}

TEST_F(ConfigTest, LookupTableProblems) {
  write("casewatch.toml", std::string(R"t(rule_files = ["rules/*.toml"]
[tables]
limits = 5
[tables.dates]
"a" = 2017-06-14
)t") + kFeed);
  write("rules/a.toml", R"t([[rule]]
name = "a"
kind = "condition"
feed = "assessments"
when = "lookup('nosuch', team, 1) > 0"
)t");
  auto e = failing();
  ASSERT_EQ(e.size(), 3u) << testing::PrintToString(e);
  EXPECT_EQ(e[0], "casewatch.toml:5:7: error: table values must be numbers, strings or booleans");  // dates
  EXPECT_EQ(e[1], "casewatch.toml:3:10: error: table 'limits' must be a table of key = value");
  EXPECT_TRUE(e[2].starts_with("rules/a.toml:5:")) << e[2];
  EXPECT_NE(e[2].find("nosuch"), std::string::npos) << e[2];
}

// ---------------------------------------------------------------------------------------------
// Intervals

TEST(ConfigInterval, ParsesEachUnit) {
  EXPECT_EQ(parse_interval("30s"), 30);
  EXPECT_EQ(parse_interval("5m"), 300);
  EXPECT_EQ(parse_interval("2h"), 7200);
  EXPECT_EQ(parse_interval("1d"), 86400);
  EXPECT_EQ(parse_interval("26h"), 93600);
  EXPECT_EQ(parse_interval("1w"), 604800);
  EXPECT_EQ(parse_interval("0s"), 0);
}

TEST(ConfigInterval, RejectsAnythingElse) {
  for (const char* bad : {"", "5", "m", "5 m", " 5m", "5m ", "5M", "5min", "5 minutes", "-5m", "+5m", "1.5h", "5ms",
                          "1h30m", "99999999999999999999s", "9223372036854775807m", "200000000000000d"})
    EXPECT_FALSE(parse_interval(bad).has_value()) << bad;
  EXPECT_EQ(parse_interval("9223372036854775807s"), INT64_C(9223372036854775807));
}

// ---------------------------------------------------------------------------------------------
// DATE arguments: YYYY-MM-DD is 09:00 local time; RFC 3339 converted to local time.

TEST(AsOf, IsoDateIsNineInTheMorningBritishSummerTime) {
  auto a = parse_as_of("2017-06-14", "Europe/London");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->day, day(2017, 6, 14));
  EXPECT_EQ(a->utc_offset_seconds, 3600);
  EXPECT_EQ(a->epoch_seconds, int64_t{day(2017, 6, 14)} * 86400 + 8 * 3600);
  EXPECT_EQ(format_rfc3339(*a), "2017-06-14T09:00:00+01:00");
}

TEST(AsOf, IsoDateIsNineInTheMorningGreenwichMeanTime) {
  auto a = parse_as_of("2017-01-10", "Europe/London");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->day, day(2017, 1, 10));
  EXPECT_EQ(a->utc_offset_seconds, 0);
  EXPECT_EQ(a->epoch_seconds, int64_t{day(2017, 1, 10)} * 86400 + 9 * 3600);
  EXPECT_EQ(format_rfc3339(*a), "2017-01-10T09:00:00+00:00");
}

TEST(AsOf, ClocksChangeDays) {
  // The clocks go forward at 01:00 on 26 March 2017 and back at 02:00 on 29 October 2017.
  EXPECT_EQ(format_rfc3339(*parse_as_of("2017-03-26", "Europe/London")), "2017-03-26T09:00:00+01:00");
  EXPECT_EQ(format_rfc3339(*parse_as_of("2017-03-25", "Europe/London")), "2017-03-25T09:00:00+00:00");
  EXPECT_EQ(format_rfc3339(*parse_as_of("2017-10-29", "Europe/London")), "2017-10-29T09:00:00+00:00");
  EXPECT_EQ(format_rfc3339(*parse_as_of("2017-10-28", "Europe/London")), "2017-10-28T09:00:00+01:00");
}

TEST(AsOf, OtherTimezones) {
  EXPECT_EQ(format_rfc3339(*parse_as_of("2017-06-14", "America/New_York")), "2017-06-14T09:00:00-04:00");
  EXPECT_EQ(format_rfc3339(*parse_as_of("2017-06-14", "Asia/Kolkata")), "2017-06-14T09:00:00+05:30");
  EXPECT_EQ(format_rfc3339(*parse_as_of("2017-06-14", "UTC")), "2017-06-14T09:00:00+00:00");
  // Switching back gives London again (the timezone is process-wide state).
  EXPECT_EQ(format_rfc3339(*parse_as_of("2017-06-14", "Europe/London")), "2017-06-14T09:00:00+01:00");
}

TEST(AsOf, Rfc3339InUtcCrossingMidnightIntoTheNextLocalDate) {
  auto a = parse_as_of("2017-06-13T23:30:00Z", "Europe/London");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->day, day(2017, 6, 14));
  EXPECT_EQ(format_rfc3339(*a), "2017-06-14T00:30:00+01:00");
  // In winter London is UTC: the same clock time stays on the same date.
  auto w = parse_as_of("2017-01-13T23:30:00Z", "Europe/London");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->day, day(2017, 1, 13));
  EXPECT_EQ(format_rfc3339(*w), "2017-01-13T23:30:00+00:00");
}

TEST(AsOf, Rfc3339WithOffsets) {
  // 00:30 at +02:00 is 22:30 UTC the day before: 23:30 in London, still the 13th.
  auto a = parse_as_of("2017-06-14T00:30:00+02:00", "Europe/London");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->day, day(2017, 6, 13));
  EXPECT_EQ(format_rfc3339(*a), "2017-06-13T23:30:00+01:00");
  // 22:00 at -05:00 on New Year's Eve is 03:00 UTC on New Year's Day.
  auto b = parse_as_of("2016-12-31T22:00:00-05:00", "Europe/London");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->day, day(2017, 1, 1));
  EXPECT_EQ(format_rfc3339(*b), "2017-01-01T03:00:00+00:00");
  // 23:59:59 at +01:00 is the same instant in London in summer.
  EXPECT_EQ(format_rfc3339(*parse_as_of("2017-06-14T23:59:59+01:00", "Europe/London")), "2017-06-14T23:59:59+01:00");
  EXPECT_EQ(format_rfc3339(*parse_as_of("2017-06-14T09:00:00+05:30", "Europe/London")), "2017-06-14T04:30:00+01:00");
}

TEST(AsOf, Rfc3339Variants) {
  EXPECT_EQ(format_rfc3339(*parse_as_of("2017-06-14T08:00:00.123Z", "Europe/London")), "2017-06-14T09:00:00+01:00");
  EXPECT_EQ(format_rfc3339(*parse_as_of("2017-06-14t08:00:00z", "Europe/London")), "2017-06-14T09:00:00+01:00");
  EXPECT_EQ(format_rfc3339(*parse_as_of("2017-06-14 08:00:00Z", "Europe/London")), "2017-06-14T09:00:00+01:00");
  auto a = parse_as_of("2017-06-14T09:00:00-00:00", "Europe/London");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->epoch_seconds, int64_t{day(2017, 6, 14)} * 86400 + 9 * 3600);
}

TEST(AsOf, RejectsOtherText) {
  for (const char* bad : {"", "2017-6-14", "14/06/2017", "2017-02-30", "2017-06-14T09:00:00", "2017-06-14T09:00Z",
                          "2017-06-14T25:00:00Z", "2017-06-14T09:60:00Z", "2017-06-14T09:00:00+0100",
                          "2017-06-14T09:00:00+01", "2017-06-14X09:00:00Z", "2017-06-14T09:00:00Zjunk",
                          "2017-06-14T09:00:00.Z", "now", "2017-06-14 "})
    EXPECT_FALSE(parse_as_of(bad, "Europe/London").has_value()) << bad;
}

TEST(AsOf, InstantsAndNegativeOffsets) {
  // 2017-06-14T12:00:00Z
  int64_t t = int64_t{day(2017, 6, 14)} * 86400 + 12 * 3600;
  AsOf london = as_of_instant(t, "Europe/London");
  EXPECT_EQ(london.day, day(2017, 6, 14));
  EXPECT_EQ(format_rfc3339(london), "2017-06-14T13:00:00+01:00");
  AsOf la = as_of_instant(t - 6 * 3600, "America/Los_Angeles");  // 06:00Z is 23:00 the day before
  EXPECT_EQ(la.day, day(2017, 6, 13));
  EXPECT_EQ(la.utc_offset_seconds, -7 * 3600);
  EXPECT_EQ(format_rfc3339(la), "2017-06-13T23:00:00-07:00");
  AsOf newfoundland = as_of_instant(t, "America/St_Johns");
  EXPECT_EQ(format_rfc3339(newfoundland), "2017-06-14T09:30:00-02:30");
}

}  // namespace
}  // namespace casewatch

namespace casewatch {
namespace {

// engine.state_dir under systemd's StateDirectory= and outside it (issue 12).
TEST(StateDir, RelativeResolvesAgainstStateDirectoryElseTheConfigFolderWithAWarningUnderEtc) {
  std::string problem;
  ::setenv("STATE_DIRECTORY", "/var/lib/casewatch:/var/lib/other", 1);
  EXPECT_EQ(resolve_state_dir("/etc/casewatch", "", problem), "/var/lib/casewatch");
  EXPECT_EQ(resolve_state_dir("/etc/casewatch", "state", problem), "/var/lib/casewatch/state");
  EXPECT_EQ(resolve_state_dir("/etc/casewatch", "/srv/state", problem), "/srv/state");
  EXPECT_EQ(problem, "");
  ::unsetenv("STATE_DIRECTORY");
  EXPECT_EQ(resolve_state_dir("/etc/casewatch", "", problem), "/etc/casewatch/state");
  EXPECT_NE(problem.find("resolves to /etc/casewatch/state"), std::string::npos) << problem;
  EXPECT_NE(problem.find("$STATE_DIRECTORY"), std::string::npos) << problem;
  const std::string here = std::filesystem::temp_directory_path().string();
  EXPECT_EQ(resolve_state_dir(here, "state", problem), here + "/state");
  EXPECT_EQ(problem, "");  // a folder of one's own: fine
}

}  // namespace
}  // namespace casewatch
