// The alert book (SPEC 6 lifecycle) and the rule that a missing record is not a done one: an
// alert whose record left the feed resolves only after the feed's resolve_missing_after.
#include "notify/alerts.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace casewatch {
namespace {

constexpr int64_t kHour = 3600;
constexpr int64_t kGrace = 26 * kHour;

Rule rule_named(const std::string& name) {
  Rule rule;
  rule.spec.name = name;
  rule.spec.kind = RuleKind::Deadline;
  return rule;
}

Match match(const std::string& key) {
  Match m;
  m.key = key;
  m.severity = Severity::Critical;
  m.labels = {{"alertname", "r"}, {"key", key}, {"severity", "critical"}};
  return m;
}

class AlertBookTest : public testing::Test {
 protected:
  // One evaluation: `matched` are matched, `present` are the keys still in the feed.
  std::vector<AlertChange> evaluate(int64_t now, const std::vector<std::string>& matched,
                                    const std::set<std::string>& present) {
    std::vector<Match> matches;
    for (const auto& key : matched) matches.push_back(match(key));
    std::vector<const Match*> pointers;
    for (const Match& m : matches) pointers.push_back(&m);
    return book_.apply(rule_, pointers, now, [&](std::string_view key) { return present.count(std::string(key)) > 0; },
                       kGrace);
  }
  std::set<std::string> keys() const {
    std::set<std::string> out;
    for (const auto& [fingerprint, alert] : book_.alerts()) out.insert(alert.key);
    return out;
  }
  static size_t count(const std::vector<AlertChange>& changes, AlertChange::Kind kind) {
    size_t n = 0;
    for (const auto& c : changes) n += c.kind == kind;
    return n;
  }

  Rule rule_ = rule_named("r");
  AlertBook book_;
};

TEST_F(AlertBookTest, APresentRecordNoLongerMatchedResolvesAtOnce) {
  evaluate(0, {"A", "B"}, {"A", "B"});
  auto changes = evaluate(60, {"A"}, {"A", "B"});
  EXPECT_EQ(keys(), (std::set<std::string>{"A"}));
  EXPECT_EQ(count(changes, AlertChange::Kind::Resolved), 1u);
}

TEST_F(AlertBookTest, AMissingRecordKeepsItsAlertUntilTheGraceHasPassed) {
  evaluate(0, {"A", "B"}, {"A", "B"});
  const int64_t started = book_.alerts().begin()->second.active_since;
  auto changes = evaluate(60, {"A"}, {"A"});  // B's record is gone from the extract
  EXPECT_EQ(keys(), (std::set<std::string>{"A", "B"}));
  EXPECT_EQ(count(changes, AlertChange::Kind::Resolved), 0u);
  ASSERT_EQ(count(changes, AlertChange::Kind::Updated), 1u);  // missing_since is saved
  for (const auto& [fp, alert] : book_.alerts())
    EXPECT_EQ(alert.missing_since, alert.key == "B" ? 60 : 0) << alert.key;
  EXPECT_EQ(count(evaluate(60 + kGrace - 1, {"A"}, {"A"}), AlertChange::Kind::Resolved), 0u);
  changes = evaluate(60 + kGrace, {"A"}, {"A"});
  EXPECT_EQ(count(changes, AlertChange::Kind::Resolved), 1u);
  EXPECT_EQ(keys(), (std::set<std::string>{"A"}));
  EXPECT_EQ(book_.alerts().begin()->second.active_since, started);
}

TEST_F(AlertBookTest, ARecordBackWithinTheGraceKeepsItsAlertAndStartTime) {
  evaluate(0, {"B"}, {"B"});
  const Alert first = book_.alerts().begin()->second;
  evaluate(kHour, {}, {});
  auto changes = evaluate(2 * kHour, {"B"}, {"B"});
  const Alert& back = book_.alerts().begin()->second;
  EXPECT_EQ(back.active_since, first.active_since);
  EXPECT_EQ(back.missing_since, 0);
  EXPECT_EQ(count(changes, AlertChange::Kind::Updated), 1u);
  // Gone again later: the grace counts from the new absence.
  evaluate(10 * kHour, {}, {});
  EXPECT_EQ(count(evaluate(10 * kHour + kGrace - 1, {}, {}), AlertChange::Kind::Resolved), 0u);
  EXPECT_EQ(count(evaluate(10 * kHour + kGrace, {}, {}), AlertChange::Kind::Resolved), 1u);
}

TEST_F(AlertBookTest, AMissingRecordWhoseConditionLaterFailsStillWaits) {
  // Present again but no longer matched (done): resolves at once, missing or not before.
  evaluate(0, {"B"}, {"B"});
  evaluate(kHour, {}, {});
  EXPECT_EQ(count(evaluate(2 * kHour, {}, {"B"}), AlertChange::Kind::Resolved), 1u);
}

TEST_F(AlertBookTest, WithoutPresenceEveryUnmatchedAlertResolves) {
  // The built-in feed_unhealthy alert: no records behind it.
  std::vector<Match> matches = {match("A")};
  std::vector<const Match*> pointers = {&matches[0]};
  book_.apply(rule_, pointers, 0);
  EXPECT_EQ(count(book_.apply(rule_, {}, 60), AlertChange::Kind::Resolved), 1u);
}

}  // namespace
}  // namespace casewatch
