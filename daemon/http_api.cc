#include "daemon/http_api.h"

#include "daemon/notification.h"
#include "integrations/json_text.h"

#include <ctime>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace casewatch {
namespace {

using json = nlohmann::ordered_json;

std::string utc_time(int64_t seconds) { return seconds > 0 ? rfc3339_utc(seconds) : ""; }

json time_json(int64_t seconds) { return seconds > 0 ? json(utc_time(seconds)) : json(nullptr); }

void reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(json_text(body), "application/json");
}

void reply_error(httplib::Response& res, int status, const std::string& message) {
  reply(res, status, json{{"status", "error"}, {"error", message}});
}

json alert_json(const Alert& a, bool silenced) {
  return json{{"fingerprint", a.fingerprint},
              {"rule", a.rule},
              {"key", a.key},
              {"severity", std::string(severity_name(a.severity))},
              {"state", std::string(alert_state_name(a.state))},
              {"active_since", time_json(a.active_since)},
              {"fired_at", time_json(a.fired_at)},
              {"labels", a.labels},
              {"annotations", a.annotations},
              {"due_date", a.due_date == kNullDay ? json(nullptr) : json(format_iso(a.due_date))},
              {"value", a.value ? json(*a.value) : json(nullptr)},
              {"missing_since", time_json(a.missing_since)},
              {"silenced", silenced}};
}

}  // namespace

bool token_matches(std::string_view presented, std::string_view expected) {
  // Every byte of the expected token is compared whatever the presented one holds, so the time
  // taken says nothing about how much of it was right.
  unsigned char difference = presented.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < expected.size(); ++i) {
    unsigned char p = i < presented.size() ? static_cast<unsigned char>(presented[i]) : 0;
    difference |= static_cast<unsigned char>(p ^ static_cast<unsigned char>(expected[i]));
  }
  return difference == 0 && !expected.empty();
}

HttpApi::HttpApi(Service& service, HttpOptions options, LoopActions actions)
    : service_(service), options_(std::move(options)), actions_(std::move(actions)) {
  if (!options_.tls_cert_file.empty())
    server_ = std::make_unique<httplib::SSLServer>(options_.tls_cert_file.c_str(), options_.tls_key_file.c_str());
  else
    server_ = std::make_unique<httplib::Server>();
  routes();
}

HttpApi::~HttpApi() { stop(); }

void HttpApi::routes() {
  httplib::Server& s = *server_;
  enum class Access { Public, PublicMetrics, Read, Write };
  // Wraps a handler with the access rules of SPEC 9.
  auto guard = [this](Access access, httplib::Server::Handler handler) {
    return [this, access, handler](const httplib::Request& req, httplib::Response& res) {
      bool needs_token = access == Access::Read || access == Access::Write ||
                         (access == Access::PublicMetrics && !options_.public_metrics);
      if (access == Access::PublicMetrics && options_.public_metrics) needs_token = false;
      if (options_.auth_token.empty()) {
        if (access == Access::Write) return reply_error(res, 403, "this endpoint needs server.auth_token_file to be configured");
      } else if (needs_token) {
        std::string header = req.get_header_value("Authorization");
        const std::string prefix = "Bearer ";
        if (header.compare(0, prefix.size(), prefix) != 0 || !token_matches(std::string_view(header).substr(prefix.size()), options_.auth_token)) {
          res.set_header("WWW-Authenticate", "Bearer");
          return reply_error(res, 401, "missing or wrong bearer token");
        }
      }
      handler(req, res);
    };
  };

  s.Get("/-/healthy", guard(Access::PublicMetrics, [](const httplib::Request&, httplib::Response& res) {
          res.set_content("casewatch is healthy.\n", "text/plain");
        }));
  s.Get("/-/ready", guard(Access::Read, [this](const httplib::Request&, httplib::Response& res) {
          auto snapshot = service_.snapshot();
          if (snapshot && snapshot->ready) res.set_content("casewatch is ready.\n", "text/plain");
          else {
            res.status = 503;
            res.set_content("casewatch is not ready: the first evaluation has not finished.\n", "text/plain");
          }
        }));
  s.Get("/metrics", guard(Access::PublicMetrics, [this](const httplib::Request&, httplib::Response& res) {
          res.set_content(service_.metrics().render(), "text/plain; version=0.0.4; charset=utf-8");
        }));
  s.Post("/-/reload", guard(Access::Write, [this](const httplib::Request&, httplib::Response& res) {
           std::string errors;
           bool ok = false;
           actions_.run_on_loop([&] { ok = actions_.reload(errors); });
           if (ok) reply(res, 200, json{{"status", "success"}});
           else reply(res, 400, json{{"status", "error"}, {"error", errors}});
         }));
  if (options_.test_clock) {
    s.Post("/-/test/advance", guard(Access::Read, [this](const httplib::Request& req, httplib::Response& res) {
             int64_t seconds = 0;
             try {
               seconds = std::stoll(req.get_param_value("seconds"));
             } catch (...) {
               return reply_error(res, 400, "seconds must be an integer");
             }
             if (seconds < 0) return reply_error(res, 400, "seconds must not be negative");
             actions_.run_on_loop([&] { actions_.advance_clock(seconds); });
             reply(res, 200, json{{"status", "success"}});
           }));
  }
  s.Get("/api/v1/alerts", guard(Access::Read, [this](const httplib::Request& req, httplib::Response& res) {
          auto snapshot = service_.snapshot();
          json alerts = json::array();
          for (const Alert& a : snapshot->alerts) {
            if (req.has_param("rule") && req.get_param_value("rule") != a.rule) continue;
            if (req.has_param("severity") && req.get_param_value("severity") != severity_name(a.severity)) continue;
            bool keep = true;
            for (const auto& [name, value] : req.params) {
              if (name.rfind("label.", 0) != 0) continue;
              auto it = a.labels.find(name.substr(6));
              keep = keep && it != a.labels.end() && it->second == value;
            }
            if (keep) alerts.push_back(alert_json(a, snapshot->silenced.count(a.fingerprint) > 0));
          }
          reply(res, 200, json{{"alerts", alerts}});
        }));
  s.Get("/api/v1/rules", guard(Access::Read, [this](const httplib::Request&, httplib::Response& res) {
          auto snapshot = service_.snapshot();
          json rules = json::array();
          for (const RuleStatus& r : snapshot->rules)
            rules.push_back(json{{"name", r.name}, {"kind", r.kind}, {"feed", r.feed}, {"health", r.health},
                                 {"last_error", r.last_error}, {"last_evaluation", time_json(r.last_evaluation)},
                                 {"evaluation_duration_seconds", r.duration_seconds}, {"matches", r.matches}});
          reply(res, 200, json{{"rules", rules}});
        }));
  s.Get("/api/v1/feeds", guard(Access::Read, [this](const httplib::Request&, httplib::Response& res) {
          auto snapshot = service_.snapshot();
          json feeds = json::array();
          for (const FeedStatus& f : snapshot->feeds)
            feeds.push_back(json{{"name", f.name}, {"type", f.type}, {"up", f.up}, {"stale", f.stale},
                                 {"records", f.records}, {"rejected", f.rejected_last},
                                 {"last_success", time_json(f.last_success)},
                                 {"source_time", time_json(f.source_time)}, {"last_error", f.last_error}});
          reply(res, 200, json{{"feeds", feeds}});
        }));
  s.Get("/api/v1/silences", guard(Access::Read, [this](const httplib::Request&, httplib::Response& res) {
          json silences = json::array();
          actions_.run_on_loop([&] {
            int64_t now = service_.clock_now();
            for (const auto& [id, sl] : service_.silences().all())
              silences.push_back(json{{"id", id}, {"matchers", sl.matchers_json}, {"starts_at", utc_time(sl.starts_at)},
                                      {"ends_at", utc_time(sl.ends_at)}, {"created_by", sl.created_by},
                                      {"comment", sl.comment}, {"state", sl.state(now)}});
          });
          reply(res, 200, json{{"silences", silences}});
        }));
  s.Post("/api/v1/silences", guard(Access::Write, [this](const httplib::Request& req, httplib::Response& res) {
           auto body = nlohmann::json::parse(req.body, nullptr, false);
           if (body.is_discarded()) return reply_error(res, 400, "the body is not valid JSON");
           std::optional<std::string> id;
           std::string error;
           actions_.run_on_loop([&] {
             id = service_.silences().add(body, service_.clock_now(), error);
             if (id) service_.refresh_silences();
           });
           if (!id) return reply_error(res, 400, error);
           reply(res, 201, json{{"id", *id}});
         }));
  s.Delete(R"(/api/v1/silences/([0-9A-Za-z_-]+))", guard(Access::Write, [this](const httplib::Request& req, httplib::Response& res) {
             bool ok = false;
             std::string error;
             actions_.run_on_loop([&] {
               ok = service_.silences().remove(req.matches[1], error);
               if (ok) service_.refresh_silences();
             });
             if (!ok) return reply_error(res, error == "not found" ? 404 : 500, error == "not found" ? "no such silence" : error);
             reply(res, 200, json{{"status", "success"}});
           }));
  s.Post(R"(/api/v1/alerts/([0-9a-f]+)/ack)", guard(Access::Write, [this](const httplib::Request& req, httplib::Response& res) {
           nlohmann::json body = nlohmann::json::object();
           if (!req.body.empty()) {
             body = nlohmann::json::parse(req.body, nullptr, false);
             if (body.is_discarded() || !body.is_object()) return reply_error(res, 400, "the body must be a JSON object");
           }
           auto text = [&](const char* key) {
             return body.contains(key) && body[key].is_string() ? body[key].get<std::string>() : std::string();
           };
           bool ok = false;
           std::string error;
           actions_.run_on_loop([&] { ok = service_.acknowledge(req.matches[1], text("created_by"), text("comment"), error); });
           if (!ok) return reply_error(res, error == "not found" ? 404 : 500, error == "not found" ? "no such alert" : error);
           reply(res, 200, json{{"status", "success"}});
         }));
  s.Get("/", guard(Access::Read, [this](const httplib::Request&, httplib::Response& res) {
          res.set_content(render_status_page(*service_.snapshot()), "text/html; charset=utf-8");
        }));

  // Anything else, and any failure, answers JSON rather than httplib's HTML or a dropped socket.
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string message = res.status == 404 ? "no such endpoint: " + req.path : "HTTP " + std::to_string(res.status);
    reply_error(res, res.status, message);
  });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    reply_error(res, 500, "internal error");
  });
  s.set_payload_max_length(1 << 20);
}

bool HttpApi::start(std::string& error) {
  auto colon = options_.listen.rfind(':');
  std::string host = options_.listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = std::stoi(options_.listen.substr(colon + 1));
  if (!server_->is_valid()) {
    error = "cannot start the HTTP server (TLS certificate or key unreadable?)";
    return false;
  }
  if (port == 0) port_ = server_->bind_to_any_port(host.c_str());
  else port_ = server_->bind_to_port(host.c_str(), port) ? port : -1;
  if (port_ <= 0) {
    error = "cannot listen on " + options_.listen;
    return false;
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  spdlog::info("listening on {}:{}", host, port_);
  return true;
}

void HttpApi::stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace casewatch
