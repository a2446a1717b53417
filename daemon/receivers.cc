#include "daemon/receivers.h"
#include "daemon/html.h"
#include "integrations/json_text.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <set>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "integrations/file_bytes.h"
#include "integrations/http_post.h"
#include "integrations/smtp_send.h"
#include "rules/date.h"
#include "rules/rule.h"
#include "rules/template.h"

namespace casewatch {

namespace {

using json = nlohmann::json;

// Chat messages list at most this many alerts (Slack allows 50 blocks; Teams about 28 KB).
constexpr size_t kMaxChatAlerts = 40;

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

std::string labels_text(const std::map<std::string, std::string>& labels) {
  std::string out;
  for (const auto& [name, value] : labels) {
    if (!out.empty()) out += ", ";
    out += name + "=" + value;
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
  std::string status = n.status() == "firing" ? "FIRING" : "RESOLVED";
  return "[" + status + "] " + heading(n);
}

int64_t starts_at(const Alert& a) { return a.fired_at != 0 ? a.fired_at : a.active_since; }

std::string status_of(const NotifiedAlert& a) { return a.resolved ? "resolved" : "firing"; }

std::string summary_of(const Alert& a) {
  auto it = a.annotations.find("summary");
  return it == a.annotations.end() ? std::string() : it->second;
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

// Slack's three control characters.
std::string slack_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      default: out += c;
    }
  }
  return out;
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

}  // namespace

// ---------------------------------------------------------------------------------------------
// Chat and webhook payloads

json alertmanager_webhook_payload(const Notification& n) {
  json alerts = json::array();
  for (const auto& na : n.alerts) {
    const Alert& a = na.alert;
    alerts.push_back({{"status", status_of(na)},
                      {"labels", a.labels},
                      {"annotations", a.annotations},
                      {"startsAt", rfc3339_utc(starts_at(a))},
                      {"endsAt", na.resolved ? rfc3339_utc(na.ends_at) : rfc3339_utc(0)},
                      {"generatorURL", generator_url(n, a)},
                      {"fingerprint", a.fingerprint}});
  }
  return {{"version", "4"},
          {"groupKey", n.group_key},
          {"truncatedAlerts", 0},
          {"status", n.status()},
          {"receiver", n.receiver},
          {"groupLabels", n.group_labels},
          {"commonLabels", n.common_labels()},
          {"commonAnnotations", n.common_annotations()},
          {"externalURL", n.external_url},
          {"alerts", alerts}};
}

json teams_payload(const Notification& n) {
  bool firing = n.status() == "firing";
  json body = json::array();
  body.push_back({{"type", "TextBlock"},
                  {"text", chat_title(n)},
                  {"weight", "Bolder"},
                  {"size", "Medium"},
                  {"color", firing ? "Attention" : "Good"},
                  {"wrap", true}});
  size_t listed = std::min(n.alerts.size(), kMaxChatAlerts);
  for (size_t i = 0; i < listed; ++i) {
    const NotifiedAlert& na = n.alerts[i];
    const Alert& a = na.alert;
    json facts = json::array();
    facts.push_back({{"title", "Status"}, {"value", status_of(na) + (na.is_new ? " (new)" : "")}});
    facts.push_back({{"title", "Severity"}, {"value", std::string(severity_name(a.severity))}});
    facts.push_back({{"title", "Rule"}, {"value", a.rule}});
    facts.push_back({{"title", "Key"}, {"value", a.key}});
    if (std::string s = summary_of(a); !s.empty()) facts.push_back({{"title", "Summary"}, {"value", s}});
    if (std::string d = due_of(a); !d.empty()) facts.push_back({{"title", "Due"}, {"value", d}});
    body.push_back({{"type", "FactSet"}, {"separator", true}, {"facts", facts}});
  }
  if (listed < n.alerts.size())
    body.push_back({{"type", "TextBlock"},
                    {"text", "... and " + std::to_string(n.alerts.size() - listed) + " more"},
                    {"isSubtle", true},
                    {"wrap", true}});
  json content = {{"$schema", "http://adaptivecards.io/schemas/adaptive-card.json"},
                  {"type", "AdaptiveCard"},
                  {"version", "1.4"},
                  {"body", body}};
  if (!n.external_url.empty())
    content["actions"] = json::array({{{"type", "Action.OpenUrl"}, {"title", "Open casewatch"}, {"url", n.external_url}}});
  return {{"type", "message"},
          {"attachments", json::array({{{"contentType", "application/vnd.microsoft.card.adaptive"},
                                        {"contentUrl", nullptr},
                                        {"content", content}}})}};
}

json slack_payload(const Notification& n) {
  std::string title = chat_title(n);
  json blocks = json::array();
  blocks.push_back({{"type", "header"},
                    {"text", {{"type", "plain_text"}, {"text", truncate_utf8(title, 150)}, {"emoji", true}}}});
  size_t listed = std::min(n.alerts.size(), kMaxChatAlerts);
  auto code = [](std::string s) {
    std::replace(s.begin(), s.end(), '`', '\'');
    return "`" + slack_escape(s) + "`";
  };
  for (size_t i = 0; i < listed; ++i) {
    const NotifiedAlert& na = n.alerts[i];
    const Alert& a = na.alert;
    std::string text;
    if (na.resolved) text += "*RESOLVED* ";
    if (na.is_new) text += "*NEW* ";
    text += "*" + std::string(severity_name(a.severity)) + "* " + code(a.rule) + " key " + code(a.key);
    if (std::string s = summary_of(a); !s.empty()) text += "\n" + slack_escape(s);
    if (std::string d = due_of(a); !d.empty()) text += "\nDue: " + d;
    blocks.push_back({{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", truncate_utf8(text, 3000)}}}});
  }
  if (listed < n.alerts.size())
    blocks.push_back({{"type", "section"},
                      {"text", {{"type", "mrkdwn"}, {"text", "... and " + std::to_string(n.alerts.size() - listed) + " more"}}}});
  std::string context = "casewatch";
  if (!n.route.empty()) context += " | " + slack_escape(n.route);
  if (!n.external_url.empty()) context += " | <" + slack_escape(n.external_url) + "|status page>";
  blocks.push_back({{"type", "context"}, {"elements", json::array({{{"type", "mrkdwn"}, {"text", context}}})}});
  return {{"text", slack_escape(title)}, {"blocks", blocks}};
}

json alertmanager_api_alerts(const Notification& n) {
  json out = json::array();
  for (const auto& na : n.alerts) {
    const Alert& a = na.alert;
    json alert = {{"labels", a.labels}, {"annotations", a.annotations}, {"startsAt", rfc3339_utc(starts_at(a))}};
    if (na.resolved) alert["endsAt"] = rfc3339_utc(na.ends_at != 0 ? na.ends_at : n.created_at);
    alert["generatorURL"] = generator_url(n, a);
    out.push_back(std::move(alert));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Email

std::string envelope_address(const std::string& address) {
  size_t open = address.rfind('<');
  if (open != std::string::npos) {
    size_t close = address.find('>', open);
    if (close != std::string::npos) return strip(std::string_view(address).substr(open + 1, close - open - 1));
  }
  return strip(address);
}

namespace {

bool valid_address(const std::string& a) {
  size_t at = a.rfind('@');
  if (at == std::string::npos || at == 0 || at + 1 >= a.size()) return false;
  for (unsigned char c : a)
    if (c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == ',' || c == '"' || c == '(' || c == ')' || c == ';')
      return false;
  return a.find('@') == at;
}

std::string domain_of(const std::string& address) {
  size_t at = address.rfind('@');
  return at == std::string::npos ? std::string() : lower(address.substr(at + 1));
}

}  // namespace

EmailMessage render_email(const ReceiverConfig& receiver, const Notification& n, const LookupTables& tables,
                          const ReceiverTemplateScope& scope, std::string& error) {
  EmailMessage message;
  error.clear();

  // The templates' variables, by slot. The Values view into these strings, kept alive here.
  const std::map<std::string, std::string> common = n.common_labels();
  const std::string status = n.status();
  std::vector<Value> variables;
  variables.reserve(scope.names.size());
  for (const auto& name : scope.names) {
    if (name == "count") {
      variables.push_back(Value::of_number(static_cast<double>(n.alerts.size())));
    } else if (name == "status") {
      variables.push_back(Value::of_string(status));
    } else if (auto it = n.group_labels.find(name); it != n.group_labels.end()) {
      variables.push_back(Value::of_string(it->second));
    } else if (auto c = common.find(name); c != common.end()) {
      variables.push_back(Value::of_string(c->second));
    } else {
      variables.push_back(Value::null());
    }
  }
  Arena arena;
  EvalContext context;
  context.variables = variables;
  context.tables = &tables;
  context.arena = &arena;
  if (n.created_at > 0) context.today = static_cast<Day>(n.created_at / 86400);

  // Recipients.
  if (!receiver.to) {
    error = "receiver '" + receiver.name + "' has no `to`";
  } else {
    std::string rendered = receiver.to->render(context);
    std::set<std::string> seen;
    size_t position = 0;
    size_t start = 0;
    while (start <= rendered.size()) {
      size_t comma = rendered.find(',', start);
      if (comma == std::string::npos) comma = rendered.size();
      std::string item = strip(std::string_view(rendered).substr(start, comma - start));
      start = comma + 1;
      if (item.empty()) continue;
      ++position;
      std::string address = envelope_address(item);
      if (!valid_address(address)) {
        if (error.empty()) error = "the `to` of receiver '" + receiver.name + "' gave a malformed address (item " +
                                   std::to_string(position) + ")";
        continue;
      }
      if (seen.insert(lower(address)).second) message.to.push_back(address);
    }
    if (message.to.empty() && error.empty())
      error = "the `to` of receiver '" + receiver.name + "' gave no address";
  }

  // Subject.
  if (receiver.subject) message.subject = one_line(receiver.subject->render(context));
  if (message.subject.empty()) {
    message.subject = "[casewatch] " + count_text(n.alerts.size());
    std::string labels = labels_text(n.group_labels);
    if (!labels.empty()) message.subject += ": " + labels;
    message.subject = one_line(message.subject);
  }

  // Bodies.
  std::string head = heading(n);
  std::string text = head + "\n";
  std::string html =
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + html_escape(message.subject) +
      "</title></head>\n<body style=\"font-family:sans-serif\">\n<h2>" + html_escape(head) +
      "</h2>\n<table cellpadding=\"4\" style=\"border-collapse:collapse\">\n"
      "<tr><th align=\"left\">Status</th><th align=\"left\">Severity</th><th align=\"left\">Rule</th>"
      "<th align=\"left\">Key</th><th align=\"left\">Summary</th><th align=\"left\">Due</th></tr>\n";
  for (const auto& na : n.alerts) {
    const Alert& a = na.alert;
    std::string severity(severity_name(a.severity));
    std::string summary = summary_of(a);
    std::string due = due_of(a);
    std::string marks = na.resolved ? "RESOLVED" : "FIRING";
    if (na.is_new) marks += ", NEW";
    text += "\n* " + marks + ": " + a.rule + "\n";
    text += "  Severity: " + severity + "\n";
    text += "  Key: " + a.key + "\n";
    if (!summary.empty()) text += "  Summary: " + one_line(summary) + "\n";
    if (!due.empty()) text += "  Due: " + due + "\n";

    html += na.resolved ? "<tr style=\"color:#666666\">" : "<tr>";
    html += "<td>" + std::string(na.resolved ? "resolved" : "firing") + (na.is_new ? " <b>new</b>" : "") + "</td>";
    html += "<td>" + html_escape(severity) + "</td>";
    html += "<td>" + html_escape(a.rule) + "</td>";
    html += "<td>" + html_escape(a.key) + "</td>";
    html += "<td>" + html_escape(summary) + "</td>";
    html += "<td>" + html_escape(due) + "</td></tr>\n";
  }
  html += "</table>\n";
  if (!n.external_url.empty()) {
    text += "\nStatus page: " + n.external_url + "\n";
    html += "<p><a href=\"" + html_escape(n.external_url) + "\">Status page</a></p>\n";
  }
  text += "\n-- \ncasewatch" + (n.route.empty() ? std::string() : ", " + n.route) + "\n";
  html += "</body></html>\n";
  message.text = std::move(text);
  message.html = std::move(html);
  return message;
}

namespace {

// Quoted-printable (RFC 2045 6.7) with CRLF hard line breaks; "\n" or "\r\n" in the input end lines.
std::string quoted_printable(std::string_view input) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  size_t pos = 0;
  while (pos <= input.size()) {
    size_t end = input.find('\n', pos);
    bool last = end == std::string_view::npos;
    if (last) end = input.size();
    std::string_view line = input.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (last && line.empty()) break;  // nothing after the final line break
    size_t width = 0;
    for (size_t i = 0; i < line.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(line[i]);
      bool at_end = i + 1 == line.size();
      std::string token;
      if ((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_end)) {
        token = static_cast<char>(c);
      } else {
        token = {'=', hex[c >> 4], hex[c & 15]};
      }
      if (width + token.size() > 75) {  // leave room for the soft break's '='
        out += "=\r\n";
        width = 0;
      }
      out += token;
      width += token.size();
    }
    out += "\r\n";
    if (last) break;
    pos = end + 1;
  }
  return out;
}

std::string base64(std::string_view in) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += table[v >> 18];
    out += table[(v >> 12) & 63];
    out += table[(v >> 6) & 63];
    out += table[v & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += table[v >> 18];
    out += table[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += table[v >> 18];
    out += table[(v >> 12) & 63];
    out += table[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

bool needs_encoding(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80 || c < 0x20 || c == 0x7f) return true;
  return s.size() > 900;  // too long for one header line: encoded words fold
}

// RFC 2047 encoded words (UTF-8, base64), each at most 75 characters, folded with CRLF SP.
std::string encode_words(std::string_view s) {
  if (!needs_encoding(s)) return std::string(s);
  std::string out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t n = std::min<size_t>(45, s.size() - pos);  // 45 bytes -> 60 base64 characters
    // Never split a UTF-8 character.
    while (n > 0 && pos + n < s.size() && (static_cast<unsigned char>(s[pos + n]) & 0xC0) == 0x80) --n;
    if (n == 0) n = std::min<size_t>(45, s.size() - pos);
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + base64(s.substr(pos, n)) + "?=";
    pos += n;
  }
  return out;
}

// "Name <a@b>" with a non-ASCII name encoded; a bare address as it is.
std::string header_address(const std::string& raw) {
  std::string address = one_line(raw);
  size_t open = address.rfind('<');
  if (open == std::string::npos || open == 0) return address;
  std::string name = strip(std::string_view(address).substr(0, open));
  std::string rest = address.substr(open);
  if (needs_encoding(name)) return encode_words(name) + " " + rest;
  return name + " " + rest;
}

// Header field text: no line breaks, folded after commas to keep lines short.
std::string address_list(const std::vector<std::string>& addresses, size_t first_line_used) {
  std::string out;
  size_t width = first_line_used;
  for (size_t i = 0; i < addresses.size(); ++i) {
    std::string a = one_line(addresses[i]);
    if (i > 0) {
      out += ",";
      ++width;
      if (width + 1 + a.size() > 76) {
        out += "\r\n";
        width = 0;
      }
      out += " ";
      ++width;
    }
    out += a;
    width += a.size();
  }
  return out;
}

std::string rfc5322_date(int64_t seconds) {
  static const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  time_t t = static_cast<time_t>(seconds);
  struct tm utc {};
  gmtime_r(&t, &utc);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[utc.tm_wday], utc.tm_mday,
                months[utc.tm_mon], utc.tm_year + 1900, utc.tm_hour, utc.tm_min, utc.tm_sec);
  return buffer;
}

// Only the characters of a dot-atom.
std::string atom_text(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    bool ok = std::isalnum(c) || std::strchr("!#$%&'*+-/=?^_`{|}~.", c) != nullptr;
    out += ok && c != 0 ? static_cast<char>(c) : '-';
  }
  while (!out.empty() && out.front() == '.') out.erase(out.begin());
  while (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

std::string email_mime(const EmailMessage& message, const std::string& from, const std::string& message_id,
                       int64_t date_seconds) {
  std::string domain = atom_text(domain_of(envelope_address(from)));
  if (domain.empty()) domain = "casewatch.invalid";
  std::string id = atom_text(message_id);
  if (id.empty()) id = "casewatch";
  // "=_" never occurs in quoted-printable text, so the boundary cannot collide with a body.
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(fnv1a(message_id)));
  std::string boundary = std::string("=_casewatch_") + hash;

  std::string out;
  out += "Date: " + rfc5322_date(date_seconds) + "\r\n";
  out += "From: " + header_address(from) + "\r\n";
  out += "To: " + address_list(message.to, 4) + "\r\n";
  out += "Subject: " + encode_words(one_line(message.subject)) + "\r\n";
  out += "Message-ID: <" + id + "@" + domain + ">\r\n";
  out += "Auto-Submitted: auto-generated\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: multipart/alternative; boundary=\"" + boundary + "\"\r\n";
  out += "\r\n";
  out += "--" + boundary + "\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\n";
  out += "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
  out += quoted_printable(message.text);
  out += "--" + boundary + "\r\n";
  out += "Content-Type: text/html; charset=utf-8\r\n";
  out += "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
  out += quoted_printable(message.html);
  out += "--" + boundary + "--\r\n";
  return out;
}

// ---------------------------------------------------------------------------------------------
// Delivery

Receivers::Receivers(std::vector<ReceiverConfig> receivers, std::shared_ptr<const LookupTables> tables,
                     ReceiverTemplateScope scope)
    : receivers_(std::move(receivers)), tables_(std::move(tables)), scope_(std::move(scope)) {
  if (!tables_) tables_ = std::make_shared<const LookupTables>();
  for (size_t i = 0; i < receivers_.size(); ++i) by_name_.emplace(receivers_[i].name, i);
}

const ReceiverConfig* Receivers::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &receivers_[it->second];
}

DeliveryResult Receivers::deliver(const Notification& n) const {
  const ReceiverConfig* r = find(n.receiver);
  if (!r) return {false, true, "unknown receiver '" + n.receiver + "'"};
  switch (r->type) {
    case ReceiverType::Email: return deliver_email(*r, n);
    case ReceiverType::Webhook: return deliver_webhook(*r, n);
    case ReceiverType::Alertmanager: return deliver_alertmanager(*r, n);
    case ReceiverType::File: return deliver_file(*r, n);
  }
  return {false, true, "unknown receiver type"};
}

DeliveryResult Receivers::deliver_email(const ReceiverConfig& r, const Notification& n) const {
  std::string error;
  EmailMessage message = render_email(r, n, *tables_, scope_, error);
  if (!error.empty()) return {false, true, error};

  if (!r.allowed_recipient_domains.empty()) {
    std::set<std::string> allowed;
    for (const auto& d : r.allowed_recipient_domains) {
      std::string domain = lower(strip(d));
      if (!domain.empty() && domain.front() == '@') domain.erase(domain.begin());
      allowed.insert(domain);
    }
    std::vector<std::string> refused;
    for (const auto& address : message.to) {
      std::string domain = domain_of(address);
      if (!allowed.count(domain) && std::find(refused.begin(), refused.end(), domain) == refused.end())
        refused.push_back(domain);
    }
    if (!refused.empty()) {
      std::string list;
      for (const auto& d : refused) list += (list.empty() ? "'" : ", '") + d + "'";
      return {false, true,
              "receiver '" + r.name + "': recipient domain " + list +
                  (refused.size() == 1 ? " is" : " are") + " not in allowed_recipient_domains; nothing sent"};
    }
  }

  SmtpRequest request;
  request.url = r.smtp_url;
  request.username = r.username;
  if (!r.password_file.empty() && !read_secret(r.password_file, false, request.password, error))
    return {false, false, "receiver '" + r.name + "': password_file: " + error};
  request.from = envelope_address(r.from);
  request.recipients = message.to;
  request.timeout_seconds = r.timeout_seconds;
  request.message = email_mime(message, r.from, n.id, static_cast<int64_t>(std::time(nullptr)));
  SmtpResult sent = smtp_send(request);
  if (sent.ok) return {true, false, ""};
  return {false, sent.code >= 500 && sent.code < 600, "receiver '" + r.name + "': " + sent.error};
}

namespace {

bool base_request(const ReceiverConfig& r, const Notification& n, HttpPostRequest& request, std::string& error) {
  request.headers = r.headers;
  request.headers.emplace_back("X-Casewatch-Notification-Id", one_line(n.id));
  request.timeout_seconds = r.timeout_seconds;
  if (!r.bearer_token_file.empty()) {
    if (!read_secret(r.bearer_token_file, true, request.bearer_token, error)) {
      error = "bearer_token_file: " + error;
      return false;
    }
  }
  return true;
}

}  // namespace

DeliveryResult Receivers::deliver_webhook(const ReceiverConfig& r, const Notification& n) const {
  if (r.url.empty()) return {false, true, "receiver '" + r.name + "' has no url"};
  HttpPostRequest request;
  std::string error;
  if (!base_request(r, n, request, error)) return {false, false, "receiver '" + r.name + "': " + error};
  request.url = r.url;
  switch (r.format) {
    case WebhookFormat::Json: request.body = json_text(alertmanager_webhook_payload(n)); break;
    case WebhookFormat::Teams: request.body = json_text(teams_payload(n)); break;
    case WebhookFormat::Slack: request.body = json_text(slack_payload(n)); break;
  }
  // The URL itself may hold a secret (Slack, Teams): errors name the status or the transport's
  // reason, never the URL.
  HttpPostResult result = http_post(request);
  if (result.ok) return {true, false, ""};
  return {false, is_permanent_http(result.status), "receiver '" + r.name + "': " + result.error};
}

DeliveryResult Receivers::deliver_alertmanager(const ReceiverConfig& r, const Notification& n) const {
  if (r.urls.empty()) return {false, true, "receiver '" + r.name + "' has no urls"};
  HttpPostRequest request;
  std::string error;
  if (!base_request(r, n, request, error)) return {false, false, "receiver '" + r.name + "': " + error};
  request.body = json_text(alertmanager_api_alerts(n));
  bool any_ok = false;
  bool all_permanent = true;
  std::string failures;
  for (const auto& url : r.urls) {
    request.url = without_trailing_slash(url) + "/api/v2/alerts";
    HttpPostResult result = http_post(request);
    if (result.ok) {
      any_ok = true;
      continue;
    }
    if (!is_permanent_http(result.status)) all_permanent = false;
    failures += (failures.empty() ? "" : "; ") + request.url + ": " + result.error;
  }
  if (any_ok) return {true, false, failures};  // the peers gossip the rest; failures kept for logging
  return {false, all_permanent, "receiver '" + r.name + "': no Alertmanager accepted the alerts: " + failures};
}

DeliveryResult Receivers::deliver_file(const ReceiverConfig& r, const Notification& n) const {
  if (r.path.empty()) return {false, true, "receiver '" + r.name + "' has no path"};
  std::string line = json_text(notification_to_json(n)) + "\n";
  std::lock_guard lock(file_mutex_);
  int fd = ::open(r.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return {false, false, "receiver '" + r.name + "': " + r.path + ": " + std::strerror(errno)};
  struct stat before {};
  bool known_size = ::fstat(fd, &before) == 0;
  size_t written = 0;
  while (written < line.size()) {
    ssize_t w = ::write(fd, line.data() + written, line.size() - written);
    if (w < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      if (written > 0 && known_size) (void)::ftruncate(fd, before.st_size);  // no half line left behind
      ::close(fd);
      return {false, false, "receiver '" + r.name + "': " + r.path + ": " + std::strerror(e)};
    }
    written += static_cast<size_t>(w);
  }
  if (::fsync(fd) != 0) {
    int e = errno;
    ::close(fd);
    return {false, false, "receiver '" + r.name + "': " + r.path + ": fsync: " + std::strerror(e)};
  }
  if (::close(fd) != 0)
    return {false, false, "receiver '" + r.name + "': " + r.path + ": close: " + std::strerror(errno)};
  return {true, false, ""};
}

}  // namespace casewatch
