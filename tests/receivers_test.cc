// Receivers (SPEC 6): the exact payloads of every renderer, the email and its MIME structure,
// allowed_recipient_domains, and real deliveries to an in-process HTTP server and to a file.
#include "daemon/receivers.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "integrations/http_post.h"
#include "integrations/smtp_send.h"
#include "rules/date.h"
#include "rules/template.h"

namespace casewatch {
namespace {

using json = nlohmann::json;

Notification sample() {
  Notification n;
  n.id = "n-1";
  n.receiver = "team-hook";
  n.route = "route 1";
  n.group_key = "{team=\"Assessment\"}";
  n.group_labels = {{"team", "Assessment"}};
  n.created_at = 1718352000;  // 2024-06-14T08:00:00Z
  n.external_url = "http://casewatch.example:9797/";

  NotifiedAlert a;
  a.alert.fingerprint = "fp1";
  a.alert.rule = "assessment_overdue";
  a.alert.key = "C1";
  a.alert.severity = Severity::Critical;
  a.alert.state = AlertState::Firing;
  a.alert.active_since = 1718000000;  // 2024-06-10T06:13:20Z
  a.alert.fired_at = 1718100000;      // 2024-06-11T10:00:00Z
  a.alert.labels = {{"alertname", "assessment_overdue"}, {"key", "C1"}, {"severity", "critical"}, {"team", "Assessment"}};
  a.alert.annotations = {{"summary", "Assessment for C1 overdue"}, {"runbook", "see wiki"}};
  a.alert.due_date = days_from_civil(2024, 6, 10);
  n.alerts.push_back(a);

  NotifiedAlert b;
  b.alert.fingerprint = "fp2";
  b.alert.rule = "visit_overdue";
  b.alert.key = "C2";
  b.alert.severity = Severity::Warning;
  b.alert.state = AlertState::Firing;
  b.alert.active_since = 1717000000;  // 2024-05-29T16:26:40Z; never fired_at: startsAt falls back
  b.alert.labels = {{"alertname", "visit_overdue"}, {"key", "C2"}, {"severity", "warning"}, {"team", "Assessment"}};
  b.alert.annotations = {{"summary", "Visit <late> & due"}, {"runbook", "see wiki"}};
  b.alert.due_date = days_from_civil(2024, 6, 1);
  b.resolved = true;
  b.ends_at = 1718300000;  // 2024-06-13T17:33:20Z
  n.alerts.push_back(b);
  return n;
}

// A scope like the config's: label names, count and status.
ReceiverTemplateScope sample_scope() { return {{"alertname", "count", "key", "severity", "status", "team"}}; }

std::shared_ptr<const Template> compile_template(const std::string& source, const ReceiverTemplateScope& scope,
                                                 const LookupTables* tables) {
  Scope s;
  s.tables = tables;
  for (const auto& name : scope.names) s.variables.emplace_back(name, name == "count" ? Type::Number : Type::String);
  std::vector<ExprError> errors;
  auto t = Template::compile(source, s, errors);
  EXPECT_TRUE(t) << (errors.empty() ? "" : errors[0].message);
  return t ? std::make_shared<const Template>(std::move(*t)) : nullptr;
}

std::shared_ptr<LookupTables> team_emails() {
  auto tables = std::make_shared<LookupTables>();
  tables->add("team_email", "Assessment", Value::of_string("assessment@example.org"));
  tables->add("team_email", "Fostering", Value::of_string("fostering@example.org"));
  return tables;
}

ReceiverConfig email_receiver(const std::string& to, const LookupTables* tables) {
  ReceiverConfig r;
  r.name = "team-mail";
  r.type = ReceiverType::Email;
  r.smtp_url = "smtp://127.0.0.1:1";  // nothing listens: a quick, transient failure
  r.from = "casewatch@example.org";
  r.to = compile_template(to, sample_scope(), tables);
  r.to_source = to;
  r.timeout_seconds = 5;
  return r;
}

std::string temp_dir() {
  auto dir = std::filesystem::temp_directory_path() /
             ("casewatch-receivers-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

void write_file(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// Decodes quoted-printable (CRLF line ends, "=\r\n" soft breaks) into text with "\n" line ends.
std::string decode_qp(const std::string& in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '=' && in.compare(i, 3, "=\r\n") == 0) {
      i += 2;
    } else if (in[i] == '=' && i + 2 < in.size()) {
      out += static_cast<char>(std::stoi(in.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else if (in[i] == '\r' && i + 1 < in.size() && in[i + 1] == '\n') {
      out += '\n';
      ++i;
    } else {
      out += in[i];
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Renderers

TEST(ReceiversPayload, AlertmanagerWebhookVersion4) {
  json expected = json::parse(R"({
    "version": "4",
    "groupKey": "{team=\"Assessment\"}",
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "team-hook",
    "groupLabels": {"team": "Assessment"},
    "commonLabels": {"team": "Assessment"},
    "commonAnnotations": {"runbook": "see wiki"},
    "externalURL": "http://casewatch.example:9797/",
    "alerts": [
      {"status": "firing",
       "labels": {"alertname": "assessment_overdue", "key": "C1", "severity": "critical", "team": "Assessment"},
       "annotations": {"runbook": "see wiki", "summary": "Assessment for C1 overdue"},
       "startsAt": "2024-06-11T10:00:00Z",
       "endsAt": "0001-01-01T00:00:00Z",
       "generatorURL": "http://casewatch.example:9797/#rule-assessment_overdue",
       "fingerprint": "fp1"},
      {"status": "resolved",
       "labels": {"alertname": "visit_overdue", "key": "C2", "severity": "warning", "team": "Assessment"},
       "annotations": {"runbook": "see wiki", "summary": "Visit <late> & due"},
       "startsAt": "2024-05-29T16:26:40Z",
       "endsAt": "2024-06-13T17:33:20Z",
       "generatorURL": "http://casewatch.example:9797/#rule-visit_overdue",
       "fingerprint": "fp2"}
    ]})");
  EXPECT_EQ(alertmanager_webhook_payload(sample()), expected);
}

TEST(ReceiversPayload, AlertmanagerWebhookAllResolved) {
  Notification n = sample();
  n.alerts.erase(n.alerts.begin());
  n.external_url.clear();
  json payload = alertmanager_webhook_payload(n);
  EXPECT_EQ(payload["status"], "resolved");
  EXPECT_EQ(payload["commonLabels"]["alertname"], "visit_overdue");
  EXPECT_EQ(payload["alerts"][0]["generatorURL"], "");
}

TEST(ReceiversPayload, Teams) {
  json expected = json::parse(R"({
    "type": "message",
    "attachments": [{
      "contentType": "application/vnd.microsoft.card.adaptive",
      "contentUrl": null,
      "content": {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
          {"type": "TextBlock", "text": "[FIRING] 2 alerts: team=Assessment", "weight": "Bolder", "size": "Medium",
           "color": "Attention", "wrap": true},
          {"type": "FactSet", "separator": true, "facts": [
            {"title": "Status", "value": "firing"},
            {"title": "Severity", "value": "critical"},
            {"title": "Rule", "value": "assessment_overdue"},
            {"title": "Key", "value": "C1"},
            {"title": "Summary", "value": "Assessment for C1 overdue"},
            {"title": "Due", "value": "2024-06-10"}]},
          {"type": "FactSet", "separator": true, "facts": [
            {"title": "Status", "value": "resolved"},
            {"title": "Severity", "value": "warning"},
            {"title": "Rule", "value": "visit_overdue"},
            {"title": "Key", "value": "C2"},
            {"title": "Summary", "value": "Visit <late> & due"},
            {"title": "Due", "value": "2024-06-01"}]}
        ],
        "actions": [{"type": "Action.OpenUrl", "title": "Open casewatch", "url": "http://casewatch.example:9797/"}]
      }
    }]})");
  EXPECT_EQ(teams_payload(sample()), expected);
}

TEST(ReceiversPayload, TeamsWithoutExternalUrlHasNoActions) {
  Notification n = sample();
  n.external_url.clear();
  n.digest = true;
  n.alerts[0].is_new = true;
  json content = teams_payload(n)["attachments"][0]["content"];
  EXPECT_FALSE(content.contains("actions"));
  EXPECT_EQ(content["body"][0]["text"], "[FIRING] Digest, 2 alerts (1 new): team=Assessment");
  EXPECT_EQ(content["body"][1]["facts"][0]["value"], "firing (new)");
}

TEST(ReceiversPayload, Slack) {
  json expected = json::parse(R"({
    "text": "[FIRING] 2 alerts: team=Assessment",
    "blocks": [
      {"type": "header", "text": {"type": "plain_text", "text": "[FIRING] 2 alerts: team=Assessment", "emoji": true}},
      {"type": "section", "text": {"type": "mrkdwn",
        "text": "*critical* `assessment_overdue` key `C1`\nAssessment for C1 overdue\nDue: 2024-06-10"}},
      {"type": "section", "text": {"type": "mrkdwn",
        "text": "*RESOLVED* *warning* `visit_overdue` key `C2`\nVisit &lt;late&gt; &amp; due\nDue: 2024-06-01"}},
      {"type": "context", "elements": [{"type": "mrkdwn",
        "text": "casewatch | route 1 | <http://casewatch.example:9797/|status page>"}]}
    ]})");
  EXPECT_EQ(slack_payload(sample()), expected);
}

TEST(ReceiversPayload, SlackListsAtMostFortyAlerts) {
  Notification n = sample();
  while (n.alerts.size() < 45) n.alerts.push_back(n.alerts[0]);
  json payload = slack_payload(n);
  ASSERT_EQ(payload["blocks"].size(), 1u + 40u + 1u + 1u);  // header, 40 alerts, "more", context
  EXPECT_EQ(payload["blocks"][41]["text"]["text"], "... and 5 more");
}

TEST(ReceiversPayload, AlertmanagerApiAlerts) {
  json expected = json::parse(R"([
    {"labels": {"alertname": "assessment_overdue", "key": "C1", "severity": "critical", "team": "Assessment"},
     "annotations": {"runbook": "see wiki", "summary": "Assessment for C1 overdue"},
     "startsAt": "2024-06-11T10:00:00Z",
     "generatorURL": "http://casewatch.example:9797/#rule-assessment_overdue"},
    {"labels": {"alertname": "visit_overdue", "key": "C2", "severity": "warning", "team": "Assessment"},
     "annotations": {"runbook": "see wiki", "summary": "Visit <late> & due"},
     "startsAt": "2024-05-29T16:26:40Z",
     "endsAt": "2024-06-13T17:33:20Z",
     "generatorURL": "http://casewatch.example:9797/#rule-visit_overdue"}
  ])");
  EXPECT_EQ(alertmanager_api_alerts(sample()), expected);
}

// ---------------------------------------------------------------------------------------------
// Email

TEST(ReceiversEmail, TextAndHtml) {
  auto tables = team_emails();
  ReceiverConfig r = email_receiver("duty@example.org", tables.get());
  Notification n = sample();
  std::string error;
  EmailMessage m = render_email(r, n, *tables, sample_scope(), error);
  EXPECT_EQ(error, "");
  EXPECT_EQ(m.to, std::vector<std::string>{"duty@example.org"});
  EXPECT_EQ(m.subject, "[casewatch] 2 alerts: team=Assessment");
  EXPECT_EQ(m.text,
            "2 alerts: team=Assessment\n"
            "\n"
            "* FIRING: assessment_overdue\n"
            "  Severity: critical\n"
            "  Key: C1\n"
            "  Summary: Assessment for C1 overdue\n"
            "  Due: 2024-06-10\n"
            "\n"
            "* RESOLVED: visit_overdue\n"
            "  Severity: warning\n"
            "  Key: C2\n"
            "  Summary: Visit <late> & due\n"
            "  Due: 2024-06-01\n"
            "\n"
            "Status page: http://casewatch.example:9797/\n"
            "\n"
            "-- \n"
            "casewatch, route 1\n");
  EXPECT_NE(m.html.find("<tr><td>firing</td><td>critical</td><td>assessment_overdue</td><td>C1</td>"
                        "<td>Assessment for C1 overdue</td><td>2024-06-10</td></tr>"),
            std::string::npos)
      << m.html;
  EXPECT_NE(m.html.find("<tr style=\"color:#666666\"><td>resolved</td><td>warning</td><td>visit_overdue</td>"
                        "<td>C2</td><td>Visit &lt;late&gt; &amp; due</td><td>2024-06-01</td></tr>"),
            std::string::npos)
      << m.html;
  EXPECT_EQ(m.html.find("<late>"), std::string::npos);
  EXPECT_NE(m.html.find("<a href=\"http://casewatch.example:9797/\">Status page</a>"), std::string::npos);
  EXPECT_NE(m.html.find("<h2>2 alerts: team=Assessment</h2>"), std::string::npos);
}

TEST(ReceiversEmail, DigestMarksNewAlerts) {
  auto tables = team_emails();
  ReceiverConfig r = email_receiver("duty@example.org", tables.get());
  Notification n = sample();
  n.digest = true;
  n.alerts[0].is_new = true;
  std::string error;
  EmailMessage m = render_email(r, n, *tables, sample_scope(), error);
  EXPECT_NE(m.text.find("Digest, 2 alerts (1 new): team=Assessment\n"), std::string::npos) << m.text;
  EXPECT_NE(m.text.find("* FIRING, NEW: assessment_overdue\n"), std::string::npos) << m.text;
  EXPECT_NE(m.html.find("<td>firing <b>new</b></td>"), std::string::npos);
}

TEST(ReceiversEmail, ToTemplateUsesLookupOverGroupLabels) {
  auto tables = team_emails();
  ReceiverConfig r = email_receiver("{{ lookup('team_email', team, 'duty@example.org') }}, Lead@Example.org, ", tables.get());
  r.subject = compile_template("{{ count }} {{ status }} for {{ team }} ({{ alertname }})", sample_scope(), tables.get());
  Notification n = sample();
  std::string error;
  EmailMessage m = render_email(r, n, *tables, sample_scope(), error);
  EXPECT_EQ(error, "");
  EXPECT_EQ(m.to, (std::vector<std::string>{"assessment@example.org", "Lead@Example.org"}));
  // alertname differs between the two alerts: not a common label, so null (empty text).
  EXPECT_EQ(m.subject, "2 firing for Assessment ()");

  n.group_labels = {{"team", "Leaving care"}};  // not in the table: the default
  m = render_email(r, n, *tables, sample_scope(), error);
  EXPECT_EQ(m.to, (std::vector<std::string>{"duty@example.org", "Lead@Example.org"}));

  // No group label "team", but a common label: used.
  n.group_labels.clear();
  m = render_email(r, n, *tables, sample_scope(), error);
  EXPECT_EQ(m.to[0], "assessment@example.org");
}

TEST(ReceiversEmail, MalformedOrMissingAddressIsAnError) {
  auto tables = team_emails();
  std::string error;
  render_email(email_receiver("not-an-address", tables.get()), sample(), *tables, sample_scope(), error);
  EXPECT_NE(error.find("malformed address"), std::string::npos) << error;
  render_email(email_receiver(" , ", tables.get()), sample(), *tables, sample_scope(), error);
  EXPECT_NE(error.find("no address"), std::string::npos) << error;
}

TEST(ReceiversEmail, MimeStructure) {
  EmailMessage m;
  m.to = {"a@example.org", "b@example.org"};
  m.subject = "[casewatch] 2 alerts: team=Assessment";
  m.text = "Line one = two\nA very long line " + std::string(100, 'x') + " end\ntrailing space \ncafé\n";
  m.html = "<p>caf\xC3\xA9</p>\n";
  std::string mime = email_mime(m, "Casewatch <casewatch@example.org>", "n-1", 1718352000);

  // CRLF everywhere, and no line longer than 78 characters.
  for (size_t i = 0; i < mime.size(); ++i) {
    if (mime[i] == '\n') {
      ASSERT_TRUE(i > 0 && mime[i - 1] == '\r') << "bare LF at " << i;
    }
  }
  std::istringstream lines(mime);
  for (std::string line; std::getline(lines, line);) EXPECT_LE(line.size(), 79u) << line;

  size_t end_of_headers = mime.find("\r\n\r\n");
  ASSERT_NE(end_of_headers, std::string::npos);
  std::string headers = mime.substr(0, end_of_headers + 2);
  EXPECT_NE(headers.find("Date: Fri, 14 Jun 2024 08:00:00 +0000\r\n"), std::string::npos) << headers;
  EXPECT_NE(headers.find("From: Casewatch <casewatch@example.org>\r\n"), std::string::npos);
  EXPECT_NE(headers.find("To: a@example.org, b@example.org\r\n"), std::string::npos);
  EXPECT_NE(headers.find("Subject: [casewatch] 2 alerts: team=Assessment\r\n"), std::string::npos);
  EXPECT_NE(headers.find("Message-ID: <n-1@example.org>\r\n"), std::string::npos);
  EXPECT_NE(headers.find("MIME-Version: 1.0\r\n"), std::string::npos);

  std::string marker = "Content-Type: multipart/alternative; boundary=\"";
  size_t at = headers.find(marker);
  ASSERT_NE(at, std::string::npos);
  std::string boundary = headers.substr(at + marker.size(), headers.find('"', at + marker.size()) - at - marker.size());
  EXPECT_EQ(boundary.rfind("=_casewatch_", 0), 0u);

  // Exactly two parts, text then HTML, and the closing delimiter last.
  std::string delimiter = "\r\n--" + boundary + "\r\n";
  size_t first = mime.find(delimiter, end_of_headers);
  ASSERT_EQ(first, end_of_headers + 2);  // the body opens with the first part (no preamble)
  size_t second = mime.find(delimiter, first + 1);
  ASSERT_NE(second, std::string::npos);
  EXPECT_EQ(mime.find(delimiter, second + 1), std::string::npos);
  std::string closing = "\r\n--" + boundary + "--\r\n";
  ASSERT_GE(mime.size(), closing.size());
  EXPECT_EQ(mime.substr(mime.size() - closing.size()), closing);

  std::string part1 = mime.substr(first + delimiter.size(), second - first - delimiter.size());
  std::string part2 = mime.substr(second + delimiter.size(), mime.size() - closing.size() - second - delimiter.size());
  std::string qp_headers = "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
  ASSERT_EQ(part1.rfind("Content-Type: text/plain; charset=utf-8\r\n" + qp_headers, 0), 0u) << part1;
  ASSERT_EQ(part2.rfind("Content-Type: text/html; charset=utf-8\r\n" + qp_headers, 0), 0u) << part2;
  size_t h1 = part1.find("\r\n\r\n") + 4, h2 = part2.find("\r\n\r\n") + 4;
  // Each body ends in CRLF before the delimiter's own CRLF: decoding gives the text back.
  EXPECT_EQ(decode_qp(part1.substr(h1) + "\r\n"), m.text);
  EXPECT_EQ(decode_qp(part2.substr(h2) + "\r\n"), m.html);
  EXPECT_NE(part1.find("Line one =3D two"), std::string::npos);
  EXPECT_NE(part1.find("trailing space=20\r\n"), std::string::npos);
  EXPECT_NE(part1.find("caf=C3=A9"), std::string::npos);
}

TEST(ReceiversEmail, NonAsciiSubjectIsEncoded) {
  EmailMessage m;
  m.to = {"a@example.org"};
  m.subject = "\xC3\x89valuation en retard";  // "Évaluation en retard"
  m.text = "x\n";
  m.html = "<p>x</p>\n";
  std::string mime = email_mime(m, "casewatch@example.org", "n-2", 0);
  EXPECT_NE(mime.find("Subject: =?UTF-8?B?w4l2YWx1YXRpb24gZW4gcmV0YXJk?=\r\n"), std::string::npos) << mime;

  // Long subjects become several encoded words, folded, none split inside a character.
  m.subject.clear();
  for (int i = 0; i < 30; ++i) m.subject += "\xC3\xA9t\xC3\xA9 ";
  mime = email_mime(m, "casewatch@example.org", "n-2", 0);
  size_t subject = mime.find("Subject: ");
  std::string header = mime.substr(subject, mime.find("\r\nMessage-ID") - subject);
  EXPECT_NE(header.find("?=\r\n =?UTF-8?B?"), std::string::npos) << header;
}

TEST(ReceiversEmail, HeaderInjectionIsImpossible) {
  EmailMessage m;
  m.to = {"a@example.org"};
  m.subject = "hello\r\nBcc: victim@example.com";
  m.text = "x\n";
  m.html = "x\n";
  std::string mime = email_mime(m, "casewatch@example.org", "n\r\n3", 0);
  EXPECT_EQ(mime.find("\r\nBcc:"), std::string::npos);
  EXPECT_NE(mime.find("Message-ID: <n--3@example.org>\r\n"), std::string::npos) << mime;
}

TEST(ReceiversDeliver, RecipientOutsideAllowedDomainsIsPermanent) {
  auto tables = team_emails();
  ReceiverConfig r = email_receiver("{{ lookup('team_email', team, 'duty@example.org') }}, someone@Gmail.com", tables.get());
  r.allowed_recipient_domains = {"example.org"};
  Receivers receivers({r}, tables, sample_scope());
  Notification n = sample();
  n.receiver = "team-mail";
  DeliveryResult result = receivers.deliver(n);
  EXPECT_FALSE(result.ok);
  EXPECT_TRUE(result.permanent);
  EXPECT_NE(result.error.find("'gmail.com'"), std::string::npos) << result.error;
  EXPECT_NE(result.error.find("allowed_recipient_domains"), std::string::npos);
  EXPECT_EQ(result.error.find("someone"), std::string::npos) << "names the address: " << result.error;
}

TEST(ReceiversDeliver, AllowedDomainIsCaseInsensitiveThenSmtpFailureIsTransient) {
  auto tables = team_emails();
  ReceiverConfig r = email_receiver("Lead@EXAMPLE.org", tables.get());
  r.allowed_recipient_domains = {"example.org"};
  Receivers receivers({r}, tables, sample_scope());
  Notification n = sample();
  n.receiver = "team-mail";
  DeliveryResult result = receivers.deliver(n);
  EXPECT_FALSE(result.ok);
  EXPECT_FALSE(result.permanent) << result.error;
  EXPECT_EQ(result.error.find("allowed_recipient_domains"), std::string::npos) << result.error;
}

TEST(ReceiversDeliver, UnknownReceiverIsPermanent) {
  Receivers receivers({}, nullptr, sample_scope());
  EXPECT_FALSE(receivers.has("team-hook"));
  DeliveryResult result = receivers.deliver(sample());
  EXPECT_FALSE(result.ok);
  EXPECT_TRUE(result.permanent);
}

// ---------------------------------------------------------------------------------------------
// HTTP, against a real server in this process

struct Captured {
  std::string path, body, authorization, notification_id, content_type, team_header;
};

class TestServer {
 public:
  TestServer() {
    auto handler = [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mutex_);
      Captured c{req.path, req.body, req.get_header_value("Authorization"),
                 req.get_header_value("X-Casewatch-Notification-Id"), req.get_header_value("Content-Type"),
                 req.get_header_value("X-Team")};
      captured_.push_back(c);
      if (req.path == "/fail") res.status = 503;
      else if (req.path == "/bad") res.status = 400;
      else res.status = req.path == "/api/v2/alerts" ? 200 : 202;
      res.set_content("{}", "application/json");
    };
    server_.Post("/hook", handler);
    server_.Post("/fail", handler);
    server_.Post("/bad", handler);
    server_.Post("/api/v2/alerts", handler);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 500 && !server_.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~TestServer() {
    server_.stop();
    thread_.join();
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  std::vector<Captured> captured() {
    std::lock_guard lock(mutex_);
    return captured_;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<Captured> captured_;
};

TEST(ReceiversHttp, PostSendsHeadersAndReportsStatus) {
  TestServer server;
  ASSERT_GT(server.url("").size(), 0u);
  HttpPostRequest request;
  request.url = server.url("/hook");
  request.body = R"({"a":1})";
  request.headers = {{"X-Team", "Assessment"}};
  request.bearer_token = "tok";
  HttpPostResult ok = http_post(request);
  EXPECT_TRUE(ok.ok) << ok.error;
  EXPECT_EQ(ok.status, 202);
  EXPECT_EQ(ok.body, "{}");

  request.url = server.url("/fail");
  HttpPostResult failed = http_post(request);
  EXPECT_FALSE(failed.ok);
  EXPECT_EQ(failed.status, 503);
  EXPECT_EQ(failed.error, "HTTP 503");

  auto got = server.captured();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].body, R"({"a":1})");
  EXPECT_EQ(got[0].authorization, "Bearer tok");
  EXPECT_EQ(got[0].content_type, "application/json");
  EXPECT_EQ(got[0].team_header, "Assessment");

  request.url = "ftp://127.0.0.1/";
  EXPECT_FALSE(http_post(request).ok);
  request.url = server.url("/hook");
  request.headers = {{"X-Evil", "a\r\nInjected: yes"}};
  HttpPostResult refused = http_post(request);
  EXPECT_FALSE(refused.ok);
  EXPECT_EQ(server.captured().size(), 2u);
}

TEST(ReceiversHttp, WebhookDeliversEachFormat) {
  TestServer server;
  std::string dir = temp_dir();
  write_file(dir + "/token", "  s3cret-token\n");
  ReceiverConfig r;
  r.name = "team-hook";
  r.type = ReceiverType::Webhook;
  r.url = server.url("/hook");
  r.headers = {{"X-Team", "Assessment"}};
  r.bearer_token_file = dir + "/token";
  r.timeout_seconds = 5;
  ReceiverConfig teams = r, slack = r;
  teams.name = "teams";
  teams.format = WebhookFormat::Teams;
  teams.bearer_token_file.clear();
  slack.name = "slack";
  slack.format = WebhookFormat::Slack;
  Receivers receivers({r, teams, slack}, nullptr, sample_scope());
  EXPECT_TRUE(receivers.has("teams"));
  ASSERT_NE(receivers.find("slack"), nullptr);
  EXPECT_EQ(receivers.find("slack")->format, WebhookFormat::Slack);

  Notification n = sample();
  DeliveryResult result = receivers.deliver(n);
  EXPECT_TRUE(result.ok) << result.error;
  n.receiver = "teams";
  EXPECT_TRUE(receivers.deliver(n).ok);
  n.receiver = "slack";
  EXPECT_TRUE(receivers.deliver(n).ok);

  auto got = server.captured();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].authorization, "Bearer s3cret-token");
  EXPECT_EQ(got[0].notification_id, "n-1");
  EXPECT_EQ(got[0].content_type, "application/json");
  EXPECT_EQ(got[0].team_header, "Assessment");
  n.receiver = "team-hook";
  EXPECT_EQ(json::parse(got[0].body), alertmanager_webhook_payload(n));
  EXPECT_EQ(got[1].authorization, "");
  n.receiver = "teams";
  EXPECT_EQ(json::parse(got[1].body), teams_payload(n));
  n.receiver = "slack";
  EXPECT_EQ(json::parse(got[2].body), slack_payload(n));

  // The token is read at every delivery: a rotated token is used at once.
  write_file(dir + "/token", "rotated\n");
  EXPECT_TRUE(receivers.deliver(n).ok);
  EXPECT_EQ(server.captured().back().authorization, "Bearer rotated");
  std::filesystem::remove_all(dir);
}

TEST(ReceiversHttp, WebhookFailures) {
  TestServer server;
  ReceiverConfig r;
  r.name = "team-hook";
  r.type = ReceiverType::Webhook;
  r.url = server.url("/fail");
  r.timeout_seconds = 5;
  ReceiverConfig bad = r, missing_token = r;
  bad.name = "bad";
  bad.url = server.url("/bad");
  missing_token.name = "missing-token";
  missing_token.url = server.url("/hook");
  missing_token.bearer_token_file = "/nonexistent/casewatch-token";
  Receivers receivers({r, bad, missing_token}, nullptr, sample_scope());
  Notification n = sample();

  DeliveryResult result = receivers.deliver(n);
  EXPECT_FALSE(result.ok);
  EXPECT_FALSE(result.permanent);
  EXPECT_NE(result.error.find("HTTP 503"), std::string::npos) << result.error;

  n.receiver = "bad";
  result = receivers.deliver(n);
  EXPECT_FALSE(result.ok);
  EXPECT_TRUE(result.permanent);

  n.receiver = "missing-token";
  result = receivers.deliver(n);
  EXPECT_FALSE(result.ok);
  EXPECT_FALSE(result.permanent);
  EXPECT_NE(result.error.find("bearer_token_file"), std::string::npos) << result.error;
  EXPECT_EQ(server.captured().size(), 2u);  // nothing sent without the token
}

TEST(ReceiversHttp, AlertmanagerPostsToEveryPeer) {
  TestServer server;
  ReceiverConfig r;
  r.name = "am";
  r.type = ReceiverType::Alertmanager;
  r.urls = {server.url("/"), "http://127.0.0.1:1", server.url("")};
  r.timeout_seconds = 5;
  Receivers receivers({r}, nullptr, sample_scope());
  Notification n = sample();
  n.receiver = "am";
  DeliveryResult result = receivers.deliver(n);
  EXPECT_TRUE(result.ok);
  EXPECT_NE(result.error.find("http://127.0.0.1:1/api/v2/alerts"), std::string::npos) << result.error;
  auto got = server.captured();
  ASSERT_EQ(got.size(), 2u);
  for (const auto& c : got) {
    EXPECT_EQ(c.path, "/api/v2/alerts");
    EXPECT_EQ(c.notification_id, "n-1");
    EXPECT_EQ(json::parse(c.body), alertmanager_api_alerts(n));
  }

  ReceiverConfig down = r;
  down.name = "down";
  down.urls = {"http://127.0.0.1:1"};
  Receivers none({down}, nullptr, sample_scope());
  n.receiver = "down";
  result = none.deliver(n);
  EXPECT_FALSE(result.ok);
  EXPECT_FALSE(result.permanent);
  EXPECT_NE(result.error.find("no Alertmanager accepted"), std::string::npos) << result.error;
}

// ---------------------------------------------------------------------------------------------
// SMTP, against a scripted plain-text server in this process (no STARTTLS offered, no AUTH)

class FakeSmtp {
 public:
  FakeSmtp() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listener_, 4), 0);
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeSmtp() {
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    thread_.join();
  }
  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }
  std::string mail_from() {
    std::lock_guard lock(mutex_);
    return mail_from_;
  }
  std::string data() {
    std::lock_guard lock(mutex_);
    return data_;
  }
  std::vector<std::string> recipients() {
    std::lock_guard lock(mutex_);
    return recipients_;
  }

 private:
  void serve() {
    int fd = ::accept(listener_, nullptr, nullptr);
    if (fd < 0) return;
    std::string buffer;
    auto send = [&](const std::string& s) { (void)::write(fd, s.data(), s.size()); };
    auto read_until = [&](const std::string& end, std::string& out) {
      char chunk[4096];
      while (buffer.find(end) == std::string::npos) {
        ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n <= 0) return false;
        buffer.append(chunk, static_cast<size_t>(n));
      }
      size_t at = buffer.find(end);
      out = buffer.substr(0, at);
      buffer.erase(0, at + end.size());
      return true;
    };
    send("220 fake ESMTP\r\n");
    std::string line;
    while (read_until("\r\n", line)) {
      std::string verb = line.substr(0, 4);
      if (verb == "EHLO") {
        send("250-fake\r\n250 8BITMIME\r\n");
      } else if (verb == "MAIL") {
        std::lock_guard lock(mutex_);
        mail_from_ = line;
        send("250 OK\r\n");
      } else if (verb == "RCPT") {
        std::lock_guard lock(mutex_);
        recipients_.push_back(line);
        send(line.find("refused") != std::string::npos ? "550 no such user\r\n" : "250 OK\r\n");
      } else if (verb == "DATA") {
        send("354 go ahead\r\n");
        std::string message;
        if (!read_until("\r\n.\r\n", message)) break;
        {
          std::lock_guard lock(mutex_);
          data_ = message;
        }
        send("250 queued\r\n");
      } else if (verb == "QUIT") {
        send("221 bye\r\n");
        break;
      } else {
        send("250 OK\r\n");
      }
    }
    ::close(fd);
  }
  int listener_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::string mail_from_, data_;
  std::vector<std::string> recipients_;
};

TEST(ReceiversSmtp, SendsEnvelopeAndMessage) {
  FakeSmtp server;
  SmtpRequest request;
  request.url = server.url();
  request.from = "casewatch@example.org";
  request.recipients = {"a@example.org", "b@example.org"};
  request.message = "Subject: x\r\n\r\nhello\r\n.leading dot\r\n";
  request.timeout_seconds = 5;
  SmtpResult result = smtp_send(request);
  EXPECT_TRUE(result.ok) << result.error;
  EXPECT_EQ(server.mail_from(), "MAIL FROM:<casewatch@example.org>");
  EXPECT_EQ(server.recipients(), (std::vector<std::string>{"RCPT TO:<a@example.org>", "RCPT TO:<b@example.org>"}));
  EXPECT_EQ(server.data(), "Subject: x\r\n\r\nhello\r\n..leading dot");  // dot-stuffed on the wire
}

TEST(ReceiversSmtp, RefusedRecipientIsAPermanentFailure) {
  FakeSmtp server;
  auto tables = team_emails();
  ReceiverConfig r = email_receiver("refused@example.org", tables.get());
  r.smtp_url = server.url();
  Receivers receivers({r}, tables, sample_scope());
  Notification n = sample();
  n.receiver = "team-mail";
  DeliveryResult result = receivers.deliver(n);
  EXPECT_FALSE(result.ok);
  EXPECT_TRUE(result.permanent) << result.error;
  EXPECT_TRUE(server.data().empty());
}

TEST(ReceiversSmtp, EmailReceiverDeliversTheMimeMessage) {
  FakeSmtp server;
  auto tables = team_emails();
  ReceiverConfig r = email_receiver("{{ lookup('team_email', team, 'duty@example.org') }}", tables.get());
  r.smtp_url = server.url();
  r.from = "Casewatch <casewatch@example.org>";
  r.allowed_recipient_domains = {"EXAMPLE.org"};
  Receivers receivers({r}, tables, sample_scope());
  Notification n = sample();
  n.receiver = "team-mail";
  DeliveryResult result = receivers.deliver(n);
  EXPECT_TRUE(result.ok) << result.error;
  EXPECT_EQ(server.mail_from(), "MAIL FROM:<casewatch@example.org>");
  EXPECT_EQ(server.recipients(), std::vector<std::string>{"RCPT TO:<assessment@example.org>"});
  EXPECT_NE(server.data().find("Message-ID: <n-1@example.org>\r\n"), std::string::npos);
  EXPECT_NE(server.data().find("To: assessment@example.org\r\n"), std::string::npos);
  EXPECT_NE(server.data().find("Subject: [casewatch] 2 alerts: team=Assessment\r\n"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// File

TEST(ReceiversFile, AppendsOneJsonLinePerNotification) {
  std::string dir = temp_dir();
  ReceiverConfig r;
  r.name = "log";
  r.type = ReceiverType::File;
  r.path = dir + "/notifications.jsonl";
  Receivers receivers({r}, nullptr, sample_scope());
  Notification n = sample();
  n.receiver = "log";
  ASSERT_TRUE(receivers.deliver(n).ok);
  n.id = "n-2";
  n.alerts[0].alert.annotations["summary"] = "line\nbreak and invalid UTF-8 \xff";
  ASSERT_TRUE(receivers.deliver(n).ok);

  std::ifstream in(r.path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 2u);
  Notification first = sample();
  first.receiver = "log";
  EXPECT_EQ(json::parse(lines[0]), notification_to_json(first));
  EXPECT_EQ(json::parse(lines[1])["id"], "n-2");
  EXPECT_EQ(json::parse(lines[1])["alerts"][0]["annotations"]["summary"], "line\nbreak and invalid UTF-8 \xEF\xBF\xBD");

  ReceiverConfig nowhere = r;
  nowhere.name = "nowhere";
  nowhere.path = dir + "/missing/dir/file.jsonl";
  Receivers failing({nowhere}, nullptr, sample_scope());
  n.receiver = "nowhere";
  DeliveryResult result = failing.deliver(n);
  EXPECT_FALSE(result.ok);
  EXPECT_FALSE(result.permanent);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace casewatch
