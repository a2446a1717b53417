#include "daemon/state_store.h"

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

std::string to_json(const std::map<std::string, std::string>& map) { return nlohmann::json(map).dump(); }

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
                   "  due_date INTEGER, value REAL);",
                   error)) {
    error = path + ": " + error;
    return nullptr;
  }
  return store;
}

std::vector<Alert> StateStore::load_alerts(std::string& error) {
  std::vector<Alert> alerts;
  Statement s;
  if (sqlite3_prepare_v2(db_, "SELECT fingerprint, rule, key, severity, state, active_since, fired_at, labels,"
                              " annotations, due_date, value FROM alerts ORDER BY fingerprint",
                         -1, &s.stmt, nullptr) != SQLITE_OK) {
    error = sqlite3_errmsg(db_);
    return alerts;
  }
  while (sqlite3_step(s.stmt) == SQLITE_ROW) {
    Alert a;
    a.fingerprint = reinterpret_cast<const char*>(sqlite3_column_text(s.stmt, 0));
    a.rule = reinterpret_cast<const char*>(sqlite3_column_text(s.stmt, 1));
    a.key = reinterpret_cast<const char*>(sqlite3_column_text(s.stmt, 2));
    a.severity = static_cast<Severity>(sqlite3_column_int(s.stmt, 3));
    a.state = static_cast<AlertState>(sqlite3_column_int(s.stmt, 4));
    a.active_since = sqlite3_column_int64(s.stmt, 5);
    a.fired_at = sqlite3_column_int64(s.stmt, 6);
    a.labels = from_json(sqlite3_column_text(s.stmt, 7));
    a.annotations = from_json(sqlite3_column_text(s.stmt, 8));
    a.due_date = sqlite3_column_type(s.stmt, 9) == SQLITE_NULL ? kNullDay : sqlite3_column_int(s.stmt, 9);
    if (sqlite3_column_type(s.stmt, 10) != SQLITE_NULL) a.value = sqlite3_column_double(s.stmt, 10);
    alerts.push_back(std::move(a));
  }
  return alerts;
}

bool StateStore::save(const std::vector<AlertChange>& changes, std::string& error) {
  if (changes.empty()) return true;
  if (!exec("BEGIN IMMEDIATE", error)) return false;
  Statement upsert, remove;
  if (sqlite3_prepare_v2(db_, "INSERT OR REPLACE INTO alerts VALUES (?,?,?,?,?,?,?,?,?,?,?)", -1, &upsert.stmt, nullptr) != SQLITE_OK ||
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
      sqlite3_bind_text(s, 2, a.rule.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(s, 3, a.key.c_str(), -1, SQLITE_TRANSIENT);
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

}  // namespace casewatch
