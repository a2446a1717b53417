// The daemon's state file, state_dir/casewatch.db (SQLite, WAL, synchronous=FULL): the alerts,
// silences and acknowledgements (AlertStore) and the notification groups and outbox (Outbox),
// so that a restart, even after kill -9, resumes every alert with its start time and loses no
// notification.
// Opening it:
// - takes an exclusive lock on the state directory (state_dir/lock, flock), so a second
//   casewatch on the same state is refused, naming the pid that holds it;
// - checks the file (PRAGMA quick_check): a damaged one stops the start with a clear message,
//   or, when asked, is moved aside (casewatch.db.damaged-TIME) and a fresh one begun;
// - checks its schema version: an older one is migrated after a backup copy
//   (casewatch.db.schema-N.bak), a newer one refused.
// The state object is used from one thread; each store it hands out has a connection of its
// own and may be used from another (the outbox locks itself for its delivery workers).
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "notify/state.h"
#include "rules/status.h"

namespace casewatch {

inline constexpr int kStateSchemaVersion = 3;

struct LockedHeldEntries {
  std::mutex mutex;
  HeldEntries entries;
};

struct StateOptions {
  bool move_damaged_aside = false;  // casewatch run --state-recover
};

class SqliteState {
 public:
  ~SqliteState();
  static Result<std::unique_ptr<SqliteState>> open(const std::string& directory, const StateOptions& options = {});

  Result<std::unique_ptr<AlertStore>> alert_store();
  Result<std::unique_ptr<Outbox>> outbox();
  // Copies the whole state, consistently, while it is in use (SQLite's online backup).
  Status backup(const std::string& destination);
  // `casewatch state backup`: the same from another process, while the daemon runs; the copy
  // is checked and, like every file holding alert data, mode 0600.
  static Status backup_directory(const std::string& directory, const std::string& destination);
  // `casewatch state restore`: a checked backup (of this schema or an older one, migrated at the
  // next start) put in place; refused while a casewatch holds the state directory.
  static Status restore(const std::string& directory, const std::string& source);

  const std::string& path() const { return path_; }
  // Where a damaged state file was moved at start; "" when it was sound.
  const std::string& moved_aside() const { return moved_aside_; }

 private:
  SqliteState() = default;
  // Takes the state directory's lock (creating the directory, 0700) and sets path_.
  Status lock(const std::string& directory);
  std::string path_;
  std::string moved_aside_;
  int lock_fd_ = -1;
  // The whole-state entries (see HeldEntries), shared by every outbox connection of this state.
  std::shared_ptr<LockedHeldEntries> held_ = std::make_shared<LockedHeldEntries>();
};

}  // namespace casewatch
