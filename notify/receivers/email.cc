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
#include "config/as_of.h"

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

namespace {

constexpr const char* kTextColour = "#1f2328";
constexpr const char* kLinkColour = "#0b5cad";
constexpr const char* kMutedColour = "#57606a";

// The colour of an item's timing: overdue red, due today amber, else the text's (each at least
// 4.5:1 on white).
const char* timing_colour(Urgency urgency) {
  return urgency == Urgency::Overdue ? "#a40e26" : urgency == Urgency::DueToday ? "#7a4d00" : kTextColour;
}

// The plain-text and HTML bodies from the team's day: most urgent first, by worker, each item
// with its timing and a link to its page; Outlook's HTML (tables and inline styles only).
void write_bodies(const ReadableNotification& r, const Notification& n, const MessageTemplates& wording,
                  EmailMessage& message) {
  const DayContext& c = r.context;
  const TeamDay& day = r.day;
  bool links = !n.external_url.empty();
  auto say = [&](Phrase p, std::initializer_list<Value> values) { return wording.render(p, values, c.today, *c.calendar); };
  const std::string group = day.group;
  const Value group_value = Value::of_string(group);
  const std::string new_mark = say(Phrase::ItemNew, {});

  std::string text = day.intro + "\n\n" + day.counts + "\n";
  std::string html = "<!DOCTYPE html>\n<html lang=\"en-GB\"><head><meta charset=\"utf-8\">"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>" +
                     html_escape(message.subject) + "</title></head>\n<body style=\"margin:0;padding:0;background:#ffffff;color:" +
                     kTextColour + ";font-family:'Segoe UI',Arial,sans-serif;font-size:15px;line-height:1.4\">\n"
                     "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\">"
                     "<tr><td style=\"padding:16px\">\n<h1 style=\"font-size:20px;margin:0 0 8px 0\">" + html_escape(group) +
                     "</h1>\n<p style=\"margin:0 0 8px 0\">" + html_escape(day.intro) + "</p>\n<p style=\"margin:0 0 16px 0\"><b>" +
                     html_escape(day.counts) + "</b>";
  if (links) {
    std::string team_link = say(Phrase::TeamLink, {group_value});
    text += team_link + ": " + day.page_link + "\n";
    html += "<br><a href=\"" + html_escape(day.page_link) + "\" style=\"color:" + kLinkColour + "\">" + html_escape(team_link) +
            "</a>";
  }
  html += "</p>\n";

  auto heading = [&](const std::string& title, int level) {
    text += "\n" + title + "\n" + std::string(std::min<size_t>(title.size(), 60), level == 2 ? '=' : '-') + "\n";
    html += level == 2 ? "<h2 style=\"font-size:17px;margin:20px 0 6px 0\">" + html_escape(title) + "</h2>\n"
                       : "<h3 style=\"font-size:15px;margin:14px 0 4px 0\">" + html_escape(title) + "</h3>\n";
  };
  auto table_start = [&](bool with_timing) {
    html += "<table width=\"100%\" cellpadding=\"6\" cellspacing=\"0\" border=\"0\" style=\"border-collapse:collapse\">\n<tr>";
    if (with_timing)
      html += std::string("<th scope=\"col\" align=\"left\" width=\"220\" style=\"width:220px;border-bottom:1px solid #d0d7de;color:") +
              kMutedColour + ";font-weight:normal\">When</th>";
    html += std::string("<th scope=\"col\" align=\"left\" style=\"border-bottom:1px solid #d0d7de;color:") + kMutedColour +
            ";font-weight:normal\">What</th></tr>\n";
  };
  auto item_row = [&](const DayItem& item, bool with_timing, const std::string& note) {
    std::string marks = item.is_new ? " (" + new_mark + ")" : "";
    text += "  - " + item.line + marks + (note.empty() ? "" : "; " + note) + "\n";
    if (links) text += "    " + item.link + "\n";
    html += "<tr>";
    if (with_timing)
      html += std::string("<td valign=\"top\" style=\"border-bottom:1px solid #eaeef2;white-space:nowrap;font-weight:bold;color:") +
              timing_colour(item.urgency) + "\">" + html_escape(item.timing) + "</td>";
    html += "<td valign=\"top\" style=\"border-bottom:1px solid #eaeef2\">";
    html += links ? "<a href=\"" + html_escape(item.link) + "\" style=\"color:" + kLinkColour + "\">" + html_escape(item.what) + "</a>"
                  : html_escape(item.what);
    if (item.is_new) html += " <b>(" + html_escape(new_mark) + ")</b>";
    if (!note.empty()) html += std::string("<br><span style=\"color:") + kMutedColour + "\">" + html_escape(note) + "</span>";
    html += "</td></tr>\n";
  };

  if (!day.workers.empty()) {
    heading(say(Phrase::TimescalesHeading, {group_value}), 2);
    for (const WorkerDay& w : day.workers) {
      heading(w.heading, 3);
      table_start(true);
      for (size_t i : w.items) item_row(day.timescales[i], true, "");
      html += "</table>\n";
    }
  }
  auto section = [&](Phrase title, const std::vector<DayItem>& items, bool with_timing, bool acknowledged) {
    if (items.empty()) return;
    heading(say(title, {group_value}), 2);
    table_start(with_timing);
    for (const DayItem& item : items) item_row(item, with_timing && !item.timing.empty(), acknowledged ? item.acknowledged : "");
    html += "</table>\n";
  };
  section(Phrase::MeasuresHeading, day.measures, false, false);
  section(Phrase::OthersHeading, day.others, false, false);
  section(Phrase::AcknowledgedHeading, day.acknowledged, false, true);
  section(Phrase::ResolvedHeading, day.resolved, false, false);

  std::string footer = say(Phrase::Footer, {group_value});
  text += "\n-- \n" + footer + "\n";
  html += std::string("<p style=\"margin:24px 0 0 0;color:") + kMutedColour + ";font-size:13px\">" + html_escape(footer) +
          "</p>\n</td></tr></table>\n</body></html>\n";
  message.text = std::move(text);
  message.html = std::move(html);
}

}  // namespace

EmailMessage render_email(const ReceiverConfig& receiver, const Notification& n, const ReceiverContext& receivers,
                          std::string& error) {
  EmailMessage message;
  error.clear();
  static const LookupTables kNoTables;
  const LookupTables& tables = receivers.tables ? *receivers.tables : kNoTables;

  // The `to` and `subject` templates' variables, by slot. The Values view into these strings.
  const StringMap common = n.common_labels();
  const std::string status(notification_status_name(n.status()));
  std::vector<Value> variables;
  variables.reserve(receivers.scope.names.size());
  for (const auto& name : receivers.scope.names) {
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

  // Subject: the receiver's own template, else the team's day's.
  const MessageTemplates& wording = receiver.templates ? *receiver.templates : *MessageTemplates::defaults();
  ReadableNotification r = readable(n, receivers, &wording);
  if (receiver.subject) message.subject = one_line(receiver.subject->render(context));
  if (message.subject.empty()) message.subject = r.day.subject;

  write_bodies(r, n, wording, message);
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
      : Receiver(config), context_(context) {}

  DeliveryResult deliver(const Notification& n, const std::string&, int64_t now,
                         const std::atomic<bool>& cancel) const override {
    const ReceiverConfig& r = config_;
    std::string error;
    EmailMessage message = render_email(r, n, context_, error);
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
    SmtpResult sent = context_.smtp->send(request);
    if (sent.ok) return {true, false, ""};
    return {false, sent.code >= 500 && sent.code < 600, "receiver '" + r.name + "': " + sent.error};
  }

 private:
  ReceiverContext context_;
};

}  // namespace

std::unique_ptr<Receiver> make_email_receiver(const ReceiverConfig& config, const ReceiverContext& context) {
  return std::make_unique<EmailReceiver>(config, context);
}

}  // namespace casewatch
