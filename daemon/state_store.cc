#include "daemon/state_store.h"
#include "integrations/json_text.h"

#include <sqlite3.h>

#include <filesystem>

#include <nlohmann/json.hpp>

namespace casewatch {
namespace {

// Closes a prepared statement however the scope is left.
struct Statement {
  sqlite3_stmt* stmt = nullptr;
  ~Statement() { sqlite3_finalize(stmt); }
};

std::string to_json(const std::map<std::string, std::string>& map) { return json_text(nlohmann::json(map)); }

std::map<std::string, std::string> from_json(const unsigned char* text) {
  if (!text) return {};
  auto parsed = nlohmann::json::parse(reinterpret_cast<const char*>(text), nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) return {};
  return parsed.get<std::map<std::string, std::string>>();
}

}  // namespace

StateStore::~StateStore() {
  if (db_) sqlite3_close(db_);
}

bool StateStore::exec(const char* sql, std::string& error) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    error = message ? message : sqlite3_errmsg(db_);
    sqlite3_free(message);
    return false;
  }
  return true;
}

std::unique_ptr<StateStore> StateStore::open(const std::string& directory, std::string& error) {
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) {
    error = directory + ": " + ec.message();
    return nullptr;
  }
  std::unique_ptr<StateStore> store(new StateStore());
  std::string path = (std::filesystem::path(directory) / "casewatch.db").string();
  if (sqlite3_open_v2(path.c_str(), &store->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    error = path + ": " + (store->db_ ? sqlite3_errmsg(store->db_) : "cannot open");
    return nullptr;
  }
  sqlite3_busy_timeout(store->db_, 5000);
  // WAL with synchronous=FULL: a committed evaluation survives kill -9 and power loss.
  if (!store->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                   "CREATE TABLE IF NOT EXISTS alerts ("
                   "  fingerprint TEXT PRIMARY KEY, rule TEXT NOT NULL, key TEXT NOT NULL,"
                   "  severity INTEGER NOT NULL, state INTEGER NOT NULL,"
                   "  active_since INTEGER NOT NULL, fired_at INTEGER NOT NULL,"
                   "  labels TEXT NOT NULL, annotations TEXT NOT NULL,"
                   "  due_date INTEGER, value REAL, missing_since INTEGER NOT NULL DEFAULT 0);"
                   "CREATE TABLE IF NOT EXISTS notify_groups (id TEXT PRIMARY KEY, state TEXT NOT NULL);"
                   "CREATE TABLE IF NOT EXISTS outbox ("
                   "  id TEXT PRIMARY KEY, receiver TEXT NOT NULL, notification TEXT NOT NULL,"
                   "  created_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
                   "  next_attempt INTEGER NOT NULL, last_error TEXT);"
                   "CREATE INDEX IF NOT EXISTS outbox_due ON outbox (next_attempt);"
                   "CREATE TABLE IF NOT EXISTS silences (id TEXT PRIMARY KEY, document TEXT NOT NULL);"
                   "CREATE TABLE IF NOT EXISTS acks (id TEXT PRIMARY KEY, document TEXT NOT NULL);",
                   error)) {
    error = path + ": " + error;
    return nullptr;
  }
  // A state file from before missing_since: add the column (every alert present).
  Statement columns;
  bool has_missing_since = false;
  if (sqlite3_prepare_v2(store->db_, "SELECT name FROM pragma_table_info('alerts')", -1, &columns.stmt, nullptr) == SQLITE_OK)
    while (sqlite3_step(columns.stmt) == SQLITE_ROW)
      if (std::string_view(reinterpret_cast<const char*>(sqlite3_column_text(columns.stmt, 0))) == "missing_since")
        has_missing_since = true;
  if (!has_missing_since &&
      !store->exec("ALTER TABLE alerts ADD COLUMN missing_since INTEGER NOT NULL DEFAULT 0", error)) {
    error = path + ": " + error;
    return nullptr;
  }
  return store;
}

std::vector<Alert> StateStore::load_alerts(std::string& error) {
  std::vector<Alert> alerts;
  Statement s;
  if (sqlite3_prepare_v2(db_, "SELECT fingerprint, rule, key, severity, state, active_since, fired_at, labels,"
                              " annotations, due_date, value, missing_since FROM alerts ORDER BY fingerprint",
                         -1, &s.stmt, nullptr) != SQLITE_OK) {
    error = sqlite3_errmsg(db_);
    return alerts;
  }
  while (sqlite3_step(s.stmt) == SQLITE_ROW) {
    Alert a;
    auto text = [&](int column) {
      return std::string(reinterpret_cast<const char*>(sqlite3_column_text(s.stmt, column)),
                         static_cast<size_t>(sqlite3_column_bytes(s.stmt, column)));
    };
    a.fingerprint = text(0);
    a.rule = text(1);
    a.key = text(2);
    a.severity = static_cast<Severity>(sqlite3_column_int(s.stmt, 3));
    a.state = static_cast<AlertState>(sqlite3_column_int(s.stmt, 4));
    a.active_since = sqlite3_column_int64(s.stmt, 5);
    a.fired_at = sqlite3_column_int64(s.stmt, 6);
    a.labels = from_json(sqlite3_column_text(s.stmt, 7));
    a.annotations = from_json(sqlite3_column_text(s.stmt, 8));
    a.due_date = sqlite3_column_type(s.stmt, 9) == SQLITE_NULL ? kNullDay : sqlite3_column_int(s.stmt, 9);
    if (sqlite3_column_type(s.stmt, 10) != SQLITE_NULL) a.value = sqlite3_column_double(s.stmt, 10);
    a.missing_since = sqlite3_column_int64(s.stmt, 11);
    alerts.push_back(std::move(a));
  }
  return alerts;
}

bool StateStore::save(const std::vector<AlertChange>& changes, std::string& error) {
  if (changes.empty()) return true;
  if (!exec("BEGIN IMMEDIATE", error)) return false;
  Statement upsert, remove;
  if (sqlite3_prepare_v2(db_,
                         "INSERT OR REPLACE INTO alerts (fingerprint, rule, key, severity, state, active_since, fired_at,"
                         " labels, annotations, due_date, value, missing_since) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                         -1, &upsert.stmt, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(db_, "DELETE FROM alerts WHERE fingerprint = ?", -1, &remove.stmt, nullptr) != SQLITE_OK) {
    error = sqlite3_errmsg(db_);
    std::string ignored;
    exec("ROLLBACK", ignored);
    return false;
  }
  bool ok = true;
  for (const AlertChange& change : changes) {
    const Alert& a = change.alert;
    sqlite3_stmt* s = change.kind == AlertChange::Kind::Resolved ? remove.stmt : upsert.stmt;
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    sqlite3_bind_text(s, 1, a.fingerprint.c_str(), -1, SQLITE_TRANSIENT);
    if (change.kind != AlertChange::Kind::Resolved) {
      sqlite3_bind_text(s, 2, a.rule.data(), static_cast<int>(a.rule.size()), SQLITE_TRANSIENT);
      sqlite3_bind_text(s, 3, a.key.data(), static_cast<int>(a.key.size()), SQLITE_TRANSIENT);
      sqlite3_bind_int(s, 4, static_cast<int>(a.severity));
      sqlite3_bind_int(s, 5, static_cast<int>(a.state));
      sqlite3_bind_int64(s, 6, a.active_since);
      sqlite3_bind_int64(s, 7, a.fired_at);
      sqlite3_bind_text(s, 8, to_json(a.labels).c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(s, 9, to_json(a.annotations).c_str(), -1, SQLITE_TRANSIENT);
      if (a.due_date == kNullDay) sqlite3_bind_null(s, 10);
      else sqlite3_bind_int(s, 10, a.due_date);
      if (a.value) sqlite3_bind_double(s, 11, *a.value);
      else sqlite3_bind_null(s, 11);
      sqlite3_bind_int64(s, 12, a.missing_since);
    }
    if (sqlite3_step(s) != SQLITE_DONE) {
      error = sqlite3_errmsg(db_);
      ok = false;
      break;
    }
  }
  std::string ignored;
  if (!ok) {
    exec("ROLLBACK", ignored);
    return false;
  }
  return exec("COMMIT", error);
}

namespace {

struct Transaction {
  sqlite3* db;
  bool done = false;
  explicit Transaction(sqlite3* d) : db(d) {}
  bool begin(std::string& error) {
    char* message = nullptr;
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, &message) != SQLITE_OK) {
      error = message ? message : sqlite3_errmsg(db);
      sqlite3_free(message);
      done = true;
      return false;
    }
    return true;
  }
  bool commit(std::string& error) {
    done = true;
    if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      error = sqlite3_errmsg(db);
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      return false;
    }
    return true;
  }
  ~Transaction() {
    if (!done) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  }
};

bool prepare(sqlite3* db, const char* sql, Statement& s, std::string& error) {
  if (sqlite3_prepare_v2(db, sql, -1, &s.stmt, nullptr) != SQLITE_OK) {
    error = sqlite3_errmsg(db);
    return false;
  }
  return true;
}

bool step_done(sqlite3* db, Statement& s, std::string& error) {
  if (sqlite3_step(s.stmt) != SQLITE_DONE) {
    error = sqlite3_errmsg(db);
    return false;
  }
  return true;
}

std::string column_text(sqlite3_stmt* stmt, int i) {
  const unsigned char* text = sqlite3_column_text(stmt, i);
  return text ? reinterpret_cast<const char*>(text) : "";
}

}  // namespace

std::vector<GroupState> StateStore::load_groups(std::string& error) {
  std::vector<GroupState> groups;
  Statement s;
  if (!prepare(db_, "SELECT state FROM notify_groups", s, error)) return groups;
  while (sqlite3_step(s.stmt) == SQLITE_ROW) {
    auto json = nlohmann::json::parse(column_text(s.stmt, 0), nullptr, false);
    if (!json.is_discarded()) groups.push_back(GroupState::from_json(json));
  }
  return groups;
}

bool StateStore::enqueue(const Notification& n, int64_t now, std::string& error) {
  Statement s;
  if (!prepare(db_, "INSERT OR IGNORE INTO outbox (id, receiver, notification, created_at, attempts, next_attempt)"
                    " VALUES (?, ?, ?, ?, 0, ?)", s, error))
    return false;
  std::string body = json_text(notification_to_json(n));
  sqlite3_bind_text(s.stmt, 1, n.id.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(s.stmt, 2, n.receiver.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(s.stmt, 3, body.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(s.stmt, 4, n.created_at);
  sqlite3_bind_int64(s.stmt, 5, now);
  return step_done(db_, s, error);
}

bool StateStore::save_dispatch(const DispatchOutput& output, std::string& error) {
  if (output.notifications.empty() && output.changed_groups.empty() && output.deleted_groups.empty()) return true;
  Transaction tx(db_);
  if (!tx.begin(error)) return false;
  for (const GroupState& g : output.changed_groups) {
    Statement s;
    if (!prepare(db_, "INSERT OR REPLACE INTO notify_groups (id, state) VALUES (?, ?)", s, error)) return false;
    std::string state = json_text(g.to_json());
    sqlite3_bind_text(s.stmt, 1, g.id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s.stmt, 2, state.c_str(), -1, SQLITE_TRANSIENT);
    if (!step_done(db_, s, error)) return false;
  }
  for (const std::string& id : output.deleted_groups) {
    Statement s;
    if (!prepare(db_, "DELETE FROM notify_groups WHERE id = ?", s, error)) return false;
    sqlite3_bind_text(s.stmt, 1, id.c_str(), -1, SQLITE_TRANSIENT);
    if (!step_done(db_, s, error)) return false;
  }
  for (const Notification& n : output.notifications)
    if (!enqueue(n, n.created_at, error)) return false;
  return tx.commit(error);
}

std::vector<StateStore::OutboxEntry> StateStore::due(int64_t now, size_t limit, std::string& error) {
  std::vector<OutboxEntry> entries;
  Statement s;
  if (!prepare(db_, "SELECT notification, attempts, next_attempt FROM outbox WHERE next_attempt <= ?"
                    " ORDER BY created_at, id LIMIT ?", s, error))
    return entries;
  sqlite3_bind_int64(s.stmt, 1, now);
  sqlite3_bind_int64(s.stmt, 2, static_cast<int64_t>(limit));
  while (sqlite3_step(s.stmt) == SQLITE_ROW) {
    auto json = nlohmann::json::parse(column_text(s.stmt, 0), nullptr, false);
    if (json.is_discarded()) continue;
    entries.push_back({notification_from_json(json), sqlite3_column_int(s.stmt, 1), sqlite3_column_int64(s.stmt, 2)});
  }
  return entries;
}

bool StateStore::delivered(const std::string& id, std::string& error) {
  Statement s;
  if (!prepare(db_, "DELETE FROM outbox WHERE id = ?", s, error)) return false;
  sqlite3_bind_text(s.stmt, 1, id.c_str(), -1, SQLITE_TRANSIENT);
  return step_done(db_, s, error);
}

bool StateStore::retry_later(const std::string& id, int attempts, int64_t next_attempt, const std::string& last_error,
                             std::string& error) {
  Statement s;
  if (!prepare(db_, "UPDATE outbox SET attempts = ?, next_attempt = ?, last_error = ? WHERE id = ?", s, error)) return false;
  sqlite3_bind_int(s.stmt, 1, attempts);
  sqlite3_bind_int64(s.stmt, 2, next_attempt);
  sqlite3_bind_text(s.stmt, 3, last_error.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(s.stmt, 4, id.c_str(), -1, SQLITE_TRANSIENT);
  return step_done(db_, s, error);
}

bool StateStore::give_up(const std::string& id, const Notification* replacement, int64_t now, std::string& error) {
  Transaction tx(db_);
  if (!tx.begin(error)) return false;
  if (!delivered(id, error)) return false;
  if (replacement && !enqueue(*replacement, now, error)) return false;
  return tx.commit(error);
}

std::map<std::string, int64_t> StateStore::queue_sizes(std::string& error) {
  std::map<std::string, int64_t> sizes;
  Statement s;
  if (!prepare(db_, "SELECT receiver, COUNT(*) FROM outbox GROUP BY receiver", s, error)) return sizes;
  while (sqlite3_step(s.stmt) == SQLITE_ROW) sizes[column_text(s.stmt, 0)] = sqlite3_column_int64(s.stmt, 1);
  return sizes;
}

bool StateStore::put_document(const std::string& table, const std::string& id, const std::string& json, std::string& error) {
  Statement s;
  std::string sql = "INSERT OR REPLACE INTO " + table + " (id, document) VALUES (?, ?)";
  if (!prepare(db_, sql.c_str(), s, error)) return false;
  sqlite3_bind_text(s.stmt, 1, id.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(s.stmt, 2, json.c_str(), -1, SQLITE_TRANSIENT);
  return step_done(db_, s, error);
}

bool StateStore::delete_document(const std::string& table, const std::string& id, std::string& error) {
  Statement s;
  std::string sql = "DELETE FROM " + table + " WHERE id = ?";
  if (!prepare(db_, sql.c_str(), s, error)) return false;
  sqlite3_bind_text(s.stmt, 1, id.c_str(), -1, SQLITE_TRANSIENT);
  return step_done(db_, s, error);
}

std::vector<std::string> StateStore::load_documents(const std::string& table, std::string& error) {
  std::vector<std::string> documents;
  Statement s;
  std::string sql = "SELECT document FROM " + table + " ORDER BY id";
  if (!prepare(db_, sql.c_str(), s, error)) return documents;
  while (sqlite3_step(s.stmt) == SQLITE_ROW) documents.push_back(column_text(s.stmt, 0));
  return documents;
}

}  // namespace casewatch
