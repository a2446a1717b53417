// The alert book (SPEC 6 lifecycle) and the rule that a missing record is not a done one: an
// alert whose record left the feed resolves only after the feed's resolve_missing_after.
#include "notify/alerts.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <tuple>
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

Match match(const std::string& key, const std::string& summary = "") {
  Match m;
  m.key = key;
  m.severity = Severity::Critical;
  auto text = std::make_shared<MatchText>();
  text->labels = {{"alertname", "r"}, {"key", key}, {"severity", "critical"}};
  if (!summary.empty()) text->annotations = {{"summary", summary}};
  m.text = std::move(text);
  return m;
}

// AlertBook::apply with each match's own text, as the service renders it.
std::vector<AlertChange> apply(AlertBook& book, const Rule& rule, const std::vector<Match>& matches, int64_t now,
                               const Presence& present = {}, int64_t grace = 0) {
  std::vector<std::shared_ptr<const MatchText>> texts;
  for (const Match& m : matches) texts.push_back(m.text);
  return book.apply(rule, matches, texts, now, present, grace);
}

class AlertBookTest : public testing::Test {
 protected:
  // One evaluation: `matched` are matched, `present` are the keys still in the feed.
  std::vector<AlertChange> evaluate(int64_t now, const std::vector<std::string>& matched,
                                    const std::set<std::string>& present) {
    std::vector<Match> matches;
    for (const auto& key : matched) matches.push_back(match(key));
    return apply(book_, rule_, matches, now, [&](std::string_view key) { return present.count(std::string(key)) ? KeyPresence::Present : KeyPresence::Absent; },
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

// A record whose latest row was rejected (a bad cell, its key readable) is in the source: its
// alert is neither resolved as done nor counted as missing, and it is marked held.
TEST_F(AlertBookTest, ARecordOnARejectedRowKeepsItsAlertAsItWas) {
  auto on_rejected_row = [&](int64_t now, std::vector<std::string> matched, std::set<std::string> rejected) {
    std::vector<Match> matches;
    for (const auto& key : matched) matches.push_back(match(key));
    return apply(book_, rule_, matches, now, [&](std::string_view key) {
      return rejected.count(std::string(key)) ? KeyPresence::Rejected : KeyPresence::Present;
    }, kGrace);
  };
  evaluate(0, {"A", "B"}, {"A", "B"});
  const Alert before = book_.alerts().begin()->second;
  auto changes = on_rejected_row(60, {"A"}, {"B"});
  EXPECT_EQ(keys(), (std::set<std::string>{"A", "B"}));
  EXPECT_EQ(count(changes, AlertChange::Kind::Resolved), 0u);
  ASSERT_EQ(count(changes, AlertChange::Kind::Updated), 1u);  // rejected_since is saved
  const Alert& held = book_.alerts().find(alert_fingerprint("r", "B"))->second;
  EXPECT_EQ(held.rejected_since, 60);
  EXPECT_EQ(held.missing_since, 0);
  EXPECT_EQ(held.severity, Severity::Critical);
  // Long past the grace a missing record has: still held, and no change to save.
  EXPECT_TRUE(on_rejected_row(60 + 2 * kGrace, {"A"}, {"B"}).empty());
  // Missing for a while, then back as a rejected row: present again, the grace stops.
  evaluate(100 * kHour, {"A"}, {"A"});
  EXPECT_NE(book_.alerts().find(alert_fingerprint("r", "B"))->second.missing_since, 0);
  on_rejected_row(101 * kHour, {"A"}, {"B"});
  EXPECT_EQ(book_.alerts().find(alert_fingerprint("r", "B"))->second.missing_since, 0);
  EXPECT_TRUE(book_.advance(rule_, 200 * kHour, kGrace).empty());
  // Readable again and matched: no longer held. Readable and not matched: done, resolved.
  evaluate(202 * kHour, {"A", "B"}, {"A", "B"});
  EXPECT_EQ(book_.alerts().find(alert_fingerprint("r", "B"))->second.rejected_since, 0);
  on_rejected_row(203 * kHour, {"A"}, {"B"});
  EXPECT_EQ(count(evaluate(204 * kHour, {"A"}, {"A", "B"}), AlertChange::Kind::Resolved), 1u);
}

// A summary that counts the working days from today changes every day for every alert: the
// alert shows the new text (the published snapshot is stale: the version grows) but nothing about
// it changed that need be saved or sent. A label or severity that changes still does.
TEST_F(AlertBookTest, NewAnnotationsAloneAreTakenWithoutAChange) {
  apply(book_, rule_, {match("A", "due in 3 working days")}, 0);
  const uint64_t before = book_.version();
  EXPECT_TRUE(apply(book_, rule_, {match("A", "due in 2 working days")}, 60).empty());
  EXPECT_GT(book_.version(), before);
  EXPECT_EQ(book_.alerts().begin()->second.annotations().at("summary"), "due in 2 working days");

  const uint64_t unchanged = book_.version();
  EXPECT_TRUE(apply(book_, rule_, {match("A", "due in 2 working days")}, 120).empty());
  EXPECT_EQ(book_.version(), unchanged);  // the same text again: nothing to publish

  Match relabelled = match("A", "due in 1 working day");
  auto text = std::make_shared<MatchText>(*relabelled.text);
  text->labels.set("team", "Assessment");
  relabelled.text = std::move(text);
  auto changes = apply(book_, rule_, {relabelled}, 180);
  ASSERT_EQ(count(changes, AlertChange::Kind::Updated), 1u);
  EXPECT_EQ(changes[0].alert.labels().at("team"), "Assessment");
  EXPECT_EQ(changes[0].alert.annotations().at("summary"), "due in 1 working day");
}

TEST_F(AlertBookTest, WithoutPresenceEveryUnmatchedAlertResolves) {
  // The built-in feed_unhealthy alert: no records behind it.
  std::vector<Match> matches = {match("A")};
  apply(book_, rule_, matches, 0);
  EXPECT_EQ(count(apply(book_, rule_, {}, 60), AlertChange::Kind::Resolved), 1u);
}

bool same_alert(const Alert& a, const Alert& b) {
  return a.fingerprint == b.fingerprint && a.rule == b.rule && a.key == b.key && a.severity == b.severity &&
         a.state == b.state && a.active_since == b.active_since && a.fired_at == b.fired_at && a.labels() == b.labels() &&
         a.annotations() == b.annotations() && a.due_date == b.due_date && a.value == b.value &&
         a.missing_since == b.missing_since && a.rejected_since == b.rejected_since;
}

// advance() is the fast twin of apply() given the same matches and presence again: two books see
// the same random evaluations, one re-applying the matches at every step, the other advancing
// whenever the matches and presence are those it last applied, and they must agree on every
// change and every alert. A third book is now and then rebuilt from its own alerts with restore()
// (a restart), which rebuilds its index by rule and key, and must agree too.
TEST(AlertBookAdvance, AgreesWithApplyingTheSameMatchesAgain) {
  std::mt19937 random(20261202);
  const std::vector<std::string> keys = {"A", "B", "C", "D", "E", "F"};
  for (int scenario = 0; scenario < 2000; ++scenario) {
    Rule rule = rule_named("r");
    rule.spec.for_seconds = std::vector<int64_t>{0, 600, 3600}[random() % 3];
    const int64_t grace = std::vector<int64_t>{0, 600, 3600}[random() % 3];
    AlertBook applied, advanced, restarted;
    std::set<std::string> matched, present, rejected;
    int64_t now = 0;
    for (int step = 0; step < 12; ++step) {
      now += std::vector<int64_t>{300, 600, 3600}[random() % 3];  // often exactly at a `for` or grace
      const bool same = step > 0 && random() % 3 != 0;
      if (!same) {
        matched.clear();
        present.clear();
        rejected.clear();
        for (const std::string& key : keys) {
          if (random() % 2) matched.insert(key);
          if (matched.count(key) || random() % 2) present.insert(key);
          else if (random() % 3 == 0) rejected.insert(key);
        }
      }
      auto presence = [&](std::string_view key) {
        return present.count(std::string(key))    ? KeyPresence::Present
               : rejected.count(std::string(key)) ? KeyPresence::Rejected
                                                  : KeyPresence::Absent;
      };
      auto matches = [&] {
        std::vector<Match> out;
        for (const std::string& key : matched) {
          out.push_back(match(key, "step " + std::to_string(step / 4)));  // changes now and then
        }
        return out;
      };
      // The annotation changes every 4 steps: the same matches only within a run of 4.
      const bool unchanged = same && step % 4 != 0;
      std::vector<Match> first = matches(), second = matches();
      auto expected = apply(applied, rule, first, now, presence, grace);
      auto got = unchanged ? advanced.advance(rule, now, grace) : apply(advanced, rule, second, now, presence, grace);
      if (random() % 4 == 0) {
        AlertBook fresh;
        for (const auto& [fingerprint, alert] : restarted.alerts()) fresh.restore(alert);
        restarted = std::move(fresh);
      }
      auto after_restart = apply(restarted, rule, matches(), now, presence, grace);
      // The same changes; their order within one evaluation carries no meaning.
      for (auto* changes : {&expected, &got, &after_restart})
        std::sort(changes->begin(), changes->end(), [](const AlertChange& a, const AlertChange& b) {
          return std::tie(a.alert.fingerprint, a.kind) < std::tie(b.alert.fingerprint, b.kind);
        });
      ASSERT_EQ(got.size(), expected.size()) << "scenario " << scenario << " step " << step;
      for (size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].kind, expected[i].kind) << "scenario " << scenario << " step " << step;
        EXPECT_TRUE(same_alert(got[i].alert, expected[i].alert)) << "scenario " << scenario << " step " << step;
      }
      ASSERT_EQ(after_restart.size(), expected.size()) << "scenario " << scenario << " step " << step;
      for (size_t i = 0; i < after_restart.size(); ++i) {
        EXPECT_EQ(after_restart[i].kind, expected[i].kind) << "scenario " << scenario << " step " << step;
        EXPECT_TRUE(same_alert(after_restart[i].alert, expected[i].alert)) << "scenario " << scenario << " step " << step;
      }
      for (const AlertBook* book : {&advanced, &restarted}) {
        ASSERT_EQ(book->alerts().size(), applied.alerts().size()) << "scenario " << scenario << " step " << step;
        for (const auto& [fingerprint, alert] : applied.alerts()) {
          auto it = book->alerts().find(fingerprint);
          ASSERT_NE(it, book->alerts().end());
          EXPECT_TRUE(same_alert(it->second, alert)) << "scenario " << scenario << " step " << step;
        }
      }
      EXPECT_EQ(advanced.version() != 0, applied.version() != 0);
    }
  }
}

}  // namespace
}  // namespace casewatch
