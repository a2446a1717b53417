#include "notify/state.h"

#include <algorithm>

namespace casewatch {

std::vector<OutboxEntry> outbox_entries(const Notification& n, const std::vector<std::string>& targets) {
  std::vector<OutboxEntry> out;
  for (size_t i = 0; i < targets.size(); ++i) {
    OutboxEntry e;
    e.id = targets.size() == 1 ? n.id : n.id + "@" + std::to_string(i + 1);
    e.receiver = n.receiver;
    e.target = targets[i];
    e.notification = n;
    e.next_attempt = n.created_at;
    out.push_back(std::move(e));
  }
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
                            const std::vector<OutboxEntry>& entries) {
  std::lock_guard lock(mutex_);
  for (const GroupState& g : changed_groups) groups_[g.id] = g;
  for (const std::string& id : deleted_groups) groups_.erase(id);
  for (const OutboxEntry& e : entries)
    if (std::none_of(entries_.begin(), entries_.end(), [&](const OutboxEntry& x) { return x.id == e.id; }))
      entries_.push_back(e);
  return {};
}

Result<std::vector<OutboxEntry>> MemoryOutbox::due(const std::string& receiver, int64_t now, size_t limit) {
  std::lock_guard lock(mutex_);
  std::vector<OutboxEntry> out;
  for (const OutboxEntry& e : entries_)
    if (e.receiver == receiver && e.next_attempt <= now && out.size() < limit) out.push_back(e);
  return out;
}

void MemoryOutbox::remove(const std::string& entry_id) {
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(), [&](const OutboxEntry& e) { return e.id == entry_id; }),
                 entries_.end());
}

Status MemoryOutbox::delivered(const std::string& entry_id, int64_t at) {
  std::lock_guard lock(mutex_);
  for (const OutboxEntry& e : entries_)
    if (e.id == entry_id)
      for (const NotifiedAlert& a : e.notification.alerts)
        deliveries_.emplace(a.alert.fingerprint, DeliveryRecord{e.notification.id, e.receiver, e.target, at, a.resolved});
  remove(entry_id);
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
  for (OutboxEntry& e : entries_)
    if (e.id == entry_id) {
      e.attempts = attempts;
      e.next_attempt = next_attempt;
    }
  return {};
}

Status MemoryOutbox::give_up(const std::string& entry_id, const std::vector<OutboxEntry>& replacements) {
  std::lock_guard lock(mutex_);
  remove(entry_id);
  for (const OutboxEntry& e : replacements) entries_.push_back(e);
  return {};
}

Result<std::map<std::string, int64_t>> MemoryOutbox::queue_sizes() {
  std::lock_guard lock(mutex_);
  std::map<std::string, int64_t> out;
  for (const OutboxEntry& e : entries_) ++out[e.receiver];
  return out;
}

std::vector<OutboxEntry> MemoryOutbox::entries() const {
  std::lock_guard lock(mutex_);
  return entries_;
}

}  // namespace casewatch
