#include "config/config.h"

#include <unistd.h>

#include <glob.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "config/as_of.h"
#include "config/toml_util.h"

namespace casewatch {

int Config::feed_index(std::string_view name) const {
  for (size_t i = 0; i < feeds.size(); ++i)
    if (feeds[i].name == name) return static_cast<int>(i);
  return -1;
}

int Config::rule_index(std::string_view name) const {
  for (size_t i = 0; i < rules.size(); ++i)
    if (rules[i].spec.name == name) return static_cast<int>(i);
  return -1;
}

std::string check_single_statement(std::string_view query) {
  // PostgreSQL's lexical rules, as far as they decide where a statement ends: quotes,
  // identifiers, dollar quotes and comments may hold anything, and the parentheses outside them
  // must balance. The query runs inside "COPY (...) TO STDOUT": a ')' that closes more than it
  // opened would end that wrapper and let the rest of the text be COPY's own options.
  auto word_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$'; };
  int depth = 0;
  bool seen_end = false;
  std::string first_word;
  for (size_t i = 0; i < query.size(); ++i) {
    const char c = query[i];
    const char next = i + 1 < query.size() ? query[i + 1] : '\0';
    if (c == '-' && next == '-') {
      while (i < query.size() && query[i] != '\n') ++i;
      continue;
    }
    if (c == '/' && next == '*') {  // block comments nest
      int comments = 1;
      for (i += 2; i < query.size() && comments > 0; ++i) {
        if (query[i] == '/' && i + 1 < query.size() && query[i + 1] == '*') ++comments, ++i;
        else if (query[i] == '*' && i + 1 < query.size() && query[i + 1] == '/') --comments, ++i;
      }
      if (comments > 0) return "'query' has an unterminated /* comment";
      --i;
      continue;
    }
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    if (seen_end) {
      if (c != ';') return "'query' must be one SQL statement";
      continue;
    }
    if (c == '\'' || c == '"') {
      // E'...' strings take backslash escapes; elsewhere a doubled quote is the quote itself.
      const bool escapes = c == '\'' && i > 0 && (query[i - 1] == 'E' || query[i - 1] == 'e') &&
                           (i == 1 || !word_char(query[i - 2]));
      size_t j = i + 1;
      for (; j < query.size(); ++j) {
        if (escapes && query[j] == '\\') ++j;
        else if (query[j] == c && j + 1 < query.size() && query[j + 1] == c) ++j;
        else if (query[j] == c) break;
      }
      if (j >= query.size()) return "'query' has an unterminated quote";
      i = j;
      continue;
    }
    if (c == '$' && (i == 0 || !word_char(query[i - 1]))) {
      // $tag$ ... $tag$ (the tag may be empty; $1 is a parameter, not a quote).
      size_t j = i + 1;
      while (j < query.size() && (std::isalpha(static_cast<unsigned char>(query[j])) || query[j] == '_' ||
                                  (j > i + 1 && std::isdigit(static_cast<unsigned char>(query[j])))))
        ++j;
      if (j < query.size() && query[j] == '$') {
        const std::string_view tag = query.substr(i, j - i + 1);
        const size_t close = query.find(tag, j + 1);
        if (close == std::string_view::npos) return "'query' has an unterminated dollar quote " + std::string(tag);
        i = close + tag.size() - 1;
        continue;
      }
    }
    if (first_word.empty() && c != '(') {
      size_t j = i;
      while (j < query.size() && std::isalpha(static_cast<unsigned char>(query[j]))) ++j;
      first_word = std::string(query.substr(i, j - i));
      std::transform(first_word.begin(), first_word.end(), first_word.begin(), ::toupper);
      if (first_word != "SELECT" && first_word != "WITH" && first_word != "VALUES" && first_word != "TABLE")
        return "'query' must be a read-only query beginning SELECT, WITH, VALUES or TABLE";
    }
    if (c == '(') ++depth;
    else if (c == ')' && --depth < 0) return "'query' has a ')' that closes no '('";
    else if (c == ';') seen_end = true;
  }
  if (depth > 0) return "'query' leaves a '(' open";
  if (first_word.empty()) return "'query' holds no SQL";
  return "";
}

std::string resolve_path(const std::string& directory, const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  return (std::filesystem::path(directory) / path).lexically_normal().string();
}

namespace {

// Prometheus' label names: [a-zA-Z_][a-zA-Z0-9_]*.
bool is_metric_label_name(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

bool is_name(std::string_view s) {  // [a-z][a-z0-9_]*
  if (s.empty() || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

bool is_field_name(std::string_view s) {  // an identifier the expression language can use
  static const std::set<std::string_view> reserved = {"true", "false", "null", "and", "or", "not", "in"};
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  if (reserved.count(s)) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

// As the loader will request it: an origin, no user name or password (secrets come from files),
// and no byte that is a space or a control character anywhere (libcurl would refuse it at run time).
bool is_http_url(std::string_view url) {
  return !url_origin(url).empty() &&
         std::none_of(url.begin(), url.end(), [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; });
}

}  // namespace

std::string url_origin(std::string_view url, bool allow_path) {
  std::string scheme;
  if (url.size() >= 8 && std::equal(url.begin(), url.begin() + 8, "https://", [](char a, char b) { return std::tolower(a) == b; }))
    scheme = "https";
  else if (url.size() >= 7 && std::equal(url.begin(), url.begin() + 7, "http://", [](char a, char b) { return std::tolower(a) == b; }))
    scheme = "http";
  else
    return "";
  std::string_view rest = url.substr(scheme.size() + 3);
  const size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  if (!allow_path && end != std::string_view::npos && rest.substr(end) != "/") return "";
  if (authority.find('@') != std::string_view::npos || authority.empty()) return "";
  std::string_view host = authority, port;
  if (authority.front() == '[') {  // an IPv6 address
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return "";
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return "";
      port = after.substr(1);
    }
  } else if (const size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty() || host == "[]") return "";
  for (char c : host)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '[' || c == ']' || c == ':' ||
          c == '_'))
      return "";
  if (!port.empty() && (port.size() > 5 || !std::all_of(port.begin(), port.end(), ::isdigit) || std::stoi(std::string(port)) > 65535 ||
                        std::stoi(std::string(port)) == 0))
    return "";
  std::string out = scheme + "://";
  for (char c : host) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  out += ":" + (port.empty() ? std::string(scheme == "https" ? "443" : "80") : std::to_string(std::stoi(std::string(port))));
  return out;
}

namespace {

// Whether a rule's title is one plain line of at most 80 characters. It heads subjects and chat
// messages, so control characters, line and paragraph separators and bidirectional controls
// (which could make a subject read other than it is) are refused. toml++ has already checked the
// text is valid UTF-8.
bool is_plain_title(std::string_view title) {
  size_t characters = 0;
  for (size_t i = 0; i < title.size();) {
    unsigned char lead = static_cast<unsigned char>(title[i]);
    size_t length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    char32_t c = length == 1 ? lead : lead & (0x7F >> length);
    for (size_t k = 1; k < length && i + k < title.size(); ++k) c = (c << 6) | (title[i + k] & 0x3F);
    i += length;
    ++characters;
    bool control = c < 0x20 || (c >= 0x7F && c <= 0x9F);
    bool separator = c == 0x2028 || c == 0x2029;
    bool bidi = c == 0x061C || c == 0x200E || c == 0x200F || (c >= 0x202A && c <= 0x202E) ||
                (c >= 0x2066 && c <= 0x2069);
    if (control || separator || bidi) return false;
  }
  return characters <= 80;
}

std::optional<Type> parse_field_type(std::string_view s) {
  if (s == "string") return Type::String;
  if (s == "number") return Type::Number;
  if (s == "date") return Type::Date;
  if (s == "bool") return Type::Bool;
  return std::nullopt;
}

// A date given as a TOML date or an ISO string.
std::optional<Day> node_date(const toml::node& node) {
  if (const auto* d = node.as_date()) {
    const toml::date& v = d->get();
    if (!is_valid_civil(v.year, v.month, v.day)) return std::nullopt;
    return days_from_civil(v.year, v.month, v.day);
  }
  if (const auto* s = node.as_string()) return parse_iso_date(s->get());
  return std::nullopt;
}

class Loader {
 public:
  Loader(Config& config, Diagnostics& diagnostics) : config_(config), d_(diagnostics) {}

  void load(const TomlFile& file) {
    const toml::table& root = file.root();
    file.reject_unknown_keys(root, {"rule_files", "server", "engine", "metrics", "tables", "feed", "route", "receiver"},
                             "the config", d_);
    load_server(file);
    load_engine(file);
    load_metrics(file);
    load_tables(file);
    load_feeds(file);
    load_rules(file);
    load_routing(file, config_, d_);
  }

 private:
  void load_server(const TomlFile& file) {
    const toml::table* server = file.get_table(file.root(), "server", d_);
    if (!server) return;
    file.reject_unknown_keys(*server, {"listen", "auth_token_file", "tls_cert_file", "tls_key_file", "public_metrics",
                                       "external_url", "tokens", "users_file", "max_silence"},
                             "[server]", d_);
    ServerConfig& s = config_.server;
    if (auto v = file.get_string(*server, "listen", d_)) {
      auto colon = v->rfind(':');
      bool ok = colon != std::string::npos && colon + 1 < v->size() &&
                std::all_of(v->begin() + colon + 1, v->end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
      if (!ok) file.error(*server->get("listen"), "'listen' must be HOST:PORT, e.g. \"127.0.0.1:9797\"", d_);
      else s.listen = *v;
    }
    if (auto v = file.get_string(*server, "auth_token_file", d_)) s.auth_token_file = resolve_path(config_.directory, *v);
    if (auto v = file.get_string(*server, "users_file", d_)) s.users_file = resolve_path(config_.directory, *v);
    if (const toml::node* tokens = server->get("tokens")) {
      const toml::array* array = tokens->as_array();
      if (!array) file.error(*tokens, "'tokens' must be an array of { name, file, role } tables", d_);
      for (size_t i = 0; array && i < array->size(); ++i) {
        const toml::table* t = array->get(i)->as_table();
        if (!t) {
          file.error(*array->get(i), "each token must be a table { name = \"...\", file = \"...\", role = \"viewer\" }", d_);
          continue;
        }
        file.reject_unknown_keys(*t, {"name", "file", "role"}, "a token", d_);
        TokenConfig token;
        token.name = file.get_string(*t, "name", d_).value_or("");
        token.file = resolve_path(config_.directory, file.get_string(*t, "file", d_).value_or(""));
        token.role = file.get_string(*t, "role", d_).value_or("");
        if (token.name.empty()) file.error(*t, "a token needs a 'name' (it is recorded as created_by)", d_);
        if (!t->get("file")) file.error(*t, "a token needs a 'file' holding the secret", d_);
        if (token.role != "viewer" && token.role != "manager" && token.role != "admin")
          file.error(t->get("role") ? *t->get("role") : static_cast<const toml::node&>(*t),
                     "a token's 'role' must be viewer, manager or admin", d_);
        for (const TokenConfig& other : s.tokens)
          if (other.name == token.name && !token.name.empty()) file.error(*t, "token '" + token.name + "' is declared twice", d_);
        s.tokens.push_back(std::move(token));
      }
    }
    if (auto v = file.get_string(*server, "tls_cert_file", d_)) s.tls_cert_file = resolve_path(config_.directory, *v);
    if (auto v = file.get_string(*server, "tls_key_file", d_)) s.tls_key_file = resolve_path(config_.directory, *v);
    if (auto v = file.get_bool(*server, "public_metrics", d_)) s.public_metrics = *v;
    if (auto v = file.get_string(*server, "external_url", d_)) s.external_url = *v;
    if (auto v = file.get_interval(*server, "max_silence", d_)) {
      // A silence is a pause: a year unseen is what casewatch exists to prevent.
      if (*v > 366 * 86400) file.error(*server->get("max_silence"), "'max_silence' may be at most \"366d\"", d_);
      else s.max_silence_seconds = *v;
    }
    if (s.tls_cert_file.empty() != s.tls_key_file.empty())
      file.error(*server, "set both 'tls_cert_file' and 'tls_key_file', or neither", d_);
  }

  void load_engine(const TomlFile& file) {
    EngineConfig& e = config_.engine;
    std::vector<Day> non_working;
    const toml::table* engine = file.get_table(file.root(), "engine", d_);
    if (engine) {
      file.reject_unknown_keys(*engine, {"timezone", "calendar", "extra_non_working_days", "evaluation_interval", "state_dir",
                                         "valid_dates"},
                               "[engine]", d_);
      if (const toml::node* range = engine->get("valid_dates")) {
        const toml::array* array = range->as_array();
        std::optional<Day> from, until;
        if (array && array->size() == 2) {
          from = node_date(*array->get(0));
          until = node_date(*array->get(1));
        }
        if (!from || !until || *from > *until)
          file.error(*range, "'valid_dates' must be two dates, the first no later than the second, e.g. [\"1901-01-01\", \"2099-12-31\"]", d_);
        else e.valid_dates = {*from, *until};
      }
      if (auto v = file.get_string(*engine, "timezone", d_)) {
        if (!is_known_timezone(*v))
          file.error(*engine->get("timezone"), "unknown timezone '" + *v + "'", d_);
        else e.timezone = *v;
      }
      if (auto v = file.get_string(*engine, "calendar", d_)) e.calendar = *v;
      if (auto v = file.get_interval(*engine, "evaluation_interval", d_)) e.evaluation_interval_seconds = *v;
      if (auto v = file.get_string(*engine, "state_dir", d_)) e.state_dir = *v;
      if (const toml::node* days = engine->get("extra_non_working_days")) {
        if (const toml::array* array = days->as_array()) {
          for (const auto& item : *array) {
            if (auto day = node_date(item)) e.extra_non_working_days.push_back(*day);
            else file.error(item, "extra_non_working_days must hold dates (YYYY-MM-DD)", d_);
          }
        } else {
          file.error(*days, "'extra_non_working_days' must be an array of dates", d_);
        }
      }
    }
    e.state_dir = resolve_state_dir(config_.directory, e.state_dir, e.state_dir_problem);
    if (e.calendar == "england-and-wales") {
      non_working = Calendar::england_and_wales_bank_holidays();
    } else {
      std::string path = resolve_path(config_.directory, e.calendar);
      std::error_code ec;
      std::ifstream in;
      if (std::filesystem::is_regular_file(path, ec)) in.open(path);  // a folder opens, but reads nothing
      const toml::node* where = engine ? engine->get("calendar") : nullptr;
      if (!in.is_open()) {
        if (where) file.error(*where, "calendar '" + e.calendar + "' is neither 'england-and-wales' nor a readable file", d_);
      } else {
        std::string line;
        int number = 0;
        while (std::getline(in, line)) {
          ++number;
          std::string_view text = trim(line);
          if (text.empty() || text[0] == '#') continue;
          if (auto day = parse_iso_date(text)) non_working.push_back(*day);
          else d_.error(path, number, 1, "not a date (expected YYYY-MM-DD)");
        }
      }
    }
    non_working.insert(non_working.end(), e.extra_non_working_days.begin(), e.extra_non_working_days.end());
    config_.calendar = std::make_shared<Calendar>(std::move(non_working));
  }

  void load_metrics(const TomlFile& file) {
    const toml::table* metrics = file.get_table(file.root(), "metrics", d_);
    if (!metrics) return;
    file.reject_unknown_keys(*metrics, {"known_label_values"}, "[metrics]", d_);
    const toml::table* known = file.get_table(*metrics, "known_label_values", d_);
    if (!known) return;
    for (const auto& [label, node] : *known) {
      std::string name(label.str());
      if (!is_metric_label_name(name)) {
        file.error(node, "'" + name + "' is not a Prometheus label name", d_);
        continue;
      }
      if (auto values = file.get_string_array(*known, name, d_)) config_.metrics.known_label_values[name] = *values;
    }
  }

  void load_tables(const TomlFile& file) {
    auto tables = std::make_shared<LookupTables>();
    if (const toml::table* all = file.get_table(file.root(), "tables", d_)) {
      for (const auto& [name, node] : *all) {
        const toml::table* table = node.as_table();
        if (!table) {
          file.error(node, "table '" + std::string(name.str()) + "' must be a table of key = value", d_);
          continue;
        }
        tables->declare(std::string(name.str()));
        for (const auto& [key, value] : *table) {
          Value v;
          if (value.is_integer()) v = Value::of_number(static_cast<double>(value.as_integer()->get()));
          else if (value.is_floating_point()) v = Value::of_number(value.as_floating_point()->get());
          else if (value.is_string()) v = Value::of_string(value.as_string()->get());
          else if (value.is_boolean()) v = Value::of_bool(value.as_boolean()->get());
          else {
            file.error(value, "table values must be numbers, strings or booleans", d_);
            continue;
          }
          tables->add(std::string(name.str()), std::string(key.str()), v);
        }
      }
    }
    config_.tables = tables;
  }

  void load_feeds(const TomlFile& file) {
    const toml::node* node = file.root().get("feed");
    if (!node) return;
    const toml::array* feeds = node->as_array();
    if (!feeds) {
      file.error(*node, "feeds are declared as [[feed]] tables", d_);
      return;
    }
    for (const auto& item : *feeds) {
      const toml::table* table = item.as_table();
      if (!table) {
        file.error(item, "each feed must be a table", d_);
        continue;
      }
      load_feed(file, *table);
    }
  }

  void load_feed(const TomlFile& file, const toml::table& table) {
    FeedConfig feed;
    file.reject_unknown_keys(table, {"name", "type", "path", "key", "refresh", "date_format", "max_rejected_ratio",
                                     "max_shrink_ratio", "max_age", "resolve_missing_after", "fields", "url", "headers",
                                     "bearer_token_file", "ca_file", "records", "max_response_bytes", "timeout",
                                     "dsn_file", "query", "load_timeout", "max_records", "max_pages",
                                     "allowed_origins"},
                             "[[feed]]", d_);
    auto name = file.get_string(table, "name", d_);
    if (!name) {
      if (!table.get("name")) file.error(table, "a feed needs a 'name'", d_);
    } else if (!is_name(*name)) {
      file.error(*table.get("name"), "feed name '" + *name + "' must match [a-z][a-z0-9_]*", d_);
    } else if (config_.feed_index(*name) >= 0) {
      file.error(*table.get("name"), "feed '" + *name + "' is declared twice", d_);
    } else {
      feed.name = *name;
    }
    std::string type = file.get_string(table, "type", d_).value_or("csv");
    bool type_known = true;
    if (type == "csv") feed.type = FeedType::Csv;
    else if (type == "json_http") feed.type = FeedType::JsonHttp;
    else if (type == "postgres") feed.type = FeedType::Postgres;
    else {
      file.error(*table.get("type"), "feed type '" + type + "' is not one of csv, json_http, postgres", d_);
      type_known = false;
    }

    // With an unknown type, which source keys it needs is unknown: only the type is reported.
    auto require = [&](std::string_view key, std::string& target) {
      if (!type_known) return;
      if (auto v = file.get_string(table, key, d_)) target = *v;
      else if (!table.get(key)) file.error(table, "a " + type + " feed needs '" + std::string(key) + "'", d_);
    };
    auto forbid = [&](std::initializer_list<std::string_view> keys) {
      if (!type_known) return;
      for (auto key : keys)
        if (const toml::node* n = table.get(key))
          file.error(*n, "'" + std::string(key) + "' does not apply to a " + type + " feed", d_);
    };
    // A file the source needs (a secret, a certificate): it must exist and be readable now.
    auto readable_file = [&](std::string_view key, std::string& target) {
      if (auto v = file.get_string(table, key, d_)) {
        target = resolve_path(config_.directory, *v);
        std::ifstream in(target);
        if (!in) file.error(*table.get(key), "'" + std::string(key) + "' " + target + " cannot be read", d_);
      }
    };
    switch (feed.type) {
      case FeedType::Csv:
        require("path", feed.path);
        feed.path = resolve_path(config_.directory, feed.path);
        forbid({"url", "headers", "bearer_token_file", "ca_file", "records", "max_response_bytes", "timeout",
                "dsn_file", "query", "max_pages", "allowed_origins"});
        break;
      case FeedType::JsonHttp: {
        require("url", feed.url);
        if (!feed.url.empty() && !is_http_url(feed.url))
          file.error(*table.get("url"), "'url' must be an http:// or https:// URL with a host, no user name or password and no spaces", d_);
        readable_file("bearer_token_file", feed.bearer_token_file);
        readable_file("ca_file", feed.ca_file);
        if (auto v = file.get_string(table, "records", d_)) {
          if (!v->empty() && (*v)[0] != '/') file.error(*table.get("records"), "'records' must be a JSON pointer such as \"/data/items\"", d_);
          else if (static_cast<size_t>(std::count(v->begin(), v->end(), '/')) + 2 > kMaxJsonDepth)
            file.error(*table.get("records"), "'records' is nested deeper than JSON may be (" +
                                                  std::to_string(kMaxJsonDepth) + " levels)", d_);
          else feed.records = *v;
        }
        if (auto v = file.get_number(table, "max_pages", d_)) {
          if (*v < 1 || *v != std::floor(*v)) file.error(*table.get("max_pages"), "'max_pages' must be a whole number of at least 1", d_);
          else feed.max_pages = static_cast<int64_t>(*v);
        }
        if (auto origins = file.get_string_array(table, "allowed_origins", d_)) {
          for (size_t i = 0; i < origins->size(); ++i) {
            std::string origin = url_origin((*origins)[i], false);
            if (origin.empty())
              file.error(*table.get("allowed_origins")->as_array()->get(i),
                         "'allowed_origins' entries are origins such as \"https://api.council.example:8443\" "
                         "(a scheme, a host and a port at most)", d_);
            else feed.allowed_origins.push_back(origin);
          }
        }
        if (auto v = file.get_interval(table, "timeout", d_)) feed.timeout_seconds = *v;
        if (auto v = file.get_number(table, "max_response_bytes", d_)) {
          if (*v < 1) file.error(*table.get("max_response_bytes"), "'max_response_bytes' must be positive", d_);
          else feed.max_response_bytes = static_cast<int64_t>(*v);
        }
        if (const toml::table* headers = file.get_table(table, "headers", d_))
          for (const auto& [k, v] : *headers) {
            std::string name(k.str());
            if (v.is_string()) {
              feed.headers.emplace_back(name, v.as_string()->get());
            } else if (const toml::table* from = v.as_table(); from && from->size() == 1 && (*from)["file"].is_string()) {
              std::string path = resolve_path(config_.directory, (*from)["file"].value<std::string>().value_or(""));
              if (!std::ifstream(path)) file.error(v, "header '" + name + "': " + path + " cannot be read", d_);
              feed.header_files.emplace_back(name, path);
            } else {
              file.error(v, "header values must be strings or { file = \"...\" }", d_);
            }
          }
        forbid({"path", "dsn_file", "query"});
        break;
      }
      case FeedType::Postgres:
        require("dsn_file", feed.dsn_file);
        if (table.get("dsn_file")) readable_file("dsn_file", feed.dsn_file);
        require("query", feed.query);
        if (!feed.query.empty())
          if (std::string problem = check_single_statement(feed.query); !problem.empty())
            file.error(*table.get("query"), problem, d_);
        if (auto v = file.get_interval(table, "timeout", d_)) feed.timeout_seconds = *v;
        forbid({"path", "url", "headers", "bearer_token_file", "ca_file", "records", "max_response_bytes", "max_pages",
                "allowed_origins"});
        break;
    }
    if (auto v = file.get_interval(table, "refresh", d_)) feed.refresh_seconds = *v;
    if (auto v = file.get_interval(table, "load_timeout", d_)) {
      if (*v < 1) file.error(*table.get("load_timeout"), "'load_timeout' must be at least 1s", d_);
      else feed.load_timeout_seconds = *v;
    }
    if (auto v = file.get_number(table, "max_records", d_)) {
      if (*v < 1 || *v != std::floor(*v)) file.error(*table.get("max_records"), "'max_records' must be a whole number of at least 1", d_);
      else feed.max_records = static_cast<int64_t>(*v);
    }
    if (auto v = file.get_interval(table, "max_age", d_)) feed.max_age_seconds = *v;
    if (auto v = file.get_interval(table, "resolve_missing_after", d_)) feed.resolve_missing_after_seconds = *v;
    feed.valid_dates = config_.engine.valid_dates;
    feed.timezone = config_.engine.timezone;
    if (auto v = file.get_string(table, "date_format", d_)) {
      std::string problem = validate_date_format(*v);
      if (!problem.empty()) file.error(*table.get("date_format"), problem, d_);
      else feed.date_format = *v;
    }
    auto ratio = [&](std::string_view key, double& target) {
      if (auto v = file.get_number(table, key, d_)) {
        if (*v < 0 || *v > 1) file.error(*table.get(key), "'" + std::string(key) + "' must be between 0 and 1", d_);
        else target = *v;
      }
    };
    ratio("max_rejected_ratio", feed.max_rejected_ratio);
    ratio("max_shrink_ratio", feed.max_shrink_ratio);

    auto schema = std::make_shared<Schema>();
    if (const toml::table* fields = file.get_table(table, "fields", d_)) {
      for (const auto& [key, value] : *fields) {
        std::string field_name(key.str());
        if (!is_field_name(field_name)) {
          file.error(key, "field name '" + field_name + "' must be a name usable in expressions ([A-Za-z_][A-Za-z0-9_]*, not a keyword)", d_);
          continue;
        }
        const toml::table* spec = value.as_table();
        if (!spec) {
          file.error(value, "field '" + field_name + "' must be a table such as { column = \"Heading\", type = \"date\" }", d_);
          continue;
        }
        file.reject_unknown_keys(*spec, {"column", "type", "personal"}, "field '" + field_name + "'", d_);
        FieldConfig field;
        field.name = field_name;
        field.column = file.get_string(*spec, "column", d_).value_or("");
        if (field.column.empty() && !spec->get("column")) file.error(value, "field '" + field_name + "' needs a 'column'", d_);
        if (auto t = file.get_string(*spec, "type", d_)) {
          if (auto parsed = parse_field_type(*t)) field.type = *parsed;
          else file.error(*spec->get("type"), "field type '" + *t + "' is not one of string, number, date, bool", d_);
        }
        if (auto v = file.get_bool(*spec, "personal", d_)) field.personal = *v;
        if (feed.type == FeedType::JsonHttp &&
            static_cast<size_t>(std::count(feed.records.begin(), feed.records.end(), '/') +
                                std::count(field.column.begin(), field.column.end(), '.')) + 3 > kMaxJsonDepth)
          file.error(value, "field '" + field_name + "': its column is nested deeper than JSON may be (" +
                                std::to_string(kMaxJsonDepth) + " levels)", d_);
        feed.fields.push_back(field);
        schema->fields.push_back({field.name, field.type, field.personal});
      }
    } else if (!table.get("fields")) {
      file.error(table, "a feed needs [feed.fields]", d_);
    }
    if (auto key = file.get_string(table, "key", d_)) {
      feed.key = *key;
      int index = schema->field_index(*key);
      if (index < 0) file.error(*table.get("key"), "key '" + *key + "' is not one of the feed's fields", d_);
      else if (schema->fields[index].type != Type::String)
        file.error(*table.get("key"), "key field '" + *key + "' must have type string", d_);
      else {
        schema->key = static_cast<size_t>(index);
        schema->fields[index].personal = true;  // a record's key identifies a child or their case
        feed.fields[index].personal = true;
      }
    } else if (!table.get("key")) {
      file.error(table, "a feed needs a 'key'", d_);
    }
    feed.schema = schema;
    // A feed with problems is still kept (the config as a whole is refused) so that the rules
    // reading it are checked against its fields in the same run.
    if (!feed.name.empty()) config_.feeds.push_back(std::move(feed));
  }

  void load_rules(const TomlFile& file) {
    std::vector<std::string> patterns;
    if (auto v = file.get_string_array(file.root(), "rule_files", d_)) patterns = *v;
    std::set<std::string> files;
    for (size_t p = 0; p < patterns.size(); ++p) {
      const std::string& pattern = patterns[p];
      std::string full = resolve_path(config_.directory, pattern);
      glob_t matches{};
      int rc = ::glob(full.c_str(), 0, nullptr, &matches);
      if (rc == 0) {
        for (size_t i = 0; i < matches.gl_pathc; ++i) files.insert(matches.gl_pathv[i]);
      } else {
        file.error(*file.root().get("rule_files")->as_array()->get(p), "rule_files pattern '" + pattern + "' matches no file", d_);
      }
      globfree(&matches);
    }
    config_.rule_files.assign(files.begin(), files.end());
    for (const auto& path : config_.rule_files) {
      auto rule_file = TomlFile::load(path, d_);
      if (!rule_file) continue;
      load_rule_file(*rule_file);
    }
  }

  void load_rule_file(const TomlFile& file) {
    file.reject_unknown_keys(file.root(), {"rule"}, "a rule file", d_);
    const toml::node* node = file.root().get("rule");
    if (!node) return;
    const toml::array* rules = node->as_array();
    if (!rules) {
      file.error(*node, "rules are declared as [[rule]] tables", d_);
      return;
    }
    for (const auto& item : *rules) {
      if (const toml::table* table = item.as_table()) load_rule(file, *table);
      else file.error(item, "each rule must be a table", d_);
    }
  }

  void load_rule(const TomlFile& file, const toml::table& table) {
    size_t before = d_.size();
    RuleSpec spec;
    auto name = file.get_string(table, "name", d_);
    if (!name) {
      if (!table.get("name")) file.error(table, "a rule needs a 'name'", d_);
    } else if (!is_name(*name)) {
      file.error(*table.get("name"), "rule name '" + *name + "' must match [a-z][a-z0-9_]*", d_);
    } else if (std::count(rule_names_.begin(), rule_names_.end(), *name)) {
      file.error(*table.get("name"), "rule '" + *name + "' is defined twice", d_);
    } else {
      spec.name = *name;
      rule_names_.push_back(*name);
    }
    std::string kind = file.get_string(table, "kind", d_).value_or("");
    bool kind_known = kind == "deadline" || kind == "condition" || kind == "aggregate";
    if (kind == "deadline") spec.kind = RuleKind::Deadline;
    else if (kind == "condition") spec.kind = RuleKind::Condition;
    else if (kind == "aggregate") spec.kind = RuleKind::Aggregate;
    else if (table.get("kind")) file.error(*table.get("kind"), "rule kind '" + kind + "' is not one of deadline, condition, aggregate", d_);
    else file.error(table, "a rule needs a 'kind'", d_);

    std::vector<std::string_view> allowed = {"name", "kind", "feed", "description", "title", "where", "for", "labels",
                                             "annotations", "metric_labels", "enabled"};
    if (!kind_known) {  // which keys apply is unknown: report only the kind
      allowed.insert(allowed.end(), {"start", "done", "due_in", "due", "warn_before", "when", "severity", "group_by",
                                     "value", "export", "unit"});
    } else {
      switch (spec.kind) {
        case RuleKind::Deadline: allowed.insert(allowed.end(), {"start", "done", "due_in", "due", "warn_before"}); break;
        case RuleKind::Condition: allowed.insert(allowed.end(), {"when", "severity"}); break;
        case RuleKind::Aggregate:
          allowed.insert(allowed.end(), {"group_by", "value", "when", "export", "unit", "severity"});
          break;
      }
    }
    for (const auto& [key, value] : table)
      if (std::find(allowed.begin(), allowed.end(), key.str()) == allowed.end())
        file.error(key, (kind.empty() ? "unknown key '" : "unknown key '") + std::string(key.str()) + "' in a " +
                            (kind.empty() ? std::string("rule") : kind + " rule"), d_);

    std::string feed_name = file.get_string(table, "feed", d_).value_or("");
    int feed = config_.feed_index(feed_name);
    if (feed_name.empty() && !table.get("feed")) file.error(table, "a rule needs a 'feed'", d_);
    else if (feed < 0 && !feed_name.empty())
      file.error(*table.get("feed"), "unknown feed '" + feed_name + "'", d_);
    spec.feed = feed_name;
    // Keys whose value already had a problem reported: the rule compiler sees them as absent, and
    // its "needs 'x'" errors about them would only repeat the first report.
    std::set<std::string> reported;
    auto text = [&](const char* key) {
      size_t n = d_.size();
      std::string v = file.get_string(table, key, d_).value_or("");
      if (d_.size() != n) reported.insert(key);
      return v;
    };
    spec.description = text("description");
    spec.title = text("title");
    if (!is_plain_title(spec.title))
      file.error(*table.get("title"),
                 "'title' is one line of at most 80 characters, without control or bidirectional characters "
                 "(it heads messages and subjects)",
                 d_);
    spec.where = text("where");
    spec.when = text("when");
    spec.start = text("start");
    spec.done = text("done");
    spec.due = text("due");
    spec.value = text("value");
    if (auto v = file.get_string(table, "severity", d_)) {
      if (auto s = parse_severity(*v)) spec.severity = *s;
      else file.error(*table.get("severity"), "severity '" + *v + "' is not one of info, warning, critical", d_);
    }
    if (auto v = file.get_interval(table, "for", d_)) spec.for_seconds = *v;
    if (auto v = file.get_bool(table, "enabled", d_)) spec.enabled = *v;
    if (auto v = file.get_bool(table, "export", d_)) spec.export_value = *v;
    if (auto v = file.get_string(table, "unit", d_)) {
      if (is_metric_label_name(*v) && v->find("__") != 0) spec.unit = *v;
      else file.error(*table.get("unit"), "unit '" + *v + "' must be a word such as ratio, cases or children (letters, digits, _)", d_);
    }
    if (auto v = file.get_string_array(table, "group_by", d_)) spec.group_by = *v;
    if (auto v = file.get_string_array(table, "metric_labels", d_)) spec.metric_labels = *v;
    for (const char* key : {"due_in", "warn_before"}) {
      size_t n = d_.size();
      auto v = file.get_string(table, key, d_);
      if (d_.size() != n) reported.insert(key);
      if (!v) continue;
      auto period = parse_period(*v);
      if (!period) {
        file.error(*table.get(key), "'" + std::string(key) + "' must be a period such as \"10 working days\", \"3 days\", \"6 weeks\" or \"6 months\"", d_);
        reported.insert(key);
        continue;
      }
      (std::string_view(key) == "due_in" ? spec.due_in : spec.warn_before) = period;
    }
    auto templates = [&](const char* key, std::vector<std::pair<std::string, std::string>>& target) {
      size_t n = d_.size();
      const toml::table* t = file.get_table(table, key, d_);
      if (d_.size() != n) reported.insert(key);
      if (!t) return;
      for (const auto& [k, v] : *t) {
        if (v.is_string()) target.emplace_back(std::string(k.str()), v.as_string()->get());
        else file.error(v, std::string(key) + " values must be strings (templates)", d_);
      }
    };
    templates("labels", spec.labels);
    templates("annotations", spec.annotations);
    // Expressions are checked even when other keys had problems, so one run reports them all.
    if (!kind_known || feed < 0) return;

    std::vector<RuleError> errors;
    auto rule = compile_rule(spec, static_cast<size_t>(feed), config_.feeds[feed].schema, *config_.tables, errors);
    if (reported.count("due")) reported.insert("due_in");  // "needs exactly one of 'due_in' and 'due'"
    if (reported.count("labels")) reported.insert("metric_labels");  // "... is not one of the rule's labels"
    for (const RuleError& e : errors) {
      if (reported.count(e.key)) continue;
      const toml::node* at = &table;
      std::string key = e.key;
      bool inside_string = false;
      if (auto dot = key.find('.'); dot != std::string::npos) {
        const toml::node* group = table.get(key.substr(0, dot));
        const toml::node* entry = group && group->as_table() ? group->as_table()->get(key.substr(dot + 1)) : nullptr;
        if (entry) { at = entry; inside_string = true; }
      } else if (const toml::node* n = table.get(key)) {
        at = n;
        inside_string = n->is_string();
      }
      if (inside_string) file.error_in_string(*at, e.offset, e.message, d_);
      else file.error(*at, e.message, d_);
    }
    if (rule && d_.size() == before) config_.rules.push_back(std::move(*rule));
  }

  Config& config_;
  Diagnostics& d_;
  std::vector<std::string> rule_names_;
};

}  // namespace

namespace {

std::optional<Config> load_config_file(const std::optional<TomlFile>& file, const std::string& path,
                                       std::string directory, Diagnostics& diagnostics, size_t before) {
  if (!file) return std::nullopt;
  Config config;
  config.path = path;
  config.directory = directory.empty() ? "." : std::move(directory);
  Loader(config, diagnostics).load(*file);
  if (diagnostics.size() != before) return std::nullopt;
  return config;
}

}  // namespace

std::string resolve_state_dir(const std::string& config_directory, const std::string& state_dir, std::string& problem) {
  problem.clear();
  if (!state_dir.empty() && state_dir[0] == '/') return state_dir;
  // systemd's StateDirectory= (one or more, colon-separated: the first is ours).
  if (const char* given = std::getenv("STATE_DIRECTORY"); given && *given) {
    std::string base(given);
    base = base.substr(0, base.find(':'));
    return state_dir.empty() ? base : resolve_path(base, state_dir);
  }
  const std::string& relative = state_dir.empty() ? std::string("state") : state_dir;
  std::string resolved = resolve_path(config_directory, relative);
  std::error_code ec;
  std::filesystem::path existing = std::filesystem::absolute(resolved, ec);
  while (!existing.empty() && !std::filesystem::exists(existing, ec) && existing.has_parent_path() &&
         existing != existing.parent_path())
    existing = existing.parent_path();
  const std::string absolute = std::filesystem::absolute(resolved, ec).lexically_normal().string();
  if (absolute.starts_with("/etc/") || ::access(existing.c_str(), W_OK) != 0)
    problem = "state_dir '" + relative + "' resolves to " + absolute +
              " (against the config's folder), where the state should not live or cannot be written; under "
              "systemd's StateDirectory= (the packaged unit) a relative state_dir resolves against "
              "$STATE_DIRECTORY (/var/lib/casewatch), or make it absolute";
  return resolved;
}

std::optional<Config> load_config(const std::string& path, Diagnostics& diagnostics) {
  size_t before = diagnostics.size();
  return load_config_file(TomlFile::load(path, diagnostics), path, std::filesystem::path(path).parent_path().string(),
                          diagnostics, before);
}

std::optional<Config> load_config_text(std::string text, const std::string& name, const std::string& directory,
                                       Diagnostics& diagnostics) {
  size_t before = diagnostics.size();
  return load_config_file(TomlFile::parse(std::move(text), name, diagnostics), name, directory, diagnostics, before);
}

}  // namespace casewatch
