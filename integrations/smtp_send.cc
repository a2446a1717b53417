#include "integrations/smtp_send.h"
#include "integrations/redact.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>

#include <curl/curl.h>

#include "integrations/http_post.h"

namespace casewatch {

namespace {

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

struct MimeDeleter {
  void operator()(curl_mime* mime) const { curl_mime_free(mime); }
};

// SMTP lines end in CRLF.
std::string crlf(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out += '\r';
    out += text[i];
  }
  return out;
}

bool bad_address(const std::string& address) {
  return address.empty() || address.find_first_of("\r\n<> \t") != std::string::npos;
}

bool starts_with_ci(const std::string& text, const char* prefix) {
  size_t n = std::strlen(prefix);
  if (text.size() < n) return false;
  for (size_t i = 0; i < n; ++i)
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  return true;
}

SmtpResult smtp_send(const SmtpRequest& request) {
  SmtpResult result;
  curl_global_init_once();

  bool implicit_tls = starts_with_ci(request.url, "smtps://");
  if (!implicit_tls && !starts_with_ci(request.url, "smtp://")) {
    result.error = "smtp_url must start with smtp:// or smtps://";
    return result;
  }
  if (request.recipients.empty()) {
    result.error = "no recipients";
    return result;
  }
  if (bad_address(request.from)) {
    result.error = "invalid sender address";
    return result;
  }
  for (const auto& r : request.recipients) {
    if (bad_address(r)) {
      result.error = "invalid recipient address";
      return result;
    }
  }

  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) {
    result.error = "curl_easy_init failed";
    return result;
  }
  curl_slist* raw = nullptr;
  for (const auto& r : request.recipients) {
    curl_slist* next = curl_slist_append(raw, ("<" + r + ">").c_str());
    if (!next) {
      curl_slist_free_all(raw);
      result.error = "out of memory";
      return result;
    }
    raw = next;
  }
  std::unique_ptr<curl_slist, SlistDeleter> recipients(raw);

  std::string mail_from = "<" + request.from + ">";
  for (const auto& line : request.headers)
    if (line.find_first_of("\r\n") != std::string::npos) {
      result.error = "a header line contains a line break";
      return result;
    }
  curl_slist* raw_headers = nullptr;
  for (const auto& line : request.headers) {
    curl_slist* next = curl_slist_append(raw_headers, line.c_str());
    if (!next) {
      curl_slist_free_all(raw_headers);
      result.error = "out of memory";
      return result;
    }
    raw_headers = next;
  }
  std::unique_ptr<curl_slist, SlistDeleter> headers(raw_headers);

  // The body: multipart/alternative of the text and the HTML, each quoted-printable (libcurl's MIME
  // API writes the boundaries and the encoding).
  std::unique_ptr<curl_mime, MimeDeleter> mime(curl_mime_init(curl.get()));
  curl_mime* alternative = curl_mime_init(curl.get());
  const std::string text = crlf(request.text), html = crlf(request.html);
  curl_mimepart* part = curl_mime_addpart(alternative);
  curl_mime_data(part, text.data(), text.size());
  curl_mime_type(part, "text/plain; charset=utf-8");
  curl_mime_encoder(part, "quoted-printable");
  part = curl_mime_addpart(alternative);
  curl_mime_data(part, html.data(), html.size());
  curl_mime_type(part, "text/html; charset=utf-8");
  curl_mime_encoder(part, "quoted-printable");
  part = curl_mime_addpart(mime.get());
  curl_mime_subparts(part, alternative);  // now owned by `mime`
  curl_mime_type(part, "multipart/alternative");
  char error_buffer[CURL_ERROR_SIZE] = {0};
  CURL* h = curl.get();
  long timeout_ms = static_cast<long>(std::clamp<int64_t>(request.timeout_seconds, 1, 3600) * 1000);
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  // smtp://: STARTTLS when offered; required when there is a password to protect.
  // smtps://: TLS from the first byte whatever this says.
  curl_easy_setopt(h, CURLOPT_USE_SSL,
                   implicit_tls || !request.username.empty() ? static_cast<long>(CURLUSESSL_ALL)
                                                             : static_cast<long>(CURLUSESSL_TRY));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  if (!request.username.empty()) {
    curl_easy_setopt(h, CURLOPT_USERNAME, request.username.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, request.password.c_str());
  }
  curl_easy_setopt(h, CURLOPT_MAIL_FROM, mail_from.c_str());
  curl_easy_setopt(h, CURLOPT_MAIL_RCPT, recipients.get());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_MIMEPOST, mime.get());
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, abort_when_cancelled);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(request.cancel));

  CURLcode code = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &result.code);
  if (code != CURLE_OK) {
    Redactor redact;  // libcurl's words may quote what it was given
    redact.add_secret(request.password);
    redact.add_secret(request.url);
    result.error = redact(error_buffer[0] ? std::string(error_buffer) : std::string(curl_easy_strerror(code)));
    if (result.code > 0 && result.error.find(std::to_string(result.code)) == std::string::npos)
      result.error += " (SMTP " + std::to_string(result.code) + ")";
    return result;
  }
  // libcurl reports success only when the server answered the end of DATA with 250.
  result.ok = true;
  return result;
}

class CurlSmtpTransport final : public SmtpTransport {
 public:
  SmtpResult send(const SmtpRequest& request) const override { return smtp_send(request); }
};

}  // namespace

std::shared_ptr<const SmtpTransport> curl_smtp_transport() { return std::make_shared<CurlSmtpTransport>(); }

}  // namespace casewatch
