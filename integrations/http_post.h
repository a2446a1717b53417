// One HTTP(S) POST with libcurl: the webhook and Alertmanager receivers' transport.
// TLS certificates and host names are always verified; redirects are not followed; only http and
// https URLs are accepted. Thread-safe: each call uses its own curl handle (curl_global_init runs
// once, on the first call).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace casewatch {

struct HttpPostRequest {
  std::string url;
  std::string body;
  std::string content_type = "application/json";  // unless `headers` sets Content-Type
  std::vector<std::pair<std::string, std::string>> headers;
  std::string bearer_token;  // non-empty: "Authorization: Bearer TOKEN" (replaces any in `headers`)
  int64_t timeout_seconds = 10;  // the whole exchange, connection included
  const std::atomic<bool>* cancel = nullptr;  // set: the exchange is abandoned within a second
};

struct HttpPostResult {
  bool ok = false;     // a 2xx answer
  long status = 0;     // the HTTP status; 0 when no answer came
  std::string error;   // why not ok: "HTTP 503", or the transport's reason; never the response body
  std::string body;    // the response body, at most 64 KiB (for debugging; may echo the request)
};

// Makes one POST; thread-safe.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  virtual HttpPostResult post(const HttpPostRequest& request) const = 0;
};

// The real transport, over libcurl.
std::shared_ptr<const HttpTransport> curl_http_transport();

// libcurl's progress callback: a non-zero answer aborts the transfer, when `cancel` is set.
int abort_when_cancelled(void* cancel, long long, long long, long long, long long);

// Initialises libcurl once for the process (also done by http_post and smtp_send themselves).
void curl_global_init_once();

}  // namespace casewatch
