// One email handed to an SMTP server with libcurl: the email receiver's transport.
// `smtp://host:port` upgrades with STARTTLS when the server offers it, and insists on it when a
// username is given (so a password never crosses the network in clear text); `smtps://` is TLS
// from the start. Certificates and host names are always verified.
// Thread-safe: each call uses its own curl handle.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace casewatch {

struct SmtpRequest {
  std::string url;                      // smtp://host:587 or smtps://host:465
  std::string username;                 // empty: no authentication
  std::string password;                 // the caller reads it from password_file
  std::string from;                     // envelope sender: a bare address
  std::vector<std::string> recipients;  // envelope recipients: bare addresses
  // The message: its header lines (From, To, Subject, Date, Message-ID; each one line, already
  // encoded), and its plain-text and HTML bodies (UTF-8), sent as multipart/alternative with
  // libcurl's MIME API, each part quoted-printable.
  std::vector<std::string> headers;
  std::string text, html;
  int64_t timeout_seconds = 30;
  const std::atomic<bool>* cancel = nullptr;  // set: the transfer is abandoned within a second
};

struct SmtpResult {
  bool ok = false;     // the server accepted the message for every recipient (250 after DATA)
  long code = 0;       // the last SMTP reply code; 0 when there was none
  std::string error;   // why not ok
};

// Sends one email; thread-safe.
class SmtpTransport {
 public:
  virtual ~SmtpTransport() = default;
  virtual SmtpResult send(const SmtpRequest& request) const = 0;
};

// The real transport, over libcurl.
std::shared_ptr<const SmtpTransport> curl_smtp_transport();

}  // namespace casewatch
