// Durable state behind the alert lifecycle and the notifications, as two interfaces, each with
// a SQLite version (sqlite_state.h, the daemon's) and an in-memory one here (for tests):
// - AlertStore: the alerts, and the silences and acknowledgements as JSON documents;
// - Outbox: the notification groups and the notifications waiting for their receivers. A
//   dispatch's group changes and new entries are committed together, before anything is sent;
//   an entry leaves only when its receiver accepted it or gave up on it.
// Not thread-safe unless said: each user holds its own store (the SQLite ones their own
// connection); the outbox is shared by the delivery workers and locks itself.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "notify/alerts.h"
#include "notify/dispatcher.h"
#include "notify/notification.h"
#include "rules/status.h"

namespace casewatch {

class AlertStore {
 public:
  virtual ~AlertStore() = default;
  virtual Result<std::vector<Alert>> load_alerts() = 0;
  // The changes of one evaluation, atomically.
  virtual Status save(const std::vector<AlertChange>& changes) = 0;
  // `table`: "silences", "acks", "value_history" or "feed_counts".
  virtual Status put_document(std::string_view table, const std::string& id, const std::string& json) = 0;
  virtual Status delete_document(std::string_view table, const std::string& id) = 0;
  virtual Result<std::vector<std::string>> load_documents(std::string_view table) = 0;
};

// One notification on its way to one place: the receiver, and for a receiver with several (every
// peer of an Alertmanager cluster) which one, each tracked and retried on its own.
struct OutboxEntry {
  std::string id;      // the notification's id, with "@N" for the N-th of several targets
  std::string receiver;
  std::string target;  // "" for a receiver with one place to send to
  // Shared, never changed: every peer's entry, and every copy handed to a delivery worker, is
  // the one notification (an Alertmanager one may hold 100,000 alerts).
  std::shared_ptr<const Notification> notification;
  int attempts = 0;
  int64_t next_attempt = 0;
};

// A notification that reached its receiver, kept for each of its alerts' history (the alert
// page) for kDeliveryHistorySeconds.
struct DeliveryRecord {
  std::string notification_id;
  std::string receiver;
  std::string target;
  int64_t at = 0;
  bool resolved = false;  // it told of the alert's resolution
};
inline constexpr int64_t kDeliveryHistorySeconds = 90 * 86400;

class Outbox {
 public:
  virtual ~Outbox() = default;
  virtual Result<std::vector<GroupState>> load_groups() = 0;
  virtual Status commit(const std::vector<GroupState>& changed_groups, const std::vector<std::string>& deleted_groups,
                        std::vector<OutboxEntry> entries) = 0;
  // The receiver's entries due at `now`, oldest first. Thread-safe.
  virtual Result<std::vector<OutboxEntry>> due(const std::string& receiver, int64_t now, size_t limit) = 0;
  // The entry reached its receiver at `at`: removed, and remembered for its alerts' history.
  virtual Status delivered(const std::string& entry_id, int64_t at) = 0;
  // Deliveries that told of the alert, oldest first. Thread-safe.
  virtual Result<std::vector<DeliveryRecord>> deliveries_of(const std::string& fingerprint) = 0;
  virtual Status retry_later(const std::string& entry_id, int attempts, int64_t next_attempt,
                             const std::string& last_error) = 0;
  // Removes the entry and adds `replacements` (a fallback receiver's) in one transaction.
  virtual Status give_up(const std::string& entry_id, const std::vector<OutboxEntry>& replacements) = 0;
  virtual Result<std::map<std::string, int64_t>> queue_sizes() = 0;
};

// A notification's entries: one per target of its receiver.
std::vector<OutboxEntry> outbox_entries(Notification n, const std::vector<std::string>& targets);

// Outbox entries held in memory, in the order added: all of them in MemoryOutbox, and in the
// SQLite outbox the whole-state ones (Alertmanager's). Those need not be written down: each is
// made again at the next evaluation from the group state, which is saved, and the alerts. A
// whole-state entry replaces the undelivered ones of its group, receiver and target, taking over
// their attempts and the news of theirs that it still carries. Not thread-safe: the outbox locks.
class HeldEntries {
 public:
  struct Held {
    OutboxEntry entry;
    DeliveryHistory history;  // what its delivery records
  };
  void add(OutboxEntry entry);  // ignored when one with its id is held
  void due(const std::string& receiver, int64_t now, size_t limit, std::vector<OutboxEntry>& out) const;
  std::optional<Held> take(const std::string& entry_id);  // removes it; nullopt when not held
  bool retry_later(const std::string& entry_id, int attempts, int64_t next_attempt);  // false when not held
  void count(std::map<std::string, int64_t>& sizes) const;  // adds each receiver's entries
  std::vector<OutboxEntry> entries() const;

 private:
  std::vector<Held> held_;
};

class MemoryAlertStore final : public AlertStore {
 public:
  Result<std::vector<Alert>> load_alerts() override;
  Status save(const std::vector<AlertChange>& changes) override;
  Status put_document(std::string_view table, const std::string& id, const std::string& json) override;
  Status delete_document(std::string_view table, const std::string& id) override;
  Result<std::vector<std::string>> load_documents(std::string_view table) override;

  // Makes the next saves fail (for tests of a failing disk).
  void fail_saves(bool fail) { fail_ = fail; }

 private:
  std::map<std::string, Alert> alerts_;
  std::map<std::string, std::map<std::string, std::string>, std::less<>> documents_;
  bool fail_ = false;
};

class MemoryOutbox final : public Outbox {
 public:
  Result<std::vector<GroupState>> load_groups() override;
  Status commit(const std::vector<GroupState>& changed_groups, const std::vector<std::string>& deleted_groups,
                std::vector<OutboxEntry> entries) override;
  Result<std::vector<OutboxEntry>> due(const std::string& receiver, int64_t now, size_t limit) override;
  Status delivered(const std::string& entry_id, int64_t at) override;
  Result<std::vector<DeliveryRecord>> deliveries_of(const std::string& fingerprint) override;
  Status retry_later(const std::string& entry_id, int attempts, int64_t next_attempt, const std::string& last_error) override;
  Status give_up(const std::string& entry_id, const std::vector<OutboxEntry>& replacements) override;
  Result<std::map<std::string, int64_t>> queue_sizes() override;

  std::vector<OutboxEntry> entries() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, GroupState> groups_;
  std::multimap<std::string, DeliveryRecord> deliveries_;  // by fingerprint
  HeldEntries entries_;
};

}  // namespace casewatch
