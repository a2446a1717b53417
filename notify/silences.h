// Silences (label matchers over a time range) and acknowledgements (one alert, until it
// resolves or its severity rises), SPEC 6 and 9. Persisted through the AlertStore.
// Not thread-safe: used on the event loop.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/routing.h"
#include "notify/alerts.h"
#include "notify/state.h"
#include "rules/status.h"

namespace casewatch {

enum class SilenceState { Pending, Active, Expired };
std::string_view silence_state_name(SilenceState state);

struct Silence {
  std::string id;
  std::vector<LabelMatcher> matchers;
  nlohmann::json matchers_json;  // as posted, for listing
  int64_t starts_at = 0;
  int64_t ends_at = 0;
  std::string created_by;
  std::string comment;

  SilenceState state(int64_t now) const;
  bool matches(const Alert& alert, int64_t now) const;
  // No matcher narrows it: each is a regex that any value matches (".*", ".+") or one that an
  // absent label matches ("" or a regex taking ""), so it covers every alert, or may.
  bool covers_everything() const;
};

// What the one who creates a silence may do.
struct SilencePolicy {
  int64_t max_seconds = 90 * 86400;    // server.max_silence: from now, or from its start
  bool may_cover_everything = false;   // an admin
};

class Silences {
 public:
  // `ids` makes each new silence's id (random in the daemon, counted in tests).
  Silences(AlertStore& store, std::function<std::string()> ids) : store_(store), ids_(std::move(ids)) {}
  Status restore();

  // Parses and stores a silence posted as SPEC 9's JSON, within `policy`; returns its id.
  Result<std::string> add(const nlohmann::json& body, int64_t now, const SilencePolicy& policy);
  // The active silences that cover every alert, for every page to show.
  std::vector<Silence> covering_everything(int64_t now) const;
  Status remove(const std::string& id);  // not_found when absent
  const std::map<std::string, Silence>& all() const { return silences_; }
  const std::map<std::string, Ack>& acks() const { return acks_; }  // by fingerprint

  Status acknowledge(const Alert& alert, std::string created_by, std::string comment, int64_t now);
  // Drops acknowledgements of alerts that resolved or whose severity rose; returns the
  // fingerprints silenced at `now` (by a silence or an acknowledgement).
  std::set<std::string> apply(const std::vector<const Alert*>& alerts, int64_t now);

 private:
  AlertStore& store_;
  std::function<std::string()> ids_;
  std::map<std::string, Silence> silences_;
  std::map<std::string, Ack> acks_;
};

std::optional<int64_t> parse_rfc3339_seconds(const std::string& text);

}  // namespace casewatch
