// casewatch's HTTP/1.1 server, on Boost.Beast: bounded by construction, so that no client, with
// or without credentials, can exhaust memory, hold the API, or delay shutdown.
// - Who may ask is decided from the request line and headers, before any body byte is read.
// - Limits on header bytes and fields, body bytes (chunked included), connections in total and per
//   client, requests per second per client, requests per connection; read and write timeouts.
// - Sockets are served asynchronously on one thread of their own: an idle or slow socket holds a
//   little memory, never a thread. Handlers and admission checks run on a small pool, so a slow
//   answer does not hold other clients either; a password hash runs on a smaller pool of its own
//   with a bounded queue, so that requests that need none are never behind a flood of sign-ins.
// - When every connection slot is taken, a new client pushes out a connection that has not
//   signed in before one that has: the idle first, then those under way; a connection that has
//   signed in is pushed out only when idle, and only after every other.
// - stop() closes every connection and returns within a second or two.
// Thread-safety: listen/start/stop from one thread; the callbacks are called on the pool.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace casewatch::http {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent
  std::string path;    // the target without its query, percent-decoded
  std::multimap<std::string, std::string> query;  // decoded
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;
  std::string peer;    // the client's address
  bool peer_is_loopback = false;
  bool tls = false;
  // Set by the admission check for the handler: who is asking and what they may do.
  std::string principal;
  int role = 0;
  bool signed_in_with_password = false;  // a person (Basic), not a token

  // The first header of that name (in lower case), or "".
  std::string_view header(std::string_view lower_name) const;
  std::optional<std::string> param(const std::string& name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct Limits {
  size_t max_header_bytes = 16 * 1024;  // request line and fields together
  size_t max_header_fields = 100;
  size_t max_query_parameters = 64;
  size_t max_body_bytes = 1 << 20;
  size_t max_connections = 512;
  size_t max_connections_per_client = 64;
  size_t max_requests_per_connection = 100;
  double requests_per_second_per_client = 50;
  double request_burst_per_client = 200;
  std::chrono::milliseconds header_timeout{10000};  // the whole header, from its first byte or the last answer
  std::chrono::milliseconds body_timeout{30000};
  std::chrono::milliseconds write_timeout{30000};
  size_t worker_threads = 4;
  size_t slow_check_threads = 1;   // password hashes
  size_t max_slow_checks = 32;   // under way or waiting; beyond, 503 at once
};

// What the admission check decides from the head alone (body empty). Neither set admits the
// request (the check may have set its principal and role); a refusal is sent without reading the
// body; a slow check (a password hash) is run on the slow-check pool and decides in its turn.
struct Admission {
  std::optional<Response> refusal;
  std::function<std::optional<Response>(Request& head)> slow_check;
};
using Admit = std::function<Admission(Request& head)>;
using Handle = std::function<Response(Request& request)>;

class Server {
 public:
  Server(Limits limits, Admit admit, Handle handle);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds HOST:PORT (port 0: any free port); with a certificate and key, serves TLS only.
  bool listen(const std::string& host_port, const std::string& tls_cert_file, const std::string& tls_key_file,
              std::string& error);
  int port() const { return port_; }
  void start();
  // Closes the listener and every connection; waits for handlers under way.
  void stop();

  struct Counters {
    uint64_t connections_refused = 0, connections_evicted = 0, rate_limited = 0, timeouts = 0, slow_checks_refused = 0;
  };
  Counters counters() const;

  struct Impl;  // internal: the I/O loop, the listener and the connections

 private:
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

// "a%20b+c" -> "a b c"; nullopt on a bad escape.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

}  // namespace casewatch::http
