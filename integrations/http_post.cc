#include "integrations/http_post.h"

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>

#include <curl/curl.h>

#include "casewatch/version.h"
#include "integrations/redact.h"

namespace casewatch {

namespace {

constexpr size_t kMaxResponseBody = 64 * 1024;

bool has_line_break(const std::string& s) { return s.find_first_of("\r\n") != std::string::npos; }

bool iequals(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

size_t collect(char* data, size_t size, size_t count, void* user) {
  auto* out = static_cast<std::string*>(user);
  size_t n = size * count;
  if (out->size() < kMaxResponseBody) out->append(data, std::min(n, kMaxResponseBody - out->size()));
  return n;  // keep reading (and dropping) the rest
}

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

}  // namespace

void curl_global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

int abort_when_cancelled(void* cancel, long long, long long, long long, long long) {
  return cancel && static_cast<const std::atomic<bool>*>(cancel)->load() ? 1 : 0;
}

namespace {

HttpPostResult http_post(const HttpPostRequest& request) {
  HttpPostResult result;
  curl_global_init_once();

  if (has_line_break(request.bearer_token) || has_line_break(request.content_type)) {
    result.error = "a header value contains a line break";
    return result;
  }
  for (const auto& [name, value] : request.headers) {
    if (name.empty() || has_line_break(name) || has_line_break(value) || name.find(':') != std::string::npos) {
      result.error = "invalid header '" + name + "'";
      return result;
    }
  }

  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) {
    result.error = "curl_easy_init failed";
    return result;
  }

  // Headers: the request's own first, then Content-Type and Authorization unless set already,
  // and an empty Expect so that large bodies are not held back for a "100 Continue".
  curl_slist* raw = nullptr;
  auto add = [&](const std::string& line) {
    curl_slist* next = curl_slist_append(raw, line.c_str());
    if (next) raw = next;
    return next != nullptr;
  };
  bool has_content_type = false;
  bool header_ok = true;
  for (const auto& [name, value] : request.headers) {
    if (iequals(name, "Authorization") && !request.bearer_token.empty()) continue;
    if (iequals(name, "Content-Type")) has_content_type = true;
    header_ok &= add(name + ": " + value);
  }
  if (!has_content_type && !request.content_type.empty()) header_ok &= add("Content-Type: " + request.content_type);
  if (!request.bearer_token.empty()) header_ok &= add("Authorization: Bearer " + request.bearer_token);
  header_ok &= add("Expect:");
  std::unique_ptr<curl_slist, SlistDeleter> headers(raw);
  if (!header_ok) {
    result.error = "out of memory building headers";
    return result;
  }

  char error_buffer[CURL_ERROR_SIZE] = {0};
  CURL* h = curl.get();
  long timeout_ms = static_cast<long>(std::clamp<int64_t>(request.timeout_seconds, 1, 3600) * 1000);
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_USERAGENT, "casewatch/" CASEWATCH_VERSION);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &result.body);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, abort_when_cancelled);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(request.cancel));

  CURLcode code = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &result.status);
  if (code != CURLE_OK) {
    result.ok = false;
    // libcurl's words may quote what it was given: a webhook's URL is its credential.
    Redactor redact;
    redact.add_secret(request.url);
    redact.add_secret(request.bearer_token);
    for (const auto& [name, value] : request.headers) redact.add_secret(value);
    result.error = redact(error_buffer[0] ? std::string(error_buffer) : std::string(curl_easy_strerror(code)));
    return result;
  }
  result.ok = result.status >= 200 && result.status < 300;
  if (!result.ok) result.error = "HTTP " + std::to_string(result.status);
  return result;
}

class CurlHttpTransport final : public HttpTransport {
 public:
  HttpPostResult post(const HttpPostRequest& request) const override { return http_post(request); }
};

}  // namespace

std::shared_ptr<const HttpTransport> curl_http_transport() { return std::make_shared<CurlHttpTransport>(); }

}  // namespace casewatch
