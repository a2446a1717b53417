#include "integrations/redact.h"

#include <algorithm>

#include <re2/re2.h>

namespace casewatch {

void Redactor::add_secret(std::string_view secret) {
  if (secret.size() < 3) return;  // shorter would cut letters out of every word, and hides nothing
  secrets_.emplace_back(secret);
  std::stable_sort(secrets_.begin(), secrets_.end(), [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string Redactor::operator()(std::string_view message) const {
  std::string out(message);
  static constexpr std::string_view kMark = "[redacted]";
  for (const std::string& secret : secrets_)
    // On past each replacement: a secret inside the mark itself ("red") is not found again.
    for (size_t at = out.find(secret); at != std::string::npos; at = out.find(secret, at + kMark.size()))
      out.replace(at, secret.size(), kMark);
  static const RE2 userinfo(R"(([A-Za-z][A-Za-z0-9+.\-]*://)[^/@\s"'<>]*@)");
  static const RE2 query(R"(([A-Za-z][A-Za-z0-9+.\-]*://[^\s"'?#<>]*)\?[^\s"'#<>]*)");
  static const RE2 password(R"((?i)(\b(?:ssl)?pass(?:word|wd)?\s*=\s*)('[^']*'|[^\s'"]+))");
  static const RE2 authorization(R"((?i)(\b(?:bearer|basic)\s+)[A-Za-z0-9._~+/=\-]{6,})");
  RE2::GlobalReplace(&out, userinfo, R"(\1[redacted]@)");
  RE2::GlobalReplace(&out, query, R"(\1?[redacted])");
  RE2::GlobalReplace(&out, password, R"(\1[redacted])");
  RE2::GlobalReplace(&out, authorization, R"(\1[redacted])");
  return out;
}

}  // namespace casewatch
