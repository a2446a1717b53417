// Feed loading (SPEC 4): CSV bytes into a Table, per-row rejection and the load-safety checks.
#include "integrations/feed_loader.h"
#include "integrations/feed_source.h"
#include "tests/feed_fixture.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>

namespace casewatch {
namespace {

// A csv feed with the given fields; the key is the first field.
FeedConfig make_feed(std::vector<FieldConfig> fields, std::string date_format = "%d/%m/%Y") {
  FeedConfig feed = test_feed("cases", FeedType::Csv, std::move(fields));
  feed.date_format = std::move(date_format);
  return feed;
}

FeedConfig cases_feed() {
  return make_feed({{"case_id", "Case ID", Type::String},
                    {"opened", "Date Opened", Type::Date},
                    {"hours", "Hours", Type::Number},
                    {"open", "Open?", Type::Bool},
                    {"team", "Team", Type::String}});
}

constexpr const char* kHeader = "Case ID,Date Opened,Hours,Open?,Team\n";

// Every row's key, in order.
std::vector<std::string> keys(const Table& table) {
  std::vector<std::string> out;
  for (size_t r = 0; r < table.rows(); ++r) out.emplace_back(table.key(r));
  return out;
}

std::string text_of(const Table& table, size_t row, size_t field) {
  Value v = table.value(row, field);
  EXPECT_EQ(v.type, Type::String);
  return std::string(v.text);
}

Day day(int y, unsigned m, unsigned d) { return days_from_civil(y, m, d); }

std::vector<std::string> formatted(const FeedLoad& load, std::string_view source = "cases.csv") {
  std::vector<std::string> out;
  for (const auto& row : load.rejected_rows) out.push_back(row.format(source));
  return out;
}

TEST(FeedCsv, ParsesEveryTypeAndEmptyCellsAreNull) {
  FeedConfig feed = cases_feed();
  FeedLoad load = load_csv(feed,
                           std::string(kHeader) +
                               "C1,02/06/2017,7.5,yes,Assessment\n"
                               "C2,,,,\n",
                           "cases.csv", std::nullopt);
  ASSERT_TRUE(load.accepted) << load.error;
  ASSERT_TRUE(load.table);
  EXPECT_EQ(load.rows_read, 2u);
  EXPECT_EQ(load.rejected, 0u);
  const Table& t = *load.table;
  ASSERT_EQ(t.rows(), 2u);
  EXPECT_EQ(keys(t), (std::vector<std::string>{"C1", "C2"}));
  EXPECT_EQ(t.value(0, 1).type, Type::Date);
  EXPECT_EQ(t.value(0, 1).day, day(2017, 6, 2));
  EXPECT_EQ(t.value(0, 2).type, Type::Number);
  EXPECT_DOUBLE_EQ(t.value(0, 2).number, 7.5);
  EXPECT_EQ(t.value(0, 3).type, Type::Bool);
  EXPECT_TRUE(t.value(0, 3).boolean);
  EXPECT_EQ(text_of(t, 0, 4), "Assessment");
  for (size_t f = 1; f < 5; ++f) EXPECT_TRUE(t.value(1, f).is_null()) << "field " << f;
}

TEST(FeedCsv, Rfc4180QuotingWithCommasDoubledQuotesAndNewlines) {
  FeedConfig feed = cases_feed();
  feed.max_rejected_ratio = 1;
  FeedLoad load = load_csv(feed,
                           std::string(kHeader) +
                               "\"C1\",02/06/2017,1,y,\"Smith, Jo\"\n"
                               "C2,02/06/2017,1,y,\"The \"\"A\"\" team\"\n"
                               "C3,02/06/2017,1,y,\"two\nlines\"\n"
                               "C4,bad,1,y,x\n",  // on physical line 6: the quoted newline counts
                           "cases.csv", std::nullopt);
  ASSERT_TRUE(load.table) << load.error;
  const Table& t = *load.table;
  ASSERT_EQ(t.rows(), 3u);
  EXPECT_EQ(text_of(t, 0, 4), "Smith, Jo");
  EXPECT_EQ(text_of(t, 1, 4), "The \"A\" team");
  EXPECT_EQ(text_of(t, 2, 4), "two\nlines");
  ASSERT_EQ(load.rejected_rows.size(), 1u);
  EXPECT_EQ(load.rejected_rows[0].line, 6u);
}

TEST(FeedCsv, ByteOrderMarkBeforeTheHeaderAndCrlfLineEnds) {
  FeedConfig feed = cases_feed();
  std::string bytes =
      "\xEF\xBB\xBF"
      "Case ID,Date Opened,Hours,Open?,Team\r\n"
      "C1,02/06/2017,3,n,Assessment\r\n"
      "C2,03/06/2017,4,Y,\"Quoted\"\r\n";
  FeedLoad load = load_csv(feed, bytes, "cases.csv", std::nullopt);
  ASSERT_TRUE(load.accepted) << load.error;
  const Table& t = *load.table;
  ASSERT_EQ(t.rows(), 2u);
  EXPECT_EQ(keys(t), (std::vector<std::string>{"C1", "C2"}));
  // No CR left on the last cell of a line.
  EXPECT_EQ(text_of(t, 0, 4), "Assessment");
  EXPECT_EQ(text_of(t, 1, 4), "Quoted");
  EXPECT_EQ(t.value(1, 1).day, day(2017, 6, 3));
}

TEST(FeedCsv, HeadingsTrimmedMatchedIgnoringCaseInAnyOrderAndUndeclaredColumnsIgnored) {
  FeedConfig feed = cases_feed();
  FeedLoad load = load_csv(feed,
                           "Unused,  TEAM ,open?,\"  case id\",hours,date opened,Other\n"
                           "zzz,Assessment,false,C1,2,02/06/2017,yyy\n",
                           "cases.csv", std::nullopt);
  ASSERT_TRUE(load.accepted) << load.error;
  const Table& t = *load.table;
  ASSERT_EQ(t.rows(), 1u);
  EXPECT_EQ(t.key(0), "C1");
  EXPECT_EQ(t.value(0, 1).day, day(2017, 6, 2));
  EXPECT_DOUBLE_EQ(t.value(0, 2).number, 2);
  EXPECT_FALSE(t.value(0, 3).boolean);
  EXPECT_EQ(text_of(t, 0, 4), "Assessment");
}

TEST(FeedCsv, CellsAreTrimmed) {
  FeedConfig feed = cases_feed();
  FeedLoad load = load_csv(feed, std::string(kHeader) + " C1 , 02/06/2017 , 2 , yes , Assessment \n", "cases.csv",
                           std::nullopt);
  ASSERT_TRUE(load.accepted) << load.error;
  EXPECT_EQ(load.table->key(0), "C1");
  EXPECT_EQ(text_of(*load.table, 0, 4), "Assessment");
  EXPECT_EQ(load.table->value(0, 1).day, day(2017, 6, 2));
}

TEST(FeedCsv, DatesInTheFeedFormatOrIsoWithOrWithoutATime) {
  FeedConfig feed = make_feed({{"id", "id", Type::String}, {"d", "d", Type::Date}});
  const std::vector<std::pair<std::string, Day>> good = {
      {"02/06/2017", day(2017, 6, 2)},          {"2/6/2017", day(2017, 6, 2)},
      {"2017-06-02", day(2017, 6, 2)},          {"02/06/2017 14:30", day(2017, 6, 2)},
      {"02/06/2017 14:30:00", day(2017, 6, 2)}, {"2017-06-02 14:30", day(2017, 6, 2)},
      {"2017-06-02 14:30:00", day(2017, 6, 2)}, {"2017-06-02T14:30:00Z", day(2017, 6, 2)},
      {"29/02/2016", day(2016, 2, 29)},
  };
  std::string csv = "id,d\n";
  for (size_t i = 0; i < good.size(); ++i) csv += "K" + std::to_string(i) + ",\"" + good[i].first + "\"\n";
  FeedLoad load = load_csv(feed, csv, "f.csv", std::nullopt);
  ASSERT_TRUE(load.accepted) << load.error;
  EXPECT_EQ(load.rejected, 0u) << testing::PrintToString(formatted(load));
  ASSERT_EQ(load.table->rows(), good.size());
  for (size_t i = 0; i < good.size(); ++i) EXPECT_EQ(load.table->value(i, 1).day, good[i].second) << good[i].first;
}

TEST(FeedCsv, BadDatesAreRejected) {
  FeedConfig feed = make_feed({{"id", "id", Type::String}, {"d", "d", Type::Date}});
  feed.max_rejected_ratio = 1;
  const std::vector<std::string> bad = {"31/02/2017", "2017/06/02", "06-02-2017", "02/06/17", "yesterday",
                                        "02/06/2017 25:00", "2017-06-02x", "29/02/2017", "2017-13-01"};
  std::string csv = "id,d\n";
  for (size_t i = 0; i < bad.size(); ++i) csv += "K" + std::to_string(i) + "," + bad[i] + "\n";
  FeedLoad load = load_csv(feed, csv, "f.csv", std::nullopt);
  ASSERT_TRUE(load.accepted) << load.error;
  EXPECT_EQ(load.table->rows(), 0u);
  EXPECT_EQ(load.rejected, bad.size());
  for (const auto& row : load.rejected_rows) {
    EXPECT_EQ(row.field, "d");
    EXPECT_EQ(row.reason, "not a date (expected %d/%m/%Y or YYYY-MM-DD)");
  }
}

TEST(FeedCsv, WithoutADateFormatOnlyIsoIsAccepted) {
  FeedConfig feed = make_feed({{"id", "id", Type::String}, {"d", "d", Type::Date}}, "");
  feed.max_rejected_ratio = 1;
  FeedLoad load = load_csv(feed, "id,d\nA,2017-06-02 09:15\nB,02/06/2017\n", "f.csv", std::nullopt);
  ASSERT_TRUE(load.accepted) << load.error;
  ASSERT_EQ(load.table->rows(), 1u);
  EXPECT_EQ(load.table->value(0, 1).day, day(2017, 6, 2));
  EXPECT_EQ(formatted(load, "f.csv"),
            (std::vector<std::string>{"f.csv:3: row rejected: field 'd' (column \"d\"): not a date (expected YYYY-MM-DD)"}));
}

TEST(FeedCsv, BoolSpellingsInAnyCase) {
  FeedConfig feed = make_feed({{"id", "id", Type::String}, {"b", "b", Type::Bool}});
  const std::vector<std::pair<std::string, bool>> good = {
      {"true", true}, {"TRUE", true}, {"True", true}, {"yes", true},  {"YES", true},  {"y", true},   {"Y", true},
      {"1", true},    {"false", false}, {"FALSE", false}, {"no", false}, {"No", false}, {"n", false}, {"N", false},
      {"0", false}};
  std::string csv = "id,b\n";
  for (size_t i = 0; i < good.size(); ++i) csv += "K" + std::to_string(i) + "," + good[i].first + "\n";
  FeedLoad load = load_csv(feed, csv, "f.csv", std::nullopt);
  ASSERT_TRUE(load.accepted) << load.error;
  ASSERT_EQ(load.table->rows(), good.size());
  for (size_t i = 0; i < good.size(); ++i) {
    Value v = load.table->value(i, 1);
    EXPECT_EQ(v.type, Type::Bool) << good[i].first;
    EXPECT_EQ(v.boolean, good[i].second) << good[i].first;
  }
}

TEST(FeedCsv, OtherBoolTextIsRejected) {
  FeedConfig feed = make_feed({{"id", "id", Type::String}, {"b", "b", Type::Bool}});
  feed.max_rejected_ratio = 1;
  FeedLoad load = load_csv(feed, "id,b\nA,2\nB,maybe\nC,tr\nD,yess\nE,-1\n", "f.csv", std::nullopt);
  ASSERT_TRUE(load.accepted);
  EXPECT_EQ(load.table->rows(), 0u);
  ASSERT_EQ(load.rejected, 5u);
  EXPECT_EQ(load.rejected_rows[1].format("f.csv"),
            "f.csv:3: row rejected: field 'b' (column \"b\"): not a bool (expected true/false, yes/no, y/n, t/f or 1/0)");
}

TEST(FeedCsv, Numbers) {
  FeedConfig feed = make_feed({{"id", "id", Type::String}, {"n", "n", Type::Number}});
  feed.max_rejected_ratio = 1;
  FeedLoad load = load_csv(feed,
                           "id,n\nA,12\nB,-3.5\nC,+4\nD,1e3\nE,0.216\n"
                           "F,12abc\nG,\"1,000\"\nH,nan\nI,inf\nJ,£5\nK,+-3\nL,+\n",
                           "f.csv", std::nullopt);
  ASSERT_TRUE(load.accepted);
  ASSERT_EQ(load.table->rows(), 5u);
  const std::vector<double> expected = {12, -3.5, 4, 1000, 0.216};
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_DOUBLE_EQ(load.table->value(i, 1).number, expected[i]);
  EXPECT_EQ(load.rejected, 7u);
  for (const auto& row : load.rejected_rows) EXPECT_EQ(row.reason, "not a number");
}

TEST(FeedCsv, RejectedRowNamesLineFieldAndColumnButNeverTheValue) {
  FeedConfig feed = cases_feed();
  feed.max_rejected_ratio = 1;
  FeedLoad load = load_csv(feed,
                           std::string(kHeader) +
                               "C1,02/06/2017,1,yes,A\n"
                               "C2,SECRET-DATE,1,yes,A\n"
                               "C3,02/06/2017,SECRET-HOURS,yes,A\n"
                               "\n"
                               "C4,02/06/2017,1,SECRET-BOOL,A\n"
                               "C5,02/06/2017,1,yes,A\n",
                           "data/cases.csv", std::nullopt);
  ASSERT_TRUE(load.accepted) << load.error;
  EXPECT_EQ(keys(*load.table), (std::vector<std::string>{"C1", "C5"}));
  EXPECT_EQ(load.rows_read, 5u);
  EXPECT_EQ(load.rejected, 3u);
  ASSERT_EQ(load.rejected_rows.size(), 3u);
  EXPECT_EQ(load.rejected_rows[0].line, 3u);
  EXPECT_EQ(load.rejected_rows[0].field, "opened");
  EXPECT_EQ(load.rejected_rows[0].column, "Date Opened");
  EXPECT_EQ(formatted(load, "data/cases.csv"),
            (std::vector<std::string>{
                "data/cases.csv:3: row rejected: field 'opened' (column \"Date Opened\"): not a date (expected %d/%m/%Y or YYYY-MM-DD)",
                "data/cases.csv:4: row rejected: field 'hours' (column \"Hours\"): not a number",
                "data/cases.csv:6: row rejected: field 'open' (column \"Open?\"): not a bool (expected true/false, yes/no, y/n, t/f or 1/0)",
            }));
  for (const auto& row : load.rejected_rows) {
    EXPECT_EQ(row.reason.find("SECRET"), std::string::npos) << row.reason;
    EXPECT_EQ(row.format("x").find("SECRET"), std::string::npos);
  }
}

TEST(FeedCsv, MalformedRowRejectedAloneAndTheNextRowsKept) {
  FeedConfig feed = cases_feed();
  feed.max_rejected_ratio = 1;
  FeedLoad load = load_csv(feed,
                           std::string(kHeader) +
                               "C1,02/06/2017,1,yes,A\n"
                               "C2,02/06/2017,1,yes,\"SECRET\"x\n"
                               "C3,02/06/2017,1,yes,A\n",
                           "f.csv", std::nullopt);
  ASSERT_TRUE(load.accepted) << load.error;
  EXPECT_EQ(keys(*load.table), (std::vector<std::string>{"C1", "C3"}));
  ASSERT_EQ(load.rejected_rows.size(), 1u);
  EXPECT_EQ(load.rejected_rows[0].line, 3u);
  EXPECT_EQ(load.rejected_rows[0].field, "");
  EXPECT_EQ(load.rejected_rows[0].format("f.csv"),
            "f.csv:3: row rejected: unexpected text after closing quote in field 5");
}

TEST(FeedCsv, ABadRowNeverCostsAGoodOneNorLeavesPartOfItself) {
  // The bad cell is the last field: the good cells before it must not leak into the table.
  FeedConfig feed = make_feed({{"id", "id", Type::String},
                               {"team", "team", Type::String},
                               {"n", "n", Type::Number},
                               {"d", "d", Type::Date}});
  feed.max_rejected_ratio = 1;
  FeedLoad load = load_csv(feed,
                           "id,team,n,d\n"
                           "A,Alpha,1,02/06/2017\n"
                           "B,Bravo,2,notadate\n"
                           "C,Charlie,3,03/06/2017\n",
                           "f.csv", std::nullopt);
  ASSERT_TRUE(load.accepted);
  const Table& t = *load.table;
  ASSERT_EQ(t.rows(), 2u);
  EXPECT_EQ(keys(t), (std::vector<std::string>{"A", "C"}));
  EXPECT_EQ(text_of(t, 1, 1), "Charlie");
  EXPECT_DOUBLE_EQ(t.value(1, 2).number, 3);
  EXPECT_EQ(t.value(1, 3).day, day(2017, 6, 3));
  EXPECT_EQ(t.column(2).numbers.size(), 2u);
  EXPECT_EQ(t.column(3).days.size(), 2u);
}

TEST(FeedCsv, SecondRowWithAKeyAlreadySeenIsRejected) {
  FeedConfig feed = cases_feed();
  feed.max_rejected_ratio = 1;
  FeedLoad load = load_csv(feed,
                           std::string(kHeader) +
                               "C1,02/06/2017,1,yes,First\n"
                               "C2,02/06/2017,1,yes,A\n"
                               " C1 ,03/06/2017,2,no,Second\n",
                           "f.csv", std::nullopt);
  ASSERT_TRUE(load.accepted);
  const Table& t = *load.table;
  EXPECT_EQ(keys(t), (std::vector<std::string>{"C1", "C2"}));
  EXPECT_EQ(text_of(t, 0, 4), "First");
  EXPECT_EQ(t.value(0, 1).day, day(2017, 6, 2));
  EXPECT_EQ(formatted(load, "f.csv"),
            (std::vector<std::string>{"f.csv:4: row rejected: field 'case_id' (column \"Case ID\"): duplicate key"}));
}

// Date cells of ten characters are remembered by their bytes: every day of twenty years (cells
// that share their first eight characters by the score), then the same again with bad cells
// among them, each read as itself.
TEST(FeedCsv, RepeatedDateCellsReadEachAsItself) {
  FeedConfig feed = cases_feed();
  feed.max_rejected_ratio = 1;
  std::string csv = kHeader;
  std::vector<Day> expected;
  const Day first = day(2000, 1, 1), last = day(2019, 12, 31);
  size_t rows = 0;
  for (int pass = 0; pass < 2; ++pass)
    for (Day d = first; d <= last; ++d) {
      const CivilDate c = civil_from_days(d);
      char cell[16];
      std::snprintf(cell, sizeof cell, "%02u/%02u/%04d", c.day, c.month, c.year);
      csv += "C" + std::to_string(rows++) + "," + cell + ",1,yes,A\n";
      expected.push_back(d);
      if (pass == 1 && d % 97 == 0) csv += "B" + std::to_string(rows++) + ",31/02/" + std::to_string(c.year) + ",1,yes,A\n";
    }
  FeedLoad load = load_csv(feed, csv, "cases.csv", std::nullopt);
  ASSERT_TRUE(load.accepted) << load.error;
  ASSERT_EQ(load.table->rows(), expected.size());
  for (size_t row = 0; row < expected.size(); ++row) ASSERT_EQ(load.table->value(row, 1).day, expected[row]) << row;
  EXPECT_GT(load.rejected, 0u);
}

// eval keeps only the columns its rules read: the others are still checked, so exactly the same
// rows are rejected (a bad date in a column no rule reads still rejects its row), duplicates are
// still found, and the kept columns hold the same values as in a load that keeps every column.
TEST(FeedCsv, StoringOnlySomeFieldsRejectsTheSameRowsAndKeepsTheirValues) {
  FeedConfig feed = cases_feed();
  feed.max_rejected_ratio = 1;
  const std::string csv = std::string(kHeader) +
                          "C1,02/06/2017,7.5,yes,Assessment\n"
                          "C2,31/02/2017,1,no,Assessment\n"  // a bad date, in a column not kept
                          "C3,03/06/2017,x,no,Duty\n"         // a bad number, in a column not kept
                          "C4,04/06/2017,2,maybe,Duty\n"      // a bad bool, in the column kept
                          "C1,05/06/2017,3,no,Duty\n"         // a duplicate key
                          "C5,,,,Duty\n";
  FeedLoad whole = load_csv(feed, csv, "cases.csv", std::nullopt);
  feed.stored_fields = {false, false, false, true, false};  // the key is kept all the same
  FeedLoad some = load_csv(feed, csv, "cases.csv", std::nullopt);
  ASSERT_TRUE(whole.accepted && some.accepted) << whole.error << some.error;
  EXPECT_EQ(formatted(some), formatted(whole));
  EXPECT_EQ(formatted(some).size(), 4u);
  const Table& t = *some.table;
  EXPECT_EQ(keys(t), keys(*whole.table));
  EXPECT_EQ(keys(t), (std::vector<std::string>{"C1", "C5"}));
  for (size_t row = 0; row < t.rows(); ++row) {
    EXPECT_EQ(t.value(row, 3).type, whole.table->value(row, 3).type) << row;
    EXPECT_EQ(t.value(row, 3).boolean, whole.table->value(row, 3).boolean) << row;
  }
  EXPECT_TRUE(t.value(0, 3).boolean);
  EXPECT_TRUE(t.value(1, 3).is_null());
  for (size_t f : {1, 2, 4}) {
    EXPECT_FALSE(t.column(f).stored) << f;
    EXPECT_TRUE(t.column(f).days.empty() && t.column(f).numbers.empty() && t.column(f).codes.empty()) << f;
  }
  EXPECT_TRUE(t.column(0).stored && t.column(3).stored);
  EXPECT_TRUE(whole.table->column(4).stored);
}

// Duplicate keys are found after the last row, over the keys in parts by hash: checked here against
// the rule as written (a row whose key an accepted row before it has is rejected), row by row with
// a std::set, on extracts big enough to have many parts, where bad rows, duplicates and rows
// repeating a rejected row's key are mixed, and past the hundred rejections that are reported.
TEST(FeedCsv, DuplicateKeysAgreeWithARowByRowCheck) {
  FeedConfig feed = cases_feed();
  feed.max_rejected_ratio = 1;
  std::mt19937 random(20261203);
  for (int scenario = 0; scenario < 6; ++scenario) {
    const size_t rows = scenario == 0 ? 5 : 3000u << scenario;  // up to 96,000: 32 parts
    const size_t distinct = rows * (scenario % 2 ? 1 : 3) / 4;  // few or many repeats
    std::string csv = kHeader;
    std::set<std::string> seen;
    std::vector<std::string> expected_keys, expected_rejected;
    for (size_t row = 0; row < rows; ++row) {
      const std::string key = "C" + std::to_string(random() % distinct);
      const bool bad_date = random() % 16 == 0;
      csv += key + (bad_date ? ",31/02/2017" : ",02/06/2017") + ",1,yes,Team\n";
      const std::string line = "cases.csv:" + std::to_string(row + 2) + ": row rejected: field ";
      if (bad_date) {
        expected_rejected.push_back(line + "'opened' (column \"Date Opened\"): not a date (expected %d/%m/%Y or YYYY-MM-DD)");
      } else if (!seen.insert(key).second) {
        expected_rejected.push_back(line + "'case_id' (column \"Case ID\"): duplicate key");
      } else {
        expected_keys.push_back(key);
      }
    }
    FeedLoad load = load_csv(feed, csv, "cases.csv", std::nullopt);
    ASSERT_TRUE(load.accepted) << load.error;
    EXPECT_EQ(keys(*load.table), expected_keys) << "scenario " << scenario;
    EXPECT_EQ(load.rejected, expected_rejected.size());
    if (expected_rejected.size() > kMaxRejectedReported) expected_rejected.resize(kMaxRejectedReported);
    EXPECT_EQ(formatted(load), expected_rejected) << "scenario " << scenario;
    for (size_t r = 0; r < load.table->rows(); ++r) ASSERT_EQ(text_of(*load.table, r, 4), "Team");
  }
}

TEST(FeedCsv, EmptyKeyIsRejected) {
  FeedConfig feed = cases_feed();
  feed.max_rejected_ratio = 1;
  FeedLoad load = load_csv(feed,
                           std::string(kHeader) +
                               ",02/06/2017,1,yes,A\n"
                               "   ,02/06/2017,1,yes,A\n"
                               "C1,02/06/2017,1,yes,A\n",
                           "f.csv", std::nullopt);
  ASSERT_TRUE(load.accepted);
  EXPECT_EQ(keys(*load.table), (std::vector<std::string>{"C1"}));
  EXPECT_EQ(formatted(load, "f.csv"),
            (std::vector<std::string>{"f.csv:2: row rejected: field 'case_id' (column \"Case ID\"): empty key",
                                      "f.csv:3: row rejected: field 'case_id' (column \"Case ID\"): empty key"}));
}

TEST(FeedCsv, MissingDeclaredColumnFailsTheWholeLoad) {
  FeedConfig feed = cases_feed();
  FeedLoad load = load_csv(feed, "Case ID, Hours ,Open?,Team,Extra\nC1,1,yes,A,x\n", "f.csv", std::nullopt);
  EXPECT_FALSE(load.accepted);
  EXPECT_FALSE(load.table);
  EXPECT_EQ(load.error,
            "missing column \"Date Opened\"; the header row has 5 columns, beginning \"Case ID\", \"Hours\", \"Open?\", "
            "\"Team\", \"Extra\"");
}

TEST(FeedCsv, SeveralMissingColumnsAreAllNamed) {
  FeedConfig feed = cases_feed();
  FeedLoad load = load_csv(feed, "\xEF\xBB\xBF" "Case ID,Team\r\nC1,A\r\n", "f.csv", std::nullopt);
  EXPECT_FALSE(load.accepted);
  EXPECT_EQ(load.error,
            "missing columns \"Date Opened\", \"Hours\", \"Open?\"; the header row has 2 columns, beginning \"Case ID\", "
            "\"Team\"");
}

// An extract without its header row: the first row is a child's record, and not one of its
// cells may reach the log, /api/v1/feeds or the feed_unhealthy notification.
TEST(FeedCsv, AMissingHeaderRowNeverQuotesTheDataRow) {
  FeedConfig feed = cases_feed();
  FeedLoad load = load_csv(feed, "C1,02/06/2017,1,yes,Jayden Smith\nC2,03/06/2017,2,no,Amelia Jones\n", "f.csv",
                           std::nullopt);
  EXPECT_FALSE(load.accepted);
  EXPECT_EQ(load.error,
            "the first row has none of the declared columns (it has 5 columns): is the header row missing? Expected "
            "\"Case ID\", \"Date Opened\", \"Hours\", \"Open?\", \"Team\"");
}

// A header row with a data row's cells in it, or one enormous line: at most 80 bytes of
// heading-like cells are shown, and never a number or a date.
TEST(FeedCsv, HeadingsShownAreBoundedAndNeverValues) {
  FeedConfig feed = cases_feed();
  FeedLoad load = load_csv(feed, "Case ID,Team,02/06/2017,42,Notes\n", "f.csv", std::nullopt);
  EXPECT_EQ(load.error,
            "missing columns \"Date Opened\", \"Hours\", \"Open?\"; the header row has 5 columns, beginning \"Case ID\", "
            "\"Team\", \"Notes\"");
  std::string huge = "Case ID," + std::string(10 << 20, 'x') + "\n";
  load = load_csv(feed, huge, "f.csv", std::nullopt);
  EXPECT_FALSE(load.accepted);
  EXPECT_LT(load.error.size(), 300u);
  EXPECT_EQ(load.error.find("xxxx"), std::string::npos);
  std::string many = "Case ID";
  for (int i = 0; i < 50; ++i) many += ",Heading number " + std::to_string(i);
  load = load_csv(feed, many + "\n", "f.csv", std::nullopt);
  EXPECT_LT(load.error.size(), 300u) << load.error;
  EXPECT_NE(load.error.find(", ..."), std::string::npos) << load.error;
}

// An extract cut off while it was written: the last row has no line end and fewer cells than
// the header. It is refused whole, so that the records it lost cannot resolve their alerts.
TEST(FeedCsv, AnExtractCutShortIsRefusedAsTruncated) {
  FeedConfig feed = cases_feed();
  std::string full = std::string(kHeader) + "C1,02/06/2017,1,yes,A\nC2,03/06/2017,2,no,B\n";
  FeedLoad load = load_csv(feed, full.substr(0, full.size() - 8), "f.csv", std::nullopt);
  EXPECT_FALSE(load.accepted);
  EXPECT_EQ(load.error, "the extract looks truncated: its last row (line 3) is cut short and has no line end");
  // Cut inside a quoted cell.
  load = load_csv(feed, std::string(kHeader) + "C1,02/06/2017,1,yes,A\nC2,03/06/2017,2,no,\"Assess", "f.csv",
                  std::nullopt);
  EXPECT_FALSE(load.accepted);
  // A complete last row without a line end is an ordinary extract.
  load = load_csv(feed, full.substr(0, full.size() - 1), "f.csv", std::nullopt);
  EXPECT_TRUE(load.accepted) << load.error;
  EXPECT_EQ(load.table->rows(), 2u);
}

// A row with fewer cells than the header is malformed (its missing cells are not nulls: a
// missing start date would silently drop the deadline).
TEST(FeedCsv, AShortRowIsRejectedAlone) {
  FeedConfig feed = cases_feed();
  feed.max_rejected_ratio = 1;
  FeedLoad load =
      load_csv(feed, std::string(kHeader) + "C1,02/06/2017,1,yes,A\nC2,03/06/2017\nC3,03/06/2017,2,no,B\n", "f.csv",
               std::nullopt);
  ASSERT_TRUE(load.accepted) << load.error;
  EXPECT_EQ(keys(*load.table), (std::vector<std::string>{"C1", "C3"}));
  EXPECT_EQ(formatted(load, "f.csv"),
            (std::vector<std::string>{"f.csv:3: row rejected: the row has 2 of the header's 5 columns"}));
}

// An unquoted comma ("1,200") shifts every cell after it: a row with more cells than headings is
// rejected alone, unless the extra cells are empty (trailing separators).
TEST(FeedCsv, ARowWithMoreCellsThanHeadingsIsRejectedUnlessTheyAreEmpty) {
  FeedConfig feed = cases_feed();
  feed.max_rejected_ratio = 1;
  FeedLoad load = load_csv(feed, std::string(kHeader) + "C1,02/06/2017,1,200,yes,A\nC2,03/06/2017,2,no,B,,\nC3,03/06/2017,3,no,B, \n",
                           "f.csv", std::nullopt);
  ASSERT_TRUE(load.accepted) << load.error;
  EXPECT_EQ(keys(*load.table), (std::vector<std::string>{"C2", "C3"}));
  EXPECT_EQ(formatted(load, "f.csv"),
            (std::vector<std::string>{"f.csv:2: row rejected: the row has 6 cells, more than the header's 5 columns"}));
}

// Two headings that both match a declared column: whichever were read, the other's values would
// be lost unseen.
TEST(FeedCsv, TwoHeadingsForOneColumnFailTheLoad) {
  FeedConfig feed = cases_feed();
  const std::string header(kHeader);
  const std::string first = header.substr(0, header.find(','));
  FeedLoad load = load_csv(feed, header.substr(0, header.size() - 1) + ", " + first + "\nC1,02/06/2017,1,yes,A,X\n", "f.csv",
                           std::nullopt);
  EXPECT_FALSE(load.accepted);
  EXPECT_EQ(load.error, "column \"" + feed.fields[0].column + "\" matches two headings (columns 1 and 6): which one is meant is unclear");
}

// Placeholders for "not known" (01/01/1900, 0000-01-01) and dates past 2099 are bad cells: a
// placeholder in a `done` column must not close an overdue deadline.
TEST(FeedCsv, DatesOutsideValidDatesAreBadCells) {
  FeedConfig feed = cases_feed();
  feed.max_rejected_ratio = 1;
  FeedLoad load = load_csv(feed,
                           std::string(kHeader) +
                               "C1,01/01/1900,1,yes,A\n"
                               "C2,0000-01-01,1,yes,A\n"
                               "C3,01/01/2100,1,yes,A\n"
                               "C4,01/01/1901,1,yes,A\n"
                               "C5,31/12/2099,1,yes,A\n",
                           "f.csv", std::nullopt);
  ASSERT_TRUE(load.accepted) << load.error;
  EXPECT_EQ(keys(*load.table), (std::vector<std::string>{"C4", "C5"}));
  ASSERT_EQ(load.rejected_rows.size(), 3u);
  EXPECT_EQ(load.rejected_rows[0].format("f.csv"),
            "f.csv:2: row rejected: field 'opened' (column \"Date Opened\"): date outside engine.valid_dates "
            "(1901-01-01 to 2099-12-31)");
  EXPECT_EQ(load.rejected_rows[1].line, 3u);  // year 0000 is not a date at all
  feed.valid_dates = {days_from_civil(2000, 1, 1), days_from_civil(2030, 12, 31)};
  load = load_csv(feed, std::string(kHeader) + "C1,31/12/1999,1,yes,A\nC2,01/01/2000,1,yes,A\n", "f.csv", std::nullopt);
  EXPECT_EQ(keys(*load.table), (std::vector<std::string>{"C2"}));
}

// A key names its alert in logs, the state file and notifications: a NUL or a newline in one
// is a bad cell.
TEST(FeedCsv, KeysWithControlCharactersAreRejected) {
  FeedConfig feed = cases_feed();
  feed.max_rejected_ratio = 1;
  std::string data = std::string(kHeader) + "C1,02/06/2017,1,yes,A\n\"C2\nforged\",02/06/2017,1,yes,A\n" +
                     std::string("C3\0x,02/06/2017,1,yes,A\n", 24) + "C4\t,02/06/2017,1,yes,A\n";
  FeedLoad load = load_csv(feed, data, "f.csv", std::nullopt);
  ASSERT_TRUE(load.accepted) << load.error;
  EXPECT_EQ(keys(*load.table), (std::vector<std::string>{"C1", "C4"}));  // a trailing tab is trimmed
  ASSERT_EQ(load.rejected_rows.size(), 2u);
  EXPECT_EQ(load.rejected_rows[0].reason, "key contains a control character");
}

// Re-reading the same bytes is the same load (its rejected rows are counted once upstream).
TEST(FeedCsv, TheSameBytesHaveTheSameContentHash) {
  FeedConfig feed = cases_feed();
  std::string data = std::string(kHeader) + "C1,02/06/2017,1,yes,A\n";
  EXPECT_EQ(load_csv(feed, data, "f.csv", std::nullopt).content_hash,
            load_csv(feed, data, "f.csv", std::nullopt).content_hash);
  EXPECT_NE(load_csv(feed, data, "f.csv", std::nullopt).content_hash,
            load_csv(feed, data + "C2,02/06/2017,1,yes,A\n", "f.csv", std::nullopt).content_hash);
}

// The hash runs in lanes over 64-byte blocks and then a tail: a change of any one byte, in a block or
// in the tail, and two words changing places between lanes, are each a different content.
TEST(FeedCsv, AnyChangedByteChangesTheContentHash) {
  std::string bytes;
  for (int i = 0; i < 200; ++i) bytes += static_cast<char>('a' + i % 26);
  ContentHash same;
  same.add(bytes);
  std::set<uint64_t> seen{same.value()};
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string changed = bytes;
    changed[i] ^= 1;
    ContentHash hash;
    hash.add(changed);
    EXPECT_TRUE(seen.insert(hash.value()).second) << "byte " << i;
  }
  std::string swapped = bytes;
  std::swap_ranges(swapped.begin(), swapped.begin() + 8, swapped.begin() + 8);
  ContentHash hash;
  hash.add(swapped);
  EXPECT_TRUE(seen.insert(hash.value()).second);
  ContentHash again;
  again.add(bytes);
  EXPECT_EQ(again.value(), same.value());
}

TEST(FeedCsv, EmptyDataHasNoHeader) {
  FeedConfig feed = cases_feed();
  FeedLoad load = load_csv(feed, "", "f.csv", std::nullopt);
  EXPECT_FALSE(load.accepted);
  EXPECT_EQ(load.error, "no header row");
  load = load_csv(feed, "\xEF\xBB\xBF\r\n\n", "f.csv", std::nullopt);
  EXPECT_FALSE(load.accepted);
  EXPECT_EQ(load.error, "no header row");
}

TEST(FeedCsv, HeaderOnlyIsAnEmptySnapshot) {
  FeedConfig feed = cases_feed();
  FeedLoad load = load_csv(feed, kHeader, "f.csv", std::nullopt);
  ASSERT_TRUE(load.accepted) << load.error;
  EXPECT_EQ(load.table->rows(), 0u);
  EXPECT_EQ(load.rows_read, 0u);
}

std::string rows_with_bad(size_t good, size_t bad) {
  std::string csv = "id,n\n";
  for (size_t i = 0; i < good; ++i) csv += "G" + std::to_string(i) + "," + std::to_string(i) + "\n";
  for (size_t i = 0; i < bad; ++i) csv += "B" + std::to_string(i) + ",x\n";
  return csv;
}

TEST(FeedSafety, RejectedRatioAtTheLimitIsAccepted) {
  FeedConfig feed = make_feed({{"id", "id", Type::String}, {"n", "n", Type::Number}});  // 0.05 by default
  FeedLoad load = load_csv(feed, rows_with_bad(19, 1), "f.csv", std::nullopt);
  EXPECT_TRUE(load.accepted) << load.error;
  EXPECT_EQ(load.table->rows(), 19u);
  EXPECT_EQ(load.rejected, 1u);
  EXPECT_EQ(load.rows_read, 20u);
}

TEST(FeedSafety, RejectedRatioOverTheLimitRefusesTheLoad) {
  FeedConfig feed = make_feed({{"id", "id", Type::String}, {"n", "n", Type::Number}});
  FeedLoad load = load_csv(feed, rows_with_bad(18, 2), "f.csv", std::nullopt);
  EXPECT_FALSE(load.accepted);
  EXPECT_FALSE(load.table);
  EXPECT_EQ(load.rejected, 2u);
  EXPECT_EQ(load.rows_read, 20u);
  EXPECT_EQ(load.error, "2 of 20 rows rejected, more than max_rejected_ratio 0.05");
  // The rejected rows are still reported, so the operator can see why.
  EXPECT_EQ(load.rejected_rows.size(), 2u);
}

TEST(FeedSafety, RejectedRatioBoundaryIsExactDespiteFloatingPoint) {
  // 29 of 100 is exactly 0.29; 0.29 * 100 is 28.999999999999996 in doubles.
  FeedConfig feed = make_feed({{"id", "id", Type::String}, {"n", "n", Type::Number}});
  feed.max_rejected_ratio = 0.29;
  FeedLoad load = load_csv(feed, rows_with_bad(71, 29), "f.csv", std::nullopt);
  EXPECT_TRUE(load.accepted) << load.error;
  feed.max_rejected_ratio = 0.57;
  load = load_csv(feed, rows_with_bad(43, 57), "f.csv", std::nullopt);
  EXPECT_TRUE(load.accepted) << load.error;
  load = load_csv(feed, rows_with_bad(42, 58), "f.csv", std::nullopt);
  EXPECT_FALSE(load.accepted);
}

TEST(FeedSafety, ZeroRejectedRatioRefusesAnyBadRow) {
  FeedConfig feed = make_feed({{"id", "id", Type::String}, {"n", "n", Type::Number}});
  feed.max_rejected_ratio = 0;
  EXPECT_TRUE(load_csv(feed, rows_with_bad(5, 0), "f.csv", std::nullopt).accepted);
  FeedLoad load = load_csv(feed, rows_with_bad(1000, 1), "f.csv", std::nullopt);
  EXPECT_FALSE(load.accepted);
  EXPECT_EQ(load.error, "1 of 1001 rows rejected, more than max_rejected_ratio 0");
}

TEST(FeedSafety, ShrinkAgainstTheLastAcceptedCount) {
  FeedConfig feed = make_feed({{"id", "id", Type::String}, {"n", "n", Type::Number}});
  feed.max_shrink_ratio = 0.5;
  EXPECT_TRUE(load_csv(feed, rows_with_bad(50, 0), "f.csv", size_t{100}).accepted);
  EXPECT_TRUE(load_csv(feed, rows_with_bad(500, 0), "f.csv", size_t{100}).accepted);
  EXPECT_TRUE(load_csv(feed, rows_with_bad(1, 0), "f.csv", std::nullopt).accepted);  // first load
  FeedLoad load = load_csv(feed, rows_with_bad(49, 0), "f.csv", size_t{100});
  EXPECT_FALSE(load.accepted);
  EXPECT_FALSE(load.table);
  EXPECT_EQ(load.error, "49 records, down from 100: shrank by more than max_shrink_ratio 0.5");
}

// Councils' extracts barely shrink from day to day: by default a tenth fewer records is refused.
TEST(FeedSafety, TheDefaultRefusesAShrinkOfMoreThanATenth) {
  FeedConfig feed = make_feed({{"id", "id", Type::String}, {"n", "n", Type::Number}});
  EXPECT_DOUBLE_EQ(feed.max_shrink_ratio, 0.1);
  EXPECT_TRUE(load_csv(feed, rows_with_bad(90, 0), "f.csv", size_t{100}).accepted);
  FeedLoad load = load_csv(feed, rows_with_bad(89, 0), "f.csv", size_t{100});
  EXPECT_FALSE(load.accepted);
  EXPECT_EQ(load.error, "89 records, down from 100: shrank by more than max_shrink_ratio 0.1");
  // An extract cut to 60% of its records, as a truncated file in date order would be.
  EXPECT_FALSE(load_csv(feed, rows_with_bad(60, 0), "f.csv", size_t{100}).accepted);
}

TEST(FeedSafety, ShrinkCountsAcceptedRecordsNotRowsRead) {
  FeedConfig feed = make_feed({{"id", "id", Type::String}, {"n", "n", Type::Number}});
  feed.max_shrink_ratio = 0.5;
  feed.max_rejected_ratio = 1;
  FeedLoad load = load_csv(feed, rows_with_bad(40, 20), "f.csv", size_t{100});
  EXPECT_FALSE(load.accepted);
  EXPECT_EQ(load.error, "40 records, down from 100: shrank by more than max_shrink_ratio 0.5");
}

TEST(FeedSafety, EmptyExtractAfterAFullOneIsRefused) {
  FeedConfig feed = make_feed({{"id", "id", Type::String}, {"n", "n", Type::Number}});
  FeedLoad load = load_csv(feed, "id,n\n", "f.csv", size_t{10});
  EXPECT_FALSE(load.accepted);
  EXPECT_EQ(load.error, "0 records, down from 10: shrank by more than max_shrink_ratio 0.1");
  // Nothing accepted before, nothing to shrink from.
  EXPECT_TRUE(load_csv(feed, "id,n\n", "f.csv", size_t{0}).accepted);
}

TEST(FeedSafety, ShrinkBoundaryIsExactDespiteFloatingPoint) {
  // 59 of 100 is exactly 41% fewer; (1 - 0.41) * 100 is 59.00000000000001 in doubles.
  FeedConfig feed = make_feed({{"id", "id", Type::String}, {"n", "n", Type::Number}});
  feed.max_shrink_ratio = 0.41;
  FeedLoad load = load_csv(feed, rows_with_bad(59, 0), "f.csv", size_t{100});
  EXPECT_TRUE(load.accepted) << load.error;
  EXPECT_FALSE(load_csv(feed, rows_with_bad(58, 0), "f.csv", size_t{100}).accepted);
  feed.max_shrink_ratio = 0;
  EXPECT_TRUE(load_csv(feed, rows_with_bad(100, 0), "f.csv", size_t{100}).accepted);
  EXPECT_FALSE(load_csv(feed, rows_with_bad(99, 0), "f.csv", size_t{100}).accepted);
}

TEST(FeedSafety, OnlyTheFirstHundredRejectedRowsAreKeptButAllAreCounted) {
  FeedConfig feed = make_feed({{"id", "id", Type::String}, {"n", "n", Type::Number}});
  feed.max_rejected_ratio = 1;
  FeedLoad load = load_csv(feed, rows_with_bad(10, 150), "f.csv", std::nullopt);
  EXPECT_TRUE(load.accepted);
  EXPECT_EQ(load.rejected, 150u);
  EXPECT_EQ(load.rejected_rows.size(), kMaxRejectedReported);
  EXPECT_EQ(load.rejected_rows.front().line, 12u);
}

class FeedFile : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("casewatch_feed_test_" + std::to_string(::getpid()) + "_" +
            testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(FeedFile, LoadsTheCsvFile) {
  FeedConfig feed = cases_feed();
  feed.path = write("cases.csv", std::string(kHeader) + "C1,02/06/2017,1,yes,A\nC2,bad,1,yes,A\n");
  feed.max_rejected_ratio = 0.5;
  FeedLoad load = load_feed(feed, std::nullopt, LoadControl());
  ASSERT_TRUE(load.accepted) << load.error;
  EXPECT_EQ(load.table->rows(), 1u);
  EXPECT_EQ(load.rejected, 1u);
}

// An extract bigger than the piece the loader reads at a time, with quoted newlines, doubled
// quotes and bad rows throughout, loads exactly as the same bytes parsed whole.
TEST_F(FeedFile, AFileReadInPiecesLoadsAsTheSameBytesParsedWhole) {
  FeedConfig feed = make_feed({{"case_id", "Case ID", Type::String}, {"note", "Note", Type::String},
                               {"referral", "Referral", Type::Date}});
  feed.max_rejected_ratio = 0.5;
  std::string text = "Case ID,Note,Referral\r\n";
  for (int i = 0; text.size() < 3 * (1 << 20); ++i) {
    std::string id = "C" + std::to_string(i);
    switch (i % 5) {
      case 0: text += id + ",\"two\nlines, \"\"quoted\"\"\",02/06/2017\r\n"; break;
      case 1: text += id + ",plain,not a date\r\n"; break;
      case 2: text += id + ",\"\"\"\",2017-06-03\n"; break;
      case 3: text += id + ",\"closed\"then text,01/01/2017\n"; break;
      default: text += "\n" + id + ",,\r\n"; break;
    }
  }
  feed.path = write("big.csv", text);
  FeedLoad from_file = load_feed(feed, std::nullopt, LoadControl());
  FeedLoad whole = load_csv(feed, text, feed.path, std::nullopt);
  ASSERT_TRUE(from_file.accepted) << from_file.error;
  ASSERT_TRUE(whole.accepted) << whole.error;
  EXPECT_EQ(from_file.rows_read, whole.rows_read);
  EXPECT_EQ(from_file.rejected, whole.rejected);
  ASSERT_EQ(from_file.rejected_rows.size(), whole.rejected_rows.size());
  for (size_t i = 0; i < whole.rejected_rows.size(); ++i)
    EXPECT_EQ(from_file.rejected_rows[i].format(""), whole.rejected_rows[i].format(""));
  ASSERT_EQ(from_file.table->rows(), whole.table->rows());
  for (size_t row = 0; row < whole.table->rows(); ++row)
    for (size_t field = 0; field < 3; ++field)
      ASSERT_EQ(value_to_text(from_file.table->value(row, field)), value_to_text(whole.table->value(row, field)))
          << "row " << row << " field " << field;
}

TEST_F(FeedFile, MissingFileIsAnErrorNamingIt) {
  FeedConfig feed = cases_feed();
  feed.path = (dir_ / "nope.csv").string();
  FeedLoad load = load_feed(feed, size_t{10}, LoadControl());
  EXPECT_FALSE(load.accepted);
  EXPECT_FALSE(load.table);
  EXPECT_EQ(load.error, feed.path + ": No such file or directory");
}

TEST_F(FeedFile, ADirectoryIsNotAFeed) {
  FeedConfig feed = cases_feed();
  feed.path = dir_.string();
  FeedLoad load = load_feed(feed, std::nullopt, LoadControl());
  EXPECT_FALSE(load.accepted);
  EXPECT_NE(load.error.find(feed.path), std::string::npos) << load.error;
}

TEST(FeedLoad, AnUnreachableSourceIsAnErrorNamingTheFeed) {
  FeedConfig feed = cases_feed();
  feed.type = FeedType::JsonHttp;
  feed.url = "http://127.0.0.1:1/cases";
  FeedLoad load = load_feed(feed, std::nullopt, LoadControl());
  EXPECT_FALSE(load.accepted);
  EXPECT_EQ(load.error.rfind("json_http feed 'cases': page 1: ", 0), 0u) << load.error;
  feed.type = FeedType::Postgres;
  feed.dsn_file = "/nonexistent/dsn";
  load = load_feed(feed, std::nullopt, LoadControl());
  EXPECT_EQ(load.error, "postgres feed 'cases': /nonexistent/dsn: cannot read the dsn_file");
}

}  // namespace
}  // namespace casewatch
