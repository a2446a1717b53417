// The HTTP API, status page and metrics endpoint of SPEC 9, served by cpp-httplib on its own
// threads. Reads go to the Service's published snapshot; anything that changes state is handed
// to the event loop through `run_on_loop` and waited for.
#pragma once

#include <functional>
#include <memory>
#include <thread>
#include <string>

#include "daemon/service.h"

namespace httplib {
class Server;
}

namespace casewatch {

struct HttpOptions {
  std::string listen;            // HOST:PORT
  std::string auth_token;        // empty: no token configured
  bool public_metrics = true;
  std::string tls_cert_file, tls_key_file;
  bool test_clock = false;       // enables POST /-/test/advance (tests only)
};

// Runs a task on the event loop and returns when it is done.
using LoopRunner = std::function<void(std::function<void()>)>;

struct LoopActions {
  LoopRunner run_on_loop;
  std::function<bool(std::string& errors)> reload;      // on the loop
  std::function<void(int64_t seconds)> advance_clock;   // on the loop; test clock only
};

class HttpApi {
 public:
  HttpApi(Service& service, HttpOptions options, LoopActions actions);
  ~HttpApi();

  // Binds and starts serving on a thread of its own; false with `error` when it cannot bind.
  bool start(std::string& error);
  void stop();
  int port() const { return port_; }

 private:
  void routes();
  Service& service_;
  HttpOptions options_;
  LoopActions actions_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

// Constant-time comparison of a presented bearer token with the configured one.
bool token_matches(std::string_view presented, std::string_view expected);

// The status page.
std::string render_status_page(const ServiceSnapshot& snapshot);

}  // namespace casewatch
