// The feed-source interface (issue 11): whatever a source reads goes through one pipeline, so a
// fake source gets exactly what CSV, PostgreSQL and JSON get: columns mapped by name, cells
// parsed by type, bad rows rejected alone with their number and field, duplicate keys refused,
// load safety applied, and a source that fails leaves no snapshot.
#include <gtest/gtest.h>

#include "integrations/feed_source.h"
#include "tests/feed_fixture.h"

namespace casewatch {
namespace {

// Rows as a database gives them: named columns in its own order, cells as text.
class FakeSource final : public FeedSource {
 public:
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  std::string error;  // set: the source cannot be read
  std::optional<size_t> limit_seen;

  void read(FeedRows& out, FeedLoad& load, const ReadOptions& options) override {
    const std::optional<size_t> limit = options.limit;
    limit_seen = limit;
    if (!error.empty()) {
      load.error = error;
      return;
    }
    std::vector<std::string_view> names(columns.begin(), columns.end());
    if (!out.map_columns(names, false)) return;
    for (size_t i = 0; i < rows.size() && (!limit || i < *limit); ++i) {
      std::vector<std::string_view> cells(rows[i].begin(), rows[i].end());
      out.add(i + 1, cells);
    }
  }
};

FeedConfig referrals_feed() {
  FeedConfig feed = test_feed("referrals", FeedType::Postgres,
                              {{"id", "Referral ID", Type::String},
                               {"referred", "Date of referral", Type::Date},
                               {"hours", "Hours", Type::Number},
                               {"urgent", "Urgent?", Type::Bool}});
  feed.max_rejected_ratio = 0.5;
  return feed;
}

FakeSource referrals(size_t n) {
  FakeSource source;
  source.columns = {"urgent?", " Hours ", "Extra", "DATE OF REFERRAL", "Referral ID"};  // any order and case
  for (size_t i = 0; i < n; ++i)
    source.rows.push_back({i % 2 ? "t" : "f", std::to_string(i) + ".5", "ignored", "2017-06-0" + std::to_string(1 + i % 9),
                           "R" + std::to_string(i)});
  return source;
}

TEST(FeedSource, ColumnsAreFoundByNameAndCellsParsedByType) {
  const FeedConfig feed = referrals_feed();
  FakeSource source = referrals(4);
  FeedLoad load = load_from(source, feed, std::nullopt, LoadControl());
  ASSERT_TRUE(load.accepted) << load.error;
  ASSERT_EQ(load.table->rows(), 4u);
  EXPECT_EQ(load.rows_read, 4u);
  const Table& t = *load.table;
  EXPECT_EQ(t.key(1), "R1");
  EXPECT_EQ(t.value(1, 1).day, *parse_iso_date("2017-06-02"));
  EXPECT_EQ(t.value(1, 2).number, 1.5);
  EXPECT_TRUE(t.value(1, 3).boolean);
  EXPECT_FALSE(t.value(0, 3).boolean);
  EXPECT_EQ(t.value(0, 3).type, Type::Bool);
}

TEST(FeedSource, BadRowsAreRejectedAloneWithTheirNumberAndField) {
  const FeedConfig feed = referrals_feed();
  FakeSource source = referrals(6);
  source.rows[2][3] = "2017-02-31";   // no such date
  source.rows[4][4] = "R1";           // a key seen before
  FeedLoad load = load_from(source, feed, std::nullopt, LoadControl());
  ASSERT_TRUE(load.accepted) << load.error;
  EXPECT_EQ(load.table->rows(), 4u);
  EXPECT_EQ(load.rejected, 2u);
  ASSERT_EQ(load.rejected_rows.size(), 2u);
  EXPECT_EQ(load.rejected_rows[0].line, 3u);
  EXPECT_EQ(load.rejected_rows[0].field, "referred");
  EXPECT_EQ(load.rejected_rows[0].format(feed_source_name(feed)),
            "postgres feed 'referrals':3: row rejected: field 'referred' (column \"Date of referral\"): not a date (expected YYYY-MM-DD)");
  EXPECT_EQ(load.rejected_rows[1].line, 5u);
  EXPECT_EQ(load.rejected_rows[1].field, "id");
  EXPECT_EQ(load.rejected_rows[1].reason.find("R1"), std::string::npos);  // never the value
}

TEST(FeedSource, AMissingColumnFailsTheLoadNamingIt) {
  const FeedConfig feed = referrals_feed();
  FakeSource source = referrals(3);
  source.columns[1] = "Hours worked";
  FeedLoad load = load_from(source, feed, std::nullopt, LoadControl());
  EXPECT_FALSE(load.accepted);
  EXPECT_FALSE(load.table);
  EXPECT_NE(load.error.find("Hours"), std::string::npos) << load.error;
}

TEST(FeedSource, LoadSafetyAppliesToEverySource) {
  const FeedConfig feed = referrals_feed();
  FakeSource source = referrals(10);
  EXPECT_TRUE(load_from(source, feed, 10, LoadControl()).accepted);
  // Cut to 80% of the last accepted count: refused (max_shrink_ratio 0.1).
  source.rows.resize(8);
  FeedLoad shrunk = load_from(source, feed, 10, LoadControl());
  EXPECT_FALSE(shrunk.accepted);
  EXPECT_FALSE(shrunk.table);
  // Too many bad rows: refused.
  FakeSource bad = referrals(10);
  for (size_t i = 0; i < 6; ++i) bad.rows[i][1] = "lots";
  FeedLoad rejected = load_from(bad, feed, std::nullopt, LoadControl());
  EXPECT_FALSE(rejected.accepted);
  EXPECT_EQ(rejected.rejected, 6u);
}

TEST(FeedSource, ASourceThatFailsLeavesNoSnapshotAndAProbeAsksForItsLimit) {
  const FeedConfig feed = referrals_feed();
  FakeSource source = referrals(5);
  source.error = "postgres feed 'referrals': cannot connect: Connection refused";
  FeedLoad failed = load_from(source, feed, 5, LoadControl());
  EXPECT_FALSE(failed.accepted);
  EXPECT_FALSE(failed.table);
  EXPECT_EQ(failed.error, source.error);
  source.error.clear();
  FeedLoad probe = load_from(source, feed, std::nullopt, LoadControl(), 2);
  EXPECT_EQ(source.limit_seen, std::optional<size_t>(2));
  EXPECT_TRUE(probe.accepted);
  EXPECT_EQ(probe.table->rows(), 2u);
}

}  // namespace
}  // namespace casewatch
