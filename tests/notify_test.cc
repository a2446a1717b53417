// notify/ with a manual clock and fakes (issue 14): the dispatcher's timing (group_wait,
// group_interval, repeat, digests, escalation), Alertmanager like Prometheus (endsAt, resolved
// repeated for 15 minutes, a silenced alert's resolve), silences and acknowledgements, the SQLite
// state (reopened after a crash, damaged, newer, older, locked), and delivery with one receiver
// failing or hung beside another.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <tuple>

#include "config/as_of.h"
#include "integrations/json_text.h"
#include "notify/delivery.h"
#include "notify/dispatcher.h"
#include "notify/silences.h"
#include "notify/sqlite_state.h"
#include "notify/state.h"

namespace casewatch {
namespace {

using namespace std::chrono_literals;

// Wednesday 14 June 2017, 09:00 BST.
constexpr int64_t kStart = 1497427200;

Alert alert(const std::string& key, Severity severity = Severity::Critical, const std::string& team = "A") {
  Alert a;
  a.rule = "assessment_timescale";
  a.key = key;
  a.fingerprint = alert_fingerprint(a.rule, key);
  a.severity = severity;
  a.state = AlertState::Firing;
  a.active_since = kStart - 3600;
  a.fired_at = kStart - 3600;
  a.edit_text().labels = {{"alertname", a.rule}, {"key", key}, {"severity", std::string(severity_name(severity))}, {"team", team}};
  return a;
}

ReceiverConfig receiver(const std::string& name, ReceiverType type = ReceiverType::Webhook) {
  ReceiverConfig r;
  r.name = name;
  r.type = type;
  r.url = "http://" + name + "/";
  if (type == ReceiverType::Alertmanager) r.urls = {"http://am1:9093", "http://am2:9093"};
  return r;
}

RouteConfig route(const std::string& receiver_name) {
  RouteConfig r;
  r.receiver = receiver_name;
  r.name = "route 1";
  return r;
}

Config config_with(std::vector<RouteConfig> routes, std::vector<ReceiverConfig> receivers) {
  Config c;
  c.engine.timezone = "Europe/London";
  c.calendar = std::make_shared<Calendar>(Calendar::england_and_wales_bank_holidays());
  for (size_t i = 0; i < routes.size(); ++i) routes[i].name = "route " + std::to_string(i + 1);
  c.routes = std::move(routes);
  c.receivers = std::move(receivers);
  return c;
}

// A dispatcher on a clock the test moves, with counted ids.
class DispatcherTest : public testing::Test {
 protected:
  void make(Config config) {
    config_ = std::make_unique<Config>(std::move(config));
    dispatcher_ = std::make_unique<Dispatcher>(*config_, "http://casewatch.example/",
                                               [this] { return "n" + std::to_string(++ids_); });
  }
  DispatchOutput tick(std::vector<Alert> alerts, std::set<std::string> resolved = {}, bool after_evaluation = true,
                      std::set<std::string> silenced = {}) {
    alerts_ = std::move(alerts);
    DispatchInput in;
    for (const Alert& a : alerts_) in.alerts.push_back(&a);
    in.silenced = std::move(silenced);
    in.resolved = std::move(resolved);
    in.now = now_;
    AsOf local = as_of_instant(now_, "Europe/London");
    in.today = local.day;
    in.minute_of_day = static_cast<int>(((now_ + local.utc_offset_seconds) % 86400) / 60);
    in.after_evaluation = after_evaluation;
    in.alertmanager_ends_in = 1200;
    return dispatcher_->tick(in);
  }
  std::unique_ptr<Config> config_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::vector<Alert> alerts_;
  int64_t now_ = kStart;
  int ids_ = 0;
};

TEST_F(DispatcherTest, GroupWaitThenGroupIntervalThenRepeat) {
  RouteConfig r = route("hook");
  r.group_wait_seconds = 30;
  r.group_interval_seconds = 300;
  r.repeat_interval_seconds = 3600;
  make(config_with({r}, {receiver("hook")}));
  EXPECT_TRUE(tick({alert("A1")}).notifications.empty());  // waiting for the group to fill
  now_ += 29;
  EXPECT_TRUE(tick({alert("A1")}).notifications.empty());
  now_ += 1;
  auto first = tick({alert("A1"), alert("A2")});
  ASSERT_EQ(first.notifications.size(), 1u);
  EXPECT_EQ(first.notifications[0].id, "n1");
  EXPECT_EQ(first.notifications[0].alerts.size(), 2u);
  // A change waits for group_interval.
  now_ += 60;
  EXPECT_TRUE(tick({alert("A1"), alert("A2"), alert("A3")}).notifications.empty());
  now_ += 240;
  auto change = tick({alert("A1"), alert("A2"), alert("A3")});
  ASSERT_EQ(change.notifications.size(), 1u);
  EXPECT_TRUE(change.notifications[0].alerts[2].is_new);
  // Nothing new: repeated after repeat_interval.
  now_ += 3599;
  EXPECT_TRUE(tick({alert("A1"), alert("A2"), alert("A3")}).notifications.empty());
  now_ += 1;
  EXPECT_EQ(tick({alert("A1"), alert("A2"), alert("A3")}).notifications.size(), 1u);
  // A resolve is a change, sent after group_interval with the resolved alert marked.
  now_ += 300;
  auto resolved = tick({alert("A1"), alert("A2")}, {alert("A3").fingerprint});
  ASSERT_EQ(resolved.notifications.size(), 1u);
  EXPECT_TRUE(resolved.notifications[0].alerts.back().resolved);
  EXPECT_EQ(resolved.notifications[0].alerts.back().alert.key, "A3");
}

// An alert acknowledged after a message leaves the group; the next message says who took it,
// once, and a message with nothing else firing says nothing at all.
TEST_F(DispatcherTest, TheNextMessageSaysWhoAcknowledged) {
  RouteConfig r = route("hook");
  r.group_wait_seconds = 0;
  r.group_interval_seconds = 300;
  make(config_with({r}, {receiver("hook")}));
  ASSERT_EQ(tick({alert("A1"), alert("A2")}).notifications.size(), 1u);
  std::map<std::string, Ack> acks{{alert("A1").fingerprint, Ack{alert("A1").fingerprint, Severity::Warning, "alice", "on it", now_ + 10}}};
  now_ += 300;
  DispatchInput in;
  alerts_ = {alert("A1"), alert("A2")};
  for (const Alert& a : alerts_) in.alerts.push_back(&a);
  in.silenced = {alert("A1").fingerprint};
  in.acknowledged = &acks;
  in.now = now_;
  in.today = as_of_instant(now_, "Europe/London").day;
  auto next = dispatcher_->tick(in);
  ASSERT_EQ(next.notifications.size(), 1u);
  const Notification& n = next.notifications[0];
  ASSERT_EQ(n.alerts.size(), 2u);
  EXPECT_EQ(n.alerts[0].alert.key, "A2");
  EXPECT_FALSE(n.alerts[0].is_acknowledgement());
  EXPECT_EQ(n.alerts[1].alert.key, "A1");
  EXPECT_EQ(n.alerts[1].acknowledged_by, "alice");
  EXPECT_EQ(n.alerts[1].acknowledged_at, kStart + 10);
  EXPECT_EQ(n.status(), NotificationStatus::Firing);
  // Said once: the repeat after that has only A2.
  now_ += 3600 * 5;
  in.now = now_;
  auto repeat = dispatcher_->tick(in);
  ASSERT_EQ(repeat.notifications.size(), 1u);
  EXPECT_EQ(repeat.notifications[0].alerts.size(), 1u);
}

TEST_F(DispatcherTest, DigestsGoOutOnWorkingDaysAtTheirTime) {
  RouteConfig r = route("hook");
  std::string error;
  r.digest = parse_daily_schedule("working-days 08:30", error);
  ASSERT_TRUE(r.digest) << error;
  make(config_with({r}, {receiver("hook")}));
  now_ = kStart - 3600;  // Wednesday 08:00: before its time
  EXPECT_TRUE(tick({alert("A1")}).notifications.empty());
  now_ = kStart - 1800;  // 08:30
  auto digest = tick({alert("A1")});
  ASSERT_EQ(digest.notifications.size(), 1u);
  EXPECT_TRUE(digest.notifications[0].digest);
  EXPECT_TRUE(digest.notifications[0].alerts[0].is_new);
  now_ += 3600;  // once a day
  EXPECT_TRUE(tick({alert("A1"), alert("A2")}).notifications.empty());
  now_ += 86400;  // Thursday: A2 is new, A1 is not
  auto next = tick({alert("A1"), alert("A2")});
  ASSERT_EQ(next.notifications.size(), 1u);
  EXPECT_FALSE(next.notifications[0].alerts[0].is_new);
  EXPECT_TRUE(next.notifications[0].alerts[1].is_new);
  // Friday 16 June, then the weekend: Saturday 17 has none.
  now_ += 2 * 86400;
  EXPECT_TRUE(tick({alert("A1"), alert("A2")}).notifications.empty());
}

TEST_F(DispatcherTest, EscalationAppliesAfterItsWorkingDays) {
  RouteConfig team = route("team");
  team.group_wait_seconds = 0;
  team.continue_matching = true;
  RouteConfig head = route("head");
  head.group_wait_seconds = 0;
  head.escalate_after = parse_period("2 working days");
  make(config_with({team, head}, {receiver("team"), receiver("head")}));
  Alert a = alert("A1");
  a.fired_at = kStart;  // fired Wednesday
  auto to_head = [](const DispatchOutput& out) {
    return std::count_if(out.notifications.begin(), out.notifications.end(),
                         [](const Notification& n) { return n.receiver == "head"; });
  };
  auto out = tick({a});
  ASSERT_EQ(out.notifications.size(), 1u);
  EXPECT_EQ(out.notifications[0].receiver, "team");
  now_ += 86400;  // Thursday: one working day (the team's route repeats)
  EXPECT_EQ(to_head(tick({a})), 0);
  now_ += 86400;  // Friday: two working days, the head of service is told
  EXPECT_EQ(to_head(tick({a})), 1);
}

TEST_F(DispatcherTest, AlertmanagerLikePrometheus) {
  make(config_with({route("am")}, {receiver("am", ReceiverType::Alertmanager)}));
  // Every evaluation: every firing alert, endsAt ahead.
  auto out = tick({alert("A1"), alert("A2")});
  ASSERT_EQ(out.notifications.size(), 1u);
  for (const auto& na : out.notifications[0].alerts) {
    EXPECT_FALSE(na.resolved);
    EXPECT_EQ(na.ends_at, kStart + 1200);
  }
  EXPECT_TRUE(tick({alert("A1"), alert("A2")}, {}, false).notifications.empty());  // only after evaluations
  // A2 resolves: sent resolved, with its end, at every evaluation for 15 minutes.
  now_ += 60;
  const int64_t resolved_at = now_;
  out = tick({alert("A1")}, {alert("A2").fingerprint});
  ASSERT_EQ(out.notifications[0].alerts.size(), 2u);
  EXPECT_TRUE(out.notifications[0].alerts[1].resolved);
  EXPECT_EQ(out.notifications[0].alerts[1].ends_at, resolved_at);
  now_ += 14 * 60;
  out = tick({alert("A1")});
  ASSERT_EQ(out.notifications[0].alerts.size(), 2u);
  EXPECT_TRUE(out.notifications[0].alerts[1].resolved);
  now_ += 60;  // 15 minutes on: no longer
  out = tick({alert("A1")});
  ASSERT_EQ(out.notifications[0].alerts.size(), 1u);
  // A1 is silenced (not sent while silenced), then resolves: still sent as resolved.
  now_ += 60;
  out = tick({alert("A1")}, {}, true, {alert("A1").fingerprint});
  EXPECT_TRUE(out.notifications.empty());
  now_ += 60;
  out = tick({}, {alert("A1").fingerprint});
  ASSERT_EQ(out.notifications.size(), 1u);
  ASSERT_EQ(out.notifications[0].alerts.size(), 1u);
  EXPECT_TRUE(out.notifications[0].alerts[0].resolved);
  EXPECT_EQ(out.notifications[0].alerts[0].alert.key, "A1");
}

// At England scale an Alertmanager group holds a hundred thousand alerts: its state is written
// when it changes, not at every evaluation; each alert is news once when it fires and once when
// it resolves, so that a resend does not enter the delivery history.
TEST_F(DispatcherTest, AlertmanagerGroupStateIsSavedOnlyWhenItChanges) {
  make(config_with({route("am")}, {receiver("am", ReceiverType::Alertmanager)}));
  auto news = [](const DispatchOutput& out) {
    std::vector<std::string> keys;
    for (const auto& na : out.notifications.at(0).alerts)
      if (na.is_new) keys.push_back(na.alert.key + (na.resolved ? " resolved" : ""));
    return keys;
  };
  auto out = tick({alert("A1"), alert("A2")});
  ASSERT_EQ(out.notifications.size(), 1u);
  EXPECT_TRUE(out.notifications[0].whole_state);
  EXPECT_EQ(news(out), (std::vector<std::string>{"A1", "A2"}));
  EXPECT_FALSE(out.changed_groups.empty());
  now_ += 300;
  out = tick({alert("A1"), alert("A2")});  // the same alerts: sent again, nothing saved, no news
  ASSERT_EQ(out.notifications.size(), 1u);
  EXPECT_EQ(out.notifications[0].alerts.size(), 2u);
  EXPECT_TRUE(news(out).empty());
  EXPECT_TRUE(out.changed_groups.empty());
  now_ += 300;
  Alert changed = alert("A2");
  changed.edit_text().annotations.set("summary", "now overdue");
  out = tick({alert("A1"), changed});  // an alert that changed is saved as it now is
  ASSERT_EQ(out.changed_groups.size(), 1u);
  EXPECT_EQ(out.changed_groups[0].sent.at(changed.fingerprint).annotations().at("summary"), "now overdue");
  EXPECT_TRUE(news(out).empty());
  now_ += 300;
  out = tick({alert("A1")}, {changed.fingerprint});  // A2 resolves: news once
  EXPECT_EQ(news(out), (std::vector<std::string>{"A2 resolved"}));
  EXPECT_EQ(out.changed_groups.size(), 1u);
  now_ += 300;
  out = tick({alert("A1")});
  EXPECT_EQ(out.notifications[0].alerts.size(), 2u);  // still told it resolved
  EXPECT_TRUE(news(out).empty());
  EXPECT_TRUE(out.changed_groups.empty());
  now_ += 60;
  out = tick({alert("A1"), alert("A2")});  // A2 fires again: firing, no longer resolved
  ASSERT_EQ(out.notifications[0].alerts.size(), 2u);
  for (const auto& na : out.notifications[0].alerts) EXPECT_FALSE(na.resolved) << na.alert.key;
  EXPECT_EQ(news(out), (std::vector<std::string>{"A2"}));
  EXPECT_EQ(out.changed_groups.size(), 1u);
}

// The dispatcher's slow twin: what SPEC 6 says an Alertmanager route and an email route grouped
// by team send, worked out naively from the sets of alerts, over random evaluations (alerts come
// and go, fire, change severity and team, are silenced), compared with the dispatcher's
// notifications and group state at every tick.
TEST_F(DispatcherTest, AgreesWithANaiveTwinOverRandomEvaluations) {
  RouteConfig to_am = route("am"), to_email = route("email");
  to_am.continue_matching = true;
  to_email.group_by = {"team"};
  to_email.group_wait_seconds = 0;
  to_email.group_interval_seconds = 0;
  to_email.repeat_interval_seconds = 86400;
  using Sent = std::map<std::string, Alert>;
  // One notification as the twin sees it: each alert's fingerprint, resolved, ends_at and is_new.
  using Expected = std::vector<std::tuple<std::string, bool, int64_t, bool>>;
  auto seen = [](const Notification& n) {
    Expected e;
    for (const auto& na : n.alerts) e.emplace_back(na.alert.fingerprint, na.resolved, na.ends_at, na.is_new);
    return e;
  };
  size_t notifications = 0;
  for (uint32_t seed = 1; seed <= 300; ++seed) {
    std::mt19937 random(seed);
    auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(random) < p; };
    make(config_with({to_am, to_email}, {receiver("am", ReceiverType::Alertmanager), receiver("email")}));
    now_ = kStart;
    // The twin's state: the Alertmanager group, and each email group by team.
    bool am_exists = false;
    Sent am_sent;
    std::map<std::string, std::pair<Alert, int64_t>> am_resolved;
    struct EmailGroup {
      Sent sent;
      int64_t first_seen = 0, last_sent = 0;
    };
    std::map<std::string, EmailGroup> email;
    std::set<std::string> live_before;
    for (int tick_number = 0; tick_number < 30; ++tick_number) {
      now_ += std::vector<int64_t>{60, 300, 900}[random() % 3];
      std::vector<Alert> alerts;
      std::set<std::string> silenced, live;
      for (int k = 0; k < 10; ++k) {
        if (!chance(0.7)) continue;
        Alert a = alert("K" + std::to_string(k), chance(0.5) ? Severity::Critical : Severity::Warning,
                        chance(0.85) ? (k % 2 ? "A" : "B") : "C");
        a.state = chance(0.85) ? AlertState::Firing : AlertState::Pending;
        a.edit_text().annotations.set("summary", chance(0.8) ? "due" : "overdue");
        if (chance(0.15)) silenced.insert(a.fingerprint);
        live.insert(a.fingerprint);
        alerts.push_back(a);
      }
      std::shuffle(alerts.begin(), alerts.end(), random);
      std::set<std::string> resolved;
      for (const std::string& fp : live_before)
        if (!live.count(fp)) resolved.insert(fp);
      live_before = live;
      const bool after_evaluation = chance(0.9);
      std::map<std::string, const Alert*> current;  // firing and not silenced, by fingerprint
      for (const Alert& a : alerts)
        if (a.state == AlertState::Firing && !silenced.count(a.fingerprint)) current[a.fingerprint] = &a;

      // The twin, Alertmanager: every firing alert; each resolved one for 15 minutes.
      std::optional<Expected> am_expected;
      bool am_changed = !am_exists && !current.empty();
      if (!current.empty()) am_exists = true;
      if (am_exists) {
        std::set<std::string> newly;
        for (const auto& [fp, a] : am_sent)
          if (!current.count(fp) && resolved.count(fp)) {
            am_resolved[fp] = {a, now_};
            newly.insert(fp);
            am_changed = true;
          }
        for (auto r = am_resolved.begin(); r != am_resolved.end();) {
          bool gone = now_ - r->second.second >= 900 || current.count(r->first);
          am_changed = am_changed || gone;
          r = gone ? am_resolved.erase(r) : std::next(r);
        }
        if (after_evaluation && (!current.empty() || !am_resolved.empty())) {
          Expected e;
          for (const auto& [fp, a] : current) e.emplace_back(fp, false, now_ + 1200, !am_sent.count(fp));
          for (const auto& [fp, r] : am_resolved) e.emplace_back(fp, true, r.second, newly.count(fp) > 0);
          am_expected = e;
        }
        Sent next;
        for (const auto& [fp, a] : current) next[fp] = *a;
        for (const auto& [fp, a] : am_sent)
          if (!current.count(fp) && live.count(fp) && !resolved.count(fp)) next[fp] = a;
        am_changed = am_changed || next != am_sent;
        am_sent = std::move(next);
        if (am_sent.empty() && am_resolved.empty()) am_exists = false;
      }

      // The twin, email by team: at once when first or changed, else once a day; resolves reported.
      std::map<std::string, Expected> email_expected;
      std::map<std::string, std::map<std::string, const Alert*>> by_team;
      for (const auto& [fp, a] : current) by_team[std::string(a->labels().at("team"))][fp] = a;
      for (const auto& [team, members] : by_team)
        if (!email.count(team)) email[team].first_seen = now_;
      for (auto g = email.begin(); g != email.end();) {
        const auto& members = by_team[g->first];
        EmailGroup& group = g->second;
        std::vector<std::string> gone;
        for (const auto& [fp, a] : group.sent)
          if (!members.count(fp) && resolved.count(fp)) gone.push_back(fp);
        bool changed = !gone.empty() || members.size() != group.sent.size();
        for (const auto& [fp, a] : members)
          changed = changed || !group.sent.count(fp) || group.sent.at(fp).severity != a->severity;
        if (members.empty() && gone.empty()) {
          g = email.erase(g);
          continue;
        }
        bool send = group.last_sent == 0 ? !members.empty() : changed || now_ - group.last_sent >= 86400;
        if (send) {
          Expected e;
          for (const auto& [fp, a] : members) e.emplace_back(fp, false, 0, !group.sent.count(fp));
          for (const std::string& fp : gone) e.emplace_back(fp, true, now_, false);
          email_expected["{team=\"" + g->first + "\"}"] = e;
          group.last_sent = now_;
          group.sent.clear();
          for (const auto& [fp, a] : members) group.sent[fp] = *a;
          if (members.empty()) {
            g = email.erase(g);
            continue;
          }
        }
        ++g;
      }

      DispatchOutput out = tick(alerts, resolved, after_evaluation, silenced);
      const std::string where = "seed " + std::to_string(seed) + ", tick " + std::to_string(tick_number);
      std::optional<Expected> am_got;
      std::map<std::string, Expected> email_got;
      for (const Notification& n : out.notifications) {
        ++notifications;
        if (n.receiver == "am") am_got = seen(n);
        else email_got[n.group_key] = seen(n);
      }
      ASSERT_EQ(am_got, am_expected) << where;
      ASSERT_EQ(email_got, email_expected) << where;
      const auto& groups = dispatcher_->groups();
      auto am_group = groups.find("route 1:{}");
      ASSERT_EQ(am_group != groups.end(), am_exists) << where;
      if (am_exists) {
        ASSERT_EQ(Sent(am_group->second.sent.begin(), am_group->second.sent.end()), am_sent) << where;
        std::set<std::string> got, want;
        for (const auto& [fp, r] : am_group->second.recently_resolved) got.insert(fp);
        for (const auto& [fp, r] : am_resolved) want.insert(fp);
        ASSERT_EQ(got, want) << where;
      }
      const bool saved = std::any_of(out.changed_groups.begin(), out.changed_groups.end(),
                                     [](const GroupState& g) { return g.id == "route 1:{}"; });
      ASSERT_EQ(saved, am_changed && am_exists) << where;
      for (const auto& [team, group] : email) {
        auto got = groups.find("route 2:{team=\"" + team + "\"}");
        ASSERT_NE(got, groups.end()) << where << ", team " << team;
        ASSERT_EQ(Sent(got->second.sent.begin(), got->second.sent.end()), group.sent) << where << ", team " << team;
      }
      ASSERT_EQ(groups.size(), email.size() + (am_exists ? 1 : 0)) << where;
    }
  }
  EXPECT_GT(notifications, 5000u);  // the scenarios did send
}

TEST_F(DispatcherTest, GroupStateSurvivesJson) {
  make(config_with({route("am")}, {receiver("am", ReceiverType::Alertmanager)}));
  tick({alert("A1"), alert("A2")});
  now_ += 60;
  auto out = tick({alert("A1")}, {alert("A2").fingerprint});
  ASSERT_EQ(out.changed_groups.size(), 1u);
  GroupState back = GroupState::from_json(nlohmann::json::parse(out.changed_groups[0].to_text()));
  EXPECT_EQ(back.recently_resolved.size(), 1u);
  EXPECT_EQ(back.recently_resolved.begin()->second.second, now_);
  EXPECT_EQ(back.sent.size(), 1u);
}

// The outbox's and the group state's JSON are written straight, not through a JSON tree: what
// they write must read back as it was, whatever the extract's bytes (quotes, control characters,
// UTF-8, a Windows-1252 byte that is not UTF-8: replaced, as every JSON casewatch writes does).
TEST(NotificationTextTest, ReadsBackAsItWasWhateverTheBytes) {
  Alert odd = alert("K\"1\\");
  odd.edit_text().labels.set("worker", "Zo\xc3\xab \"Jo\"\n\tSmith");
  odd.edit_text().annotations.set("summary", "due in 3 days \x01 caf\xe9");
  odd.value = 0.1 + 0.2;
  odd.due_date = 17000;
  odd.missing_since = 0;
  Notification n;
  n.id = "n\"1";
  n.receiver = "am";
  n.route = "route 1";
  n.group_key = "{team=\"A\\B\"}";
  n.group_labels = {{"team", "A\\B"}};
  n.created_at = kStart;
  n.external_url = "http://casewatch.example/";
  n.fallback_receiver = "duty";
  n.whole_state = true;
  n.alerts = {{odd, false, kStart + 1200, true}, {alert("K2"), true, kStart, false}};
  const std::string text = notification_text(n);
  auto json = nlohmann::json::parse(text);  // valid JSON
  EXPECT_EQ(text, json_text(json));          // as a JSON tree would dump it, byte for byte
  Notification back = notification_from_json(json);
  EXPECT_EQ(back.id, n.id);
  EXPECT_EQ(back.group_key, n.group_key);
  EXPECT_EQ(back.group_labels, n.group_labels);
  EXPECT_EQ(back.fallback_receiver, "duty");
  EXPECT_TRUE(back.whole_state);
  ASSERT_EQ(back.alerts.size(), 2u);
  Alert expected = odd;
  expected.edit_text().annotations.set("summary", "due in 3 days \x01 caf\xef\xbf\xbd");  // the bad byte, replaced
  EXPECT_EQ(back.alerts[0].alert, expected);
  EXPECT_EQ(back.alerts[0].ends_at, kStart + 1200);
  EXPECT_TRUE(back.alerts[0].is_new);
  EXPECT_EQ(back.alerts[1].alert, alert("K2"));
  EXPECT_TRUE(back.alerts[1].resolved);

  // An acknowledgement told in a message reads back too, and is no delivery of its alert.
  NotifiedAlert told{alert("K3"), false, 0, false};
  told.acknowledged_by = "alice \"A\"";
  told.acknowledged_at = kStart - 60;
  told.acknowledged_comment = "on it\n";
  n.alerts.push_back(told);
  n.whole_state = false;
  const std::string with_ack = notification_text(n);
  EXPECT_EQ(with_ack, json_text(nlohmann::json::parse(with_ack)));
  Notification back_ack = notification_from_json(nlohmann::json::parse(with_ack));
  ASSERT_EQ(back_ack.alerts.size(), 3u);
  EXPECT_EQ(back_ack.alerts[2].acknowledged_by, "alice \"A\"");
  EXPECT_EQ(back_ack.alerts[2].acknowledged_at, kStart - 60);
  EXPECT_EQ(back_ack.alerts[2].acknowledged_comment, "on it\n");
  EXPECT_FALSE(back_ack.alerts[0].is_acknowledgement());
  EXPECT_EQ(delivery_history_of(back_ack), (DeliveryHistory{{n.alerts[0].alert.fingerprint, false},
                                                            {alert("K2").fingerprint, true}}));

  GroupState g;
  g.id = "route 1:" + n.group_key;
  g.route = 0;
  g.group_key = n.group_key;
  g.group_labels = n.group_labels;
  g.first_seen = kStart;
  g.last_sent = kStart + 60;
  g.sent.emplace(odd.fingerprint, odd);
  g.last_digest_day = 17001;
  g.last_digest = {odd.fingerprint};
  g.recently_resolved.emplace(alert("K2").fingerprint, std::pair{alert("K2"), kStart});
  const std::string state = g.to_text();
  EXPECT_EQ(state, json_text(nlohmann::json::parse(state)));
  GroupState again = GroupState::from_json(nlohmann::json::parse(state));
  EXPECT_EQ(again.id, g.id);
  EXPECT_EQ(again.group_labels, g.group_labels);
  EXPECT_EQ(again.first_seen, kStart);
  EXPECT_EQ(again.last_sent, kStart + 60);
  EXPECT_EQ(again.last_digest_day, 17001);
  EXPECT_EQ(again.last_digest, g.last_digest);
  ASSERT_EQ(again.sent.size(), 1u);
  EXPECT_EQ(again.sent.begin()->second, expected);
  ASSERT_EQ(again.recently_resolved.size(), 1u);
  EXPECT_EQ(again.recently_resolved.begin()->second.first, alert("K2"));
  EXPECT_EQ(again.recently_resolved.begin()->second.second, kStart);
}

// ---------------------------------------------------------------------------------------------
// Silences and acknowledgements

TEST(SilencesTest, RegexMatchersAndAcknowledgementsThatLapse) {
  MemoryAlertStore store;
  int ids = 0;
  Silences silences(store, [&] { return "s" + std::to_string(++ids); });
  auto id = silences.add(nlohmann::json::parse(R"({"matchers": {"team": {"regex": "Ass.*"}, "severity": "warning"},
      "ends_at": "2017-06-15T00:00:00Z", "created_by": "alice"})"),
                         kStart, SilencePolicy{});
  ASSERT_TRUE(id.ok()) << id.message();
  EXPECT_EQ(*id, "s1");
  Alert warning = alert("A1", Severity::Warning, "Assessment");
  Alert other_team = alert("A2", Severity::Warning, "Fostering");
  Alert critical = alert("A3", Severity::Critical, "Assessment");
  EXPECT_EQ(silences.apply({&warning, &other_team, &critical}, kStart), (std::set<std::string>{warning.fingerprint}));
  EXPECT_TRUE(silences.apply({&warning}, kStart + 86400).empty());  // expired
  EXPECT_FALSE(silences.add(nlohmann::json::parse(R"({"matchers": {"team": {"regex": "("}}, "ends_at":
      "2017-06-15T00:00:00Z", "created_by": "a"})"), kStart, SilencePolicy{}).ok());

  // A matcher needs a label name, and a silence lasts at most 90 days.
  auto refused = [&](const char* body) { return silences.add(nlohmann::json::parse(body), kStart, SilencePolicy{}).message(); };
  EXPECT_EQ(refused(R"({"matchers": {"": {"regex": ".*"}}, "ends_at": "2017-06-15T00:00:00Z", "created_by": "a"})"),
            "a matcher needs a label name");
  EXPECT_EQ(refused(R"({"matchers": {"team": "A"}, "ends_at": "9999-12-31T00:00:00Z", "created_by": "a"})"),
            "a silence lasts at most 90 days (server.max_silence): ends_at is further off");
  EXPECT_EQ(refused(R"({"matchers": {"team": "A"}, "starts_at": "2017-07-01T00:00:00Z", "ends_at": "2017-10-01T00:00:00Z",
                        "created_by": "a"})"),
            "a silence lasts at most 90 days (server.max_silence): ends_at is further off");
  auto within = silences.add(nlohmann::json::parse(R"({"matchers": {"team": "A"}, "ends_at": "2017-09-01T00:00:00Z",
                             "created_by": "a"})"), kStart, SilencePolicy{});
  ASSERT_TRUE(within.ok()) << within.message();
  EXPECT_TRUE(silences.remove(*within).ok());
  // The longest is the deployment's to choose (server.max_silence).
  const SilencePolicy two_weeks{14 * 86400, false};
  EXPECT_EQ(silences.add(nlohmann::json::parse(R"({"matchers": {"team": "A"}, "ends_at": "2017-07-01T00:00:00Z",
                         "created_by": "a"})"), kStart, two_weeks).message(),
            "a silence lasts at most 14 days (server.max_silence): ends_at is further off");

  // A silence over every alert (no matcher names a value) needs an admin, and says so.
  for (const char* everything : {R"({"alertname": {"regex": ".*"}})", R"({"alertname": {"regex": ".+"}})",
                                 R"j({"team": {"regex": ".*"}, "severity": {"regex": "(.*)"}})j",
                                 R"({"nonexistent": ""})", R"({"nonexistent": {"regex": ""}})",
                                 R"({"alertname": {"regex": ".*"}, "nonexistent": ""})"}) {
    auto body = nlohmann::json::parse(R"({"ends_at": "2017-06-20T00:00:00Z", "created_by": "a"})");
    body["matchers"] = nlohmann::json::parse(everything);
    auto by_manager = silences.add(body, kStart, SilencePolicy{});
    EXPECT_TRUE(by_manager.status().is_forbidden()) << everything;
    EXPECT_EQ(by_manager.message(), "a silence that covers every alert (no matcher names a value) needs an admin");
    auto by_admin = silences.add(body, kStart, SilencePolicy{90 * 86400, true});
    ASSERT_TRUE(by_admin.ok()) << everything;
    ASSERT_EQ(silences.covering_everything(kStart).size(), 1u);
    EXPECT_TRUE(silences.covering_everything(kStart + 30 * 86400).empty());  // once it has ended
    EXPECT_TRUE(silences.remove(*by_admin).ok());
  }
  for (const char* narrow : {R"({"team": {"regex": "Ass.*"}})", R"({"alertname": {"regex": ".*"}, "team": "MASH"})",
                             R"({"key": {"regex": "[0-9]+"}})"}) {
    auto body = nlohmann::json::parse(R"({"ends_at": "2017-06-20T00:00:00Z", "created_by": "a"})");
    body["matchers"] = nlohmann::json::parse(narrow);
    auto by_manager = silences.add(body, kStart, SilencePolicy{});
    ASSERT_TRUE(by_manager.ok()) << narrow;
    EXPECT_TRUE(silences.covering_everything(kStart).empty()) << narrow;
    EXPECT_TRUE(silences.remove(*by_manager).ok());
  }

  // An acknowledgement holds until the alert resolves or its severity rises.
  ASSERT_TRUE(silences.acknowledge(warning, "alice", "on it", kStart).ok());
  EXPECT_TRUE(silences.apply({&warning}, kStart + 86400).count(warning.fingerprint));
  Alert risen = warning;
  risen.severity = Severity::Critical;
  EXPECT_FALSE(silences.apply({&risen}, kStart + 86400).count(warning.fingerprint));
  EXPECT_FALSE(silences.apply({&warning}, kStart + 86400).count(warning.fingerprint));  // gone for good

  EXPECT_TRUE(silences.remove("s1").ok());
  EXPECT_TRUE(silences.remove("s1").is_not_found());
  // Restored from the store as they were.
  Silences again(store, [] { return std::string("x"); });
  ASSERT_TRUE(again.restore().ok());
  EXPECT_TRUE(again.all().empty());
}

// ---------------------------------------------------------------------------------------------
// The SQLite state

class StateTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() /
            ("casewatch_state_test_" + std::to_string(::getpid()) + "_" +
             testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string db() const { return dir_ + "/casewatch.db"; }
  std::string dir_;
};

TEST_F(StateTest, AlertsAndOutboxSurviveACrash) {
  // A child commits and dies without closing anything (as kill -9 would leave it).
  pid_t child = ::fork();
  if (child == 0) {
    auto state = SqliteState::open(dir_);
    if (!state.ok()) ::_exit(2);
    auto alerts = (*state)->alert_store();
    auto outbox = (*state)->outbox();
    Alert a = alert("A1");
    a.missing_since = kStart;
    a.rejected_since = kStart + 7;
    Notification n;
    n.id = "n1";
    n.receiver = "am";
    n.created_at = kStart;
    if (!alerts.ok() || !outbox.ok() || !(*alerts)->save({{AlertChange::Kind::Fired, a}}).ok() ||
        !(*outbox)->commit({}, {}, outbox_entries(n, {"http://am1", "http://am2"})).ok())
      ::_exit(3);
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  auto state = SqliteState::open(dir_);
  ASSERT_TRUE(state.ok()) << state.message();  // the dead child's lock went with it
  auto alerts = (*(*state)->alert_store())->load_alerts();
  ASSERT_TRUE(alerts.ok());
  ASSERT_EQ(alerts->size(), 1u);
  EXPECT_EQ((*alerts)[0].key, "A1");
  EXPECT_EQ((*alerts)[0].missing_since, kStart);
  EXPECT_EQ((*alerts)[0].rejected_since, kStart + 7);
  auto outbox = std::move(*(*state)->outbox());
  auto due = outbox->due("am", kStart, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 2u);  // one entry per peer, each on its own
  EXPECT_EQ((*due)[0].id, "n1@1");
  EXPECT_EQ((*due)[1].target, "http://am2");
  ASSERT_TRUE(outbox->delivered("n1@1", 100).ok());
  EXPECT_EQ(outbox->due("am", kStart, 10)->size(), 1u);
  EXPECT_EQ((*outbox->queue_sizes())["am"], 1);
}

// The alert page's history: each delivered notification's alerts, for 90 days, in both outboxes.
TEST_F(StateTest, DeliveriesAreKeptForEachAlertAndPrunedAfterNinetyDays) {
  auto state = SqliteState::open(dir_);
  ASSERT_TRUE(state.ok()) << state.message();
  std::unique_ptr<Outbox> sqlite = std::move(*(*state)->outbox());
  MemoryOutbox memory;
  for (Outbox* outbox : {sqlite.get(), static_cast<Outbox*>(&memory)}) {
    auto send = [&](const std::string& id, int64_t at, std::vector<std::string> keys, bool resolved = false) {
      Notification n;
      n.id = id;
      n.receiver = "hook";
      n.created_at = at;
      for (const std::string& key : keys) n.alerts.push_back({alert(key), resolved});
      ASSERT_TRUE(outbox->commit({}, {}, outbox_entries(n, {""})).ok());
      ASSERT_TRUE(outbox->delivered(id, at).ok());
    };
    send("n1", kStart, {"A1", "A2"});
    send("n2", kStart + 60, {"A1"}, true);
    auto a1 = outbox->deliveries_of(alert("A1").fingerprint);
    ASSERT_TRUE(a1.ok());
    ASSERT_EQ(a1->size(), 2u);
    EXPECT_EQ((*a1)[0].notification_id, "n1");
    EXPECT_EQ((*a1)[0].at, kStart);
    EXPECT_FALSE((*a1)[0].resolved);
    EXPECT_TRUE((*a1)[1].resolved);
    EXPECT_EQ(outbox->deliveries_of(alert("A2").fingerprint)->size(), 1u);
    EXPECT_TRUE(outbox->deliveries_of("nope")->empty());
    if (outbox == sqlite.get()) {  // a quarter later the oldest are gone
      send("n3", kStart + kDeliveryHistorySeconds + 30, {"A3"});
      ASSERT_EQ(outbox->deliveries_of(alert("A1").fingerprint)->size(), 1u);
      EXPECT_TRUE(outbox->deliveries_of(alert("A2").fingerprint)->empty());
    }
  }
}

// An Alertmanager notification carries its group's whole state: while Alertmanager is down, each
// evaluation's replaces the last one instead of piling up behind it, keeps counting its attempts,
// and what was news in the one it replaced is still recorded when it is delivered.
TEST_F(StateTest, AWholeStateNotificationReplacesTheUndeliveredOneOfItsGroup) {
  auto state = SqliteState::open(dir_);
  ASSERT_TRUE(state.ok()) << state.message();
  // The daemon's evaluation and its delivery workers each have their own SQLite outbox connection:
  // what one holds in memory the other sees.
  std::unique_ptr<Outbox> sqlite = std::move(*(*state)->outbox());
  std::unique_ptr<Outbox> sqlite_delivery = std::move(*(*state)->outbox());
  MemoryOutbox memory;
  for (auto [outbox, delivery] : {std::pair<Outbox*, Outbox*>{sqlite.get(), sqlite_delivery.get()}, {&memory, &memory}}) {
    auto notification = [](const std::string& id, const std::string& group, std::vector<std::pair<std::string, bool>> keys) {
      Notification n;
      n.id = id;
      n.receiver = "am";
      n.route = "route 1";
      n.group_key = group;
      n.created_at = kStart;
      n.whole_state = true;
      for (const auto& [key, is_new] : keys) n.alerts.push_back({alert(key), false, kStart + 1200, is_new});
      return n;
    };
    const std::vector<std::string> peers = {"http://am1", "http://am2"};
    ASSERT_TRUE(outbox->commit({}, {}, outbox_entries(notification("n1", "{}", {{"A1", true}, {"A2", true}}), peers)).ok());
    ASSERT_TRUE(outbox->commit({}, {}, outbox_entries(notification("o1", "{team=\"X\"}", {{"B1", true}}), peers)).ok());
    ASSERT_TRUE(delivery->retry_later("n1@1", 3, kStart + 60, "HTTP 503").ok());
    ASSERT_TRUE(delivery->delivered("n1@2", kStart).ok());  // the second peer had it
    // The next evaluation: A1 still firing, A2 gone, A3 new.
    ASSERT_TRUE(outbox->commit({}, {}, outbox_entries(notification("n2", "{}", {{"A1", false}, {"A3", true}}), peers)).ok());
    auto due = delivery->due("am", kStart + 3600, 10);
    ASSERT_TRUE(due.ok());
    std::vector<std::string> ids;
    for (const OutboxEntry& e : *due) ids.push_back(e.id + " " + std::to_string(e.attempts));
    std::sort(ids.begin(), ids.end());
    EXPECT_EQ(ids, (std::vector<std::string>{"n2@1 3", "n2@2 0", "o1@1 0", "o1@2 0"}));  // the other group stays
    EXPECT_EQ((*delivery->queue_sizes())["am"], 4);
    ASSERT_TRUE(delivery->delivered("n2@1", kStart + 300).ok());
    ASSERT_TRUE(delivery->delivered("n2@2", kStart + 300).ok());
    auto told = [&](const std::string& key) {
      std::vector<std::string> out;
      auto records = outbox->deliveries_of(alert(key).fingerprint);
      for (const DeliveryRecord& r : *records) out.push_back(r.notification_id + " " + r.target);
      std::sort(out.begin(), out.end());
      return out;
    };
    // A1 was news in n1: the first peer learnt of it from n2, the second from n1; n2's resend of
    // A1 to the second peer is not news.
    EXPECT_EQ(told("A1"), (std::vector<std::string>{"n1 http://am2", "n2 http://am1"}));
    EXPECT_EQ(told("A2"), (std::vector<std::string>{"n1 http://am2"}));  // not carried by n2
    EXPECT_EQ(told("A3"), (std::vector<std::string>{"n2 http://am1", "n2 http://am2"}));
  }
}

TEST_F(StateTest, ASecondInstanceIsRefusedNamingThePid) {
  auto first = SqliteState::open(dir_);
  ASSERT_TRUE(first.ok());
  auto second = SqliteState::open(dir_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.message(), "another casewatch (pid " + std::to_string(::getpid()) +
                                  ") is using the state directory " + dir_);
}

TEST_F(StateTest, ADamagedFileStopsTheStartOrIsMovedAside) {
  {
    auto state = SqliteState::open(dir_);
    ASSERT_TRUE(state.ok());
    auto alerts = std::move(*(*state)->alert_store());
    std::vector<AlertChange> changes;
    for (int i = 0; i < 2000; ++i) changes.push_back({AlertChange::Kind::Fired, alert("A" + std::to_string(i))});
    ASSERT_TRUE(alerts->save(changes).ok());
  }
  {  // checkpoint, then damage pages in the middle of the file
    sqlite3* handle = nullptr;
    ASSERT_EQ(sqlite3_open(db().c_str(), &handle), SQLITE_OK);
    sqlite3_exec(handle, "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE;", nullptr, nullptr, nullptr);
    sqlite3_close(handle);
    std::fstream f(db(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(std::filesystem::file_size(db()) / 2));
    std::string junk(8192, '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  auto refused = SqliteState::open(dir_);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("is damaged"), std::string::npos) << refused.message();
  EXPECT_NE(refused.message().find("--state-recover"), std::string::npos);
  StateOptions recover;
  recover.move_damaged_aside = true;
  auto recovered = SqliteState::open(dir_, recover);
  ASSERT_TRUE(recovered.ok()) << recovered.message();
  EXPECT_NE((*recovered)->moved_aside().find("casewatch.db.damaged-"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists((*recovered)->moved_aside()));
  EXPECT_TRUE((*(*recovered)->alert_store())->load_alerts()->empty());  // afresh
}

// An empty file is not an empty store: taken as one, every alert would fire again as new and the
// acknowledgements and silences be gone without a word. Only an absent file starts afresh.
TEST_F(StateTest, AnEmptyOrForeignFileIsRefusedNotTakenAsAnEmptyStore) {
  std::filesystem::create_directories(dir_);
  for (const std::string& content : {std::string(), std::string("not a database, a text file\n")}) {
    { std::ofstream(db(), std::ios::binary | std::ios::trunc) << content; }
    auto refused = SqliteState::open(dir_);
    ASSERT_FALSE(refused.ok()) << content.size();
    EXPECT_NE(refused.message().find("the state file " + db() + " is damaged ("), std::string::npos) << refused.message();
    EXPECT_NE(refused.message().find("--state-recover"), std::string::npos);
  }
  EXPECT_NE(SqliteState::open(dir_).message().find("is damaged (file is not a database)"), std::string::npos);
  // The state replaced by an SQLite database that `sql` makes.
  auto replace_with_database = [&](const char* sql) {
    std::filesystem::remove(db());
    sqlite3* handle = nullptr;
    ASSERT_EQ(sqlite3_open(db().c_str(), &handle), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(handle, sql, nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(handle);
  };
  replace_with_database("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)");  // another program's
  EXPECT_NE(SqliteState::open(dir_).message().find("is damaged (it is not a casewatch state"), std::string::npos);
  replace_with_database("CREATE TABLE t (x); DROP TABLE t; PRAGMA user_version = 3");  // no tables, yet not empty
  ASSERT_GT(std::filesystem::file_size(db()), 0u);
  EXPECT_NE(SqliteState::open(dir_).message().find("is damaged (it is not a casewatch state: it holds no tables)"),
            std::string::npos)
      << SqliteState::open(dir_).message();
  {  // a real state cut short, as by a copy that stopped half way
    std::filesystem::remove(db());
    {
      auto state = SqliteState::open(dir_);
      ASSERT_TRUE(state.ok()) << state.message();
      auto store = (*state)->alert_store();
      ASSERT_TRUE(store.ok());
      std::vector<AlertChange> changes;
      for (int i = 0; i < 2000; ++i) {
        AlertChange change{AlertChange::Kind::Fired, {}};
        change.alert.fingerprint = "fp" + std::to_string(i);
        change.alert.rule = "assessment_timescale";
        change.alert.key = "K" + std::to_string(i);
        change.alert.edit_text().labels = {{"team", std::string(100, 'x')}};
        changes.push_back(change);
      }
      ASSERT_TRUE((*store)->save(changes).ok());
    }
    for (const char* suffix : {"-wal", "-shm"}) std::filesystem::remove(db() + suffix);
    const auto size = std::filesystem::file_size(db());
    ASSERT_GT(size, 100000u);
    std::filesystem::resize_file(db(), size / 2);
  }
  EXPECT_NE(SqliteState::open(dir_).message().find("the state file " + db() + " is damaged ("), std::string::npos);
  std::ofstream(db(), std::ios::trunc).close();
  EXPECT_NE(SqliteState::open(dir_).message().find("is damaged (it is empty, 0 bytes)"), std::string::npos);
  StateOptions recover;
  recover.move_damaged_aside = true;
  EXPECT_TRUE(SqliteState::open(dir_, recover).ok());
}

TEST_F(StateTest, ANewerSchemaIsRefusedAnOlderOneMigratedAfterABackup) {
  std::filesystem::create_directories(dir_);
  {  // a state file as the first daemon wrote it: no version, no missing_since, no target
    sqlite3* handle = nullptr;
    ASSERT_EQ(sqlite3_open(db().c_str(), &handle), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(handle,
                           "CREATE TABLE alerts (fingerprint TEXT PRIMARY KEY, rule TEXT NOT NULL, key TEXT NOT NULL,"
                           " severity INTEGER NOT NULL, state INTEGER NOT NULL, active_since INTEGER NOT NULL,"
                           " fired_at INTEGER NOT NULL, labels TEXT NOT NULL, annotations TEXT NOT NULL,"
                           " due_date INTEGER, value REAL);"
                           "CREATE TABLE outbox (id TEXT PRIMARY KEY, receiver TEXT NOT NULL, notification TEXT NOT NULL,"
                           " created_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
                           " next_attempt INTEGER NOT NULL, last_error TEXT);"
                           "INSERT INTO alerts VALUES ('fp', 'r', 'K1', 2, 1, 1, 1, '{}', '{}', NULL, NULL);",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(handle);
  }
  {
    auto state = SqliteState::open(dir_);
    ASSERT_TRUE(state.ok()) << state.message();
    EXPECT_TRUE(std::filesystem::exists(db() + ".schema-1.bak"));
    auto alerts = (*(*state)->alert_store())->load_alerts();
    ASSERT_TRUE(alerts.ok()) << alerts.message();
    ASSERT_EQ(alerts->size(), 1u);
    EXPECT_EQ((*alerts)[0].missing_since, 0);
    EXPECT_EQ((*alerts)[0].rejected_since, 0);
  }
  {
    sqlite3* handle = nullptr;
    ASSERT_EQ(sqlite3_open(db().c_str(), &handle), SQLITE_OK);
    sqlite3_exec(handle, "PRAGMA user_version = 99", nullptr, nullptr, nullptr);
    sqlite3_close(handle);
  }
  auto newer = SqliteState::open(dir_);
  ASSERT_FALSE(newer.ok());
  EXPECT_NE(newer.message().find("written by a newer casewatch (schema 99; this one reads up to 3)"), std::string::npos)
      << newer.message();
}

TEST_F(StateTest, BackupWhileRunningAndRestoreWhenStopped) {
  const mode_t old_umask = ::umask(022);  // alert data is 0600 whatever the umask
  const std::string copy = dir_ + "-backup.db";
  {
    auto state = SqliteState::open(dir_);
    ASSERT_TRUE(state.ok());
    EXPECT_EQ(std::filesystem::status(dir_).permissions() & std::filesystem::perms::all, std::filesystem::perms::owner_all);
    ASSERT_TRUE((*(*state)->alert_store())->save({{AlertChange::Kind::Fired, alert("A1")}}).ok());
    // Another process's view: the daemon holds the lock, the backup does not need it.
    ASSERT_TRUE(SqliteState::backup_directory(dir_, copy).ok());
    ASSERT_TRUE((*(*state)->alert_store())->save({{AlertChange::Kind::Fired, alert("A2")}}).ok());
    Status refused = SqliteState::restore(dir_, copy);
    ASSERT_FALSE(refused.ok());  // not under a running daemon
    EXPECT_NE(refused.message().find("another casewatch"), std::string::npos) << refused.message();
  }
  ::umask(old_umask);
  for (const std::string& file : {db(), copy})
    EXPECT_EQ(std::filesystem::status(file).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write)
        << file;
  ASSERT_TRUE(SqliteState::restore(dir_, copy).ok());
  {
    auto state = SqliteState::open(dir_);
    ASSERT_TRUE(state.ok());
    auto alerts = (*(*state)->alert_store())->load_alerts();
    ASSERT_EQ(alerts->size(), 1u);  // as it was at the backup
    EXPECT_EQ((*alerts)[0].key, "A1");
  }
  // What is not a sound state file of this version is refused, and changes nothing.
  {
    std::ofstream junk(copy, std::ios::trunc);
    junk << "not a database";
  }
  EXPECT_FALSE(SqliteState::restore(dir_, copy).ok());
  EXPECT_FALSE(SqliteState::backup_directory(dir_ + "-none", copy).ok());
  auto state = SqliteState::open(dir_);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ((*(*state)->alert_store())->load_alerts()->size(), 1u);
  std::filesystem::remove(copy);
}

// ---------------------------------------------------------------------------------------------
// Delivery, with fake transports

// Records every request; a url containing "hang" blocks until released or cancelled, one
// containing "fail" answers 503.
class FakeHttp final : public HttpTransport {
 public:
  HttpPostResult post(const HttpPostRequest& request) const override {
    if (request.url.find("hang") != std::string::npos) {
      std::unique_lock lock(mutex_);
      ++hanging_;
      changed_.notify_all();
      // Like libcurl's progress callback: looks at the cancel flag every few milliseconds.
      for (int i = 0; i < 1500 && !released_ && !(request.cancel && request.cancel->load()); ++i)
        changed_.wait_for(lock, 20ms);
      --hanging_;
      if (!released_) return {false, 0, "cancelled", ""};
    }
    std::lock_guard lock(mutex_);
    urls_.push_back(request.url);
    changed_.notify_all();
    if (request.url.find("fail") != std::string::npos) return {false, 503, "HTTP 503", ""};
    return {true, 200, "", ""};
  }
  std::vector<std::string> urls() const {
    std::lock_guard lock(mutex_);
    return urls_;
  }
  bool wait_for(size_t count, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return urls_.size() >= count; });
  }
  bool wait_hanging(std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return hanging_ > 0; });
  }

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  mutable std::vector<std::string> urls_;
  mutable int hanging_ = 0;
  bool released_ = false;
};

class DeliveryTest : public testing::Test {
 protected:
  std::shared_ptr<const Receivers> receivers(std::vector<ReceiverConfig> configs) {
    return std::make_shared<const Receivers>(configs, ReceiverContext{nullptr, {}, http_, nullptr});
  }
  void enqueue(const std::string& id, const ReceiverConfig& r, const std::string& fallback = "") {
    Notification n;
    n.id = id;
    n.receiver = r.name;
    n.created_at = clock_.now();
    n.fallback_receiver = fallback;
    ASSERT_TRUE(outbox_.commit({}, {}, outbox_entries(n, receiver_targets(r))).ok());
  }
  DeliveryReport report() {
    return {[this](const std::string& r, std::string_view outcome) {
              std::lock_guard lock(mutex_);
              outcomes_.push_back(r + ":" + std::string(outcome));
            },
            [this](const std::string& r, double size) {
              std::lock_guard lock(mutex_);
              queues_[r] = size;
            }};
  }
  std::shared_ptr<FakeHttp> http_ = std::make_shared<FakeHttp>();
  MemoryOutbox outbox_;
  ManualClock clock_{kStart};
  std::mutex mutex_;
  std::vector<std::string> outcomes_;
  std::map<std::string, double> queues_;
};

TEST_F(DeliveryTest, AHungReceiverDelaysNoOther) {
  ReceiverConfig hung = receiver("smtp-hang"), healthy = receiver("teams");
  Delivery delivery(outbox_, clock_, report());
  delivery.set_receivers(receivers({hung, healthy}));
  enqueue("n1", hung);
  enqueue("n2", healthy);
  delivery.start();
  delivery.kick();
  ASSERT_TRUE(http_->wait_hanging(5s));
  ASSERT_TRUE(http_->wait_for(1, 5s)) << "the healthy receiver waited for the hung one";
  EXPECT_EQ(http_->urls(), std::vector<std::string>{"http://teams/"});
  // Stopping does not wait for the hung send beyond its deadline; the entry stays for the restart.
  auto started = std::chrono::steady_clock::now();
  delivery.stop(200ms);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  auto left = outbox_.entries();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].id, "n1");
  EXPECT_EQ(left[0].attempts, 0);  // abandoned, not counted as a failure
  std::lock_guard lock(mutex_);
  EXPECT_EQ(queues_["teams"], 0);  // a series for every receiver, 0 when empty
}

TEST_F(DeliveryTest, BackoffThenTheFallbackReceiverAfterMaxAttempts) {
  ReceiverConfig failing = receiver("hook-fail"), fallback = receiver("duty");
  failing.max_attempts = 3;
  Delivery delivery(outbox_, clock_, report(), BackoffPolicy{10, 600});
  delivery.set_receivers(receivers({failing, fallback}));
  enqueue("n1", failing, "duty");
  EXPECT_EQ(delivery.run_once(), 1u);
  EXPECT_EQ(outbox_.entries()[0].attempts, 1);
  EXPECT_EQ(outbox_.entries()[0].next_attempt, kStart + 10);
  EXPECT_EQ(delivery.run_once(), 0u);  // not due yet
  clock_.advance(10);
  delivery.run_once();
  EXPECT_EQ(outbox_.entries()[0].next_attempt, kStart + 10 + 20);  // doubled
  clock_.advance(20);
  delivery.run_once();  // the third failure: given up, the fallback gets it at once
  auto entries = outbox_.entries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].id, "n1-fallback");
  EXPECT_EQ(entries[0].receiver, "duty");
  delivery.run_once();
  EXPECT_TRUE(outbox_.entries().empty());
  EXPECT_EQ(http_->urls().back(), "http://duty/");
  std::lock_guard lock(mutex_);
  EXPECT_EQ(std::count(outcomes_.begin(), outcomes_.end(), "hook-fail:failed"), 3);
  EXPECT_EQ(std::count(outcomes_.begin(), outcomes_.end(), "hook-fail:dropped"), 1);
  EXPECT_EQ(std::count(outcomes_.begin(), outcomes_.end(), "duty:sent"), 1);
}

TEST_F(DeliveryTest, DroppedAfterMaxAge) {
  ReceiverConfig failing = receiver("hook-fail");
  failing.max_age_seconds = 3600;
  Delivery delivery(outbox_, clock_, report());
  delivery.set_receivers(receivers({failing}));
  enqueue("n1", failing);
  delivery.run_once();
  clock_.advance(3600);
  delivery.run_once();
  EXPECT_TRUE(outbox_.entries().empty());
}

TEST_F(DeliveryTest, EachAlertmanagerPeerIsDeliveredOnItsOwn) {
  ReceiverConfig am = receiver("am", ReceiverType::Alertmanager);
  am.urls = {"http://am1-fail:9093", "http://am2:9093"};
  Delivery delivery(outbox_, clock_, report());
  delivery.set_receivers(receivers({am}));
  enqueue("n1", am);
  delivery.run_once();
  // The peer that answered is done; the one that failed is retried alone.
  auto entries = outbox_.entries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].target, "http://am1-fail:9093");
  EXPECT_EQ(entries[0].attempts, 1);
}

}  // namespace
}  // namespace casewatch
