#include "notify/receivers/email.h"

#include <algorithm>
#include <cstring>
#include <ctime>
#include <set>

#include "integrations/html.h"
#include "notify/receivers/common.h"
#include "notify/receivers/receiver.h"
#include "rules/date.h"
#include "rules/template.h"

namespace casewatch {

using namespace receiver_text;

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
  const StringMap common = n.common_labels();
  const std::string status(notification_status_name(n.status()));
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

}  // namespace

std::vector<std::string> email_headers(const EmailMessage& message, const std::string& from,
                                       const std::string& message_id, int64_t date_seconds) {
  std::string domain = atom_text(domain_of(envelope_address(from)));
  if (domain.empty()) domain = "casewatch.invalid";
  std::string id = atom_text(message_id);
  if (id.empty()) id = "casewatch";
  return {"Date: " + rfc5322_date(date_seconds),
          "From: " + header_address(from),
          "To: " + address_list(message.to, 4),
          "Subject: " + encode_words(one_line(message.subject)),
          "Message-ID: <" + id + "@" + domain + ">",
          "Auto-Submitted: auto-generated"};
}

namespace {

class EmailReceiver final : public Receiver {
 public:
  EmailReceiver(const ReceiverConfig& config, const ReceiverContext& context)
      : Receiver(config), tables_(context.tables), scope_(context.scope), smtp_(context.smtp) {
    if (!tables_) tables_ = std::make_shared<const LookupTables>();
  }

  DeliveryResult deliver(const Notification& n, const std::string&, int64_t now,
                         const std::atomic<bool>& cancel) const override {
    const ReceiverConfig& r = config_;
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
                "receiver '" + r.name + "': recipient domain " + list + (refused.size() == 1 ? " is" : " are") +
                    " not in allowed_recipient_domains; nothing sent"};
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
    request.headers = email_headers(message, r.from, n.id, now);
    request.text = message.text;
    request.html = message.html;
    request.cancel = &cancel;
    SmtpResult sent = smtp_->send(request);
    if (sent.ok) return {true, false, ""};
    return {false, sent.code >= 500 && sent.code < 600, "receiver '" + r.name + "': " + sent.error};
  }

 private:
  std::shared_ptr<const LookupTables> tables_;
  ReceiverTemplateScope scope_;
  std::shared_ptr<const SmtpTransport> smtp_;
};

}  // namespace

std::unique_ptr<Receiver> make_email_receiver(const ReceiverConfig& config, const ReceiverContext& context) {
  return std::make_unique<EmailReceiver>(config, context);
}

}  // namespace casewatch
