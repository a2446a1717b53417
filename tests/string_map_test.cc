#include "rules/string_map.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <random>

namespace casewatch {
namespace {

std::map<std::string, std::string> as_std_map(const StringMap& m) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : m) EXPECT_TRUE(out.emplace(k, v).second) << "key twice: " << k;
  return out;
}

TEST(StringMap, KeepsEntriesSortedByKeyAndTheLastOfEqualKeys) {
  StringMap m{{"team", "A"}, {"alertname", "x"}, {"team", "B"}, {"", "empty key"}};
  std::vector<std::pair<std::string, std::string>> seen;
  for (const auto& [k, v] : m) seen.emplace_back(k, v);
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, std::string>>{{"", "empty key"}, {"alertname", "x"}, {"team", "B"}}));
  EXPECT_EQ(m.size(), 3u);
  EXPECT_EQ(m.value_or_empty("team"), "B");
  EXPECT_EQ(m.value_or_empty("worker"), "");
  EXPECT_FALSE(m.contains("worker"));
  EXPECT_EQ(m.find("alertname")->second, "x");
}

TEST(StringMap, HoldsLongAndBinaryValues) {
  const std::string long_value(70000, 'z');  // lengths past one and two LEB128 bytes
  const std::string binary("a\0b\x80\xff", 5);
  StringMap m{{"summary", long_value}, {binary, binary}};
  EXPECT_EQ(m.value_or_empty("summary"), long_value);
  EXPECT_EQ(m.value_or_empty(binary), binary);
  m.set("summary", "short");
  EXPECT_EQ(m.value_or_empty("summary"), "short");
  EXPECT_EQ(m.size(), 2u);
}

// Copies share one buffer: a change to one of them must leave the others as they were, including
// when the new value is read from the map being changed.
TEST(StringMap, ACopyChangedLeavesTheOriginal) {
  const StringMap original{{"team", "Assessment"}, {"worker", "Clark, Kwame"}};
  StringMap copy = original;
  copy.set("team", copy.at("worker"));
  copy.set("severity", "critical");
  EXPECT_TRUE(copy.erase("worker"));
  EXPECT_EQ(as_std_map(original), (std::map<std::string, std::string>{{"team", "Assessment"}, {"worker", "Clark, Kwame"}}));
  EXPECT_EQ(as_std_map(copy), (std::map<std::string, std::string>{{"severity", "critical"}, {"team", "Clark, Kwame"}}));
  StringMap emptied = original;
  EXPECT_TRUE(emptied.erase("team"));
  EXPECT_TRUE(emptied.erase("worker"));
  EXPECT_TRUE(emptied.empty());
  EXPECT_EQ(emptied, StringMap());
  EXPECT_EQ(original.size(), 2u);
}

TEST(StringMap, EqualMapsWhateverTheOrderOfBuilding) {
  StringMap a{{"b", "2"}, {"a", "1"}};
  StringMap b;
  b.set("a", "1");
  b.set("b", "2");
  StringMap c(std::vector<std::pair<std::string, std::string>>{{"a", "0"}, {"b", "2"}, {"a", "1"}});
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, c);
  b.set("b", "3");
  EXPECT_FALSE(a == b);
}

// The labels of a match are written from entries in order: the bytes are those of any other way
// of building the same map, so that equality and fingerprints do not depend on the way.
TEST(StringMap, FromSortedEntriesIsTheSameMap) {
  const std::string long_value(300, 'v');
  const StringMap::value_type entries[] = {{"", "e"}, {"alertname", "x"}, {"due", long_value}, {"key", ""}};
  const StringMap built = StringMap::from_sorted(entries);
  EXPECT_EQ(built, (StringMap{{"key", ""}, {"due", long_value}, {"alertname", "x"}, {"", "e"}}));
  EXPECT_EQ(as_std_map(built).size(), 4u);
  EXPECT_EQ(built.value_or_empty("due"), long_value);
  EXPECT_EQ(StringMap::from_sorted({}), StringMap());
  EXPECT_TRUE(StringMap::from_sorted({}).empty());
}

TEST(StringMap, ReadsAndWritesJsonObjects) {
  StringMap m{{"team", "Assessment"}, {"alertname", "late"}};
  nlohmann::json j = m;
  EXPECT_EQ(j.dump(), R"({"alertname":"late","team":"Assessment"})");
  EXPECT_EQ(j.get<StringMap>(), m);
  EXPECT_THROW(nlohmann::json::parse(R"({"a":1})").get<StringMap>(), nlohmann::json::exception);
}

// The slow twin: random sets, erases and lookups against std::map, which the old alert type used.
TEST(StringMap, AgreesWithStdMapOverRandomEdits) {
  std::mt19937 random(20261202);
  const std::vector<std::string> keys = {"", "a", "aa", "ab", "b", "team", "worker", "alertname", std::string(200, 'k')};
  auto pick = [&](const std::vector<std::string>& from) { return from[random() % from.size()]; };
  const std::vector<std::string> values = {"", "x", "Assessment", std::string(130, 'v'), std::string("\0nul", 4)};
  for (int scenario = 0; scenario < 500; ++scenario) {
    StringMap fast;
    std::map<std::string, std::string> slow;
    for (int step = 0; step < 30; ++step) {
      const std::string key = pick(keys);
      switch (random() % 4) {
        case 0:
        case 1: {
          const std::string value = pick(values);
          fast.set(key, value);
          slow[key] = value;
          break;
        }
        case 2: EXPECT_EQ(fast.erase(key), slow.erase(key) == 1); break;
        default: {
          auto it = slow.find(key);
          EXPECT_EQ(fast.contains(key), it != slow.end());
          EXPECT_EQ(fast.value_or_empty(key), it == slow.end() ? "" : it->second);
        }
      }
      ASSERT_EQ(as_std_map(fast), slow) << "scenario " << scenario << " step " << step;
      ASSERT_EQ(fast.size(), slow.size());
      std::vector<std::pair<std::string, std::string>> entries(slow.begin(), slow.end());
      std::shuffle(entries.begin(), entries.end(), random);
      ASSERT_EQ(StringMap(entries), fast) << "built at once, in any order";
    }
  }
}

}  // namespace
}  // namespace casewatch
