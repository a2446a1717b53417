// [[route]] and [[receiver]] tables into RouteConfig and ReceiverConfig, every problem reported.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "config/config.h"
#include "config/toml_util.h"

namespace casewatch {
namespace {

std::optional<int64_t> interval_or_default(const TomlFile& file, const toml::table& t, std::string_view key,
                                           int64_t fallback, Diagnostics& d) {
  if (!t.get(key)) return fallback;
  return file.get_interval(t, key, d);
}

ReceiverTemplateScope receiver_scope(const Config& config) {
  std::set<std::string> names = {"alertname", "key", "severity", "count", "status"};
  for (const Rule& rule : config.rules)
    for (const auto& [name, text] : rule.spec.labels) names.insert(name);
  names.insert("feed");  // the built-in feed alert's label
  return {std::vector<std::string>(names.begin(), names.end())};
}

std::string domain_of(std::string_view address) {
  address = trim(address);
  if (auto lt = address.rfind('<'); lt != std::string_view::npos) address = address.substr(lt + 1, address.find('>', lt) - lt - 1);
  auto at = address.rfind('@');
  std::string domain(at == std::string_view::npos ? std::string_view() : address.substr(at + 1));
  for (char& c : domain) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return domain;
}

void load_receiver(const TomlFile& file, const toml::table& t, const Config& config, const ReceiverTemplateScope& scope,
                   std::vector<ReceiverConfig>& out, Diagnostics& d) {
  ReceiverConfig r;
  std::string type = file.get_string(t, "type", d).value_or("");
  std::vector<std::string_view> allowed = {"name", "type", "max_attempts", "max_age", "timeout"};
  if (type == "email") {
    r.type = ReceiverType::Email;
    allowed.insert(allowed.end(), {"smtp_url", "username", "password_file", "from", "to", "subject", "allowed_recipient_domains",
                                    "templates"});
  } else if (type == "webhook") {
    r.type = ReceiverType::Webhook;
    allowed.insert(allowed.end(), {"url", "url_file", "format", "headers", "bearer_token_file", "templates"});
  } else if (type == "alertmanager") {
    r.type = ReceiverType::Alertmanager;
    allowed.insert(allowed.end(), {"urls"});
  } else if (type == "file") {
    r.type = ReceiverType::File;
    allowed.insert(allowed.end(), {"path"});
  } else if (t.get("type")) {
    file.error(*t.get("type"), "receiver type '" + type + "' is not one of email, webhook, alertmanager, file", d);
  } else {
    file.error(t, "a receiver needs a 'type'", d);
  }
  for (const auto& [key, value] : t)
    if (std::find(allowed.begin(), allowed.end(), key.str()) == allowed.end())
      file.error(key, "unknown key '" + std::string(key.str()) + "' in " + (type.empty() ? "a receiver" : "a " + type + " receiver"), d);

  r.name = file.get_string(t, "name", d).value_or("");
  if (r.name.empty() && !t.get("name")) file.error(t, "a receiver needs a 'name'", d);
  for (const auto& other : out)
    if (!r.name.empty() && other.name == r.name) file.error(*t.get("name"), "receiver '" + r.name + "' is declared twice", d);
  if (auto v = file.get_number(t, "max_attempts", d)) {
    if (*v < 1) file.error(*t.get("max_attempts"), "'max_attempts' must be at least 1", d);
    else r.max_attempts = static_cast<int>(*v);
  }
  if (auto v = interval_or_default(file, t, "max_age", r.max_age_seconds, d)) r.max_age_seconds = *v;
  if (auto v = interval_or_default(file, t, "timeout", r.timeout_seconds, d)) r.timeout_seconds = *v;

  auto required = [&](std::string_view key, std::string& target) {
    if (auto v = file.get_string(t, key, d)) target = *v;
    else if (!t.get(key)) file.error(t, "a " + type + " receiver needs '" + std::string(key) + "'", d);
  };
  auto compile = [&](std::string_view key, std::shared_ptr<const Template>& target, std::string& source) {
    const toml::node* node = t.get(key);
    if (!node || !node->is_string()) return;
    source = node->as_string()->get();
    Scope s;
    s.tables = config.tables.get();
    for (const auto& name : scope.names) s.variables.emplace_back(name, name == "count" ? Type::Number : Type::String);
    std::vector<ExprError> errors;
    auto compiled = Template::compile(source, s, errors);
    for (const auto& e : errors) file.error_in_string(*node, e.offset, e.message, d);
    if (compiled) target = std::make_shared<const Template>(std::move(*compiled));
  };
  // A secret the receiver reads at send time must be there now: found missing only then, each
  // notification would fail its attempts and be dropped. Its contents are not read.
  auto readable = [&](const toml::node& at, const std::string& key, const std::string& path) {
    if (!std::ifstream(path)) file.error(at, "'" + key + "' " + path + " cannot be read", d);
  };
  // The wording: the built-in file with the receiver's own over it, every mistake named with
  // its own file, line and column.
  r.templates = MessageTemplates::defaults();
  if (auto v = file.get_string(t, "templates", d)) {
    r.templates_path = resolve_path(config.directory, *v);
    std::error_code ec;
    // A FIFO or a device would hang `check` and every reload: only a plain file of sensible size.
    if (!std::filesystem::is_regular_file(r.templates_path, ec) || !std::ifstream(r.templates_path))
      file.error(*t.get("templates"), "'templates' " + r.templates_path + " is not a file that can be read", d);
    else if (std::filesystem::file_size(r.templates_path, ec) > (1u << 20))
      file.error(*t.get("templates"), "'templates' " + r.templates_path + " is over 1 MiB: not a wording file", d);
    else if (auto loaded = MessageTemplates::load(r.templates_path, config.tables, d)) r.templates = loaded;
  }
  switch (r.type) {
    case ReceiverType::Email: {
      required("smtp_url", r.smtp_url);
      if (!r.smtp_url.empty() && r.smtp_url.rfind("smtp://", 0) != 0 && r.smtp_url.rfind("smtps://", 0) != 0)
        file.error(*t.get("smtp_url"), "'smtp_url' must start with smtp:// or smtps://", d);
      r.username = file.get_string(t, "username", d).value_or("");
      if (auto v = file.get_string(t, "password_file", d)) {
        r.password_file = resolve_path(config.directory, *v);
        readable(*t.get("password_file"), "password_file", r.password_file);
      }
      required("from", r.from);
      if (!t.get("to")) file.error(t, "an email receiver needs 'to'", d);
      else file.get_string(t, "to", d);
      compile("to", r.to, r.to_source);
      compile("subject", r.subject, r.subject_source);
      if (auto v = file.get_string_array(t, "allowed_recipient_domains", d)) {
        for (auto& domain : *v) {
          for (char& c : domain) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          r.allowed_recipient_domains.push_back(domain);
        }
      }
      // Where the recipients are fixed text, an address outside the allowed domains is known now.
      if (r.to && r.to->is_constant() && !r.allowed_recipient_domains.empty()) {
        std::string_view list = r.to_source;
        size_t pos = 0;
        while (pos <= list.size()) {
          size_t comma = list.find(',', pos);
          std::string_view address = list.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
          std::string domain = domain_of(address);
          if (!trim(address).empty() && std::find(r.allowed_recipient_domains.begin(), r.allowed_recipient_domains.end(),
                                                  domain) == r.allowed_recipient_domains.end())
            file.error(*t.get("to"), "recipient domain '" + domain + "' is not in allowed_recipient_domains", d);
          if (comma == std::string_view::npos) break;
          pos = comma + 1;
        }
      }
      break;
    }
    case ReceiverType::Webhook: {
      // A Teams or Slack webhook's URL is its credential (anyone holding it can post): it may
      // come from a file of its own, and is then never shown.
      if (auto v = file.get_string(t, "url_file", d)) {
        r.url_file = resolve_path(config.directory, *v);
        std::ifstream in(r.url_file);
        std::string line;
        if (t.get("url")) file.error(*t.get("url"), "give 'url' or 'url_file', not both", d);
        else if (!in) file.error(*t.get("url_file"), "'url_file' " + r.url_file + " cannot be read", d);
        else if (std::getline(in, line), r.url = std::string(trim(line)); r.url.rfind("http://", 0) != 0 && r.url.rfind("https://", 0) != 0)
          file.error(*t.get("url_file"), "'url_file' " + r.url_file + " must hold an http:// or https:// URL", d);
      } else {
        required("url", r.url);
        if (!r.url.empty() && r.url.rfind("http://", 0) != 0 && r.url.rfind("https://", 0) != 0)
          file.error(*t.get("url"), "'url' must start with http:// or https://", d);
      }
      std::string format = file.get_string(t, "format", d).value_or("json");
      if (format == "json") r.format = WebhookFormat::Json;
      else if (format == "teams") r.format = WebhookFormat::Teams;
      else if (format == "slack") r.format = WebhookFormat::Slack;
      else file.error(*t.get("format"), "webhook format '" + format + "' is not one of json, teams, slack", d);
      if (auto v = file.get_string(t, "bearer_token_file", d)) {
        r.bearer_token_file = resolve_path(config.directory, *v);
        readable(*t.get("bearer_token_file"), "bearer_token_file", r.bearer_token_file);
      }
      if (const toml::table* headers = file.get_table(t, "headers", d))
        for (const auto& [k, v] : *headers) {
          if (v.is_string()) r.headers.emplace_back(std::string(k.str()), v.as_string()->get());
          else file.error(v, "header values must be strings", d);
        }
      break;
    }
    case ReceiverType::Alertmanager:
      if (auto v = file.get_string_array(t, "urls", d)) r.urls = *v;
      else if (!t.get("urls")) file.error(t, "an alertmanager receiver needs 'urls'", d);
      if (t.get("urls") && r.urls.empty()) file.error(*t.get("urls"), "'urls' must name at least one Alertmanager", d);
      break;
    case ReceiverType::File:
      required("path", r.path);
      r.path = resolve_path(config.directory, r.path);
      break;
  }
  out.push_back(std::move(r));
}

void load_route(const TomlFile& file, const toml::table& t, size_t index, std::vector<RouteConfig>& out, Diagnostics& d) {
  file.reject_unknown_keys(t, {"match", "receiver", "group_by", "group_wait", "group_interval", "repeat_interval",
                               "send_resolved", "active_time", "digest", "escalate_after", "fallback_receiver", "continue"},
                           "a [[route]]", d);
  RouteConfig r;
  r.name = "route " + std::to_string(index + 1);
  if (const toml::table* match = file.get_table(t, "match", d)) {
    for (const auto& [label, value] : *match) {
      LabelMatcher m;
      m.label = std::string(label.str());
      if (value.is_string()) {
        m.value = value.as_string()->get();
      } else if (const toml::table* spec = value.as_table(); spec && spec->size() == 1 && spec->get("regex") &&
                                                              spec->get("regex")->is_string()) {
        m.pattern = spec->get("regex")->as_string()->get();
        m.regex = compile_matcher_regex(m.pattern);
        if (!m.regex->ok()) file.error(*spec->get("regex"), "invalid regular expression: " + m.regex->error(), d);
      } else {
        file.error(value, "a matcher is a string or { regex = \"...\" }", d);
        continue;
      }
      r.match.push_back(std::move(m));
    }
  }
  r.receiver = file.get_string(t, "receiver", d).value_or("");
  if (r.receiver.empty() && !t.get("receiver")) file.error(t, "a route needs a 'receiver'", d);
  if (auto v = file.get_string_array(t, "group_by", d)) r.group_by = *v;
  if (auto v = interval_or_default(file, t, "group_wait", r.group_wait_seconds, d)) r.group_wait_seconds = *v;
  if (auto v = interval_or_default(file, t, "group_interval", r.group_interval_seconds, d)) r.group_interval_seconds = *v;
  if (auto v = interval_or_default(file, t, "repeat_interval", r.repeat_interval_seconds, d)) r.repeat_interval_seconds = *v;
  if (auto v = file.get_bool(t, "send_resolved", d)) r.send_resolved = *v;
  if (auto v = file.get_bool(t, "continue", d)) r.continue_matching = *v;
  if (const toml::node* windows = t.get("active_time")) {
    const toml::array* array = windows->as_array();
    if (!array) file.error(*windows, "'active_time' must be an array of windows such as \"working-days 08:00-18:00\"", d);
    for (size_t i = 0; array && i < array->size(); ++i) {
      const toml::node& item = (*array)[i];
      std::string error;
      auto window = item.is_string() ? parse_time_window(item.as_string()->get(), error) : std::nullopt;
      if (window) r.active_time.push_back(*window);
      else file.error(item, error.empty() ? "a time window must be a string" : error, d);
    }
  }
  if (auto v = file.get_string(t, "digest", d)) {
    std::string error;
    r.digest = parse_daily_schedule(*v, error);
    if (!r.digest) file.error(*t.get("digest"), error, d);
  }
  if (auto v = file.get_string(t, "escalate_after", d)) {
    r.escalate_after = parse_period(*v);
    if (!r.escalate_after)
      file.error(*t.get("escalate_after"), "'escalate_after' must be a period such as \"5 working days\" or \"2 days\"", d);
  }
  r.fallback_receiver = file.get_string(t, "fallback_receiver", d).value_or("");
  out.push_back(std::move(r));
}

}  // namespace

void load_routing(const TomlFile& file, Config& config, Diagnostics& d) {
  config.receiver_scope = receiver_scope(config);
  auto titles = std::make_shared<RuleTitles>();
  for (const Rule& rule : config.rules)
    if (!rule.spec.title.empty()) titles->emplace(rule.spec.name, rule.spec.title);
  config.rule_titles = std::move(titles);
  std::vector<const toml::table*> route_tables;
  for (const char* section : {"receiver", "route"}) {
    const toml::node* node = file.root().get(section);
    if (!node) continue;
    const toml::array* array = node->as_array();
    if (!array) {
      file.error(*node, std::string(section) + "s are declared as [[" + section + "]] tables", d);
      continue;
    }
    for (const auto& item : *array) {
      const toml::table* t = item.as_table();
      if (!t) {
        file.error(item, std::string("each ") + section + " must be a table", d);
        continue;
      }
      if (std::string_view(section) == "receiver") load_receiver(file, *t, config, config.receiver_scope, config.receivers, d);
      else {
        route_tables.push_back(t);
        load_route(file, *t, config.routes.size(), config.routes, d);
      }
    }
  }
  auto known = [&](const std::string& name) {
    return std::any_of(config.receivers.begin(), config.receivers.end(), [&](const auto& r) { return r.name == name; });
  };
  for (size_t i = 0; i < config.routes.size(); ++i) {
    const RouteConfig& r = config.routes[i];
    const toml::table& t = *route_tables[i];
    if (!r.receiver.empty() && !known(r.receiver)) file.error(*t.get("receiver"), "unknown receiver '" + r.receiver + "'", d);
    if (!r.fallback_receiver.empty() && !known(r.fallback_receiver))
      file.error(*t.get("fallback_receiver"), "unknown receiver '" + r.fallback_receiver + "'", d);
  }
  if (!config.routes.empty()) {
    const RouteConfig& last = config.routes.back();
    if (!last.match.empty() || last.escalate_after)
      file.error(*route_tables.back(), "the last route must match every alert (no 'match', no 'escalate_after'), so that no alert goes unrouted", d);
  } else if (!config.receivers.empty()) {
    file.error(file.root(), "receivers are declared but no [[route]] sends anything to them", d);
  }
}

}  // namespace casewatch
