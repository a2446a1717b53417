// Durable alert state in SQLite (WAL) under state_dir, so that a restart, even after kill -9,
// resumes every alert with its original start times. Each evaluation's changes are committed in
// one transaction: a crash leaves either all of them or none.
// Not thread-safe: used from the evaluation loop only.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "daemon/alerts.h"
#include "daemon/dispatcher.h"
#include "daemon/notification.h"

struct sqlite3;

namespace casewatch {

class StateStore {
 public:
  ~StateStore();
  // Opens (creating if needed) `directory`/casewatch.db; on failure returns null with `error`.
  static std::unique_ptr<StateStore> open(const std::string& directory, std::string& error);

  std::vector<Alert> load_alerts(std::string& error);
  // Writes the changes of one evaluation atomically.
  bool save(const std::vector<AlertChange>& changes, std::string& error);

  // Notification groups and the outbox: a tick's group changes and new notifications are
  // committed together, before anything is sent.
  std::vector<GroupState> load_groups(std::string& error);
  bool save_dispatch(const DispatchOutput& output, std::string& error);

  struct OutboxEntry {
    Notification notification;
    int attempts = 0;
    int64_t next_attempt = 0;
  };
  // Entries due at `now`, oldest first.
  std::vector<OutboxEntry> due(int64_t now, size_t limit, std::string& error);
  bool delivered(const std::string& id, std::string& error);
  bool retry_later(const std::string& id, int attempts, int64_t next_attempt, const std::string& last_error, std::string& error);
  // Removes `id` and, when given, enqueues `replacement` (a fallback) in the same transaction.
  bool give_up(const std::string& id, const Notification* replacement, int64_t now, std::string& error);
  std::map<std::string, int64_t> queue_sizes(std::string& error);

  // Silences and acknowledgements, as JSON documents by id.
  bool put_document(const std::string& table, const std::string& id, const std::string& json, std::string& error);
  bool delete_document(const std::string& table, const std::string& id, std::string& error);
  std::vector<std::string> load_documents(const std::string& table, std::string& error);

 private:
  StateStore() = default;
  bool exec(const char* sql, std::string& error);
  bool enqueue(const Notification& n, int64_t now, std::string& error);
  sqlite3* db_ = nullptr;
};

}  // namespace casewatch
