// Messages from libraries (libpq, libcurl, OpenSSL) may quote what they were given: a connection
// string, a URL with a token in its query, a password. Every such message passes through here
// before it becomes an error that is logged, shown in the API or sent as an alert. Pure;
// thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace casewatch {

class Redactor {
 public:
  // Each occurrence of `secret` (of 3 bytes or more) becomes "[redacted]".
  void add_secret(std::string_view secret);
  // `message` with every secret taken out, and whatever looks like one whoever gave it: a URL's
  // user:password@, its query string, password=... in a connection string, an Authorization
  // header's credentials.
  std::string operator()(std::string_view message) const;

 private:
  std::vector<std::string> secrets_;  // longest first, so that a secret inside another goes with it
};

}  // namespace casewatch
