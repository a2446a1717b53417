#include "notify/state.h"

#include <algorithm>
#include <set>

namespace casewatch {

std::vector<OutboxEntry> outbox_entries(Notification n, const std::vector<std::string>& targets) {
  std::vector<OutboxEntry> out(targets.size());
  auto shared = std::make_shared<const Notification>(std::move(n));
  for (size_t i = 0; i < targets.size(); ++i) {
    OutboxEntry& e = out[i];
    e.id = targets.size() == 1 ? shared->id : shared->id + "@" + std::to_string(i + 1);
    e.receiver = shared->receiver;
    e.target = targets[i];
    e.next_attempt = shared->created_at;
    e.notification = shared;
  }
  return out;
}

namespace {

// The key whole-state entries of one group share ("" for other notifications).
std::string whole_state_key(const Notification& n) { return n.whole_state ? n.route + "\n" + n.group_key : ""; }

}  // namespace

void HeldEntries::add(OutboxEntry entry) {
  if (std::any_of(held_.begin(), held_.end(), [&](const Held& h) { return h.entry.id == entry.id; })) return;
  DeliveryHistory history = delivery_history_of(*entry.notification);
  const std::string key = whole_state_key(*entry.notification);
  // Built only when a replaced entry has news to carry over: the first entry of a large group is
  // all news, and usually replaces nothing.
  std::set<std::pair<std::string, bool>> recorded, carried;
  for (auto it = held_.begin(); !key.empty() && it != held_.end();) {
    const OutboxEntry& old = it->entry;
    if (old.receiver != entry.receiver || old.target != entry.target || whole_state_key(*old.notification) != key) {
      ++it;
      continue;
    }
    entry.attempts = std::max(entry.attempts, old.attempts);
    if (carried.empty() && !it->history.empty()) {
      for (const NotifiedAlert& a : entry.notification->alerts) carried.emplace(a.alert.fingerprint, a.resolved);
      recorded.insert(history.begin(), history.end());
    }
    for (auto& item : it->history)  // an alert first told in the replaced entry is told now
      if (carried.count(item) && recorded.insert(item).second) history.push_back(std::move(item));
    it = held_.erase(it);
  }
  held_.push_back({std::move(entry), std::move(history)});
}

void HeldEntries::due(const std::string& receiver, int64_t now, size_t limit, std::vector<OutboxEntry>& out) const {
  for (const Held& h : held_)
    if (h.entry.receiver == receiver && h.entry.next_attempt <= now && out.size() < limit) out.push_back(h.entry);
}

std::optional<HeldEntries::Held> HeldEntries::take(const std::string& entry_id) {
  auto it = std::find_if(held_.begin(), held_.end(), [&](const Held& h) { return h.entry.id == entry_id; });
  if (it == held_.end()) return std::nullopt;
  Held taken = std::move(*it);
  held_.erase(it);
  return taken;
}

bool HeldEntries::retry_later(const std::string& entry_id, int attempts, int64_t next_attempt) {
  for (Held& h : held_)
    if (h.entry.id == entry_id) {
      h.entry.attempts = attempts;
      h.entry.next_attempt = next_attempt;
      return true;
    }
  return false;
}

void HeldEntries::count(std::map<std::string, int64_t>& sizes) const {
  for (const Held& h : held_) ++sizes[h.entry.receiver];
}

std::vector<OutboxEntry> HeldEntries::entries() const {
  std::vector<OutboxEntry> out;
  for (const Held& h : held_) out.push_back(h.entry);
  return out;
}

Result<std::vector<Alert>> MemoryAlertStore::load_alerts() {
  std::vector<Alert> out;
  for (const auto& [fp, alert] : alerts_) out.push_back(alert);
  return out;
}

Status MemoryAlertStore::save(const std::vector<AlertChange>& changes) {
  if (fail_) return Status::error("disk I/O error (simulated)");
  for (const AlertChange& change : changes) {
    if (change.kind == AlertChange::Kind::Resolved) alerts_.erase(change.alert.fingerprint);
    else alerts_[change.alert.fingerprint] = change.alert;
  }
  return {};
}

Status MemoryAlertStore::put_document(std::string_view table, const std::string& id, const std::string& json) {
  if (fail_) return Status::error("disk I/O error (simulated)");
  documents_[std::string(table)][id] = json;
  return {};
}

Status MemoryAlertStore::delete_document(std::string_view table, const std::string& id) {
  auto it = documents_.find(table);
  if (it != documents_.end()) it->second.erase(id);
  return {};
}

Result<std::vector<std::string>> MemoryAlertStore::load_documents(std::string_view table) {
  std::vector<std::string> out;
  auto it = documents_.find(table);
  if (it != documents_.end())
    for (const auto& [id, json] : it->second) out.push_back(json);
  return out;
}

Result<std::vector<GroupState>> MemoryOutbox::load_groups() {
  std::lock_guard lock(mutex_);
  std::vector<GroupState> out;
  for (const auto& [id, g] : groups_) out.push_back(g);
  return out;
}

Status MemoryOutbox::commit(const std::vector<GroupState>& changed_groups, const std::vector<std::string>& deleted_groups,
                            std::vector<OutboxEntry> entries) {
  std::lock_guard lock(mutex_);
  for (const GroupState& g : changed_groups) groups_[g.id] = g;
  for (const std::string& id : deleted_groups) groups_.erase(id);
  for (OutboxEntry& e : entries) entries_.add(std::move(e));
  return {};
}

Result<std::vector<OutboxEntry>> MemoryOutbox::due(const std::string& receiver, int64_t now, size_t limit) {
  std::lock_guard lock(mutex_);
  std::vector<OutboxEntry> out;
  entries_.due(receiver, now, limit, out);
  return out;
}

Status MemoryOutbox::delivered(const std::string& entry_id, int64_t at) {
  std::lock_guard lock(mutex_);
  if (auto taken = entries_.take(entry_id)) {
    const OutboxEntry& e = taken->entry;
    for (const auto& [fingerprint, resolved] : taken->history)
      deliveries_.emplace(fingerprint, DeliveryRecord{e.notification->id, e.receiver, e.target, at, resolved});
  }
  return {};
}

Result<std::vector<DeliveryRecord>> MemoryOutbox::deliveries_of(const std::string& fingerprint) {
  std::lock_guard lock(mutex_);
  std::vector<DeliveryRecord> out;
  auto [first, last] = deliveries_.equal_range(fingerprint);
  for (auto it = first; it != last; ++it) out.push_back(it->second);
  return out;
}

Status MemoryOutbox::retry_later(const std::string& entry_id, int attempts, int64_t next_attempt, const std::string&) {
  std::lock_guard lock(mutex_);
  entries_.retry_later(entry_id, attempts, next_attempt);
  return {};
}

Status MemoryOutbox::give_up(const std::string& entry_id, const std::vector<OutboxEntry>& replacements) {
  std::lock_guard lock(mutex_);
  entries_.take(entry_id);
  for (const OutboxEntry& e : replacements) entries_.add(e);
  return {};
}

Result<std::map<std::string, int64_t>> MemoryOutbox::queue_sizes() {
  std::lock_guard lock(mutex_);
  std::map<std::string, int64_t> out;
  entries_.count(out);
  return out;
}

std::vector<OutboxEntry> MemoryOutbox::entries() const {
  std::lock_guard lock(mutex_);
  return entries_.entries();
}

}  // namespace casewatch
