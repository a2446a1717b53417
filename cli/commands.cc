#include "cli/commands.h"

#include <CLI/CLI.hpp>

#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <iostream>
#include <map>
#include <ostream>
#include <set>
#include <sstream>

#include "casewatch/version.h"
#include "cli/output.h"
#include "config/as_of.h"
#include "config/config.h"
#include "config/rule_tests.h"
#include "integrations/json_text.h"
#include "web/auth.h"
#include "daemon/daemon.h"
#include "integrations/feed_loader.h"
#include "integrations/log.h"
#include "notify/sqlite_state.h"
#include "rules/engine.h"
#include "rules/forecast.h"
#include "notify/alerts.h"
#include "notify/dispatcher.h"
#include "notify/receivers/common.h"
#include "notify/receivers/email.h"
#include "notify/receivers/receiver.h"
#include "notify/receivers/webhook.h"
#include "service/service.h"

#include <filesystem>
#include <fstream>

namespace casewatch {
namespace {

std::optional<Config> load_or_report(const std::string& path, std::ostream& err) {
  Diagnostics diagnostics;
  auto config = load_config(path, diagnostics);
  diagnostics.print(err);
  return config;
}

struct Snapshots {
  std::vector<std::shared_ptr<const Table>> tables;  // by feed index; null when not loaded
  std::vector<FeedSummary> summaries;
  bool all_up = true;

  std::vector<const Table*> pointers() const {
    std::vector<const Table*> out;
    for (const auto& t : tables) out.push_back(t.get());
    return out;
  }
};

// Loads each needed feed once, keeping only the columns `rules` read; rejected rows are reported
// as warnings, a failed load as an error.
Snapshots load_snapshots(const Config& config, const std::vector<bool>& needed, const std::vector<Rule>& rules,
                         std::ostream& err) {
  Snapshots s;
  s.tables.resize(config.feeds.size());
  std::vector<FeedConfig> chosen;
  for (size_t i = 0; i < config.feeds.size(); ++i) {
    if (!needed[i]) continue;
    FeedConfig feed = config.feeds[i];
    feed.stored_fields = fields_read(rules, i, feed.fields.size());
    chosen.push_back(std::move(feed));
  }
  std::vector<const FeedConfig*> feeds;
  for (const FeedConfig& feed : chosen) feeds.push_back(&feed);
  std::vector<FeedLoad> loads = load_feeds(feeds);
  for (size_t k = 0; k < feeds.size(); ++k) {
    const FeedConfig& feed = *feeds[k];
    FeedLoad& load = loads[k];
    for (const RejectedRow& row : load.rejected_rows) err << row.format(feed_source_name(feed)) << '\n';
    if (load.rejected > load.rejected_rows.size())
      err << feed.path << ": " << (load.rejected - load.rejected_rows.size()) << " more rows rejected\n";
    FeedSummary summary{feed.name, load.accepted, load.table ? load.table->rows() : 0, load.rejected, load.error};
    if (!load.accepted) {
      err << (feed.path.empty() ? feed.name : feed.path) << ": error: feed '" << feed.name << "' not loaded: " << load.error << '\n';
      s.all_up = false;
    }
    s.tables[static_cast<size_t>(config.feed_index(feed.name))] = load.table;
    s.summaries.push_back(std::move(summary));
  }
  return s;
}

std::vector<Rule> select_rules(const Config& config, const std::vector<std::string>& names) {
  std::vector<Rule> out;
  for (const Rule& rule : config.rules)
    if (names.empty() || std::find(names.begin(), names.end(), rule.spec.name) != names.end()) out.push_back(rule);
  return out;
}

}  // namespace

int run_check(const std::string& path, std::istream& in, std::ostream& out, std::ostream& err, bool probe) {
  std::optional<Config> config;
  if (path == "-") {
    // From standard input (a config management tool's candidate): paths relative to this folder.
    std::stringstream text;
    text << in.rdbuf();
    Diagnostics diagnostics;
    config = load_config_text(text.str(), "<stdin>", ".", diagnostics);
    diagnostics.print(err);
  } else {
    config = load_or_report(path, err);
  }
  if (!config) return kExitProblems;
  if (!config->engine.state_dir_problem.empty())
    err << config->path << ": warning: " << config->engine.state_dir_problem << '\n';
  // The token and users files, as the daemon will read them (their secrets are never printed).
  Diagnostics diagnostics;
  if (!Credentials::load(config->server, diagnostics)) {
    diagnostics.print(err);
    return kExitProblems;
  }
  if (probe) {
    // Each feed's first rows from the real source: the connection, the credentials and the field
    // mapping, before going live.
    constexpr size_t kProbeRows = 10;
    bool all_ok = true;
    for (const FeedConfig& feed : config->feeds) {
      FeedLoad load = load_feed(feed, std::nullopt, load_control_for(feed), kProbeRows);
      if (!load.error.empty()) {
        err << (feed.path.empty() ? feed.name : feed.path) << ": error: feed '" << feed.name << "': " << load.error << '\n';
        all_ok = false;
        continue;
      }
      for (const RejectedRow& row : load.rejected_rows) err << row.format(feed_source_name(feed)) << '\n';
      out << "feed " << feed.name << ": OK: " << load.rows_read << " rows read, " << load.rejected << " rejected\n";
    }
    if (!all_ok) return kExitProblems;
  }
  out << config->path << ": OK: " << config->feeds.size() << " feeds, " << config->rules.size() << " rules in "
      << config->rule_files.size() << " files\n";
  return kExitOk;
}

int run_state(const std::string& action, const std::string& config_path, const std::string& file, std::ostream& out,
              std::ostream& err) {
  auto config = load_or_report(config_path, err);
  if (!config) return kExitProblems;
  const std::string& directory = config->engine.state_dir;
  Status done = action == "backup" ? SqliteState::backup_directory(directory, file) : SqliteState::restore(directory, file);
  if (!done.ok()) {
    err << "casewatch state " << action << ": " << done.message() << '\n';
    return kExitProblems;
  }
  out << (action == "backup" ? "state of " + directory + " backed up to " + file
                             : file + " restored into " + directory + "; start casewatch to use it")
      << '\n';
  return kExitOk;
}

int run_eval(const EvalOptions& options, std::ostream& out, std::ostream& err) {
  auto config = load_or_report(options.config, err);
  if (!config) return kExitProblems;
  for (const auto& name : options.rules)
    if (config->rule_index(name) < 0) {
      err << "casewatch eval: unknown rule '" << name << "'\n";
      return kExitUsage;
    }
  AsOf as_of;
  if (options.at) {
    auto parsed = parse_as_of(*options.at, config->engine.timezone);
    if (!parsed) {
      err << "casewatch eval: --at must be YYYY-MM-DD or an RFC 3339 timestamp, not '" << *options.at << "'\n";
      return kExitUsage;
    }
    as_of = *parsed;
  } else {
    as_of = as_of_instant(static_cast<int64_t>(std::time(nullptr)), config->engine.timezone);
  }
  std::vector<Rule> rules = select_rules(*config, options.rules);
  std::vector<bool> needed(config->feeds.size(), false);
  for (const Rule& rule : rules) needed[rule.feed] = true;
  Snapshots snapshots = load_snapshots(*config, needed, rules, err);
  auto tables = snapshots.pointers();
  EvaluationInput input{rules, tables, as_of.day, config->calendar.get(), config->tables.get()};
  EvaluationResult result = evaluate(input);
  // Output names rules by index into `rules`; map them back to the config's numbering.
  for (Match& m : result.matches) m.rule = static_cast<size_t>(config->rule_index(rules[m.rule].spec.name));
  for (GroupValue& v : result.values) v.rule = static_cast<size_t>(config->rule_index(rules[v.rule].spec.name));
  EvaluationInput numbered_as_config = input;
  numbered_as_config.rules = config->rules;
  std::string evaluated_at = format_rfc3339(as_of);
  if (options.format == "json")
    print_eval_json(*config, numbered_as_config, result, evaluated_at, snapshots.summaries, out);
  else print_eval_table(*config, numbered_as_config, result, evaluated_at, snapshots.summaries, out);
  return snapshots.all_up ? kExitOk : kExitProblems;
}

int run_backtest(const BacktestOptions& options, std::ostream& out, std::ostream& err) {
  auto config = load_or_report(options.config, err);
  if (!config) return kExitProblems;
  // DATE as everywhere (SPEC 2): YYYY-MM-DD or RFC 3339; each day is taken in the engine's timezone.
  auto day_of = [&](const std::string& text) -> std::optional<Day> {
    auto as_of = parse_as_of(text, config->engine.timezone);
    return as_of ? std::optional<Day>(as_of->day) : std::nullopt;
  };
  auto from = day_of(options.from), to = day_of(options.to);
  if (!from || !to || *from > *to) {
    err << "casewatch backtest: --from and --to must be DATEs (YYYY-MM-DD or RFC 3339) with --from <= --to\n";
    return kExitUsage;
  }
  std::vector<bool> needed(config->feeds.size(), true);
  Snapshots snapshots = load_snapshots(*config, needed, config->rules, err);
  auto tables = snapshots.pointers();

  struct Row {
    std::string date, rule, group;
    size_t counts[3] = {0, 0, 0};
    std::optional<double> value;
    bool aggregate = false;
    nlohmann::ordered_json group_json;
  };
  std::vector<Row> rows;
  for (Day day = *from; day <= *to; ++day) {
    EvaluationInput input{config->rules, tables, day, config->calendar.get(), config->tables.get()};
    for (size_t r = 0; r < config->rules.size(); ++r) {
      const Rule& rule = config->rules[r];
      if (!rule.spec.enabled || !tables[rule.feed]) continue;
      EvaluationResult result;
      evaluate_rule(input, r, result);
      sort_result(config->rules, result);
      if (rule.spec.kind != RuleKind::Aggregate) {
        Row row{format_iso(day), rule.spec.name, ""};
        for (const Match& m : result.matches) ++row.counts[static_cast<int>(m.severity)];
        rows.push_back(row);
        continue;
      }
      std::map<std::string, const Match*> matched;
      for (const Match& m : result.matches) matched[m.key] = &m;
      for (const GroupValue& v : result.values) {
        Row row{format_iso(day), rule.spec.name, v.key};
        row.aggregate = true;
        row.value = v.value;
        auto it = matched.find(v.key);
        if (it != matched.end()) ++row.counts[static_cast<int>(it->second->severity)];
        row.group_json = group_value_json(*config, v)["group"];
        rows.push_back(row);
      }
    }
  }
  auto value_text = [](const Row& row) { return row.value ? number_to_text(*row.value) : std::string(row.aggregate ? "null" : ""); };
  if (options.format == "json") {
    nlohmann::ordered_json j;
    j["from"] = options.from;
    j["to"] = options.to;
    j["days"] = nlohmann::ordered_json::array();
    for (size_t i = 0; i < rows.size(); ++i) {
      const Row& row = rows[i];
      if (i == 0 || rows[i - 1].date != row.date) j["days"].push_back({{"date", row.date}, {"rules", nlohmann::ordered_json::array()}});
      auto& rules = j["days"].back()["rules"];
      if (rules.empty() || rules.back()["rule"] != row.rule) {
        rules.push_back({{"rule", row.rule}, {"info", 0}, {"warning", 0}, {"critical", 0}});
        if (row.aggregate) rules.back()["values"] = nlohmann::ordered_json::array();
      }
      auto& entry = rules.back();
      entry["info"] = entry["info"].get<size_t>() + row.counts[0];
      entry["warning"] = entry["warning"].get<size_t>() + row.counts[1];
      entry["critical"] = entry["critical"].get<size_t>() + row.counts[2];
      if (row.aggregate)
        entry["values"].push_back({{"group", row.group_json}, {"value", row.value ? nlohmann::ordered_json(*row.value) : nlohmann::ordered_json(nullptr)}});
    }
    out << json_text(j, 2) << '\n';
  } else if (options.format == "csv") {
    out << "date,rule,group,info,warning,critical,value\n";
    for (const Row& row : rows)
      out << row.date << ',' << row.rule << ',' << csv_field(row.group) << ',' << row.counts[0] << ',' << row.counts[1]
          << ',' << row.counts[2] << ',' << value_text(row) << '\n';
  } else {
    std::vector<std::vector<std::string>> table = {{"DATE", "RULE", "GROUP", "INFO", "WARNING", "CRITICAL", "VALUE"}};
    for (const Row& row : rows)
      table.push_back({row.date, row.rule, row.group, std::to_string(row.counts[0]), std::to_string(row.counts[1]),
                       std::to_string(row.counts[2]), value_text(row)});
    print_table(table, out);
  }
  return snapshots.all_up ? kExitOk : kExitProblems;
}

int run_forecast(const ForecastOptions& options, std::ostream& out, std::ostream& err) {
  auto config = load_or_report(options.config, err);
  if (!config) return kExitProblems;
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  auto day_of = [&](const std::optional<std::string>& text, Day fallback) -> std::optional<Day> {
    if (!text) return fallback;
    auto as_of = parse_as_of(*text, config->engine.timezone);
    return as_of ? std::optional<Day>(as_of->day) : std::nullopt;
  };
  const Day today = as_of_instant(now, config->engine.timezone).day;
  auto from = day_of(options.from, today);
  auto to = from ? day_of(options.to, *from + 13) : std::nullopt;  // default: two weeks
  if (!from || !to || *from > *to || *to - *from > 366) {
    err << "casewatch forecast: --from and --to must be DATEs (YYYY-MM-DD or RFC 3339), --from <= --to, at most a "
           "year apart\n";
    return kExitUsage;
  }
  std::vector<bool> needed(config->feeds.size(), false);
  for (const Rule& rule : config->rules) needed[rule.feed] = needed[rule.feed] || rule.spec.kind == RuleKind::Deadline;
  Snapshots snapshots = load_snapshots(*config, needed, config->rules, err);
  auto tables = snapshots.pointers();
  EvaluationInput input{config->rules, tables, *from, config->calendar.get(), config->tables.get()};
  std::vector<ForecastCount> counts = forecast(input, *from, *to);

  // Every working day is listed, and a non-working day only when something falls due on it.
  std::vector<Day> days;
  for (Day day = *from; day <= *to; ++day) {
    bool due = std::any_of(counts.begin(), counts.end(), [&](const ForecastCount& c) { return c.day == day; });
    if (due || config->calendar->is_working_day(day)) days.push_back(day);
  }
  if (options.format == "csv") {
    out << "date,team,worker,rule,due\n";
    for (const ForecastCount& c : counts)
      out << format_iso(c.day) << ',' << csv_field(c.team) << ',' << csv_field(c.worker) << ',' << c.rule << ',' << c.count
          << '\n';
  } else if (options.format == "json") {
    nlohmann::ordered_json j;
    j["from"] = format_iso(*from);
    j["to"] = format_iso(*to);
    j["days"] = nlohmann::ordered_json::array();
    for (Day day : days) {
      nlohmann::ordered_json entry = {{"date", format_iso(day)}, {"working_day", config->calendar->is_working_day(day)},
                                      {"due", 0}, {"counts", nlohmann::ordered_json::array()}};
      size_t total = 0;
      for (const ForecastCount& c : counts)
        if (c.day == day) {
          entry["counts"].push_back({{"team", c.team}, {"worker", c.worker}, {"rule", c.rule}, {"due", c.count}});
          total += c.count;
        }
      entry["due"] = total;
      j["days"].push_back(std::move(entry));
    }
    out << json_text(j, 2) << '\n';
  } else {
    // One line per day, team and worker, with the rules that fall due.
    std::vector<std::vector<std::string>> table = {{"DATE", "TEAM", "WORKER", "DUE", "RULES"}};
    for (Day day : days) {
      std::map<std::pair<std::string, std::string>, std::pair<size_t, std::string>> lines;
      for (const ForecastCount& c : counts)
        if (c.day == day) {
          auto& [total, rules] = lines[{c.team, c.worker}];
          total += c.count;
          rules += (rules.empty() ? "" : ", ") + c.rule + " " + std::to_string(c.count);
        }
      if (lines.empty()) table.push_back({format_iso(day), "", "", "0", ""});
      for (const auto& [who, what] : lines)
        table.push_back({format_iso(day), who.first, who.second, std::to_string(what.first), what.second});
    }
    print_table(table, out);
  }
  return snapshots.all_up ? kExitOk : kExitProblems;
}

namespace {

// A file name from a group's name: letters, digits and '-' only.
// A file name for one message: the receiver and group in lower-case words, at most 100 bytes (a
// group keyed by long label values would pass the file system's 255), cut names ending in a hash
// of the whole so two long groups stay apart.
std::string file_stem(const std::string& receiver, const std::string& group) {
  std::string out = receiver + "-";
  for (unsigned char c : group) out += std::isalnum(c) ? static_cast<char>(std::tolower(c)) : '-';
  while (out.find("--") != std::string::npos) out.replace(out.find("--"), 2, "-");
  while (!out.empty() && out.back() == '-') out.pop_back();
  constexpr size_t kMaxStem = 100;
  if (out.size() > kMaxStem) {
    char hash[17];
    std::snprintf(hash, sizeof hash, "%016llx",
                  static_cast<unsigned long long>(std::hash<std::string>{}(receiver + '\0' + group)));
    out = out.substr(0, kMaxStem - 17) + "-" + hash;
  }
  return out;
}

}  // namespace

int run_preview(const PreviewOptions& options, std::ostream& out, std::ostream& err) {
  auto config = load_or_report(options.config, err);
  if (!config) return kExitProblems;
  AsOf as_of;
  if (options.at) {
    auto parsed = parse_as_of(*options.at, config->engine.timezone);
    if (!parsed) {
      err << "casewatch preview: --at must be YYYY-MM-DD or an RFC 3339 timestamp, not '" << *options.at << "'\n";
      return kExitUsage;
    }
    as_of = *parsed;
  } else {
    as_of = as_of_instant(static_cast<int64_t>(std::time(nullptr)), config->engine.timezone);
  }
  std::vector<bool> needed(config->feeds.size(), false);
  for (const Rule& rule : config->rules) needed[rule.feed] = true;
  Snapshots snapshots = load_snapshots(*config, needed, config->rules, err);
  auto tables = snapshots.pointers();
  EvaluationInput input{config->rules, tables, as_of.day, config->calendar.get(), config->tables.get()};
  EvaluationResult result = evaluate(input);

  // Every match as a firing alert, as a day of the daemon would have them.
  const int64_t now = as_of.epoch_seconds;
  AlertBook book;
  std::vector<std::vector<Match>> by_rule(config->rules.size());
  std::vector<std::vector<std::shared_ptr<const MatchText>>> texts_by_rule(config->rules.size());
  for (Match& m : result.matches) {
    texts_by_rule[m.rule].push_back(shared_match_text(input, m));
    by_rule[m.rule].push_back(std::move(m));
  }
  for (size_t r = 0; r < config->rules.size(); ++r)
    book.apply(config->rules[r], by_rule[r], texts_by_rule[r], now - 86400);
  std::vector<Alert> alerts;
  for (const auto& [fingerprint, alert] : book.alerts()) {
    alerts.push_back(alert);
    alerts.back().state = AlertState::Firing;
    if (!alerts.back().fired_at) alerts.back().fired_at = now - 86400;
  }
  int ids = 0;
  Dispatcher dispatcher(*config, external_url_of(*config), [&ids] { return "preview-" + std::to_string(++ids); });
  DispatchInput in;
  for (const Alert& a : alerts) in.alerts.push_back(&a);
  in.today = as_of.day;
  in.minute_of_day = 24 * 60 - 1;  // every digest's time has come
  // Groups first seen a day ago: every group_wait has passed.
  in.now = now - 86400;
  dispatcher.tick(in);
  in.now = now;
  DispatchOutput routed = dispatcher.tick(in);

  ReceiverContext context{config->tables,   config->receiver_scope,  nullptr, nullptr,
                          config->calendar, config->engine.timezone, config->rule_titles};
  std::error_code ec;
  std::filesystem::create_directories(options.out, ec);
  if (ec) {
    err << "casewatch preview: cannot make " << options.out << ": " << ec.message() << '\n';
    return kExitProblems;
  }
  size_t written = 0;
  bool write_failed = false;
  std::set<std::string> names;
  auto write = [&](const std::string& name, const std::string& text) {
    // Two groups whose names differ only in punctuation or case would share a file.
    std::string unique = name;
    for (int n = 2; !names.insert(unique).second; ++n) {
      size_t dot = name.find('.');
      unique = name.substr(0, dot) + "-" + std::to_string(n) + name.substr(dot);
    }
    std::filesystem::path path = std::filesystem::path(options.out) / unique;
    std::ofstream file(path, std::ios::binary);
    file << text;
    file.close();
    if (!file) {
      err << "casewatch preview: cannot write " << path.string() << ": " << std::strerror(errno) << '\n';
      write_failed = true;
      return;
    }
    out << path.string() << '\n';
    ++written;
  };
  for (const Notification& n : routed.notifications) {
    const ReceiverConfig* receiver = nullptr;
    for (const ReceiverConfig& r : config->receivers)
      if (r.name == n.receiver) receiver = &r;
    if (!receiver) continue;
    std::string stem = file_stem(receiver->name, receiver_text::group_name(n, config->rule_titles.get()));
    if (receiver->type == ReceiverType::Email) {
      std::string error;
      EmailMessage message = render_email(*receiver, n, context, error);
      std::string to;
      for (const std::string& address : message.to) to += (to.empty() ? "" : ", ") + address;
      write(stem + ".txt", "To: " + to + "\nSubject: " + message.subject + "\n\n" + message.text);
      write(stem + ".html", message.html);
      if (!error.empty()) err << "casewatch preview: " << error << '\n';
    } else if (receiver->type == ReceiverType::Webhook && receiver->format == WebhookFormat::Teams) {
      write(stem + ".teams.json", teams_payload(n, context, receiver->templates.get()).dump(2) + "\n");
    } else if (receiver->type == ReceiverType::Webhook && receiver->format == WebhookFormat::Slack) {
      write(stem + ".slack.json", slack_payload(n, context, receiver->templates.get()).dump(2) + "\n");
    }
  }
  if (!written && !write_failed)
    out << "no message for a person would be sent as of " << format_iso(as_of.day) << '\n';
  return snapshots.all_up && !write_failed ? kExitOk : kExitProblems;
}

int run_hash_password(int cost, std::istream& in, std::ostream& out, std::ostream& err) {
  const bool tty = ::isatty(STDIN_FILENO) && &in == &std::cin;
  termios saved{};
  if (tty) {  // no echo while the password is typed
    err << "password: " << std::flush;
    tcgetattr(STDIN_FILENO, &saved);
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string password;
  std::getline(in, password);
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    err << '\n';
  }
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (password.empty()) {
    err << "casewatch hash-password: no password given (on standard input)\n";
    return kExitUsage;
  }
  std::string hash = bcrypt_hash(password, cost);
  if (hash.empty()) {
    err << "casewatch hash-password: cannot hash the password\n";
    return kExitProblems;
  }
  out << hash << '\n';
  return kExitOk;
}

int casewatch_main(int argc, char** argv, std::ostream& out, std::ostream& err) {
  CLI::App app{"casewatch: timescale and caseload alerts for children's social care", "casewatch"};
  app.require_subcommand(0, 1);
  app.footer(
      "DATE: YYYY-MM-DD, meaning 09:00 that day in engine.timezone, or an RFC 3339 timestamp\n"
      "(2017-06-14T09:00:00+01:00). eval without --at: now.\n\n"
      "Exit codes: 0 success; 1 problems found (a bad config, failing rule tests, a feed that\n"
      "cannot be loaded); 2 bad usage.\n\n"
      "Signals (run): SIGHUP reloads the config (refused whole if it has a problem), SIGTERM and\n"
      "SIGINT stop. See casewatch(1) and /usr/share/doc/casewatch.");
  bool version = false;
  app.add_flag("--version", version, "print the version");

  std::string check_config;
  bool probe = false;
  auto* check = app.add_subcommand("check", "load the config, rule files and feed definitions and report every problem");
  check->add_option("-c,--config", check_config, "config file, or - to read it from standard input")->required();
  check->add_flag("--probe", probe, "also read each feed's first rows from its source (a database, an API, a file)");

  EvalOptions eval_options;
  auto* eval = app.add_subcommand("eval", "evaluate the rules once on the feeds and print every match");
  eval->add_option("-c,--config", eval_options.config, "config file")->required();
  eval->add_option("--at", eval_options.at, "as-of DATE (YYYY-MM-DD or RFC 3339); default now");
  eval->add_option("--format", eval_options.format, "table or json")->check(CLI::IsMember({"table", "json"}));
  eval->add_option("--rule", eval_options.rules, "only this rule (repeatable)");

  std::vector<std::string> test_files;
  auto* test = app.add_subcommand("test", "run rule unit tests");
  test->add_option("files", test_files, "rule test files")->required();

  BacktestOptions backtest_options;
  auto* backtest = app.add_subcommand("backtest", "evaluate every day of a range and print counts per day and rule");
  backtest->add_option("-c,--config", backtest_options.config, "config file")->required();
  backtest->add_option("--from", backtest_options.from, "first DATE")->required();
  backtest->add_option("--to", backtest_options.to, "last DATE")->required();
  backtest->add_option("--format", backtest_options.format, "table, json or csv")->check(CLI::IsMember({"table", "json", "csv"}));

  ForecastOptions forecast_options;
  auto* forecast_command = app.add_subcommand(
      "forecast", "how many timescales fall due each day ahead, by team and worker, if nothing is done");
  forecast_command->add_option("-c,--config", forecast_options.config, "config file")->required();
  forecast_command->add_option("--from", forecast_options.from, "first DATE (default today)");
  forecast_command->add_option("--to", forecast_options.to, "last DATE (default 13 days after --from)");
  forecast_command->add_option("--format", forecast_options.format, "table, json or csv")
      ->check(CLI::IsMember({"table", "json", "csv"}));

  PreviewOptions preview_options;
  auto* preview = app.add_subcommand(
      "preview", "write the emails, Teams cards and Slack messages the rules would send now, sending nothing");
  preview->add_option("-c,--config", preview_options.config, "config file")->required();
  preview->add_option("--at", preview_options.at, "as-of DATE (YYYY-MM-DD or RFC 3339); default now");
  preview->add_option("--out", preview_options.out, "folder to write them into")->required();

  int cost = 10;
  auto* hash_password = app.add_subcommand(
      "hash-password", "read a password on standard input and print its bcrypt hash, for server.users_file");
  hash_password->add_option("--cost", cost, "bcrypt cost, 2^cost rounds (default 10)")->check(CLI::Range(4, 15));

  std::string state_config, state_file;
  auto* state = app.add_subcommand("state", "back up or restore the daemon's state file (alerts, silences, outbox)");
  state->require_subcommand(1);
  auto* state_backup = state->add_subcommand(
      "backup", "copy the state consistently while the daemon runs (SQLite's online backup) into FILE, mode 0600");
  state_backup->add_option("-c,--config", state_config, "config file (for engine.state_dir)")->required();
  state_backup->add_option("file", state_file, "the backup to write")->required();
  auto* state_restore = state->add_subcommand(
      "restore", "put a backup in place of the state file; the daemon must be stopped");
  state_restore->add_option("-c,--config", state_config, "config file (for engine.state_dir)")->required();
  state_restore->add_option("file", state_file, "the backup to restore")->required();

  RunOptions run_options;
  auto* run = app.add_subcommand("run", "run the daemon");
  run->add_option("-c,--config", run_options.config, "config file")->required();
  run->add_option("--log-format", run_options.log_format, "text or json")->check(CLI::IsMember({"text", "json"}));
  run->add_option("--log-level", run_options.log_level, "trace, debug, info, warn, error or critical")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical"}));
  run->add_option("--listen,--web.listen-address", run_options.listen,
                  "HOST:PORT, overriding server.listen (port 0: any free port, printed on stdout)");
  run->add_flag("--state-recover", run_options.state_recover,
                "if the state file is damaged, move it aside and start afresh (every alert fires again)");
  run->add_option("--test-clock", run_options.test_clock,
                  "tests only: run on a manual clock starting at DATE, advanced by POST /-/test/advance")
      ->group("");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help exits 0; every other parse error is bad usage.
    return app.exit(e, out, err) == 0 ? kExitOk : kExitUsage;
  }
  if (version) {
    out << "casewatch " << CASEWATCH_VERSION << '\n';
    return kExitOk;
  }
  if (*run) {
    setup_logging(run_options.log_format, run_options.log_level, stderr_is_journal());
    return run_daemon(run_options);
  }
  if (*check) return run_check(check_config, std::cin, out, err, probe);
  if (*state) return run_state(*state_backup ? "backup" : "restore", state_config, state_file, out, err);
  if (*hash_password) return run_hash_password(cost, std::cin, out, err);
  if (*eval) return run_eval(eval_options, out, err);
  if (*test) return run_tests(test_files, out, err);
  if (*backtest) return run_backtest(backtest_options, out, err);
  if (*forecast_command) return run_forecast(forecast_options, out, err);
  if (*preview) return run_preview(preview_options, out, err);
  out << app.help();
  return kExitUsage;
}

}  // namespace casewatch
