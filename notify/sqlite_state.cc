#include "notify/sqlite_state.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <tuple>

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "integrations/json_text.h"

namespace casewatch {
namespace {

Status db_error(sqlite3* db, const std::string& what) {
  return Status::error(what + ": " + (db ? sqlite3_errmsg(db) : "cannot open"));
}

// Closes a prepared statement however the scope is left.
struct Statement {
  sqlite3_stmt* stmt = nullptr;
  Statement() = default;
  Statement(const Statement&) = delete;
  ~Statement() { sqlite3_finalize(stmt); }
};

// A connection of its own, closed however the scope is left.
struct Connection {
  sqlite3* db = nullptr;
  Connection() = default;
  Connection(const Connection&) = delete;
  ~Connection() {
    if (db) sqlite3_close(db);
  }

  Status exec(const char* sql) {
    char* message = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
      Status s = Status::error(message ? message : sqlite3_errmsg(db));
      sqlite3_free(message);
      return s;
    }
    return {};
  }
  Status prepare(const char* sql, Statement& s) {
    if (sqlite3_prepare_v2(db, sql, -1, &s.stmt, nullptr) != SQLITE_OK) return db_error(db, "prepare");
    return {};
  }
  // Binds every value, checking each: a failed bind would otherwise store a NULL silently.
  Status bind(Statement& s, int index, std::string_view text) {
    if (sqlite3_bind_text(s.stmt, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT) != SQLITE_OK)
      return db_error(db, "bind");
    return {};
  }
  Status bind(Statement& s, int index, int64_t value) {
    if (sqlite3_bind_int64(s.stmt, index, value) != SQLITE_OK) return db_error(db, "bind");
    return {};
  }
  Status bind_null(Statement& s, int index) {
    if (sqlite3_bind_null(s.stmt, index) != SQLITE_OK) return db_error(db, "bind");
    return {};
  }
  Status done(Statement& s) {
    if (sqlite3_step(s.stmt) != SQLITE_DONE) return db_error(db, "write");
    return {};
  }
};

std::string column_text(sqlite3_stmt* stmt, int i) {
  const unsigned char* text = sqlite3_column_text(stmt, i);
  return text ? std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(sqlite3_column_bytes(stmt, i)))
              : std::string();
}

// Alert data is for the service's user only, whatever the umask: the file exists, 0600, before
// SQLite opens it (its -wal and -shm files take the same mode).
void create_private(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::fchmod(fd, 0600);
    ::close(fd);
  }
}

Status connect(const std::string& path, Connection& c) {
  create_private(path);
  if (sqlite3_open_v2(path.c_str(), &c.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr) !=
      SQLITE_OK)
    return db_error(c.db, path);
  sqlite3_busy_timeout(c.db, 5000);
  // WAL with synchronous=FULL: a committed evaluation survives kill -9 and power loss.
  Status s = c.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
  if (!s.ok()) return Status::error(path + ": " + s.message());
  return {};
}

// Rolls back unless committed.
class Transaction {
 public:
  explicit Transaction(Connection& c) : c_(c) {}
  ~Transaction() {
    if (open_) sqlite3_exec(c_.db, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Status begin() {
    Status s = c_.exec("BEGIN IMMEDIATE");
    open_ = s.ok();
    return s;
  }
  Status commit() {
    Status s = c_.exec("COMMIT");
    if (s.ok()) open_ = false;
    return s;
  }

 private:
  Connection& c_;
  bool open_ = false;
};

const char* kSchema =
    "CREATE TABLE IF NOT EXISTS alerts ("
    "  fingerprint TEXT PRIMARY KEY, rule TEXT NOT NULL, key TEXT NOT NULL,"
    "  severity INTEGER NOT NULL, state INTEGER NOT NULL,"
    "  active_since INTEGER NOT NULL, fired_at INTEGER NOT NULL,"
    "  labels TEXT NOT NULL, annotations TEXT NOT NULL,"
    "  due_date INTEGER, value REAL, missing_since INTEGER NOT NULL DEFAULT 0,"
    "  rejected_since INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS notify_groups (id TEXT PRIMARY KEY, state TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS outbox ("
    "  id TEXT PRIMARY KEY, receiver TEXT NOT NULL, target TEXT NOT NULL DEFAULT '', notification TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt INTEGER NOT NULL, last_error TEXT);"
    "CREATE INDEX IF NOT EXISTS outbox_due ON outbox (receiver, next_attempt);"
    "CREATE TABLE IF NOT EXISTS silences (id TEXT PRIMARY KEY, document TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS acks (id TEXT PRIMARY KEY, document TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS value_history (id TEXT PRIMARY KEY, document TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS feed_counts (id TEXT PRIMARY KEY, document TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS deliveries ("
    "  fingerprint TEXT NOT NULL, notification_id TEXT NOT NULL, receiver TEXT NOT NULL, target TEXT NOT NULL,"
    "  delivered_at INTEGER NOT NULL, resolved INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS deliveries_by_alert ON deliveries (fingerprint, delivered_at);";

Result<bool> has_column(Connection& c, const char* table, const char* column) {
  Statement s;
  std::string sql = std::string("SELECT name FROM pragma_table_info('") + table + "')";
  if (Status st = c.prepare(sql.c_str(), s); !st.ok()) return st;
  int rc;
  bool found = false;
  while ((rc = sqlite3_step(s.stmt)) == SQLITE_ROW)
    if (column_text(s.stmt, 0) == column) found = true;
  if (rc != SQLITE_DONE) return db_error(c.db, "read the schema");
  return found;
}

Status copy_database(sqlite3* source, const std::string& destination) {
  Connection out;
  create_private(destination);
  if (sqlite3_open_v2(destination.c_str(), &out.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK)
    return db_error(out.db, destination);
  sqlite3_backup* backup = sqlite3_backup_init(out.db, "main", source, "main");
  if (!backup) return db_error(out.db, destination);
  int rc = sqlite3_backup_step(backup, -1);
  sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) return db_error(out.db, destination);
  return {};
}

std::string object_text(const StringMap& map) {
  std::string out;
  append_json_object(out, map);
  return out;
}

class SqliteAlertStore final : public AlertStore {
 public:
  Connection c;

  Result<std::vector<Alert>> load_alerts() override {
    std::vector<Alert> alerts;
    Statement s;
    if (Status st = c.prepare("SELECT fingerprint, rule, key, severity, state, active_since, fired_at, labels,"
                              " annotations, due_date, value, missing_since, rejected_since FROM alerts ORDER BY fingerprint",
                              s);
        !st.ok())
      return st;
    int rc;
    while ((rc = sqlite3_step(s.stmt)) == SQLITE_ROW) {
      Alert a;
      a.fingerprint = column_text(s.stmt, 0);
      a.rule = column_text(s.stmt, 1);
      a.key = column_text(s.stmt, 2);
      a.severity = static_cast<Severity>(sqlite3_column_int(s.stmt, 3));
      a.state = static_cast<AlertState>(sqlite3_column_int(s.stmt, 4));
      a.active_since = sqlite3_column_int64(s.stmt, 5);
      a.fired_at = sqlite3_column_int64(s.stmt, 6);
      auto labels = nlohmann::json::parse(column_text(s.stmt, 7), nullptr, false);
      auto annotations = nlohmann::json::parse(column_text(s.stmt, 8), nullptr, false);
      if (!labels.is_object() || !annotations.is_object())
        return Status::error("alert " + a.fingerprint + ": labels or annotations are not JSON objects");
      a.set_text(labels.get<StringMap>(), annotations.get<StringMap>());
      a.due_date = sqlite3_column_type(s.stmt, 9) == SQLITE_NULL ? kNullDay : sqlite3_column_int(s.stmt, 9);
      if (sqlite3_column_type(s.stmt, 10) != SQLITE_NULL) a.value = sqlite3_column_double(s.stmt, 10);
      a.missing_since = sqlite3_column_int64(s.stmt, 11);
      a.rejected_since = sqlite3_column_int64(s.stmt, 12);
      alerts.push_back(std::move(a));
    }
    // A damaged page ends the loop early with an error: report it, never half the alerts.
    if (rc != SQLITE_DONE) return db_error(c.db, "read the alerts");
    return alerts;
  }

  Status save(const std::vector<AlertChange>& changes) override {
    if (changes.empty()) return {};
    Transaction tx(c);
    if (Status s = tx.begin(); !s.ok()) return s;
    Statement upsert, remove;
    if (Status s = c.prepare("INSERT OR REPLACE INTO alerts (fingerprint, rule, key, severity, state, active_since,"
                             " fired_at, labels, annotations, due_date, value, missing_since, rejected_since)"
                             " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                             upsert);
        !s.ok())
      return s;
    if (Status s = c.prepare("DELETE FROM alerts WHERE fingerprint = ?", remove); !s.ok()) return s;
    for (const AlertChange& change : changes) {
      const Alert& a = change.alert;
      Statement& st = change.kind == AlertChange::Kind::Resolved ? remove : upsert;
      sqlite3_reset(st.stmt);
      sqlite3_clear_bindings(st.stmt);
      Status s = c.bind(st, 1, a.fingerprint);
      if (change.kind != AlertChange::Kind::Resolved) {
        for (Status b : {c.bind(st, 2, a.rule), c.bind(st, 3, a.key), c.bind(st, 4, static_cast<int64_t>(a.severity)),
                         c.bind(st, 5, static_cast<int64_t>(a.state)), c.bind(st, 6, a.active_since),
                         c.bind(st, 7, a.fired_at), c.bind(st, 8, object_text(a.labels())),
                         c.bind(st, 9, object_text(a.annotations())),
                         a.due_date == kNullDay ? c.bind_null(st, 10) : c.bind(st, 10, int64_t{a.due_date}),
                         a.value ? (sqlite3_bind_double(st.stmt, 11, *a.value) == SQLITE_OK ? Status()
                                                                                             : db_error(c.db, "bind"))
                                 : c.bind_null(st, 11),
                         c.bind(st, 12, a.missing_since), c.bind(st, 13, a.rejected_since)})
          if (s.ok() && !b.ok()) s = b;
      }
      if (!s.ok()) return s;
      if (Status d = c.done(st); !d.ok()) return d;
    }
    return tx.commit();
  }

  Status put_document(std::string_view table, const std::string& id, const std::string& json) override {
    Statement s;
    std::string sql = "INSERT OR REPLACE INTO " + std::string(table) + " (id, document) VALUES (?, ?)";
    if (Status st = c.prepare(sql.c_str(), s); !st.ok()) return st;
    if (Status st = c.bind(s, 1, id); !st.ok()) return st;
    if (Status st = c.bind(s, 2, json); !st.ok()) return st;
    return c.done(s);
  }

  Status delete_document(std::string_view table, const std::string& id) override {
    Statement s;
    std::string sql = "DELETE FROM " + std::string(table) + " WHERE id = ?";
    if (Status st = c.prepare(sql.c_str(), s); !st.ok()) return st;
    if (Status st = c.bind(s, 1, id); !st.ok()) return st;
    return c.done(s);
  }

  Result<std::vector<std::string>> load_documents(std::string_view table) override {
    std::vector<std::string> documents;
    Statement s;
    std::string sql = "SELECT document FROM " + std::string(table) + " ORDER BY id";
    if (Status st = c.prepare(sql.c_str(), s); !st.ok()) return st;
    int rc;
    while ((rc = sqlite3_step(s.stmt)) == SQLITE_ROW) documents.push_back(column_text(s.stmt, 0));
    if (rc != SQLITE_DONE) return db_error(c.db, "read " + std::string(table));
    return documents;
  }
};

class SqliteOutbox final : public Outbox {
 public:
  explicit SqliteOutbox(std::shared_ptr<LockedHeldEntries> held) : held_(std::move(held)) {}
  Connection c;

  Result<std::vector<GroupState>> load_groups() override {
    std::lock_guard lock(mutex_);
    std::vector<GroupState> groups;
    Statement s;
    if (Status st = c.prepare("SELECT state FROM notify_groups", s); !st.ok()) return st;
    int rc;
    while ((rc = sqlite3_step(s.stmt)) == SQLITE_ROW) {
      auto json = nlohmann::json::parse(column_text(s.stmt, 0), nullptr, false);
      if (json.is_discarded()) return Status::error("a notification group is not JSON");
      groups.push_back(GroupState::from_json(json));
    }
    if (rc != SQLITE_DONE) return db_error(c.db, "read the notification groups");
    return groups;
  }

  Status commit(const std::vector<GroupState>& changed, const std::vector<std::string>& deleted,
                std::vector<OutboxEntry> entries) override {
    if (changed.empty() && deleted.empty() && entries.empty()) return {};
    std::lock_guard lock(mutex_);
    Transaction tx(c);
    if (Status s = tx.begin(); !s.ok()) return s;
    for (const GroupState& g : changed) {
      Statement s;
      if (Status st = c.prepare("INSERT OR REPLACE INTO notify_groups (id, state) VALUES (?, ?)", s); !st.ok()) return st;
      if (Status st = c.bind(s, 1, g.id); !st.ok()) return st;
      if (Status st = c.bind(s, 2, g.to_text()); !st.ok()) return st;
      if (Status st = c.done(s); !st.ok()) return st;
    }
    for (const std::string& id : deleted) {
      Statement s;
      if (Status st = c.prepare("DELETE FROM notify_groups WHERE id = ?", s); !st.ok()) return st;
      if (Status st = c.bind(s, 1, id); !st.ok()) return st;
      if (Status st = c.done(s); !st.ok()) return st;
    }
    for (const OutboxEntry& e : entries)
      if (!e.notification->whole_state)
        if (Status st = enqueue(e); !st.ok()) return st;
    if (Status st = tx.commit(); !st.ok()) return st;
    std::lock_guard held(held_->mutex);
    for (OutboxEntry& e : entries)
      if (e.notification->whole_state) held_->entries.add(std::move(e));
    return {};
  }

  Result<std::vector<OutboxEntry>> due(const std::string& receiver, int64_t now, size_t limit) override {
    std::lock_guard lock(mutex_);
    std::vector<OutboxEntry> entries;
    Statement s;
    if (Status st = c.prepare("SELECT id, target, notification, attempts, next_attempt FROM outbox"
                              " WHERE receiver = ? AND next_attempt <= ? ORDER BY created_at, id LIMIT ?",
                              s);
        !st.ok())
      return st;
    for (Status st : {c.bind(s, 1, receiver), c.bind(s, 2, now), c.bind(s, 3, static_cast<int64_t>(limit))})
      if (!st.ok()) return st;
    int rc;
    while ((rc = sqlite3_step(s.stmt)) == SQLITE_ROW) {
      auto json = nlohmann::json::parse(column_text(s.stmt, 2), nullptr, false);
      if (json.is_discarded()) return Status::error("outbox entry " + column_text(s.stmt, 0) + " is not JSON");
      OutboxEntry e;
      e.id = column_text(s.stmt, 0);
      e.receiver = receiver;
      e.target = column_text(s.stmt, 1);
      e.notification = std::make_shared<const Notification>(notification_from_json(json));
      e.attempts = sqlite3_column_int(s.stmt, 3);
      e.next_attempt = sqlite3_column_int64(s.stmt, 4);
      entries.push_back(std::move(e));
    }
    if (rc != SQLITE_DONE) return db_error(c.db, "read the outbox");
    std::lock_guard held(held_->mutex);
    held_->entries.due(receiver, now, limit, entries);
    return entries;
  }

  Status delivered(const std::string& entry_id, int64_t at) override {
    std::lock_guard lock(mutex_);
    Transaction tx(c);
    if (Status s = tx.begin(); !s.ok()) return s;
    if (auto taken = take_held(entry_id)) {
      const OutboxEntry& e = taken->entry;
      if (Status st = record(taken->history, e.notification->id, e.receiver, e.target, at); !st.ok()) return st;
    } else {
      Statement read;
      if (Status st = c.prepare("SELECT notification, receiver, target FROM outbox WHERE id = ?", read); !st.ok()) return st;
      if (Status st = c.bind(read, 1, entry_id); !st.ok()) return st;
      if (sqlite3_step(read.stmt) == SQLITE_ROW) {
        auto json = nlohmann::json::parse(column_text(read.stmt, 0), nullptr, false);
        if (!json.is_discarded()) {
          Notification n = notification_from_json(json);
          Status st = record(delivery_history_of(n), n.id, column_text(read.stmt, 1), column_text(read.stmt, 2), at);
          if (!st.ok()) return st;
        }
      }
    }
    Statement prune;  // the history is for the alert page: a quarter is enough
    if (Status st = c.prepare("DELETE FROM deliveries WHERE delivered_at < ?", prune); !st.ok()) return st;
    if (Status st = c.bind(prune, 1, at - kDeliveryHistorySeconds); !st.ok()) return st;
    if (Status st = c.done(prune); !st.ok()) return st;
    if (Status s = remove(entry_id); !s.ok()) return s;
    return tx.commit();
  }

  Result<std::vector<DeliveryRecord>> deliveries_of(const std::string& fingerprint) override {
    std::lock_guard lock(mutex_);
    Statement s;
    if (Status st = c.prepare("SELECT notification_id, receiver, target, delivered_at, resolved FROM deliveries"
                              " WHERE fingerprint = ? ORDER BY delivered_at, rowid",
                              s);
        !st.ok())
      return st;
    if (Status st = c.bind(s, 1, fingerprint); !st.ok()) return st;
    std::vector<DeliveryRecord> out;
    int rc;
    while ((rc = sqlite3_step(s.stmt)) == SQLITE_ROW)
      out.push_back({column_text(s.stmt, 0), column_text(s.stmt, 1), column_text(s.stmt, 2),
                     sqlite3_column_int64(s.stmt, 3), sqlite3_column_int(s.stmt, 4) != 0});
    if (rc != SQLITE_DONE) return db_error(c.db, "read the deliveries");
    return out;
  }

  Status retry_later(const std::string& entry_id, int attempts, int64_t next_attempt,
                     const std::string& last_error) override {
    std::lock_guard lock(mutex_);
    Statement s;
    {
      std::lock_guard held(held_->mutex);
      if (held_->entries.retry_later(entry_id, attempts, next_attempt)) return {};
    }
    if (Status st = c.prepare("UPDATE outbox SET attempts = ?, next_attempt = ?, last_error = ? WHERE id = ?", s); !st.ok())
      return st;
    for (Status st : {c.bind(s, 1, int64_t{attempts}), c.bind(s, 2, next_attempt), c.bind(s, 3, last_error),
                      c.bind(s, 4, entry_id)})
      if (!st.ok()) return st;
    return c.done(s);
  }

  Status give_up(const std::string& entry_id, const std::vector<OutboxEntry>& replacements) override {
    std::lock_guard lock(mutex_);
    Transaction tx(c);
    if (Status s = tx.begin(); !s.ok()) return s;
    take_held(entry_id);
    if (Status s = remove(entry_id); !s.ok()) return s;
    for (const OutboxEntry& e : replacements)
      if (!e.notification->whole_state)
        if (Status s = enqueue(e); !s.ok()) return s;
    if (Status s = tx.commit(); !s.ok()) return s;
    std::lock_guard held(held_->mutex);
    for (const OutboxEntry& e : replacements)
      if (e.notification->whole_state) held_->entries.add(e);
    return {};
  }

  Result<std::map<std::string, int64_t>> queue_sizes() override {
    std::lock_guard lock(mutex_);
    std::map<std::string, int64_t> sizes;
    Statement s;
    if (Status st = c.prepare("SELECT receiver, COUNT(*) FROM outbox GROUP BY receiver", s); !st.ok()) return st;
    int rc;
    while ((rc = sqlite3_step(s.stmt)) == SQLITE_ROW) sizes[column_text(s.stmt, 0)] = sqlite3_column_int64(s.stmt, 1);
    if (rc != SQLITE_DONE) return db_error(c.db, "read the outbox");
    std::lock_guard held(held_->mutex);
    held_->entries.count(sizes);
    return sizes;
  }

 private:
  Status enqueue(const OutboxEntry& e) {
    Statement s;
    if (Status st = c.prepare("INSERT OR IGNORE INTO outbox (id, receiver, target, notification, created_at, attempts,"
                              " next_attempt) VALUES (?, ?, ?, ?, ?, ?, ?)",
                              s);
        !st.ok())
      return st;
    for (Status st : {c.bind(s, 1, e.id), c.bind(s, 2, e.receiver), c.bind(s, 3, e.target),
                      c.bind(s, 4, notification_text(*e.notification)),
                      c.bind(s, 5, e.notification->created_at), c.bind(s, 6, int64_t{e.attempts}),
                      c.bind(s, 7, e.next_attempt)})
      if (!st.ok()) return st;
    return c.done(s);
  }
  // One row per alert of a delivered notification, for the alert page.
  Status record(const DeliveryHistory& history, const std::string& notification_id, const std::string& receiver,
                const std::string& target, int64_t at) {
    Statement s;
    if (Status st = c.prepare("INSERT INTO deliveries (fingerprint, notification_id, receiver, target, delivered_at,"
                              " resolved) VALUES (?, ?, ?, ?, ?, ?)",
                              s);
        !st.ok())
      return st;
    for (const auto& [fingerprint, resolved] : history) {
      sqlite3_reset(s.stmt);
      for (Status st : {c.bind(s, 1, fingerprint), c.bind(s, 2, notification_id), c.bind(s, 3, receiver),
                        c.bind(s, 4, target), c.bind(s, 5, at), c.bind(s, 6, int64_t{resolved ? 1 : 0})})
        if (!st.ok()) return st;
      if (Status st = c.done(s); !st.ok()) return st;
    }
    return {};
  }
  Status remove(const std::string& entry_id) {
    Statement s;
    if (Status st = c.prepare("DELETE FROM outbox WHERE id = ?", s); !st.ok()) return st;
    if (Status st = c.bind(s, 1, entry_id); !st.ok()) return st;
    return c.done(s);
  }

  std::optional<HeldEntries::Held> take_held(const std::string& entry_id) {
    std::lock_guard held(held_->mutex);
    return held_->entries.take(entry_id);
  }

  std::mutex mutex_;  // then held_->mutex, never the other way round
  std::shared_ptr<LockedHeldEntries> held_;
};

// The first problem quick_check reports, or "" when the file is sound.
std::string quick_check(const std::string& path) {
  Connection c;
  if (sqlite3_open_v2(path.c_str(), &c.db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) return sqlite3_errmsg(c.db);
  Statement s;
  if (sqlite3_prepare_v2(c.db, "PRAGMA quick_check", -1, &s.stmt, nullptr) != SQLITE_OK) return sqlite3_errmsg(c.db);
  int rc = sqlite3_step(s.stmt);
  if (rc != SQLITE_ROW) return sqlite3_errmsg(c.db);
  std::string first = column_text(s.stmt, 0);
  if (first != "ok") return first;
  // Sound, but another program's database: taken as a state it would be an empty one.
  Statement tables;
  if (sqlite3_prepare_v2(c.db, "SELECT count(*), sum(name = 'alerts') FROM sqlite_master WHERE type = 'table'", -1,
                         &tables.stmt, nullptr) != SQLITE_OK || sqlite3_step(tables.stmt) != SQLITE_ROW)
    return sqlite3_errmsg(c.db);
  // A state has its tables from its first start: a file without them is not one (the state may
  // have been replaced by an empty database), and would start as an empty store.
  if (sqlite3_column_int(tables.stmt, 1) == 0)
    return sqlite3_column_int(tables.stmt, 0) > 0 ? "it is not a casewatch state: its tables are another program's"
                                                   : "it is not a casewatch state: it holds no tables";
  return "";
}

}  // namespace

SqliteState::~SqliteState() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the lock
}

Status SqliteState::lock(const std::string& directory) {
  std::error_code ec;
  if (!std::filesystem::exists(directory, ec)) {
    std::filesystem::create_directories(directory, ec);
    if (ec) return Status::error(directory + ": " + ec.message());
    ::chmod(directory.c_str(), 0700);
  }
  // One casewatch per state directory: two would both work the same outbox.
  const std::string lock_path = (std::filesystem::path(directory) / "lock").string();
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) return Status::error(lock_path + ": " + std::strerror(errno));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    char pid[32] = {};
    ssize_t n = ::pread(lock_fd_, pid, sizeof pid - 1, 0);
    std::string holder = n > 0 ? std::string(pid, static_cast<size_t>(n)) : "unknown";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    return Status::error("another casewatch (pid " + holder + ") is using the state directory " + directory);
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock_fd_, 0) != 0 || ::pwrite(lock_fd_, pid.data(), pid.size(), 0) < 0)
    return Status::error(lock_path + ": " + std::strerror(errno));
  path_ = (std::filesystem::path(directory) / "casewatch.db").string();
  return {};
}

Result<std::unique_ptr<SqliteState>> SqliteState::open(const std::string& directory, const StateOptions& options) {
  std::error_code ec;
  std::unique_ptr<SqliteState> state(new SqliteState());
  if (Status s = state->lock(directory); !s.ok()) return s;
  const bool existed = std::filesystem::exists(state->path_, ec);
  if (existed) {
    // SQLite takes an empty file for an empty database: every alert would fire again as new and
    // the acknowledgements and silences be gone without a word. Only an absent file starts empty.
    // A sound file this user may not open is not damaged: moving it aside would lose it.
    if (::access(state->path_.c_str(), R_OK | W_OK) != 0)
      return Status::error("cannot open the state file " + state->path_ + ": " + std::strerror(errno) +
                           ": it must be readable and writable by the user casewatch runs as");
    const auto size = std::filesystem::file_size(state->path_, ec);
    std::string problem = !ec && size == 0 ? "it is empty, 0 bytes" : quick_check(state->path_);
    if (!problem.empty()) {
      if (!options.move_damaged_aside)
        return Status::error("the state file " + state->path_ + " is damaged (" + problem +
                             "): restore it from a backup, or start with --state-recover to move it aside and "
                             "begin afresh (its alerts will fire again and undelivered notifications are lost)");
      char stamp[32];
      std::time_t now = std::time(nullptr);
      std::tm utc{};
      gmtime_r(&now, &utc);
      std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &utc);
      state->moved_aside_ = state->path_ + ".damaged-" + stamp;
      for (const char* suffix : {"", "-wal", "-shm"}) {
        std::string from = state->path_ + suffix;
        if (std::filesystem::exists(from, ec)) std::filesystem::rename(from, state->moved_aside_ + suffix, ec);
        if (ec) return Status::error("cannot move the damaged state file aside: " + ec.message());
      }
    }
  }

  Connection c;
  if (Status s = connect(state->path_, c); !s.ok()) return s;
  Statement version;
  if (sqlite3_prepare_v2(c.db, "PRAGMA user_version", -1, &version.stmt, nullptr) != SQLITE_OK ||
      sqlite3_step(version.stmt) != SQLITE_ROW)
    return db_error(c.db, state->path_);
  int schema = sqlite3_column_int(version.stmt, 0);
  Result<bool> has_alerts = has_column(c, "alerts", "fingerprint");
  if (!has_alerts.ok()) return Status::error(state->path_ + ": " + has_alerts.message());
  if (schema == 0 && *has_alerts) schema = 1;  // before versions were written
  if (schema > kStateSchemaVersion)
    return Status::error("the state file " + state->path_ + " was written by a newer casewatch (schema " +
                         std::to_string(schema) + "; this one reads up to " + std::to_string(kStateSchemaVersion) +
                         "): run the newer casewatch, or restore a backup made for this version");
  if (schema > 0 && schema < kStateSchemaVersion) {
    // A backup of the file as it was, then the migration in one transaction.
    const std::string backup = state->path_ + ".schema-" + std::to_string(schema) + ".bak";
    if (Status s = copy_database(c.db, backup); !s.ok()) return Status::error("cannot back up before migrating: " + s.message());
    Transaction tx(c);
    if (Status s = tx.begin(); !s.ok()) return s;
    for (auto [table, column, definition] :
         {std::tuple{"alerts", "missing_since", "INTEGER NOT NULL DEFAULT 0"}, std::tuple{"outbox", "target", "TEXT NOT NULL DEFAULT ''"},
          std::tuple{"alerts", "rejected_since", "INTEGER NOT NULL DEFAULT 0"}}) {
      Result<bool> has = has_column(c, table, column);
      if (!has.ok()) return has.status();
      std::string sql = std::string("ALTER TABLE ") + table + " ADD COLUMN " + column + " " + definition;
      if (!*has)
        if (Status s = c.exec(sql.c_str()); !s.ok()) return Status::error(state->path_ + ": migrating: " + s.message());
    }
    if (Status s = c.exec("DROP INDEX IF EXISTS outbox_due"); !s.ok()) return s;
    if (Status s = c.exec(kSchema); !s.ok()) return Status::error(state->path_ + ": " + s.message());
    std::string set_version = "PRAGMA user_version = " + std::to_string(kStateSchemaVersion);
    if (Status s = c.exec(set_version.c_str()); !s.ok()) return s;
    if (Status s = tx.commit(); !s.ok()) return s;
  } else {
    if (Status s = c.exec(kSchema); !s.ok()) return Status::error(state->path_ + ": " + s.message());
    std::string set_version = "PRAGMA user_version = " + std::to_string(kStateSchemaVersion);
    if (Status s = c.exec(set_version.c_str()); !s.ok()) return s;
  }
  return state;
}

Result<std::unique_ptr<AlertStore>> SqliteState::alert_store() {
  auto store = std::make_unique<SqliteAlertStore>();
  if (Status s = connect(path_, store->c); !s.ok()) return s;
  return std::unique_ptr<AlertStore>(std::move(store));
}

Result<std::unique_ptr<Outbox>> SqliteState::outbox() {
  auto outbox = std::make_unique<SqliteOutbox>(held_);
  if (Status s = connect(path_, outbox->c); !s.ok()) return s;
  return std::unique_ptr<Outbox>(std::move(outbox));
}

Status SqliteState::backup(const std::string& destination) {
  Connection c;
  if (Status s = connect(path_, c); !s.ok()) return s;
  return copy_database(c.db, destination);
}

Status SqliteState::backup_directory(const std::string& directory, const std::string& destination) {
  const std::string path = (std::filesystem::path(directory) / "casewatch.db").string();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Status::error(path + ": no state file");
  // SQLite's online backup reads a consistent copy while the daemon goes on writing (WAL).
  Connection c;
  if (sqlite3_open_v2(path.c_str(), &c.db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) return db_error(c.db, path);
  sqlite3_busy_timeout(c.db, 5000);
  if (Status s = copy_database(c.db, destination); !s.ok()) return s;
  if (std::string problem = quick_check(destination); !problem.empty())
    return Status::error(destination + ": the copy does not check (" + problem + ")");
  return {};
}

Status SqliteState::restore(const std::string& directory, const std::string& source) {
  std::string problem = quick_check(source);
  if (!problem.empty()) return Status::error(source + ": not a sound state file (" + problem + ")");
  Connection from;
  if (sqlite3_open_v2(source.c_str(), &from.db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) return db_error(from.db, source);
  Statement version;
  if (sqlite3_prepare_v2(from.db, "PRAGMA user_version", -1, &version.stmt, nullptr) != SQLITE_OK ||
      sqlite3_step(version.stmt) != SQLITE_ROW)
    return db_error(from.db, source);
  const int schema = sqlite3_column_int(version.stmt, 0);
  Result<bool> has_alerts = has_column(from, "alerts", "fingerprint");
  if (!has_alerts.ok() || !*has_alerts) return Status::error(source + ": not a casewatch state file");
  if (schema > kStateSchemaVersion)
    return Status::error(source + " was written by a newer casewatch (schema " + std::to_string(schema) +
                         "; this one reads up to " + std::to_string(kStateSchemaVersion) + ")");
  // Refused while a daemon holds the state; then copied beside it and renamed over it, so the
  // state file is the old one or the restored one, never half of each.
  SqliteState state;
  if (Status s = state.lock(directory); !s.ok()) return s;
  const std::string staged = state.path_ + ".restoring";
  std::error_code ec;
  std::filesystem::remove(staged, ec);
  if (Status s = copy_database(from.db, staged); !s.ok()) return s;
  for (const char* suffix : {"-wal", "-shm"}) std::filesystem::remove(state.path_ + suffix, ec);
  std::filesystem::rename(staged, state.path_, ec);
  if (ec) return Status::error(state.path_ + ": " + ec.message());
  return {};
}

}  // namespace casewatch
