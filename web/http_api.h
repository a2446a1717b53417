// The HTTP API, status page and metrics endpoint of SPEC 9, on the bounded server of
// http_server.h. Who may do what is decided from the request's head before its body is read:
// users (Basic, over TLS or from this machine) and tokens (Bearer), each with a role; failed
// sign-ins are rate limited. Reads go to the Service's published snapshot; anything that changes
// state is handed to the event loop through `run_on_loop` and waited for.
// Thread-safety: start/stop/set_credentials from the event loop's thread; requests are served on
// the server's own threads.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "web/auth.h"
#include "web/http_server.h"
#include "service/service.h"

namespace casewatch {

struct HttpOptions {
  std::string listen;  // HOST:PORT
  std::string external_url;  // its host is one of the names casewatch answers to without credentials
  bool public_metrics = true;
  std::string tls_cert_file, tls_key_file;
  bool test_clock = false;  // enables POST /-/test/advance (tests only)
  http::Limits limits;
};

// Runs a task on the event loop and returns when it is done; false when the daemon is stopping
// and the task was not run.
using LoopRunner = std::function<bool(std::function<void()>)>;

struct LoopActions {
  LoopRunner run_on_loop;
  std::function<bool(std::string& errors)> reload;      // on the loop
  std::function<void(int64_t seconds)> advance_clock;   // on the loop; test clock only
};

class HttpApi {
 public:
  HttpApi(Service& service, HttpOptions options, LoopActions actions, std::shared_ptr<const Credentials> credentials);
  ~HttpApi();

  // Binds and starts serving; false with `error` when it cannot bind.
  bool start(std::string& error);
  void stop();
  int port() const { return server_.port(); }
  // After a reload: the token and users files, and server.external_url, as they are now.
  void set_credentials(std::shared_ptr<const Credentials> credentials, const std::string& external_url);

 private:
  enum class Access { Public, Metrics, Viewer, Manager, Admin };
  struct Route;
  http::Admission admit(http::Request& request);
  bool host_allowed(const http::Request& request) const;
  http::Response handle(http::Request& request);
  void routes();
  std::shared_ptr<const Credentials> credentials() const;

  Service& service_;
  HttpOptions options_;
  LoopActions actions_;
  std::vector<Route> routes_;
  mutable std::mutex credentials_mutex_;
  std::shared_ptr<const Credentials> credentials_;
  std::set<std::string> host_names_;  // besides IP addresses and localhost; under credentials_mutex_
  class SignInLimiter;
  std::unique_ptr<SignInLimiter> sign_ins_;
  http::Server server_;
};

// The status page; `can_acknowledge` shows the buttons of a manager or admin.
std::string render_status_page(const ServiceSnapshot& snapshot, bool can_acknowledge);

// The host name a Host header (or HOST:PORT) names: lower case, without port, brackets or final dot.
std::string host_name_of(std::string_view host);

// JSON parsed with its nesting limited (a body of 60,000 nested arrays must be refused, not
// recursed through); nullopt with `error` otherwise.
std::optional<nlohmann::json> parse_json_body(std::string_view body, size_t max_depth, std::string& error);

}  // namespace casewatch
