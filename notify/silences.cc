#include "notify/silences.h"

#include <unordered_set>

#include <spdlog/spdlog.h>

#include "config/as_of.h"
#include "integrations/json_text.h"
#include "integrations/utf8.h"
#include "notify/notification.h"

namespace casewatch {

std::optional<int64_t> parse_rfc3339_seconds(const std::string& text) {
  if (text.size() <= 10) return std::nullopt;  // a bare date would mean 09:00 local: not a timestamp
  auto parsed = parse_as_of(text, "UTC");
  if (!parsed) return std::nullopt;
  return parsed->epoch_seconds;
}

std::string_view silence_state_name(SilenceState state) {
  switch (state) {
    case SilenceState::Pending: return "pending";
    case SilenceState::Active: return "active";
    case SilenceState::Expired: return "expired";
  }
  return "?";
}

SilenceState Silence::state(int64_t now) const {
  if (now < starts_at) return SilenceState::Pending;
  if (now >= ends_at) return SilenceState::Expired;
  return SilenceState::Active;
}

bool Silence::covers_everything() const {
  // Values no one would pin: a matcher that takes all of them takes any.
  // A matcher that takes "" takes every alert without that label: on a label no rule sets
  // ({"nonexistent": ""}) it takes them all.
  static const char* const kProbes[] = {"x", "Zq 9-\xC3\xA9/_.~!", "0"};
  for (const LabelMatcher& m : matchers) {
    if (!m.regex) {
      if (!m.value.empty()) return false;
      continue;
    }
    if (RE2::FullMatch("", *m.regex)) continue;
    for (const char* probe : kProbes)
      if (!RE2::FullMatch(probe, *m.regex)) return false;
  }
  return true;
}

bool Silence::matches(const Alert& alert, int64_t now) const {
  if (state(now) != SilenceState::Active) return false;
  for (const auto& m : matchers)
    if (!m.matches(alert.labels())) return false;
  return true;
}

namespace {

nlohmann::json silence_json(const Silence& s) {
  return {{"id", s.id}, {"matchers", s.matchers_json}, {"starts_at", s.starts_at}, {"ends_at", s.ends_at},
          {"created_by", s.created_by}, {"comment", s.comment}};
}

std::optional<Silence> silence_from(const nlohmann::json& matchers, std::string& error) {
  Silence s;
  if (!matchers.is_object() || matchers.empty()) {
    error = "matchers must be a non-empty object of LABEL: VALUE or LABEL: {\"regex\": \"...\"}";
    return std::nullopt;
  }
  for (const auto& [label, value] : matchers.items()) {
    LabelMatcher m;
    m.label = label;
    if (value.is_string()) {
      m.value = value.get<std::string>();
    } else if (value.is_object() && value.size() == 1 && value.contains("regex") && value["regex"].is_string()) {
      m.pattern = value["regex"].get<std::string>();
      m.regex = compile_matcher_regex(m.pattern);
      if (!m.regex->ok()) {
        error = "matcher " + label + ": invalid regular expression: " + m.regex->error();
        return std::nullopt;
      }
    } else {
      error = "matcher " + label + " must be a string or {\"regex\": \"...\"}";
      return std::nullopt;
    }
    s.matchers.push_back(std::move(m));
  }
  s.matchers_json = matchers;
  return s;
}

}  // namespace

Status Silences::restore() {
  auto silences = store_.load_documents("silences");
  if (!silences.ok()) return silences.status();
  for (const std::string& doc : *silences) {
    auto j = nlohmann::json::parse(doc, nullptr, false);
    if (j.is_discarded()) return Status::error("a stored silence is not JSON");
    std::string ignored;
    auto s = silence_from(j.value("matchers", nlohmann::json()), ignored);
    if (!s) return Status::error("the stored silence " + j.value("id", std::string("?")) + " has bad matchers");
    s->id = j.value("id", "");
    s->starts_at = j.value("starts_at", int64_t{0});
    s->ends_at = j.value("ends_at", int64_t{0});
    s->created_by = j.value("created_by", "");
    s->comment = j.value("comment", "");
    silences_[s->id] = std::move(*s);
  }
  auto acks = store_.load_documents("acks");
  if (!acks.ok()) return acks.status();
  for (const std::string& doc : *acks) {
    auto j = nlohmann::json::parse(doc, nullptr, false);
    if (j.is_discarded()) return Status::error("a stored acknowledgement is not JSON");
    Ack a{j.value("fingerprint", ""), static_cast<Severity>(j.value("severity", 1)), j.value("created_by", ""),
          j.value("comment", ""), j.value("created_at", int64_t{0})};
    acks_[a.fingerprint] = a;
  }
  return {};
}

std::vector<Silence> Silences::covering_everything(int64_t now) const {
  std::vector<Silence> found;
  for (const auto& [id, silence] : silences_)
    if (silence.state(now) == SilenceState::Active && silence.covers_everything()) found.push_back(silence);
  return found;
}

Result<std::string> Silences::add(const nlohmann::json& body, int64_t now, const SilencePolicy& policy) {
  if (!body.is_object()) return Status::error("the body must be a JSON object");
  std::string error;
  auto s = silence_from(body.value("matchers", nlohmann::json()), error);
  if (!s) return Status::error(error);
  // "": {"regex": ".*"} would silence every alert under a name no one reads.
  for (const LabelMatcher& m : s->matchers)
    if (m.label.empty()) return Status::error("a matcher needs a label name");
  auto text = [&](const char* key) { return body.contains(key) && body[key].is_string() ? body[key].get<std::string>() : ""; };
  s->starts_at = now;
  if (body.contains("starts_at")) {
    auto t = parse_rfc3339_seconds(text("starts_at"));
    if (!t) return Status::error("starts_at must be an RFC 3339 timestamp");
    s->starts_at = *t;
  }
  auto ends = parse_rfc3339_seconds(text("ends_at"));
  if (!ends) return Status::error("ends_at is required: an RFC 3339 timestamp");
  s->ends_at = *ends;
  if (s->ends_at <= s->starts_at) return Status::error("ends_at must be after starts_at");
  // A silence is a pause, not a way to switch an alert off for good: a child's timescale slipping
  // for a year unseen is what casewatch exists to prevent.
  if (s->ends_at - std::max(now, s->starts_at) > policy.max_seconds)
    return Status::error("a silence lasts at most " +
                         (policy.max_seconds % 86400 ? std::to_string(policy.max_seconds / 3600) + " hours"
                                                     : std::to_string(policy.max_seconds / 86400) + " days") +
                         " (server.max_silence): ends_at is further off");
  if (s->covers_everything() && !policy.may_cover_everything)
    return Status::forbidden("a silence that covers every alert (no matcher names a value) needs an admin");
  s->created_by = text("created_by");
  s->comment = text("comment");
  if (s->created_by.empty()) return Status::error("created_by is required");
  s->id = ids_();
  if (Status stored = store_.put_document("silences", s->id, json_text(silence_json(*s))); !stored.ok()) return stored;
  // Who silenced what is an operator's question; the matchers name rules and teams, not children.
  spdlog::info("silence {} created by '{}' until {}{}", s->id, log_safe(s->created_by), rfc3339_utc(s->ends_at),
               s->covers_everything() ? ": it covers every alert" : "");
  std::string id = s->id;
  silences_[id] = std::move(*s);
  return id;
}

Status Silences::remove(const std::string& id) {
  if (!silences_.count(id)) return Status::not_found("no such silence");
  if (Status s = store_.delete_document("silences", id); !s.ok()) return s;
  silences_.erase(id);
  spdlog::info("silence {} removed", id);
  return {};
}

Status Silences::acknowledge(const Alert& alert, std::string created_by, std::string comment, int64_t now) {
  Ack a{alert.fingerprint, alert.severity, std::move(created_by), std::move(comment), now};
  nlohmann::json j = {{"fingerprint", a.fingerprint}, {"severity", static_cast<int>(a.severity)},
                      {"created_by", a.created_by}, {"comment", a.comment}, {"created_at", a.created_at}};
  if (Status s = store_.put_document("acks", a.fingerprint, json_text(j)); !s.ok()) return s;
  acks_[a.fingerprint] = std::move(a);
  spdlog::debug("alert {} key {} acknowledged", alert.rule, alert.key);
  return {};
}

std::set<std::string> Silences::apply(const std::vector<const Alert*>& alerts, int64_t now) {
  std::set<std::string> silenced;
  if (acks_.empty() && silences_.empty()) return silenced;  // the usual round: nothing to look at
  std::unordered_set<std::string_view> present;
  for (const Alert* alert : alerts) {
    if (!acks_.empty()) present.insert(alert->fingerprint);
    auto ack = acks_.find(alert->fingerprint);
    if (ack != acks_.end() && alert->severity > ack->second.severity) {
      // The severity rose: the acknowledgement no longer holds.
      if (Status s = store_.delete_document("acks", alert->fingerprint); !s.ok())
        spdlog::error("state store: cannot delete an acknowledgement: {}", s.message());
      acks_.erase(ack);
      ack = acks_.end();
    }
    bool by_silence = false;
    for (const auto& [id, s] : silences_) by_silence = by_silence || s.matches(*alert, now);
    if (by_silence || ack != acks_.end()) silenced.insert(alert->fingerprint);
  }
  for (auto it = acks_.begin(); it != acks_.end();) {
    if (!present.count(it->first)) {  // resolved
      if (Status s = store_.delete_document("acks", it->first); !s.ok())
        spdlog::error("state store: cannot delete an acknowledgement: {}", s.message());
      it = acks_.erase(it);
    } else {
      ++it;
    }
  }
  return silenced;
}

}  // namespace casewatch
