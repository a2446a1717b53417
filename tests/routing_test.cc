// Routing config (SPEC 6): time windows, schedules, and what `check` refuses.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <sys/stat.h>

#include "config/config.h"
#include "config/routing.h"

namespace casewatch {
namespace {

TEST(RoutingWindow, WorkingDaysHonourBankHolidays) {
  Calendar calendar(Calendar::england_and_wales_bank_holidays());
  std::string error;
  auto w = parse_time_window("working-days 08:00-18:00", error);
  ASSERT_TRUE(w) << error;
  Day tuesday = days_from_civil(2017, 8, 29), monday_holiday = days_from_civil(2017, 8, 28);
  EXPECT_TRUE(w->contains(tuesday, 8 * 60, calendar));
  EXPECT_TRUE(w->contains(tuesday, 17 * 60 + 59, calendar));
  EXPECT_FALSE(w->contains(tuesday, 18 * 60, calendar));
  EXPECT_FALSE(w->contains(tuesday, 7 * 60 + 59, calendar));
  EXPECT_FALSE(w->contains(monday_holiday, 9 * 60, calendar));
  auto weekdays = parse_time_window("mon-fri 08:00-18:00", error);
  ASSERT_TRUE(weekdays);
  EXPECT_TRUE(weekdays->contains(monday_holiday, 9 * 60, calendar));  // plain weekdays ignore holidays
  auto weekend = parse_time_window("sat,sun 10:00-24:00", error);
  ASSERT_TRUE(weekend) << error;
  EXPECT_TRUE(weekend->contains(days_from_civil(2017, 8, 27), 23 * 60, calendar));
  EXPECT_FALSE(weekend->contains(tuesday, 11 * 60, calendar));
}

TEST(RoutingWindow, Errors) {
  std::string error;
  EXPECT_FALSE(parse_time_window("weekdays 08:00-18:00", error));
  EXPECT_EQ(error, "days 'weekdays' must be working-days, daily, or days such as mon-fri or sat,sun");
  EXPECT_FALSE(parse_time_window("mon-fri 18:00-08:00", error));
  EXPECT_EQ(error, "time window 'mon-fri 18:00-08:00' needs HH:MM-HH:MM with the end after the start");
  EXPECT_FALSE(parse_time_window("mon-fri", error));
  EXPECT_FALSE(parse_time_window("fri-mon 08:00-09:00", error));
  EXPECT_FALSE(parse_daily_schedule("working-days 25:00", error));
  EXPECT_EQ(error, "schedule 'working-days 25:00' needs a time HH:MM");
  auto digest = parse_daily_schedule("daily 08:30", error);
  ASSERT_TRUE(digest);
  EXPECT_EQ(digest->minute, 8 * 60 + 30);
}

class RoutingConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("casewatch_routing_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_ / "rules");
    write("rules/r.toml", "[[rule]]\nname = \"r\"\nkind = \"condition\"\nfeed = \"f\"\nwhen = \"true\"\nlabels = { team = \"{{ team }}\" }\n");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) { std::ofstream(dir_ / name) << text; }
  std::vector<std::string> check(const std::string& routing) {
    write("c.toml", "rule_files = [\"rules/*.toml\"]\n[[feed]]\nname = \"f\"\npath = \"f.csv\"\nkey = \"id\"\n"
                    "[feed.fields]\nid = { column = \"ID\" }\nteam = { column = \"Team\" }\n" + routing);
    Diagnostics d;
    load_config((dir_ / "c.toml").string(), d);
    std::vector<std::string> lines;
    for (const auto& item : d.items()) lines.push_back(item.format().substr(item.format().find("c.toml")));
    return lines;
  }
  std::filesystem::path dir_;
};

TEST_F(RoutingConfigTest, ValidRouting) {
  EXPECT_EQ(check(R"(
[[receiver]]
name = "mail"
type = "email"
smtp_url = "smtp://127.0.0.1:25"
from = "casewatch@la.example.gov.uk"
to = "{{ team }}@la.example.gov.uk"
[[route]]
match = { team = { regex = "Assess.*" } }
receiver = "mail"
active_time = ["working-days 08:00-18:00"]
[[route]]
receiver = "mail"
digest = "working-days 08:30"
)"),
            std::vector<std::string>{});
}

TEST_F(RoutingConfigTest, EveryMistakeReported) {
  EXPECT_EQ(check(R"([[receiver]]
name = "mail"
type = "email"
smtp_url = "http://x"
from = "a@b"
to = "manager@gmail.com"
allowed_recipient_domains = ["la.example.gov.uk"]
[[receiver]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1/"
format = "xml"
[[route]]
receiver = "nobody"
active_time = ["mon-fri 18:00-08:00"]
digest = "sometimes"
fallback_receiver = "nobody_either"
[[route]]
match = { team = "Assessment" }
receiver = "hook"
escalate_after = "soon"
)"),
            (std::vector<std::string>{
                "c.toml:12:12: error: 'smtp_url' must start with smtp:// or smtps://",
                "c.toml:14:6: error: recipient domain 'gmail.com' is not in allowed_recipient_domains",
                "c.toml:20:10: error: webhook format 'xml' is not one of json, teams, slack",
                "c.toml:23:16: error: time window 'mon-fri 18:00-08:00' needs HH:MM-HH:MM with the end after the start",
                "c.toml:24:10: error: schedule 'sometimes' must be DAYS HH:MM, e.g. \"working-days 08:30\"",
                "c.toml:29:18: error: 'escalate_after' must be a period such as \"5 working days\" or \"2 days\"",
                "c.toml:22:12: error: unknown receiver 'nobody'",
                "c.toml:25:21: error: unknown receiver 'nobody_either'",
                "c.toml:26:1: error: the last route must match every alert (no 'match', no 'escalate_after'), so that no alert goes unrouted",
            }));
}

// A receiver's own wording is refused whole at `check`, each mistake named with its file, line
// and column: an unknown phrase, a variable the phrase does not have, a template that does not
// parse, a phrase that is not text.
TEST_F(RoutingConfigTest, AWordingFileIsCheckedPhraseByPhrase) {
  write("wording.toml", "[message]\nsubject = \"{{ group }}: {{ counts }} ({{ child }})\"\nsubjekt = \"x\"\n"
                        "[timing]\noverdue = \"late by {{ n + }}\"\ndue_today = 3\n[colours]\nred = \"#f00\"\n");
  Diagnostics d;
  write("c.toml", "rule_files = [\"rules/*.toml\"]\n[[feed]]\nname = \"f\"\npath = \"f.csv\"\nkey = \"id\"\n"
                  "[feed.fields]\nid = { column = \"ID\" }\nteam = { column = \"Team\" }\n"
                  "[[receiver]]\nname = \"hook\"\ntype = \"webhook\"\nformat = \"teams\"\nurl = \"https://x.example/\"\n"
                  "templates = \"wording.toml\"\n[[route]]\nreceiver = \"hook\"\n");
  EXPECT_FALSE(load_config((dir_ / "c.toml").string(), d));
  std::vector<std::string> lines;
  for (const auto& item : d.items()) lines.push_back(item.format().substr(item.format().rfind('/') + 1));
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "wording.toml:7:2: error: unknown section 'colours' (the sections are timing, counts, message, item)",
                       "wording.toml:2:42: error: unknown field 'child'",
                       "wording.toml:3:1: error: unknown key 'subjekt' in [message]",
                       "wording.toml:6:13: error: 'due_today' must be a string (a template)",
                       "wording.toml:5:27: error: unexpected end of expression",
                   }));

  // A FIFO (or a device) would hang check: refused without being opened.
  ASSERT_EQ(::mkfifo((dir_ / "fifo.toml").c_str(), 0600), 0);
  write("c2.toml", "");
  std::string config_text;
  {
    std::ifstream in(dir_ / "c.toml");
    std::stringstream buffer;
    buffer << in.rdbuf();
    config_text = buffer.str();
  }
  config_text.replace(config_text.find("wording.toml"), 12, "fifo.toml");
  write("c2.toml", config_text);
  Diagnostics fifo;
  EXPECT_FALSE(load_config((dir_ / "c2.toml").string(), fifo));
  ASSERT_EQ(fifo.size(), 1u);
  EXPECT_NE(fifo.items()[0].message.find("is not a file that can be read"), std::string::npos) << fifo.items()[0].message;

  // A good one loads, over the built-in.
  write("wording.toml", "[message]\nsubject = \"casewatch: {{ group }}\"\n");
  Diagnostics fine;
  auto config = load_config((dir_ / "c.toml").string(), fine);
  ASSERT_TRUE(config) << (fine.empty() ? "" : fine.items()[0].format());
  ASSERT_TRUE(config->receivers[0].templates);
  EXPECT_NE(config->receivers[0].templates, MessageTemplates::defaults());
}

// A rule's title heads subjects and cards: one line, short.
TEST_F(RoutingConfigTest, ARuleTitleIsOneShortLine) {
  write("rules/r.toml", "[[rule]]\nname = \"r\"\ntitle = \"Visit\\nBcc: x@evil.example\"\nkind = \"condition\"\nfeed = \"f\"\nwhen = \"true\"\n");
  write("c.toml", "rule_files = [\"rules/*.toml\"]\n[[feed]]\nname = \"f\"\npath = \"f.csv\"\nkey = \"id\"\n"
                  "[feed.fields]\nid = { column = \"ID\" }\n[[receiver]]\nname = \"log\"\ntype = \"file\"\n"
                  "path = \"log.jsonl\"\n[[route]]\nreceiver = \"log\"\n");
  Diagnostics refused;
  EXPECT_FALSE(load_config((dir_ / "c.toml").string(), refused));
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused.items()[0].format().substr(refused.items()[0].format().rfind('/') + 1),
            "r.toml:3:9: error: 'title' is one line of at most 80 characters, without control or bidirectional "
            "characters (it heads messages and subjects)");
  // A right-to-left override would make a subject read backwards; a line separator splits it; 81
  // characters is one too many, whatever their bytes.
  for (const std::string& title :
       std::vector<std::string>{"Visit \\u202Edue\\u202C", "Visit\\u2028due", "Visit\\u0085due", std::string(81, 'x')}) {
    write("rules/r.toml", "[[rule]]\nname = \"r\"\ntitle = \"" + title +
                              "\"\nkind = \"condition\"\nfeed = \"f\"\nwhen = \"true\"\n");
    Diagnostics bad;
    EXPECT_FALSE(load_config((dir_ / "c.toml").string(), bad)) << title;
  }
  std::string eighty_accented;
  for (int i = 0; i < 80; ++i) eighty_accented += "\u00e9";  // 160 bytes, 80 characters
  write("rules/r.toml", "[[rule]]\nname = \"r\"\ntitle = \"" + eighty_accented +
                            "\"\nkind = \"condition\"\nfeed = \"f\"\nwhen = \"true\"\n");
  Diagnostics accented;
  EXPECT_TRUE(load_config((dir_ / "c.toml").string(), accented))
      << (accented.empty() ? "" : accented.items()[0].format());
  write("rules/r.toml", "[[rule]]\nname = \"r\"\ntitle = \"Assessment authorisation\"\nkind = \"condition\"\nfeed = \"f\"\nwhen = \"true\"\n");
  Diagnostics d;
  auto config = load_config((dir_ / "c.toml").string(), d);
  ASSERT_TRUE(config) << (d.empty() ? "" : d.items()[0].format());
  EXPECT_EQ(config->rule_titles->at("r"), "Assessment authorisation");
}

// A secret a receiver reads at send time is checked now: missing, every notification would fail its
// attempts and be dropped before anyone looked.
TEST_F(RoutingConfigTest, AReceiversSecretFilesMustBeReadable) {
  EXPECT_EQ(check(R"([[receiver]]
name = "mail"
type = "email"
smtp_url = "smtp://127.0.0.1:25"
username = "casewatch"
password_file = "no-such-password"
from = "casewatch@la.example.gov.uk"
to = "team@la.example.gov.uk"
[[receiver]]
name = "hook"
type = "webhook"
url = "https://hooks.example/"
bearer_token_file = "no-such-token"
[[route]]
receiver = "mail"
)"),
            (std::vector<std::string>{
                "c.toml:14:17: error: 'password_file' " + (dir_ / "no-such-password").string() + " cannot be read",
                "c.toml:21:21: error: 'bearer_token_file' " + (dir_ / "no-such-token").string() + " cannot be read",
            }));
  write("no-such-password", "secret\n");
  write("no-such-token", "secret\n");
  EXPECT_EQ(check(R"([[receiver]]
name = "mail"
type = "email"
smtp_url = "smtp://127.0.0.1:25"
username = "casewatch"
password_file = "no-such-password"
from = "casewatch@la.example.gov.uk"
to = "team@la.example.gov.uk"
[[route]]
receiver = "mail"
)"),
            std::vector<std::string>{});
}

}  // namespace
}  // namespace casewatch
