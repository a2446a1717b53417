// Durable alert state in SQLite (WAL) under state_dir, so that a restart, even after kill -9,
// resumes every alert with its original start times. Each evaluation's changes are committed in
// one transaction: a crash leaves either all of them or none.
// Not thread-safe: used from the evaluation loop only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "daemon/alerts.h"

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

 private:
  StateStore() = default;
  bool exec(const char* sql, std::string& error);
  sqlite3* db_ = nullptr;
};

}  // namespace casewatch
