// One HTTP(S) POST with libcurl: the webhook and Alertmanager receivers' transport.
// TLS certificates and host names are always verified; redirects are not followed; only http and
// https URLs are accepted. Thread-safe: each call uses its own curl handle (curl_global_init runs
// once, on the first call).
#pragma once

#include <cstdint>
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
};

struct HttpPostResult {
  bool ok = false;     // a 2xx answer
  long status = 0;     // the HTTP status; 0 when no answer came
  std::string error;   // why not ok: "HTTP 503", or the transport's reason; never the response body
  std::string body;    // the response body, at most 64 KiB (for debugging; may echo the request)
};

HttpPostResult http_post(const HttpPostRequest& request);

// Initialises libcurl once for the process (also done by http_post and smtp_send themselves).
void curl_global_init_once();

}  // namespace casewatch
