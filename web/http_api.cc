#include "web/http_api.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>

#include <arpa/inet.h>

#include <spdlog/spdlog.h>

#include "web/pages.h"
#include "notify/notification.h"
#include "integrations/json_text.h"
#include "integrations/utf8.h"

namespace casewatch {
namespace {

using json = nlohmann::ordered_json;
using SteadyClock = std::chrono::steady_clock;

std::string utc_time(int64_t seconds) { return seconds > 0 ? rfc3339_utc(seconds) : ""; }

json time_json(int64_t seconds) { return seconds > 0 ? json(utc_time(seconds)) : json(nullptr); }

http::Response reply(int status, const json& body) {
  http::Response r;
  r.status = status;
  r.body = json_text(body);
  return r;
}

http::Response html_page(std::string body) {
  http::Response r;
  r.content_type = "text/html; charset=utf-8";
  r.body = std::move(body);
  r.headers.emplace_back("Content-Security-Policy", page_security_policy());
  return r;
}

// The most alerts one page of GET /api/v1/alerts may ask for.
constexpr size_t kMaxAlertsPage = 100000;

http::Response reply_error(int status, const std::string& message) {
  return reply(status, json{{"status", "error"}, {"error", message}});
}

json alert_json(const Alert& a, bool silenced) {
  return json{{"fingerprint", a.fingerprint},
              {"rule", a.rule},
              {"key", a.key},
              {"severity", std::string(severity_name(a.severity))},
              {"state", std::string(alert_state_name(a.state))},
              {"active_since", time_json(a.active_since)},
              {"fired_at", time_json(a.fired_at)},
              {"labels", a.labels()},
              {"annotations", a.annotations()},
              {"due_date", a.due_date == kNullDay ? json(nullptr) : json(format_iso(a.due_date))},
              {"value", a.value ? json(*a.value) : json(nullptr)},
              {"missing_since", time_json(a.missing_since)},
              {"rejected_since", time_json(a.rejected_since)},
              {"silenced", silenced}};
}

// Counts nesting only; says stop (false) past the limit, before any value is built.
class DepthLimit final : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit DepthLimit(size_t limit) : limit_(limit) {}
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return ++depth_ <= limit_ || (too_deep_ = true, false); }
  bool key(string_t&) override { return true; }
  bool end_object() override { --depth_; return true; }
  bool start_array(std::size_t) override { return ++depth_ <= limit_ || (too_deep_ = true, false); }
  bool end_array() override { --depth_; return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }
  bool too_deep() const { return too_deep_; }

 private:
  size_t limit_, depth_ = 0;
  bool too_deep_ = false;
};

}  // namespace

std::optional<nlohmann::json> parse_json_body(std::string_view body, size_t max_depth, std::string& error) {
  DepthLimit limit(max_depth);
  if (!nlohmann::json::sax_parse(body, &limit)) {
    error = limit.too_deep() ? "the body nests deeper than " + std::to_string(max_depth) + " levels"
                             : "the body is not valid JSON";
    return std::nullopt;
  }
  return nlohmann::json::parse(body, nullptr, false);
}

// Failed sign-ins, by client address and by user from that address: after five for one user from
// one address, or twenty from one address (an office shares one), in a minute, that pair or
// address waits a minute, so passwords cannot be guessed at the speed of the network. Never by
// user alone: wrong passwords from elsewhere must not lock the real user out.
class HttpApi::SignInLimiter {
 public:
  bool blocked(const std::string& peer, const std::string& user) {
    std::lock_guard lock(mutex_);
    auto now = SteadyClock::now();
    return is_blocked(by_peer_, peer, now) || is_blocked(by_peer_and_user_, peer + '\n' + user, now);
  }
  void failed(const std::string& peer, const std::string& user) {
    std::lock_guard lock(mutex_);
    auto now = SteadyClock::now();
    count(by_peer_, peer, now, kFailuresPerAddress);
    count(by_peer_and_user_, peer + '\n' + user, now, kFailuresPerUser);
  }

 private:
  struct Entry {
    int failures = 0;
    SteadyClock::time_point window_start, blocked_until;
  };
  static constexpr int kFailuresPerUser = 5, kFailuresPerAddress = 20;
  static constexpr std::chrono::seconds kWindow{60};

  static bool is_blocked(std::map<std::string, Entry>& map, const std::string& key, SteadyClock::time_point now) {
    auto it = map.find(key);
    return it != map.end() && it->second.blocked_until > now;
  }
  static void count(std::map<std::string, Entry>& map, const std::string& key, SteadyClock::time_point now,
                    int limit) {
    if (map.size() > 10000) map.clear();  // a flood of names: forget rather than grow
    Entry& e = map[key];
    if (now - e.window_start > kWindow) {
      e.window_start = now;
      e.failures = 0;
    }
    if (++e.failures >= limit) e.blocked_until = now + kWindow;
  }

  std::mutex mutex_;
  std::map<std::string, Entry> by_peer_, by_peer_and_user_;
};

struct HttpApi::Route {
  std::string method;
  std::vector<std::string> segments;  // "{}" matches any one segment
  Access access;
  std::function<http::Response(http::Request&, const std::vector<std::string>&)> handler;

  // The values of the "{}" segments, or nullopt when the path is not this route's.
  std::optional<std::vector<std::string>> match(const std::string& path) const {
    std::vector<std::string> parts;
    size_t start = 1;
    while (start <= path.size()) {
      size_t slash = path.find('/', start);
      parts.push_back(path.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
      if (slash == std::string::npos) break;
      start = slash + 1;
    }
    if (path == "/") parts.clear();
    if (parts.size() != segments.size()) return std::nullopt;
    std::vector<std::string> values;
    for (size_t i = 0; i < parts.size(); ++i) {
      if (segments[i] == "{}") {
        if (parts[i].empty()) return std::nullopt;
        values.push_back(parts[i]);
      } else if (segments[i] != parts[i]) {
        return std::nullopt;
      }
    }
    return values;
  }
};

HttpApi::HttpApi(Service& service, HttpOptions options, LoopActions actions,
                 std::shared_ptr<const Credentials> credentials)
    : service_(service),
      options_(std::move(options)),
      actions_(std::move(actions)),
      credentials_(std::move(credentials)),
      sign_ins_(std::make_unique<SignInLimiter>()),
      server_(options_.limits, [this](http::Request& r) { return admit(r); },
              [this](http::Request& r) { return handle(r); }) {
  set_credentials(credentials_, options_.external_url);
  routes();
}

HttpApi::~HttpApi() { stop(); }

std::shared_ptr<const Credentials> HttpApi::credentials() const {
  std::lock_guard lock(credentials_mutex_);
  return credentials_;
}


// The host name a Host header names, in lower case, without port, brackets or a final dot.
std::string host_name_of(std::string_view host) {
  std::string name;
  if (host.starts_with('[')) {
    name = std::string(host.substr(1, host.find(']') == std::string_view::npos ? host.npos : host.find(']') - 1));
  } else {
    name = std::string(host.substr(0, host.rfind(':')));
  }
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  if (name.ends_with('.')) name.pop_back();
  return name;
}

namespace {

bool is_ip_literal(const std::string& name) {
  unsigned char bytes[16];
  return ::inet_pton(AF_INET, name.c_str(), bytes) == 1 || ::inet_pton(AF_INET6, name.c_str(), bytes) == 1;
}

}  // namespace

void HttpApi::set_credentials(std::shared_ptr<const Credentials> credentials, const std::string& external_url) {
  std::set<std::string> names = {"localhost"};
  names.insert(host_name_of(options_.listen));
  // "https://name:port/path" -> name
  std::string_view url = external_url;
  if (auto scheme = url.find("://"); scheme != std::string_view::npos) url.remove_prefix(scheme + 3);
  url = url.substr(0, url.find_first_of("/?#"));
  if (auto at = url.rfind('@'); at != std::string_view::npos) url.remove_prefix(at + 1);
  names.insert(host_name_of(url));
  std::lock_guard lock(credentials_mutex_);
  credentials_ = credentials ? std::move(credentials) : std::make_shared<Credentials>();
  host_names_ = std::move(names);
}

bool HttpApi::host_allowed(const http::Request& request) const {
  // An IP address cannot be rebound: a page that reaches casewatch by one is of that origin.
  const std::string name = host_name_of(request.header("host"));
  if (is_ip_literal(name) || name.ends_with(".localhost")) return true;
  std::lock_guard lock(credentials_mutex_);
  return host_names_.contains(name);
}

http::Admission HttpApi::admit(http::Request& request) {
  // Which route, first: an unknown path is 404, a known one asked with another method 405.
  const Route* route = nullptr;
  std::string allowed;
  for (const Route& r : routes_) {
    if (!r.match(request.path)) continue;
    if (r.method == request.method || (request.method == "HEAD" && r.method == "GET")) {
      route = &r;
      break;
    }
    allowed += (allowed.empty() ? "" : ", ") + r.method;
  }
  auto refuse = [](http::Response r) { return http::Admission{std::move(r), {}}; };
  if (!route && allowed.empty()) return refuse(reply_error(404, "no such endpoint: " + log_safe(request.path)));
  if (!route) {
    http::Response r = reply_error(405, request.method + " is not allowed here; use " + allowed);
    r.headers.emplace_back("Allow", allowed);
    return refuse(std::move(r));
  }

  auto creds = credentials();
  // Open to all on this machine, casewatch must not answer a page of another site that has
  // pointed its own name at 127.0.0.1 (DNS rebinding): only the names casewatch is known by.
  if (creds->empty() && !host_allowed(request))
    return refuse(reply_error(403, "casewatch answers only to the names it is known by (localhost, its listen address, "
                                   "server.external_url) while no credentials are configured"));
  const Access access = route->access;
  if (access == Access::Public || (access == Access::Metrics && options_.public_metrics)) return {};
  const Role needed = access == Access::Admin ? Role::Admin : access == Access::Manager ? Role::Manager : Role::Viewer;
  if (creds->empty()) {
    // Nobody is configured: reading is open (casewatch listens on loopback unless told
    // otherwise), changing anything is not.
    if (needed > Role::Viewer)
      return refuse(
          reply_error(403, "this endpoint needs credentials: server.users_file, server.tokens or server.auth_token_file"));
    request.principal = "anonymous";
    request.role = static_cast<int>(Role::Viewer);
    return {};
  }
  auto challenge = [creds](std::string message) {
    http::Response r = reply_error(401, std::move(message));
    if (creds->has_users()) r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"casewatch\", charset=\"UTF-8\"");
    if (creds->has_tokens()) r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"casewatch\"");
    return r;
  };
  std::string_view header = request.header("authorization");
  if (header.empty()) return refuse(challenge("sign in, or send a bearer token"));
  auto presented = parse_authorization(header);
  if (!presented) return refuse(challenge("the Authorization header is not Basic or Bearer credentials"));

  // What a known principal may do here, once it is known.
  auto grant = [needed](http::Request& request, const Principal& principal) -> std::optional<http::Response> {
    if (principal.role < needed)
      return reply_error(403, "'" + principal.name + "' is a " + std::string(role_name(principal.role)) +
                                  ": this needs a " + std::string(role_name(needed)));
    // A browser sends a password with any request to this site, even one another site makes it
    // send; casewatch's own page adds this header, which no other site can.
    if (principal.signed_in_with_password && request.method != "GET" && request.method != "HEAD" &&
        request.header("x-casewatch-request").empty())
      return reply_error(403, "a browser request that changes something must come from casewatch's own page");
    request.principal = principal.name;
    request.role = static_cast<int>(principal.role);
    request.signed_in_with_password = principal.signed_in_with_password;
    return std::nullopt;
  };
  if (presented->scheme == "bearer") {
    auto principal = creds->by_token(presented->token);
    if (!principal) return refuse(challenge("missing or wrong bearer token"));
    return {grant(request, *principal), {}};
  }
  if (!request.tls && !request.peer_is_loopback)
    return refuse(challenge("passwords are accepted only over TLS or from this machine"));
  if (sign_ins_->blocked(request.peer, presented->user)) {
    http::Response r = reply_error(429, "too many failed sign-ins: wait a minute");
    r.headers.emplace_back("Retry-After", "60");
    return refuse(std::move(r));
  }
  if (auto principal = creds->remembered(presented->user, presented->password)) return {grant(request, *principal), {}};
  // bcrypt, slow on purpose: on the server's sign-in pool, never ahead of a token's request.
  return {std::nullopt, [this, creds, challenge, grant, user = presented->user,
                         password = presented->password](http::Request& request) -> std::optional<http::Response> {
            auto principal = creds->by_password(user, password);
            if (!principal) {
              sign_ins_->failed(request.peer, user);
              spdlog::warn("sign-in failed for user '{}' from {}", log_safe(user), request.peer);
              return challenge("wrong user name or password");
            }
            return grant(request, *principal);
          }};
}

http::Response HttpApi::handle(http::Request& request) {
  for (const Route& r : routes_) {
    if (r.method != request.method && !(request.method == "HEAD" && r.method == "GET")) continue;
    if (auto values = r.match(request.path)) {
      http::Response response = r.handler(request, *values);
      if (request.method == "HEAD") response.body.clear();
      return response;
    }
  }
  return reply_error(404, "no such endpoint");
}

void HttpApi::routes() {
  auto add = [this](std::string method, std::string path, Access access, auto handler) {
    Route r;
    r.method = std::move(method);
    for (size_t start = 1; start < path.size();) {
      size_t slash = path.find('/', start);
      r.segments.push_back(path.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
      if (slash == std::string::npos) break;
      start = slash + 1;
    }
    r.access = access;
    r.handler = std::move(handler);
    routes_.push_back(std::move(r));
  };
  using Params = const std::vector<std::string>&;
  // Runs `task` on the event loop; a 503 when the daemon is stopping.
  auto on_loop = [this](std::function<void()> task) { return actions_.run_on_loop(std::move(task)); };
  const http::Response stopping = reply_error(503, "casewatch is stopping");

  add("GET", "/-/healthy", Access::Metrics, [](http::Request&, Params) {
    http::Response r;
    r.content_type = "text/plain";
    r.body = "casewatch is healthy.\n";
    return r;
  });
  add("GET", "/-/ready", Access::Viewer, [this](http::Request&, Params) {
    http::Response r;
    r.content_type = "text/plain";
    auto snapshot = service_.snapshot();
    // A loop that has not run a round for three intervals (and a minute) is stuck, whatever it
    // last published. The manual test clock runs rounds only when told.
    const auto since_round = std::chrono::steady_clock::now() - (snapshot ? snapshot->round_at : std::chrono::steady_clock::time_point{});
    const auto round_limit = std::chrono::seconds(3 * std::max<int64_t>(1, snapshot ? snapshot->evaluation_interval_seconds : 1) + 60);
    if (!snapshot || !snapshot->ready) {
      r.status = 503;
      r.body = "casewatch is not ready: the first evaluation has not finished.\n";
      if (snapshot && !snapshot->feeds_loading_first.empty()) {
        r.body.pop_back();
        r.body += " It waits for the first load of:";
        for (const std::string& name : snapshot->feeds_loading_first) r.body += " " + name;
        r.body += "\n";
      }
    } else if (!options_.test_clock && since_round > round_limit) {
      r.status = 503;
      r.body = "casewatch is not ready: no evaluation round for " +
               std::to_string(std::chrono::duration_cast<std::chrono::seconds>(since_round).count()) + " s\n";
    } else if (!snapshot->state_error.empty()) {
      // Alerts that cannot be saved would be lost, or fire again, at the next restart.
      r.status = 503;
      r.body = "casewatch is not ready: state writes are failing: " + snapshot->state_error + "\n";
    } else {
      r.body = "casewatch is ready.\n";
      // Ready still: the other feeds are evaluated, and each feed that is down has its alert.
      for (const FeedStatus& f : snapshot->feeds)
        if (!f.up) r.body += "feed " + f.name + " is " + (f.stale ? "stale" : "down: " + log_safe(f.last_error)) + "\n";
    }
    return r;
  });
  add("GET", "/metrics", Access::Metrics, [this](http::Request&, Params) {
    http::Response r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = service_.metrics().render();
    return r;
  });
  add("POST", "/-/reload", Access::Admin, [this, on_loop, stopping](http::Request&, Params) {
    std::string errors;
    bool ok = false;
    if (!on_loop([&] { ok = actions_.reload(errors); })) return stopping;
    if (ok) return reply(200, json{{"status", "success"}});
    return reply(400, json{{"status", "error"}, {"error", errors}});
  });
  if (options_.test_clock) {
    // Tests only (the endpoint exists only under --test-clock).
    add("POST", "/-/test/advance", Access::Viewer, [this, on_loop, stopping](http::Request& req, Params) {
      int64_t seconds = 0;
      try {
        seconds = std::stoll(req.param("seconds").value_or(""));
      } catch (...) {
        return reply_error(400, "seconds must be an integer");
      }
      if (seconds < 0) return reply_error(400, "seconds must not be negative");
      if (!on_loop([&] { actions_.advance_clock(seconds); })) return stopping;
      return reply(200, json{{"status", "success"}});
    });
  }
  add("GET", "/api/v1/alerts", Access::Viewer, [this](http::Request& req, Params) {
    auto snapshot = service_.snapshot();
    json alerts = json::array();
    auto rule = req.param("rule"), severity = req.param("severity");
    std::vector<std::pair<std::string, std::string>> label_filters;
    for (const auto& [name, value] : req.query)
      if (name.starts_with("label.")) label_filters.emplace_back(name.substr(6), value);
    // Pages by key (the alerts are in fingerprint order): `after` is the last fingerprint the
    // client has, `limit` the most to answer; `next` says where the next page starts, null at the
    // end. A page never skips an alert that was there when the first was read and still is.
    // Without `limit`, every alert, as before.
    for (const char* name : {"limit", "after"})
      if (req.query.count(name) > 1) return reply_error(400, std::string(name) + " is given more than once");
    std::optional<size_t> limit;
    if (auto text = req.param("limit")) {
      const bool digits = !text->empty() && text->size() <= 18 &&
                          std::all_of(text->begin(), text->end(), [](char c) { return c >= '0' && c <= '9'; });
      const size_t n = digits ? std::stoull(*text) : 0;
      if (n < 1 || n > kMaxAlertsPage)
        return reply_error(400, "limit must be a whole number from 1 to " + std::to_string(kMaxAlertsPage));
      limit = n;
    }
    const std::vector<Alert>& all = *snapshot->alerts;
    auto from = all.begin();
    if (auto after = req.param("after")) {
      // A mistyped cursor must not read as "no more alerts".
      const bool fingerprint = after->size() == 16 && std::all_of(after->begin(), after->end(), [](char c) {
                                 return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                               });
      if (!fingerprint) return reply_error(400, "after must be an alert's fingerprint (16 hexadecimal digits)");
      from = std::upper_bound(all.begin(), all.end(), *after,
                              [](const std::string& fingerprint, const Alert& a) { return fingerprint < a.fingerprint; });
    }
    json next = nullptr;
    for (auto it = from; it != all.end(); ++it) {
      const Alert& a = *it;
      if (rule && *rule != a.rule) continue;
      if (severity && *severity != severity_name(a.severity)) continue;
      const bool keep = std::all_of(label_filters.begin(), label_filters.end(), [&](const auto& filter) {
        auto found = a.labels().find(filter.first);
        return found != a.labels().end() && found->second == filter.second;
      });
      if (!keep) continue;
      if (limit && alerts.size() == *limit) {  // one more than the page holds: there is a next page
        next = alerts.back()["fingerprint"];
        break;
      }
      alerts.push_back(alert_json(a, snapshot->silenced.count(a.fingerprint) > 0));
    }
    return reply(200, json{{"alerts", alerts}, {"next", next}});
  });
  add("GET", "/api/v1/rules", Access::Viewer, [this](http::Request&, Params) {
    auto snapshot = service_.snapshot();
    json rules = json::array();
    for (const RuleStatus& r : snapshot->rules)
      rules.push_back(json{{"name", r.name}, {"kind", r.kind}, {"feed", r.feed},
                           {"health", std::string(rule_health_name(r.health))},
                           {"last_error", r.last_error}, {"last_evaluation", time_json(r.last_evaluation)},
                           {"evaluation_duration_seconds", r.duration_seconds}, {"matches", r.matches}});
    return reply(200, json{{"rules", rules}});
  });
  add("GET", "/api/v1/feeds", Access::Viewer, [this](http::Request&, Params) {
    auto snapshot = service_.snapshot();
    json feeds = json::array();
    for (const FeedStatus& f : snapshot->feeds)
      feeds.push_back(json{{"name", f.name}, {"type", f.type}, {"up", f.up}, {"stale", f.stale},
                           {"records", f.records}, {"rejected", f.rejected_last},
                           {"last_success", time_json(f.last_success)},
                           {"source_time", time_json(f.source_time)}, {"last_error", f.last_error},
                           {"loading_since", time_json(f.loading_since)},
                           {"last_load_seconds", f.last_load_seconds}});
    return reply(200, json{{"feeds", feeds}});
  });
  add("GET", "/api/v1/silences", Access::Viewer, [this, on_loop, stopping](http::Request&, Params) {
    json silences = json::array();
    bool ran = on_loop([&] {
      int64_t now = service_.clock_now();
      for (const auto& [id, sl] : service_.silences().all())
        silences.push_back(json{{"id", id}, {"matchers", sl.matchers_json}, {"starts_at", utc_time(sl.starts_at)},
                                {"ends_at", utc_time(sl.ends_at)}, {"created_by", sl.created_by},
                                {"comment", sl.comment}, {"state", std::string(silence_state_name(sl.state(now)))}});
    });
    if (!ran) return stopping;
    return reply(200, json{{"silences", silences}});
  });
  add("POST", "/api/v1/silences", Access::Manager, [this, on_loop, stopping](http::Request& req, Params) {
    std::string error;
    auto body = parse_json_body(req.body, 32, error);
    if (!body) return reply_error(400, error);
    if (!body->is_object()) return reply_error(400, "the body must be a JSON object");
    // A person signed in is recorded as themself; a token may say on whose behalf it acts.
    if (req.signed_in_with_password || !body->contains("created_by")) (*body)["created_by"] = req.principal;
    std::optional<Result<std::string>> id;
    if (!on_loop([&] {
          const SilencePolicy policy{service_.config()->server.max_silence_seconds,
                                     req.role >= static_cast<int>(Role::Admin)};
          id = service_.silences().add(*body, service_.clock_now(), policy);
          if (id->ok()) service_.refresh_silences();
        }))
      return stopping;
    if (!id->ok()) return reply_error(id->status().is_forbidden() ? 403 : 400, id->message());
    return reply(201, json{{"id", id->value()}});
  });
  add("DELETE", "/api/v1/silences/{}", Access::Manager, [this, on_loop, stopping](http::Request&, Params params) {
    Status removed;
    if (!on_loop([&] {
          removed = service_.silences().remove(params[0]);
          if (removed.ok()) service_.refresh_silences();
        }))
      return stopping;
    if (!removed.ok()) return reply_error(removed.is_not_found() ? 404 : 500, removed.message());
    return reply(200, json{{"status", "success"}});
  });
  add("POST", "/api/v1/alerts/{}/ack", Access::Manager, [this, on_loop, stopping](http::Request& req, Params params) {
    nlohmann::json body = nlohmann::json::object();
    if (!req.body.empty()) {
      std::string error;
      auto parsed = parse_json_body(req.body, 32, error);
      if (!parsed) return reply_error(400, error);
      if (!parsed->is_object()) return reply_error(400, "the body must be a JSON object");
      body = std::move(*parsed);
    }
    auto text = [&](const char* key) {
      return body.contains(key) && body[key].is_string() ? body[key].get<std::string>() : std::string();
    };
    std::string created_by = req.signed_in_with_password || text("created_by").empty() ? req.principal : text("created_by");
    Status acknowledged;
    if (!on_loop([&] { acknowledged = service_.acknowledge(params[0], created_by, text("comment")); })) return stopping;
    if (!acknowledged.ok()) return reply_error(acknowledged.is_not_found() ? 404 : 500, acknowledged.message());
    return reply(200, json{{"status", "success"}});
  });
  add("GET", "/team", Access::Viewer, [this](http::Request& req, Params) {
    auto name = req.param("name");
    if (!name || name->empty()) return reply_error(400, "give the team: /team?name=TEAM");
    return html_page(render_team_page(*service_.snapshot(), *name, req.role >= static_cast<int>(Role::Manager)));
  });
  add("GET", "/alerts/{}", Access::Viewer, [this, on_loop, stopping](http::Request&, Params params) {
    auto snapshot = service_.snapshot();
    auto alert = std::find_if(snapshot->alerts->begin(), snapshot->alerts->end(),
                              [&](const Alert& a) { return a.fingerprint == params[0]; });
    if (alert == snapshot->alerts->end()) return reply_error(404, "no such alert (it may have resolved)");
    AlertHistory history;
    if (!on_loop([&] {
          const int64_t now = service_.clock_now();
          auto ack = service_.silences().acks().find(alert->fingerprint);
          if (ack != service_.silences().acks().end()) history.acknowledgement = ack->second;
          for (const auto& [id, silence] : service_.silences().all())
            if (silence.matches(*alert, now)) history.silences.push_back(silence);
        }))
      return stopping;
    auto deliveries = service_.deliveries_of(alert->fingerprint);
    if (deliveries.ok()) history.deliveries = std::move(*deliveries);
    return html_page(render_alert_page(*snapshot, *alert, history));
  });
  // The pages' icon, for a browser that asks for it by the old name (the pages link it inline).
  add("GET", "/favicon.ico", Access::Public, [](http::Request&, Params) {
    http::Response r;
    r.content_type = "image/svg+xml";
    r.body = page_icon_svg();
    return r;
  });
  add("GET", "/", Access::Viewer, [this](http::Request& req, Params) {
    return html_page(render_status_page(*service_.snapshot(), req.role >= static_cast<int>(Role::Manager)));
  });
}

bool HttpApi::start(std::string& error) {
  if (!server_.listen(options_.listen, options_.tls_cert_file, options_.tls_key_file, error)) return false;
  server_.start();
  spdlog::info("listening on {} (port {})", options_.listen, server_.port());
  return true;
}

void HttpApi::stop() { server_.stop(); }

}  // namespace casewatch
