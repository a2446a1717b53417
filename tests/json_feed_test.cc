// json_http's records (issue 11): the array a JSON pointer names, fields by dotted paths, every
// kind of value, the records that are rejected and the documents that fail; and RFC 8288 links.
#include <gtest/gtest.h>

#include <sstream>

#include "integrations/feed_source.h"
#include "tests/feed_fixture.h"

namespace casewatch {
namespace {

FeedConfig people_feed(std::string records = "/data/items") {
  FeedConfig feed = test_feed("leavers", FeedType::JsonHttp,
                              {{"id", "id", Type::String},
                               {"child", "child.id", Type::String},
                               {"born", "child.dob", Type::Date},
                               {"hours", "hours", Type::Number},
                               {"neet", "status.neet", Type::Bool}});
  feed.records = std::move(records);
  feed.max_rejected_ratio = 1;
  return feed;
}

struct Parsed {
  FeedLoad load;
  std::string problem;
};

Parsed parse(const FeedConfig& feed, const std::string& text, std::optional<size_t> limit = std::nullopt) {
  Parsed out;
  FeedRows rows(feed, out.load);
  std::istringstream in(text);
  size_t number = 0;
  out.problem = read_json_records(in, feed, rows, number, limit);
  if (out.problem.empty() || out.problem == "at limit") rows.finish(std::nullopt);
  return out;
}

TEST(JsonRecords, FieldsByDottedPathsFromTheArrayThePointerNames) {
  FeedConfig feed = people_feed();
  Parsed p = parse(feed, R"({"meta": {"items": [1, 2]}, "data": {"count": 3, "items": [
      {"id": "L1", "child": {"id": "C1", "dob": "2007-06-14", "name": "not declared"}, "hours": 12.50,
       "status": {"neet": true}},
      {"id": "L2", "child": {"id": "C2", "dob": null}, "hours": 0, "status": {"neet": false}, "extra": [1, {"a": 2}]},
      {"hours": 3, "id": "L3", "status": {}, "child": {}}
    ]}})");
  ASSERT_EQ(p.problem, "");
  ASSERT_TRUE(p.load.accepted) << p.load.error;
  const Table& t = *p.load.table;
  ASSERT_EQ(t.rows(), 3u);
  EXPECT_EQ(t.key(0), "L1");
  EXPECT_EQ(t.value(0, 1).text, "C1");
  EXPECT_EQ(t.value(0, 2).day, days_from_civil(2007, 6, 14));
  EXPECT_EQ(t.value(0, 3).number, 12.5);
  EXPECT_TRUE(t.value(0, 4).boolean);
  EXPECT_TRUE(t.value(1, 2).is_null());  // JSON null is null
  EXPECT_FALSE(t.value(1, 4).boolean);
  EXPECT_TRUE(t.value(2, 1).is_null());  // an absent member is null too
}

TEST(JsonRecords, BadRecordsAreRejectedAloneWithTheirNumber) {
  FeedConfig feed = people_feed("");
  Parsed p = parse(feed, R"([
      {"id": "L1", "hours": 1},
      7,
      [1, 2],
      {"id": "L4", "hours": "lots"},
      {"id": "L5", "child": {"id": {"nested": "object"}}},
      {"id": "L1", "hours": 2},
      {"id": "L7", "child": {"dob": "1900-01-01"}}
    ])");
  ASSERT_EQ(p.problem, "");
  ASSERT_TRUE(p.load.accepted);
  EXPECT_EQ(p.load.table->rows(), 1u);
  std::vector<std::string> reasons;
  for (const auto& row : p.load.rejected_rows) reasons.push_back(row.format("leavers"));
  EXPECT_EQ(reasons, (std::vector<std::string>{
      "leavers:2: row rejected: the record is not a JSON object",
      "leavers:3: row rejected: the record is not a JSON object",
      "leavers:4: row rejected: field 'hours' (column \"hours\"): not a number",
      "leavers:5: row rejected: field 'child' (column \"child.id\"): not a single value (an object or an array)",
      "leavers:6: row rejected: field 'id' (column \"id\"): duplicate key",
      "leavers:7: row rejected: field 'born' (column \"child.dob\"): date outside engine.valid_dates (1901-01-01 to 2099-12-31)",
  }));
}

TEST(JsonRecords, DocumentsThatFailSayWhyWithoutTheirContent) {
  FeedConfig feed = people_feed();
  EXPECT_EQ(parse(feed, R"({"data": {"items": {"id": "L1"}}})").problem, "'/data/items' is not an array");
  EXPECT_EQ(parse(feed, R"({"data": {"items": "Jayden"}})").problem, "'/data/items' is not an array");
  EXPECT_EQ(parse(feed, R"({"data": {"other": []}})").problem, "no records at '/data/items'");
  EXPECT_EQ(parse(feed, R"({"data": {"items": [{"id": "L1"}, )").problem.rfind("invalid JSON at byte ", 0), 0u);
  EXPECT_EQ(parse(people_feed(""), R"({"id": "L1"})").problem, "'the top level' is not an array");
  // A pointer into an array, and escaped tokens.
  FeedConfig nested = people_feed("/pages/1/a~1b");
  Parsed p = parse(nested, R"({"pages": [{"a/b": [{"id": "X"}]}, {"a/b": [{"id": "L1"}, {"id": "L2"}]}]})");
  ASSERT_EQ(p.problem, "");
  EXPECT_EQ(p.load.table->rows(), 2u);
}

TEST(JsonRecords, AProbeStopsAtItsLimit) {
  FeedConfig feed = people_feed("");
  Parsed p = parse(feed, R"([{"id": "L1"}, {"id": "L2"}, {"id": "L3"}, {"id": "L4"}])", 2);
  EXPECT_EQ(p.problem, "at limit");
  EXPECT_EQ(p.load.table->rows(), 2u);
}

TEST(JsonRecords, NextPageLinks) {
  EXPECT_EQ(next_page_target({R"( <https://api.example.gov.uk/v1/leavers?page=2>; rel="next", <https://x/1>; rel="prev")"}),
            "https://api.example.gov.uk/v1/leavers?page=2");
  EXPECT_EQ(next_page_target({R"( </v1/leavers?page=3>; rel=next)"}), "/v1/leavers?page=3");
  EXPECT_EQ(next_page_target({R"( <leavers?page=4>; title="more"; rel="last next")"}), "leavers?page=4");
  EXPECT_EQ(next_page_target({R"( <https://x/1>; rel="prev")"}), "");
  EXPECT_EQ(next_page_target({}), "");
}

// RFC 3986 section 5.4's own examples, against its base, and the cases pages use.
TEST(JsonRecords, LinksResolveAsRfc3986Says) {
  const std::string base = "http://a/b/c/d;p?q";
  for (auto [reference, expected] : std::vector<std::pair<std::string, std::string>>{
           {"g", "http://a/b/c/g"},          {"./g", "http://a/b/c/g"},        {"g/", "http://a/b/c/g/"},
           {"/g", "http://a/g"},             {"?y", "http://a/b/c/d;p?y"},     {"g?y", "http://a/b/c/g?y"},
           {"..", "http://a/b/"},            {"../g", "http://a/b/g"},         {"../..", "http://a/"},
           {"../../g", "http://a/g"},        {"../../../g", "http://a/g"},     {"g;x?y", "http://a/b/c/g;x?y"},
           {"http://x/y", "http://x/y"}})
    EXPECT_EQ(resolve_url(base, reference), expected) << reference;
  EXPECT_EQ(resolve_url("https://api.example.gov.uk/f/x?page=1", "?page=2"), "https://api.example.gov.uk/f/x?page=2");
  EXPECT_EQ(resolve_url("https://api.example.gov.uk/v1/leavers?page=1", "leavers?page=4"),
            "https://api.example.gov.uk/v1/leavers?page=4");
  EXPECT_EQ(resolve_url("https://api.example.gov.uk/v1/leavers", "//other.example/x"), "https://other.example/x");
}

}  // namespace
}  // namespace casewatch
