#include "daemon/silences.h"
#include "integrations/json_text.h"

#include <spdlog/spdlog.h>

#include "config/as_of.h"
#include "daemon/dispatcher.h"

namespace casewatch {

std::optional<int64_t> parse_rfc3339_seconds(const std::string& text) {
  if (text.size() <= 10) return std::nullopt;  // a bare date would mean 09:00 local: not a timestamp
  auto parsed = parse_as_of(text, "UTC");
  if (!parsed) return std::nullopt;
  return parsed->epoch_seconds;
}

std::string Silence::state(int64_t now) const {
  if (now < starts_at) return "pending";
  if (now >= ends_at) return "expired";
  return "active";
}

bool Silence::matches(const Alert& alert, int64_t now) const {
  if (state(now) != "active") return false;
  for (const auto& m : matchers)
    if (!m.matches(alert.labels)) return false;
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

bool Silences::restore(std::string& error) {
  for (const std::string& doc : store_.load_documents("silences", error)) {
    auto j = nlohmann::json::parse(doc, nullptr, false);
    if (j.is_discarded()) continue;
    std::string ignored;
    auto s = silence_from(j.value("matchers", nlohmann::json()), ignored);
    if (!s) continue;
    s->id = j.value("id", "");
    s->starts_at = j.value("starts_at", int64_t{0});
    s->ends_at = j.value("ends_at", int64_t{0});
    s->created_by = j.value("created_by", "");
    s->comment = j.value("comment", "");
    silences_[s->id] = std::move(*s);
  }
  for (const std::string& doc : store_.load_documents("acks", error)) {
    auto j = nlohmann::json::parse(doc, nullptr, false);
    if (j.is_discarded()) continue;
    Ack a{j.value("fingerprint", ""), static_cast<Severity>(j.value("severity", 1)), j.value("created_by", ""),
          j.value("comment", ""), j.value("created_at", int64_t{0})};
    acks_[a.fingerprint] = a;
  }
  return error.empty();
}

std::optional<std::string> Silences::add(const nlohmann::json& body, int64_t now, std::string& error) {
  if (!body.is_object()) {
    error = "the body must be a JSON object";
    return std::nullopt;
  }
  auto s = silence_from(body.value("matchers", nlohmann::json()), error);
  if (!s) return std::nullopt;
  auto text = [&](const char* key) { return body.contains(key) && body[key].is_string() ? body[key].get<std::string>() : ""; };
  s->starts_at = now;
  if (body.contains("starts_at")) {
    auto t = parse_rfc3339_seconds(text("starts_at"));
    if (!t) {
      error = "starts_at must be an RFC 3339 timestamp";
      return std::nullopt;
    }
    s->starts_at = *t;
  }
  auto ends = parse_rfc3339_seconds(text("ends_at"));
  if (!ends) {
    error = "ends_at is required: an RFC 3339 timestamp";
    return std::nullopt;
  }
  s->ends_at = *ends;
  if (s->ends_at <= s->starts_at) {
    error = "ends_at must be after starts_at";
    return std::nullopt;
  }
  s->created_by = text("created_by");
  s->comment = text("comment");
  if (s->created_by.empty()) {
    error = "created_by is required";
    return std::nullopt;
  }
  s->id = new_notification_id();
  if (!store_.put_document("silences", s->id, json_text(silence_json(*s)), error)) return std::nullopt;
  spdlog::info("silence {} created by the API", s->id);
  std::string id = s->id;
  silences_[id] = std::move(*s);
  return id;
}

bool Silences::remove(const std::string& id, std::string& error) {
  if (!silences_.count(id)) {
    error = "not found";
    return false;
  }
  if (!store_.delete_document("silences", id, error)) return false;
  silences_.erase(id);
  spdlog::info("silence {} removed", id);
  return true;
}

bool Silences::acknowledge(const Alert& alert, std::string created_by, std::string comment, int64_t now, std::string& error) {
  Ack a{alert.fingerprint, alert.severity, std::move(created_by), std::move(comment), now};
  nlohmann::json j = {{"fingerprint", a.fingerprint}, {"severity", static_cast<int>(a.severity)},
                      {"created_by", a.created_by}, {"comment", a.comment}, {"created_at", a.created_at}};
  if (!store_.put_document("acks", a.fingerprint, json_text(j), error)) return false;
  acks_[a.fingerprint] = std::move(a);
  spdlog::info("alert {} key {} acknowledged", alert.rule, alert.key);
  return true;
}

std::set<std::string> Silences::apply(const std::vector<const Alert*>& alerts, int64_t now) {
  std::set<std::string> silenced;
  std::set<std::string> present;
  for (const Alert* alert : alerts) {
    present.insert(alert->fingerprint);
    auto ack = acks_.find(alert->fingerprint);
    if (ack != acks_.end() && alert->severity > ack->second.severity) {
      std::string error;  // the severity rose: the acknowledgement no longer holds
      store_.delete_document("acks", alert->fingerprint, error);
      acks_.erase(ack);
      ack = acks_.end();
    }
    bool by_silence = false;
    for (const auto& [id, s] : silences_) by_silence = by_silence || s.matches(*alert, now);
    if (by_silence || ack != acks_.end()) silenced.insert(alert->fingerprint);
  }
  for (auto it = acks_.begin(); it != acks_.end();) {
    if (!present.count(it->first)) {  // resolved
      std::string error;
      store_.delete_document("acks", it->first, error);
      it = acks_.erase(it);
    } else {
      ++it;
    }
  }
  return silenced;
}

}  // namespace casewatch
