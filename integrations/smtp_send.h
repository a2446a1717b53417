// One email handed to an SMTP server with libcurl: the email receiver's transport.
// `smtp://host:port` upgrades with STARTTLS when the server offers it, and insists on it when a
// username is given (so a password never crosses the network in clear text); `smtps://` is TLS
// from the start. Certificates and host names are always verified.
// Thread-safe: each call uses its own curl handle.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace casewatch {

struct SmtpRequest {
  std::string url;                      // smtp://host:587 or smtps://host:465
  std::string username;                 // empty: no authentication
  std::string password;                 // the caller reads it from password_file
  std::string from;                     // envelope sender: a bare address
  std::vector<std::string> recipients;  // envelope recipients: bare addresses
  std::string message;                  // the whole RFC 5322 message, CRLF line endings
  int64_t timeout_seconds = 30;
};

struct SmtpResult {
  bool ok = false;     // the server accepted the message for every recipient (250 after DATA)
  long code = 0;       // the last SMTP reply code; 0 when there was none
  std::string error;   // why not ok
};

SmtpResult smtp_send(const SmtpRequest& request);

}  // namespace casewatch
