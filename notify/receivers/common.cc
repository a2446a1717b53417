#include "notify/receivers/common.h"

#include <algorithm>
#include <cctype>

#include "integrations/file_bytes.h"
#include "rules/date.h"

namespace casewatch::receiver_text {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string strip(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

// Line breaks and tabs become spaces: for one-line fields (headers, titles).
std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\r' || c == '\n' || c == '\t') c = ' ';
  return strip(s);
}


std::string count_text(size_t n) { return std::to_string(n) + (n == 1 ? " alert" : " alerts"); }

std::string labels_text(const StringMap& labels) {
  std::string out;
  for (const auto& [name, value] : labels) {
    if (!out.empty()) out += ", ";
    out.append(name).append("=").append(value);
  }
  return out;
}

size_t count_new(const Notification& n) {
  return static_cast<size_t>(std::count_if(n.alerts.begin(), n.alerts.end(), [](const auto& a) { return a.is_new; }));
}

// "2 alerts: team=Assessment", "Digest, 5 alerts (2 new): team=Assessment".
std::string heading(const Notification& n) {
  std::string out = count_text(n.alerts.size());
  if (n.digest) out = "Digest, " + out + " (" + std::to_string(count_new(n)) + " new)";
  std::string labels = labels_text(n.group_labels);
  if (!labels.empty()) out += ": " + labels;
  return one_line(out);
}

// "[FIRING] 2 alerts: team=Assessment".
std::string chat_title(const Notification& n) {
  std::string status = n.status() == NotificationStatus::Firing ? "FIRING" : "RESOLVED";
  return "[" + status + "] " + heading(n);
}

int64_t starts_at(const Alert& a) { return a.fired_at != 0 ? a.fired_at : a.active_since; }

std::string status_of(const NotifiedAlert& a) { return a.resolved ? "resolved" : "firing"; }

std::string summary_of(const Alert& a) {
  return std::string(a.annotations.value_or_empty("summary"));
}

std::string due_of(const Alert& a) { return a.due_date == kNullDay ? std::string() : format_iso(a.due_date); }

std::string percent_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string without_trailing_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// The rule's section of the status page.
std::string generator_url(const Notification& n, const Alert& a) {
  if (n.external_url.empty()) return "";
  return without_trailing_slash(n.external_url) + "/#rule-" + percent_encode(a.rule);
}


// At most `max` bytes, cut at a UTF-8 character boundary, with "..." when cut.
std::string truncate_utf8(const std::string& s, size_t max) {
  if (s.size() <= max) return s;
  size_t cut = max >= 3 ? max - 3 : 0;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut) + "...";
}

bool is_permanent_http(long status) { return status >= 400 && status < 500 && status != 408 && status != 425 && status != 429; }

// Reads a secret file. `trim_all`: surrounding whitespace goes (tokens); otherwise only the
// line ending(s) at the end (passwords may hold spaces).
bool read_secret(const std::string& path, bool trim_all, std::string& secret, std::string& error) {
  FileBytes file;
  std::string why;
  if (!file.open(path, why)) {
    error = "cannot read secret: " + why;
    return false;
  }
  std::string_view bytes = file.bytes();
  if (trim_all) {
    secret = strip(bytes);
  } else {
    while (!bytes.empty() && (bytes.back() == '\n' || bytes.back() == '\r')) bytes.remove_suffix(1);
    secret = std::string(bytes);
  }
  return true;
}

}  // namespace casewatch::receiver_text
