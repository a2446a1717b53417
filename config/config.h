// The casewatch configuration (SPEC 3-5): the config file, its rule files and feed definitions,
// validated once into plain structs with compiled rules. After load_config succeeds the rest of
// the program trusts it. Immutable once loaded; safe to share between threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/diagnostics.h"
#include "config/routing.h"
#include "rules/calendar.h"
#include "rules/expr.h"
#include "rules/rule.h"
#include "rules/table.h"

namespace casewatch {

struct FieldConfig {
  std::string name;
  std::string column;  // CSV heading, JSON member path or SQL result column
  Type type = Type::String;
  bool personal = false;  // about a child: never a metric label (the feed's key always is)
};

enum class FeedType { Csv, JsonHttp, Postgres };

struct FeedConfig {
  std::string name;
  FeedType type = FeedType::Csv;
  std::string key;
  std::vector<FieldConfig> fields;  // in the schema's order
  std::shared_ptr<const Schema> schema;
  // Not from the file: the fields a load keeps, by schema index (empty: every one). eval,
  // backtest and forecast keep only what their rules read (fields_read); the daemon keeps all,
  // since a reload may bring a rule that reads any field.
  std::vector<bool> stored_fields;
  int64_t refresh_seconds = 300;
  std::string date_format;          // empty: ISO only
  double max_rejected_ratio = 0.05;
  // Councils' extracts barely shrink from one day to the next; a tenth fewer records is already a
  // cut or partial export.
  double max_shrink_ratio = 0.1;
  std::optional<int64_t> max_age_seconds;
  // A record gone from the feed resolves its alerts only after it has been absent this long, so
  // that a partial extract the load-safety checks let through cannot resolve alerts in bulk.
  int64_t resolve_missing_after_seconds = 26 * 3600;
  DateRange valid_dates;            // engine.valid_dates
  // The whole load, every page and query included: past it the load is stopped and the feed is
  // down, so that one stalled source never holds a worker, the other feeds or a shutdown.
  int64_t load_timeout_seconds = 300;
  // More records than this in one load (a runaway query, an API that pages for ever) fail it.
  int64_t max_records = 10'000'000;
  // csv
  std::string path;                 // resolved against the config's folder
  std::string timezone;             // engine.timezone: a database's dates and times are read in it
  // json_http
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;       // name, value
  std::vector<std::pair<std::string, std::string>> header_files;  // name, file holding the value (a secret)
  std::string bearer_token_file;
  std::string ca_file;              // a council's own certificate authority; empty: the system's
  std::string records;              // JSON pointer; empty: the top-level array
  int64_t max_response_bytes = 512ll << 20;  // per page
  int64_t max_pages = 1000;         // rel="next" pages followed in one load
  // Origins (scheme://host[:port]) besides the url's own that a rel="next" link may lead to; the
  // credentials go with the request, so any other origin is refused.
  std::vector<std::string> allowed_origins;
  int64_t timeout_seconds = 30;     // json_http: each page; postgres: the connection and the query
  // postgres
  std::string dsn_file;
  std::string query;
};

// Checks that `query` is one SQL query (SELECT, WITH, VALUES or TABLE) that stands on its own:
// one statement (a trailing semicolon allowed), its quotes, comments and parentheses closed.
// Returns a problem or "".
std::string check_single_statement(std::string_view query);

// An http or https URL's origin as "scheme://host:port" (lower case, the default port filled
// in), or "" when it is not one. Unless `allow_path`, nothing may follow the port but a "/".
std::string url_origin(std::string_view url, bool allow_path = true);

// JSON documents nest at most this deep (a records pointer and a column's path must fit inside):
// deeper nesting is refused as it is read, so a small compressed page cannot fill memory.
inline constexpr size_t kMaxJsonDepth = 64;

// A bearer token for a machine (Grafana, a script), read from its own file, with a role.
struct TokenConfig {
  std::string name;
  std::string file;  // resolved against the config's folder
  std::string role;  // viewer, manager or admin
};

struct ServerConfig {
  std::string listen = "127.0.0.1:9797";
  std::string auth_token_file;      // an admin token, as before users and roles
  std::vector<TokenConfig> tokens;
  std::string users_file;           // people: [users.NAME] password_hash and role
  std::string tls_cert_file;
  std::string tls_key_file;
  bool public_metrics = true;
  std::string external_url;  // how people reach the status page, for links in notifications
  int64_t max_silence_seconds = 90 * 86400;  // the longest a silence may last
};

struct EngineConfig {
  std::string timezone = "Europe/London";
  std::string calendar = "england-and-wales";
  std::vector<Day> extra_non_working_days;
  int64_t evaluation_interval_seconds = 300;
  DateRange valid_dates;  // dates outside are bad cells (placeholders such as 01/01/1900)
  // Relative: against $STATE_DIRECTORY under systemd's StateDirectory= (the packaged unit),
  // else against the config's folder. Not given: $STATE_DIRECTORY itself, else "state".
  std::string state_dir;
  std::string state_dir_problem;  // a warning for check: a relative state_dir in the wrong place
};

// [metrics]: label values known in advance, so casewatch_alerts has a 0 series for each (a
// panel shows 0, not "No data", for a team without alerts).
struct MetricsConfig {
  std::map<std::string, std::vector<std::string>> known_label_values;
};

struct Config {
  std::string path;       // the config file as given
  std::string directory;  // its folder: relative paths are resolved against it
  std::vector<std::string> rule_files;  // the files the globs matched, sorted
  ServerConfig server;
  EngineConfig engine;
  MetricsConfig metrics;
  std::shared_ptr<const LookupTables> tables;
  std::shared_ptr<const Calendar> calendar;
  std::vector<FeedConfig> feeds;
  std::vector<Rule> rules;  // every rule, in file then definition order
  std::vector<RouteConfig> routes;
  std::vector<ReceiverConfig> receivers;
  ReceiverTemplateScope receiver_scope;
  std::shared_ptr<const RuleTitles> rule_titles;  // each rule's `title`, where it has one

  int feed_index(std::string_view name) const;
  int rule_index(std::string_view name) const;
};

class TomlFile;
// Reads [[route]] and [[receiver]] (after the rules, whose labels the templates may use).
void load_routing(const TomlFile& file, Config& config, Diagnostics& diagnostics);

// Loads and validates everything; on any problem returns nullopt with every problem reported.
std::optional<Config> load_config(const std::string& path, Diagnostics& diagnostics);
// The same from text already read (`casewatch check -c -`): `name` in messages, relative paths
// resolved against `directory`.
std::optional<Config> load_config_text(std::string text, const std::string& name, const std::string& directory,
                                       Diagnostics& diagnostics);

// `path` resolved against `directory` unless absolute.
std::string resolve_path(const std::string& directory, const std::string& path);
// engine.state_dir as the daemon will use it; `problem` says why a relative one is misplaced.
std::string resolve_state_dir(const std::string& config_directory, const std::string& state_dir, std::string& problem);

}  // namespace casewatch
