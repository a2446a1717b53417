// Log lines (issue 12): what a line is about as fields, not inside the message; JSON lines parse
// whatever the values hold; under the journal each line starts with its syslog priority.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <spdlog/formatter.h>
#include <spdlog/spdlog.h>

#include "integrations/log.h"

namespace casewatch {
namespace {

std::string line(const std::string& format, bool journal, spdlog::level::level_enum level, std::string_view message) {
  auto formatter = make_log_formatter(format, journal);
  spdlog::details::log_msg msg("casewatch", level, message);
  spdlog::memory_buf_t out;
  formatter->format(msg, out);
  return std::string(out.data(), out.size());
}

TEST(Log, JsonLinesCarryTheContextAsMembers) {
  LogContext feed{{"feed", "referrals"}};
  std::string text = line("json", false, spdlog::level::info, "loaded 3 records");
  auto record = nlohmann::json::parse(text);
  EXPECT_EQ(record["message"], "loaded 3 records");
  EXPECT_EQ(record["feed"], "referrals");
  EXPECT_EQ(record["level"], "info");
  {
    LogContext inner{{"rule", "assessment_timescale"}, {"key", "A\"1\n"}};
    record = nlohmann::json::parse(line("json", false, spdlog::level::debug, "alert firing"));
    EXPECT_EQ(record["feed"], "referrals");
    EXPECT_EQ(record["rule"], "assessment_timescale");
    EXPECT_EQ(record["key"], "A\"1\n");  // escaped, so the line stays one line
  }
  record = nlohmann::json::parse(line("json", false, spdlog::level::info, "x"));
  EXPECT_FALSE(record.contains("rule"));  // the inner context has ended
}

TEST(Log, TextLinesEndWithTheFieldsAndNeverBreak) {
  LogContext context{{"receiver", "team email"}, {"notification", "n1"}};
  std::string text = line("text", false, spdlog::level::warn, "attempt 1 failed\nforged");
  EXPECT_NE(text.find("attempt 1 failed\\nforged receiver=\"team email\" notification=n1"), std::string::npos) << text;
  EXPECT_EQ(text.find('\n'), text.size() - 1);
}

TEST(Log, UnderTheJournalEachLineStartsWithItsPriority) {
  EXPECT_EQ(line("json", true, spdlog::level::err, "reload refused").substr(0, 4), "<3>{");
  EXPECT_EQ(line("text", true, spdlog::level::warn, "x").substr(0, 3), "<4>");
  EXPECT_EQ(line("text", true, spdlog::level::info, "x").substr(0, 3), "<6>");
  EXPECT_EQ(line("text", true, spdlog::level::debug, "x").substr(0, 3), "<7>");
  EXPECT_EQ(line("json", false, spdlog::level::err, "x").substr(0, 1), "{");
  EXPECT_FALSE(make_log_formatter("yaml", false));
}

}  // namespace
}  // namespace casewatch
