#include "notify/dispatcher.h"

#include <algorithm>
#include <optional>
#include <random>
#include <unordered_set>

#include "config/as_of.h"
#include "integrations/json_text.h"

namespace casewatch {

std::string random_id() {
  static thread_local std::mt19937_64 generator{std::random_device{}()};
  char buffer[33];
  std::snprintf(buffer, sizeof buffer, "%016llx%016llx", static_cast<unsigned long long>(generator()),
                static_cast<unsigned long long>(generator()));
  return buffer;
}

std::string GroupState::to_text() const {
  // Keys sorted, as from a JSON tree; the alerts written as a notification's are.
  std::string out = "{\"first_seen\":" + std::to_string(first_seen) + ",\"group_key\":";
  append_json_string(out, group_key);
  out += ",\"group_labels\":";
  append_json_object(out, group_labels);
  out += ",\"id\":";
  append_json_string(out, id);
  out += ",\"last_digest\":[";
  for (const std::string& fp : last_digest) {
    if (out.back() != '[') out += ',';
    append_json_string(out, fp);
  }
  out += "],\"last_digest_day\":" + std::to_string(last_digest_day) + ",\"last_sent\":" + std::to_string(last_sent);
  out += ",\"recently_resolved\":[";
  for (const auto& [fp, entry] : recently_resolved) {
    if (out.back() != '[') out += ',';
    append_notified_alert_json(out, entry.first, true, entry.second, false);
  }
  out += "],\"route\":" + std::to_string(route) + ",\"sent\":[";
  for (const auto& [fp, alert] : sent) {
    if (out.back() != '[') out += ',';
    append_notified_alert_json(out, alert, false, 0, false);
  }
  out += "]}";
  return out;
}

GroupState GroupState::from_json(const nlohmann::json& j) {
  GroupState g;
  g.id = j.value("id", "");
  g.route = j.value("route", size_t{0});
  g.group_key = j.value("group_key", "");
  g.group_labels = j.value("group_labels", StringMap{});
  g.first_seen = j.value("first_seen", int64_t{0});
  g.last_sent = j.value("last_sent", int64_t{0});
  Notification carrier = notification_from_json({{"alerts", j.value("sent", nlohmann::json::array())}});
  for (auto& a : carrier.alerts) g.sent[a.alert.fingerprint] = a.alert;
  g.last_digest_day = j.value("last_digest_day", kNullDay);
  g.last_digest = j.value("last_digest", std::set<std::string, std::less<>>{});
  Notification resolved = notification_from_json({{"alerts", j.value("recently_resolved", nlohmann::json::array())}});
  for (auto& a : resolved.alerts) g.recently_resolved[a.alert.fingerprint] = {a.alert, a.ends_at};
  return g;
}

void Dispatcher::restore(std::vector<GroupState> groups) {
  for (auto& g : groups)
    if (g.route < config_->routes.size()) groups_[g.id] = std::move(g);
}

void Dispatcher::adopt(const Dispatcher& old) {
  for (const auto& [id, group] : old.groups_)
    if (group.route < config_->routes.size() && config_->routes[group.route].receiver ==
                                                    old.config_->routes[group.route].receiver)
      groups_[id] = group;
}

bool Dispatcher::in_active_time(const RouteConfig& route, const DispatchInput& in) const {
  if (route.active_time.empty()) return true;
  for (const TimeWindow& w : route.active_time)
    if (w.contains(in.today, in.minute_of_day, *config_->calendar)) return true;
  return false;
}

// An escalation route applies only to alerts that have been firing for at least its period,
// counted in the period's own unit (working days skip weekends and bank holidays).
bool Dispatcher::escalated(const RouteConfig& route, const Alert& alert, const DispatchInput& in) const {
  if (!route.escalate_after) return true;
  if (alert.fired_at <= 0) return false;
  const Period& p = *route.escalate_after;
  if (p.unit == PeriodUnit::Days || p.unit == PeriodUnit::Weeks)
    return in.now - alert.fired_at >= static_cast<int64_t>(p.amount) * (p.unit == PeriodUnit::Weeks ? 7 : 1) * 86400;
  Day fired_day = as_of_instant(alert.fired_at, config_->engine.timezone).day;
  return shift(fired_day, p, +1, *config_->calendar) <= in.today;
}

Notification Dispatcher::make(const GroupState& group, const RouteConfig& route, int64_t now) const {
  Notification n;
  n.id = ids_();
  n.receiver = route.receiver;
  n.route = route.name;
  n.group_key = group.group_key;
  n.group_labels = group.group_labels;
  n.created_at = now;
  n.external_url = external_url_;
  n.fallback_receiver = route.fallback_receiver;
  return n;
}

DispatchOutput Dispatcher::tick(const DispatchInput& in) {
  DispatchOutput out;
  const auto& routes = config_->routes;
  // Every list of alerts here is in fingerprint order, as each group's `sent` is: they are walked
  // side by side, not looked up one by one (an Alertmanager group may hold 100,000 alerts).
  auto by_fingerprint = [](const Alert* a, const Alert* b) { return a->fingerprint < b->fingerprint; };
  std::vector<const Alert*> all = in.alerts;
  if (!std::is_sorted(all.begin(), all.end(), by_fingerprint)) std::sort(all.begin(), all.end(), by_fingerprint);
  auto is_in = [](const std::vector<const Alert*>& alerts, std::string_view fingerprint) {
    auto it = std::lower_bound(alerts.begin(), alerts.end(), fingerprint,
                               [](const Alert* a, std::string_view fp) { return a->fingerprint < fp; });
    return it != alerts.end() && (*it)->fingerprint == fingerprint;
  };

  // Route every firing, unsilenced alert: first matching route wins unless it says continue.
  std::map<std::string, std::vector<const Alert*>> current;  // group id -> alerts
  std::string key;
  for (const Alert* alert : all) {
    if (alert->state != AlertState::Firing || in.silenced.count(alert->fingerprint)) continue;
    for (size_t r = 0; r < routes.size(); ++r) {
      const RouteConfig& route = routes[r];
      bool matched = std::all_of(route.match.begin(), route.match.end(),
                                 [&](const LabelMatcher& m) { return m.matches(alert->labels()); });
      if (!matched || !escalated(route, *alert, in)) continue;
      key.assign(route.name).append(":{");
      for (size_t i = 0; i < route.group_by.size(); ++i) {
        const std::string& name = route.group_by[i];
        key.append(i ? "," : "").append(name).append("=\"");
        key.append(alert->labels().value_or_empty(name));
        key.append("\"");
      }
      key.append("}");
      auto group = current.find(key);
      if (group == current.end()) {
        group = current.try_emplace(key).first;
        if (!groups_.count(key)) {
          GroupState g;
          g.id = key;
          g.route = r;
          for (const std::string& name : route.group_by) g.group_labels.set(name, alert->labels().value_or_empty(name));
          g.group_key = key.substr(key.find(':') + 1);
          g.first_seen = in.now;
          out.changed_groups.push_back(g);
          groups_.emplace(key, std::move(g));
        }
      }
      group->second.push_back(alert);
      if (!route.continue_matching) break;
    }
  }

  for (auto it = groups_.begin(); it != groups_.end();) {
    GroupState& g = it->second;
    const RouteConfig& route = routes[g.route];
    static const std::vector<const Alert*> kNone;
    auto found = current.find(g.id);
    const std::vector<const Alert*>& alerts = found == current.end() ? kNone : found->second;
    // Side by side: each current alert as last sent (null when it was not), and what was sent and
    // has since resolved.
    std::vector<Alert*> previous(alerts.size(), nullptr);
    std::vector<const Alert*> resolved;
    {
      size_t i = 0;
      for (auto& [fp, alert] : g.sent) {
        while (i < alerts.size() && alerts[i]->fingerprint < fp) ++i;
        if (i < alerts.size() && alerts[i]->fingerprint == fp) previous[i] = &alert;
        else if (in.resolved.count(fp)) resolved.push_back(&alert);
      }
    }

    if (route.digest) {
      bool due = route.digest->days.includes(in.today, *config_->calendar) && in.minute_of_day >= route.digest->minute &&
                 g.last_digest_day != in.today && !alerts.empty();
      if (due) {
        Notification n = make(g, route, in.now);
        n.digest = true;
        std::set<std::string, std::less<>> fingerprints;
        for (const Alert* alert : alerts) {
          n.alerts.push_back({*alert, false, 0, !g.last_digest.count(alert->fingerprint)});
          fingerprints.insert(fingerprints.end(), alert->fingerprint);
        }
        out.notifications.push_back(std::move(n));
        g.last_digest = std::move(fingerprints);
        g.last_digest_day = in.today;
        g.last_sent = in.now;
        g.sent.clear();
        for (const Alert* alert : alerts) g.sent.emplace_hint(g.sent.end(), alert->fingerprint, *alert);
        out.changed_groups.push_back(g);
      }
      if (alerts.empty() && g.last_digest_day != in.today && g.last_digest_day != kNullDay) {
        out.deleted_groups.push_back(g.id);
        it = groups_.erase(it);
        continue;
      }
      ++it;
      continue;
    }

    const ReceiverConfig* receiver = nullptr;
    for (const auto& r : config_->receivers)
      if (r.name == route.receiver) receiver = &r;
    if (receiver && receiver->type == ReceiverType::Alertmanager) {
      // Alertmanager does its own grouping and dedup. As Prometheus does: every firing alert at
      // every evaluation, with endsAt ahead; each resolved one, with its end, for 15 minutes.
      // The group's state is saved only when it changes, not at every evaluation.
      bool changed = false;
      std::unordered_set<std::string_view> newly_resolved;
      for (const Alert* alert : resolved) {
        g.recently_resolved.insert_or_assign(alert->fingerprint, std::pair{*alert, in.now});
        newly_resolved.insert(alert->fingerprint);
        changed = true;
      }
      for (auto r = g.recently_resolved.begin(); r != g.recently_resolved.end();) {
        // One that fires again is firing, not resolved.
        const bool gone = in.now - r->second.second >= kResolvedRetentionSeconds || is_in(alerts, r->first);
        changed = changed || gone;
        r = gone ? g.recently_resolved.erase(r) : std::next(r);
      }
      if (in.after_evaluation && (!alerts.empty() || !g.recently_resolved.empty())) {
        Notification n = make(g, route, in.now);
        n.whole_state = true;
        n.alerts.reserve(alerts.size() + g.recently_resolved.size());
        for (size_t i = 0; i < alerts.size(); ++i)
          n.alerts.push_back({*alerts[i], false, in.now + in.alertmanager_ends_in, previous[i] == nullptr});
        for (const auto& [fp, entry] : g.recently_resolved)
          n.alerts.push_back({entry.first, true, entry.second, newly_resolved.count(fp) > 0});
        out.notifications.push_back(std::move(n));
        g.last_sent = in.now;
      }
      // What was sent stays as it is, or is updated, or is added; what is no longer current goes,
      // unless it is only silenced (still an alert, not resolved): its resolve is still to be sent.
      for (size_t i = 0; i < alerts.size(); ++i) {
        if (!previous[i]) {
          g.sent.emplace(alerts[i]->fingerprint, *alerts[i]);
          changed = true;
        } else if (*previous[i] != *alerts[i]) {
          *previous[i] = *alerts[i];
          changed = true;
        }
      }
      if (g.sent.size() != alerts.size())
        for (auto s = g.sent.begin(); s != g.sent.end();) {
          const bool kept = is_in(alerts, s->first) || (is_in(all, s->first) && !in.resolved.count(s->first));
          changed = changed || !kept;
          s = kept ? std::next(s) : g.sent.erase(s);
        }
      if (g.sent.empty() && g.recently_resolved.empty()) {
        out.deleted_groups.push_back(g.id);
        it = groups_.erase(it);
      } else {
        if (changed) out.changed_groups.push_back(g);
        ++it;
      }
      continue;
    }

    bool report_resolved = route.send_resolved && !resolved.empty();
    bool changed = report_resolved || alerts.size() != g.sent.size();
    for (size_t i = 0; i < alerts.size() && !changed; ++i)
      changed = !previous[i] || previous[i]->severity != alerts[i]->severity;
    if (alerts.empty() && !report_resolved) {  // nothing left to say
      out.deleted_groups.push_back(g.id);
      it = groups_.erase(it);
      continue;
    }
    bool send = false;
    if (in_active_time(route, in)) {  // outside the window, notifications wait; they are not dropped
      if (g.last_sent == 0) send = !alerts.empty() && in.now - g.first_seen >= route.group_wait_seconds;
      else if (changed) send = in.now - g.last_sent >= route.group_interval_seconds;
      else send = in.now - g.last_sent >= route.repeat_interval_seconds;
    }
    if (!send) {
      ++it;
      continue;
    }
    Notification n = make(g, route, in.now);
    for (size_t i = 0; i < alerts.size(); ++i) n.alerts.push_back({*alerts[i], false, 0, previous[i] == nullptr});
    if (route.send_resolved)
      for (const Alert* alert : resolved) n.alerts.push_back({*alert, true, in.now, false});
    // What the last message had and someone has since acknowledged: said once, with who and when.
    if (in.acknowledged)
      for (const auto& [fp, alert] : g.sent)
        if (auto ack = in.acknowledged->find(fp); ack != in.acknowledged->end() && !is_in(alerts, fp) && !in.resolved.count(fp)) {
          NotifiedAlert told{alert, false, 0, false};
          told.acknowledged_by = ack->second.created_by;
          told.acknowledged_at = ack->second.created_at;
          told.acknowledged_comment = ack->second.comment;
          n.alerts.push_back(std::move(told));
        }
    out.notifications.push_back(std::move(n));
    g.last_sent = in.now;
    g.sent.clear();
    for (const Alert* alert : alerts) g.sent.emplace_hint(g.sent.end(), alert->fingerprint, *alert);
    if (alerts.empty()) {
      out.deleted_groups.push_back(g.id);
      it = groups_.erase(it);
      continue;
    }
    out.changed_groups.push_back(g);
    ++it;
  }
  return out;
}

}  // namespace casewatch
