// Receivers (SPEC 6): the exact payloads of every renderer, the email, its headers and its MIME
// structure on the wire, allowed_recipient_domains, and real deliveries (libcurl) to an
// in-process HTTP server, a scripted SMTP server and a file.
#include "notify/receivers/alertmanager.h"
#include "notify/receivers/common.h"
#include "notify/receivers/email.h"
#include "notify/receivers/file.h"
#include "notify/receivers/receiver.h"
#include "notify/receivers/webhook.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
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

#include "config/message_templates.h"
#include "integrations/http_post.h"
#include "integrations/json_text.h"
#include "integrations/smtp_send.h"
#include "rules/date.h"
#include "rules/template.h"

namespace casewatch {
namespace {

using json = nlohmann::json;
using receiver_text::readable;
using receiver_text::ReadableNotification;

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
  a.alert.edit_text().labels = {{"alertname", "assessment_overdue"}, {"key", "C1"}, {"severity", "critical"}, {"team", "Assessment"}};
  a.alert.edit_text().annotations = {{"summary", "Assessment for C1 overdue"}, {"runbook", "see wiki"}};
  a.alert.due_date = days_from_civil(2024, 6, 10);
  n.alerts.push_back(a);

  NotifiedAlert b;
  b.alert.fingerprint = "fp2";
  b.alert.rule = "visit_overdue";
  b.alert.key = "C2";
  b.alert.severity = Severity::Warning;
  b.alert.state = AlertState::Firing;
  b.alert.active_since = 1717000000;  // 2024-05-29T16:26:40Z; never fired_at: startsAt falls back
  b.alert.edit_text().labels = {{"alertname", "visit_overdue"}, {"key", "C2"}, {"severity", "warning"}, {"team", "Assessment"}};
  b.alert.edit_text().annotations = {{"summary", "Visit <late> & due"}, {"runbook", "see wiki"}};
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

// What receivers are made with: `tables`, England and Wales' working days, local times in London,
// the real transports (libcurl).
ReceiverContext context_for(std::shared_ptr<const LookupTables> tables) {
  static const auto calendar = std::make_shared<const Calendar>(Calendar::england_and_wales_bank_holidays());
  return ReceiverContext{std::move(tables), sample_scope(), curl_http_transport(), curl_smtp_transport(), calendar,
                         "Europe/London", nullptr};
}

Receivers make_receivers(const std::vector<ReceiverConfig>& configs, std::shared_ptr<const LookupTables> tables) {
  return Receivers(configs, context_for(std::move(tables)));
}

// Delivers `n` to its receiver (to `target` for an Alertmanager peer), at the notification's time.
DeliveryResult deliver(const Receivers& receivers, const Notification& n, const std::string& target = "") {
  static const std::atomic<bool> never{false};
  const Receiver* r = receivers.find(n.receiver);
  if (!r) return {false, true, "unknown receiver '" + n.receiver + "'"};
  return r->deliver(n, target, n.created_at, never);
}

HttpPostResult http_post(const HttpPostRequest& request) { return curl_http_transport()->post(request); }
SmtpResult smtp_send(const SmtpRequest& request) { return curl_smtp_transport()->send(request); }

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

// A team's day as a manager's messages tell it: two workers and an unallocated case, overdue,
// due today and later, a measure off target, one acknowledged since the last message, one
// resolved; as of Friday 14 June 2024.
Notification team_sample() {
  Notification n;
  n.id = "n-7";
  n.receiver = "team-mail";
  n.route = "route 3";
  n.group_key = "{team=\"Assessment\"}";
  n.group_labels = {{"team", "Assessment"}};
  n.created_at = 1718352000;  // Friday 14 June 2024, 09:00 in London
  n.external_url = "https://casewatch.council.example/";
  auto timescale = [](std::string fp, std::string rule, std::string key, std::string worker, Day due, Severity severity) {
    NotifiedAlert a;
    a.alert.fingerprint = fp;
    a.alert.rule = rule;
    a.alert.key = key;
    a.alert.severity = severity;
    a.alert.state = AlertState::Firing;
    a.alert.edit_text().labels = {{"alertname", rule}, {"team", "Assessment"}};
    if (!worker.empty()) a.alert.edit_text().labels.set("worker", worker);
    a.alert.edit_text().annotations = {{"summary", "Assessment " + key + " (child C" + key.substr(1) + ") is due for authorisation on " +
                                           format_date(due, "%d/%m/%Y")}};
    a.alert.due_date = due;
    return a;
  };
  // In fingerprint order, as the dispatcher gives them: the model sorts.
  n.alerts.push_back(timescale("fp1", "assessment_timescale", "A1", "Smith, Jo", days_from_civil(2024, 6, 6), Severity::Critical));
  n.alerts.push_back(timescale("fp3", "assessment_timescale", "A3", "Khan, Ali", days_from_civil(2024, 6, 14), Severity::Warning));
  n.alerts.back().is_new = true;
  n.alerts.push_back(timescale("fp4", "cin_plan_timescale", "N4", "Smith, Jo", days_from_civil(2024, 6, 18), Severity::Warning));
  n.alerts.back().alert.edit_text().annotations = {{"summary", "Child in need N4 needs a child-in-need plan by 18/06/2024"}};
  n.alerts.push_back(timescale("fp5", "assessment_timescale", "A5", "", days_from_civil(2024, 6, 7), Severity::Critical));
  NotifiedAlert measure;
  measure.alert.fingerprint = "fp6";
  measure.alert.rule = "kpi_assessments_on_time";
  measure.alert.key = "Assessment";
  measure.alert.state = AlertState::Firing;
  measure.alert.edit_text().labels = {{"alertname", "kpi_assessments_on_time"}, {"team", "Assessment"}};
  measure.alert.edit_text().annotations = {{"summary", "Assessment: 72% of assessments were authorised within 10 working days (target 90%)"}};
  measure.alert.value = 0.72;
  n.alerts.push_back(measure);
  NotifiedAlert acknowledged = timescale("fp7", "assessment_timescale", "A7", "Khan, Ali", days_from_civil(2024, 6, 12), Severity::Critical);
  acknowledged.acknowledged_by = "alice";
  acknowledged.acknowledged_at = 1718350200;  // 08:30 in London
  acknowledged.acknowledged_comment = "chasing the team manager";
  n.alerts.push_back(acknowledged);
  NotifiedAlert resolved = timescale("fp8", "assessment_timescale", "A8", "Smith, Jo", days_from_civil(2024, 6, 13), Severity::Warning);
  resolved.resolved = true;
  resolved.ends_at = 1718350000;
  n.alerts.push_back(resolved);
  return n;
}

// `actual` is what tests/golden/receivers/NAME holds (CASEWATCH_UPDATE_GOLDEN=1 writes it).
void expect_golden(const std::string& name, const std::string& actual) {
  const std::string path = std::string(CASEWATCH_SOURCE_DIR) + "/tests/golden/receivers/" + name;
  if (const char* update = std::getenv("CASEWATCH_UPDATE_GOLDEN"); update && std::string(update) == "1") {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    write_file(path, actual);
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(actual, expected.str()) << "differs from " << path << " (CASEWATCH_UPDATE_GOLDEN=1 rewrites it)";
}

TEST(ReceiversGolden, EmailReadsAsTheTeamsDay) {
  auto tables = team_emails();
  ReceiverConfig r = email_receiver("{{ lookup('team_email', team, 'duty@example.org') }}", tables.get());
  std::string error;
  EmailMessage m = render_email(r, team_sample(), context_for(tables), error);
  EXPECT_EQ(error, "");
  EXPECT_EQ(m.to, std::vector<std::string>{"assessment@example.org"});
  EXPECT_EQ(m.subject, "Assessment: 2 overdue, 1 due today, 1 due this week, 1 measure off target, 1 resolved, 1 acknowledged");
  expect_golden("email.txt", m.text);
  expect_golden("email.html", m.html);
}

TEST(ReceiversGolden, TeamsCard) {
  expect_golden("teams.json", json_text(teams_payload(team_sample(), context_for(nullptr), nullptr)) + "\n");
}

TEST(ReceiversGolden, SlackBlocks) {
  expect_golden("slack.json", json_text(slack_payload(team_sample(), context_for(nullptr), nullptr)) + "\n");
}

// The order a manager needs, whatever order the alerts arrive in: overdue first (the most overdue
// first), critical before warning on the same day, each worker's together.
TEST(ReceiversReadable, MostUrgentFirstByWorker) {
  Notification n = team_sample();
  std::reverse(n.alerts.begin(), n.alerts.end());
  ReadableNotification r = readable(n, context_for(nullptr), nullptr);
  const TeamDay& day = r.day;
  std::vector<std::string> order;
  for (const DayItem& item : day.timescales) order.push_back(item.alert->key + " " + item.timing);
  EXPECT_EQ(order, (std::vector<std::string>{"A1 overdue by 6 working days", "A5 overdue by 5 working days",
                                             "A3 due today", "N4 due in 2 working days (Tuesday)"}));
  ASSERT_EQ(day.workers.size(), 3u);
  EXPECT_EQ(day.workers[0].heading, "Smith, Jo (1 overdue, 1 due this week)");
  EXPECT_EQ(day.workers[1].heading, "Not allocated (1 overdue)");
  EXPECT_EQ(day.workers[2].heading, "Khan, Ali (1 due today)");
  EXPECT_EQ(day.page_link, "https://casewatch.council.example/team?name=Assessment");
  EXPECT_EQ(day.timescales[0].link, "https://casewatch.council.example/alerts/fp1");
  ASSERT_EQ(day.acknowledged.size(), 1u);
  EXPECT_EQ(day.acknowledged[0].acknowledged, "acknowledged by alice at 14/06/2024 08:30");

  // Critical before warning when due the same day.
  n.alerts[0].alert.due_date = n.alerts[1].alert.due_date;
  for (auto& a : n.alerts) a.alert.severity = a.alert.key == "A1" ? Severity::Warning : a.alert.severity;
  Notification same_day;
  same_day.created_at = n.created_at;
  same_day.alerts = {team_sample().alerts[0], team_sample().alerts[3]};  // A1, A5
  same_day.alerts[0].alert.severity = Severity::Warning;
  same_day.alerts[0].alert.due_date = same_day.alerts[1].alert.due_date;
  ReadableNotification both = readable(same_day, context_for(nullptr), nullptr);
  ASSERT_EQ(both.day.timescales.size(), 2u);
  EXPECT_EQ(both.day.timescales[0].alert->key, "A5");  // critical
}

// Grouped by rule rather than team: the subject names the rule by its title.
TEST(ReceiversReadable, GroupNamedByRuleTitle) {
  Notification n = team_sample();
  n.group_labels = {{"alertname", "assessment_timescale"}};
  auto titles = std::make_shared<RuleTitles>(RuleTitles{{"assessment_timescale", "Assessment authorised"}});
  ReceiverContext context = context_for(nullptr);
  context.rule_titles = titles;
  EXPECT_EQ(readable(n, context, nullptr).day.group, "Assessment authorised");
  // Its alerts all are Assessment's: the team page is the link.
  EXPECT_EQ(readable(n, context, nullptr).day.page_link, "https://casewatch.council.example/team?name=Assessment");
  context.rule_titles = nullptr;
  EXPECT_EQ(readable(n, context, nullptr).day.group, "Assessment timescale");
}

TEST(ReceiversPayload, ChatMessagesListAtMostFortyItems) {
  Notification n = team_sample();
  n.alerts.resize(1);
  while (n.alerts.size() < 45) {
    n.alerts.push_back(n.alerts[0]);
    n.alerts.back().alert.key = "A" + std::to_string(100 + n.alerts.size());
  }
  json slack = slack_payload(n, context_for(nullptr), nullptr);
  std::string last_text = slack["blocks"][slack["blocks"].size() - 2]["elements"][0]["text"];
  EXPECT_EQ(last_text, "and 5 more on the team page");
  json card = teams_payload(n, context_for(nullptr), nullptr)["attachments"][0]["content"];
  size_t containers = 0;
  for (const auto& block : card["body"]) containers += block["type"] == "Container";
  EXPECT_EQ(containers, 40u);
  EXPECT_EQ(card["body"].back()["text"], "and 5 more on the team page");
  EXPECT_EQ(card["actions"][0]["url"], "https://casewatch.council.example/team?name=Assessment");
}

// One worker with forty long summaries: Slack gets sections of at most 3,000 characters, each cut
// between items (never inside a link), at most 50 blocks; Teams a card under 28 KB. What does not
// fit is counted in "and N more", never dropped unsaid.
TEST(ReceiversPayload, ChatMessagesStayWithinSlackAndTeamsLimits) {
  Notification n = team_sample();
  n.alerts.resize(1);
  n.alerts[0].alert.edit_text().annotations.set("summary", "Assessment & review <" + std::string(590, 'x') + ">");
  while (n.alerts.size() < 40) {
    n.alerts.push_back(n.alerts[0]);
    n.alerts.back().alert.key = "A" + std::to_string(100 + n.alerts.size());
    n.alerts.back().alert.fingerprint = "fp" + std::to_string(100 + n.alerts.size());
  }
  auto more_of = [](const std::string& text) {
    size_t space = text.find(' ', 4);
    return text.starts_with("and ") ? std::stoul(text.substr(4, space - 4)) : 0ul;
  };
  json slack = slack_payload(n, context_for(nullptr), nullptr);
  ASSERT_LE(slack["blocks"].size(), 50u);
  size_t listed = 0, more = 0;
  for (const auto& block : slack["blocks"]) {
    if (block["type"] == "section") {
      std::string text = block["text"]["text"];
      EXPECT_LE(text.size(), 3000u);
      EXPECT_EQ(std::count(text.begin(), text.end(), '<'), std::count(text.begin(), text.end(), '>')) << text;
      for (size_t at = text.find("\u2022"); at != std::string::npos; at = text.find("\u2022", at + 1)) ++listed;
    }
    if (block["type"] == "context") more = more_of(block["elements"][0]["text"]);
  }
  EXPECT_EQ(listed + more, 40u);

  std::string card_text = json_text(teams_payload(n, context_for(nullptr), nullptr));
  EXPECT_LT(card_text.size(), 28000u);
  json card = json::parse(card_text)["attachments"][0]["content"];
  size_t containers = 0;
  for (const auto& block : card["body"]) containers += block["type"] == "Container";
  EXPECT_EQ(containers + more_of(card["body"].back()["text"]), 40u);
  EXPECT_GT(more_of(card["body"].back()["text"]), 0u);
}

// A wording that renders nothing still gives each message a title, and no empty block (which
// Slack refuses).
TEST(ReceiversPayload, AnEmptyWordingStillNamesTheMessage) {
  Diagnostics d;
  auto wording = MessageTemplates::parse("[message]\nsubject = \"\"\nintro = \"{{ 1 / 0 }}\"\n", "empty.toml", nullptr, d);
  ASSERT_TRUE(wording);
  json slack = slack_payload(team_sample(), context_for(nullptr), wording.get());
  EXPECT_EQ(slack["text"], "casewatch: Assessment");
  EXPECT_EQ(slack["blocks"][0]["text"]["text"], "casewatch: Assessment");
  for (const auto& block : slack["blocks"])
    if (block["type"] == "section") EXPECT_NE(block["text"]["text"], "");
  json card = teams_payload(team_sample(), context_for(nullptr), wording.get())["attachments"][0]["content"];
  EXPECT_EQ(card["body"][0]["text"], "casewatch: Assessment");
  for (const auto& block : card["body"])
    if (block["type"] == "TextBlock") EXPECT_NE(block["text"], "");
  std::string error;
  auto tables = team_emails();
  ReceiverConfig r = email_receiver("duty@example.org", tables.get());
  r.templates = wording;
  EXPECT_EQ(render_email(r, team_sample(), context_for(tables), error).subject, "casewatch: Assessment");
}

TEST(ReceiversPayload, WithoutExternalUrlNoLinks) {
  Notification n = team_sample();
  n.external_url.clear();
  std::string teams = json_text(teams_payload(n, context_for(nullptr), nullptr));
  std::string slack = json_text(slack_payload(n, context_for(nullptr), nullptr));
  EXPECT_EQ(teams.find("OpenUrl"), std::string::npos);
  EXPECT_EQ(slack.find("/alerts/"), std::string::npos);
  EXPECT_EQ(slack.find("\"button\""), std::string::npos);
}

// A council's own wording, over the built-in phrase by phrase.
TEST(ReceiversPayload, OwnWordingOverTheBuiltIn) {
  Diagnostics d;
  auto wording = MessageTemplates::parse(
      "[message]\nsubject = \"casewatch {{ group }}: {{ counts }}\"\n[timing]\noverdue = \"{{ n }} days late (due {{ format_date(due, '%d %B') }})\"\n",
      "mine.toml", nullptr, d);
  ASSERT_TRUE(wording) << (d.empty() ? "" : d.items()[0].format());
  json card = teams_payload(team_sample(), context_for(nullptr), wording.get())["attachments"][0]["content"];
  EXPECT_EQ(card["body"][0]["text"], "casewatch Assessment: 2 overdue, 1 due today, 1 due this week, 1 measure off target, 1 resolved, 1 acknowledged");
  std::string text = json_text(card);
  EXPECT_NE(text.find("6 days late (due 06 June)"), std::string::npos) << text;
  EXPECT_NE(text.find("due today"), std::string::npos);  // a phrase it leaves alone stays built in
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
  const std::string body = alertmanager_api_alerts(sample());
  EXPECT_EQ(json::parse(body), expected);
  EXPECT_EQ(body, json_text(expected));  // as a JSON tree would dump it, byte for byte
}

// ---------------------------------------------------------------------------------------------
// Email

// Feed text is data, never markup: escaped in the HTML part, in Slack's mrkdwn and its links.
TEST(ReceiversEmail, MarkupInSummariesIsEscaped) {
  auto tables = team_emails();
  Notification n = sample();
  n.alerts[1].resolved = false;
  n.alerts[1].alert.edit_text().labels.set("worker", "<b>Jo</b> & <!channel>");
  std::string error;
  EmailMessage m = render_email(email_receiver("duty@example.org", tables.get()), n, context_for(tables), error);
  EXPECT_NE(m.html.find(">Visit &lt;late&gt; &amp; due</a>"), std::string::npos) << m.html;
  EXPECT_NE(m.html.find("&lt;b&gt;Jo&lt;/b&gt; &amp; &lt;!channel&gt;"), std::string::npos) << m.html;
  EXPECT_EQ(m.html.find("<late>"), std::string::npos);
  EXPECT_EQ(m.html.find("<b>Jo"), std::string::npos);
  std::string slack = json_text(slack_payload(n, context_for(nullptr), nullptr));
  EXPECT_NE(slack.find("|Visit &lt;late&gt; &amp; due>"), std::string::npos) << slack;
  EXPECT_EQ(slack.find("<!channel>"), std::string::npos) << slack;
}

TEST(ReceiversEmail, DigestSaysSoAndMarksNewItems) {
  auto tables = team_emails();
  ReceiverConfig r = email_receiver("duty@example.org", tables.get());
  Notification n = team_sample();
  n.digest = true;
  std::string error;
  EmailMessage m = render_email(r, n, context_for(tables), error);
  EXPECT_EQ(m.subject.rfind("Assessment today: 2 overdue", 0), 0u) << m.subject;
  EXPECT_NE(m.text.find("  - Assessment A3 (child C3) is due for authorisation on 14/06/2024: due today (new)\n"), std::string::npos) << m.text;
  EXPECT_NE(m.html.find("</a> <b>(new)</b>"), std::string::npos);
}

TEST(ReceiversEmail, ToTemplateUsesLookupOverGroupLabels) {
  auto tables = team_emails();
  ReceiverConfig r = email_receiver("{{ lookup('team_email', team, 'duty@example.org') }}, Lead@Example.org, ", tables.get());
  r.subject = compile_template("{{ count }} {{ status }} for {{ team }} ({{ alertname }})", sample_scope(), tables.get());
  Notification n = sample();
  std::string error;
  EmailMessage m = render_email(r, n, context_for(tables), error);
  EXPECT_EQ(error, "");
  EXPECT_EQ(m.to, (std::vector<std::string>{"assessment@example.org", "Lead@Example.org"}));
  // alertname differs between the two alerts: not a common label, so null (empty text).
  EXPECT_EQ(m.subject, "2 firing for Assessment ()");

  n.group_labels = {{"team", "Leaving care"}};  // not in the table: the default
  m = render_email(r, n, context_for(tables), error);
  EXPECT_EQ(m.to, (std::vector<std::string>{"duty@example.org", "Lead@Example.org"}));

  // No group label "team", but a common label: used.
  n.group_labels = {};
  m = render_email(r, n, context_for(tables), error);
  EXPECT_EQ(m.to[0], "assessment@example.org");
}

TEST(ReceiversEmail, MalformedOrMissingAddressIsAnError) {
  auto tables = team_emails();
  std::string error;
  render_email(email_receiver("not-an-address", tables.get()), sample(), context_for(tables), error);
  EXPECT_NE(error.find("malformed address"), std::string::npos) << error;
  render_email(email_receiver(" , ", tables.get()), sample(), context_for(tables), error);
  EXPECT_NE(error.find("no address"), std::string::npos) << error;
}

TEST(ReceiversEmail, Headers) {
  EmailMessage m;
  m.to = {"a@example.org", "b@example.org"};
  m.subject = "[casewatch] 2 alerts: team=Assessment";
  EXPECT_EQ(email_headers(m, "Casewatch <casewatch@example.org>", "n-1", 1718352000),
            (std::vector<std::string>{"Date: Fri, 14 Jun 2024 08:00:00 +0000", "From: Casewatch <casewatch@example.org>",
                                      "To: a@example.org, b@example.org",
                                      "Subject: [casewatch] 2 alerts: team=Assessment",
                                      "Message-ID: <n-1@example.org>", "Auto-Submitted: auto-generated"}));
}

TEST(ReceiversEmail, NonAsciiSubjectIsEncoded) {
  EmailMessage m;
  m.to = {"a@example.org"};
  m.subject = "\xC3\x89valuation en retard";  // "Évaluation en retard"
  EXPECT_EQ(email_headers(m, "casewatch@example.org", "n-2", 0)[3], "Subject: =?UTF-8?B?w4l2YWx1YXRpb24gZW4gcmV0YXJk?=");

  // Long subjects become several encoded words, folded, none split inside a character.
  m.subject.clear();
  for (int i = 0; i < 30; ++i) m.subject += "\xC3\xA9t\xC3\xA9 ";
  std::string header = email_headers(m, "casewatch@example.org", "n-2", 0)[3];
  EXPECT_NE(header.find("?=\r\n =?UTF-8?B?"), std::string::npos) << header;
}

TEST(ReceiversEmail, HeaderInjectionIsImpossible) {
  EmailMessage m;
  m.to = {"a@example.org"};
  m.subject = "hello\r\nBcc: victim@example.com";
  auto headers = email_headers(m, "casewatch@example.org", "n\r\n3", 0);
  for (const auto& h : headers) EXPECT_EQ(h.find("\r\nBcc:"), std::string::npos) << h;
  EXPECT_EQ(headers[4], "Message-ID: <n--3@example.org>");
}

TEST(ReceiversDeliver, RecipientOutsideAllowedDomainsIsPermanent) {
  auto tables = team_emails();
  ReceiverConfig r = email_receiver("{{ lookup('team_email', team, 'duty@example.org') }}, someone@Gmail.com", tables.get());
  r.allowed_recipient_domains = {"example.org"};
  Receivers receivers = make_receivers({r}, tables);
  Notification n = sample();
  n.receiver = "team-mail";
  DeliveryResult result = deliver(receivers, n);
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
  Receivers receivers = make_receivers({r}, tables);
  Notification n = sample();
  n.receiver = "team-mail";
  DeliveryResult result = deliver(receivers, n);
  EXPECT_FALSE(result.ok);
  EXPECT_FALSE(result.permanent) << result.error;
  EXPECT_EQ(result.error.find("allowed_recipient_domains"), std::string::npos) << result.error;
}

TEST(ReceiversDeliver, TargetsAreEveryAlertmanagerPeerOrOnePlace) {
  ReceiverConfig am;
  am.type = ReceiverType::Alertmanager;
  am.urls = {"http://a:9093", "http://b:9093"};
  EXPECT_EQ(receiver_targets(am), (std::vector<std::string>{"http://a:9093", "http://b:9093"}));
  ReceiverConfig hook;
  hook.type = ReceiverType::Webhook;
  EXPECT_EQ(receiver_targets(hook), std::vector<std::string>{""});
  Receivers receivers = make_receivers({}, nullptr);
  EXPECT_EQ(receivers.find("team-hook"), nullptr);
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
  Receivers receivers = make_receivers({r, teams, slack}, nullptr);
  ASSERT_NE(receivers.find("slack"), nullptr);
  EXPECT_EQ(receivers.find("slack")->config().format, WebhookFormat::Slack);

  Notification n = sample();
  DeliveryResult result = deliver(receivers, n);
  EXPECT_TRUE(result.ok) << result.error;
  n.receiver = "teams";
  EXPECT_TRUE(deliver(receivers, n).ok);
  n.receiver = "slack";
  EXPECT_TRUE(deliver(receivers, n).ok);

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
  EXPECT_EQ(json::parse(got[1].body), teams_payload(n, context_for(nullptr), nullptr));
  n.receiver = "slack";
  EXPECT_EQ(json::parse(got[2].body), slack_payload(n, context_for(nullptr), nullptr));

  // The token is read at every delivery: a rotated token is used at once.
  write_file(dir + "/token", "rotated\n");
  EXPECT_TRUE(deliver(receivers, n).ok);
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
  Receivers receivers = make_receivers({r, bad, missing_token}, nullptr);
  Notification n = sample();

  DeliveryResult result = deliver(receivers, n);
  EXPECT_FALSE(result.ok);
  EXPECT_FALSE(result.permanent);
  EXPECT_NE(result.error.find("HTTP 503"), std::string::npos) << result.error;

  n.receiver = "bad";
  result = deliver(receivers, n);
  EXPECT_FALSE(result.ok);
  EXPECT_TRUE(result.permanent);

  n.receiver = "missing-token";
  result = deliver(receivers, n);
  EXPECT_FALSE(result.ok);
  EXPECT_FALSE(result.permanent);
  EXPECT_NE(result.error.find("bearer_token_file"), std::string::npos) << result.error;
  EXPECT_EQ(server.captured().size(), 2u);  // nothing sent without the token
}

// Each peer is its own target (its own outbox entry): one that is down fails alone.
TEST(ReceiversHttp, AlertmanagerPostsToEachPeerOnItsOwn) {
  TestServer server;
  ReceiverConfig r;
  r.name = "am";
  r.type = ReceiverType::Alertmanager;
  r.urls = {server.url("/"), "http://127.0.0.1:1", server.url("")};
  r.timeout_seconds = 5;
  Receivers receivers = make_receivers({r}, nullptr);
  Notification n = sample();
  n.receiver = "am";
  n.alerts[0].ends_at = 1718352000 + 1200;  // a firing alert's endsAt, set by the dispatcher
  EXPECT_TRUE(deliver(receivers, n, r.urls[0]).ok);
  DeliveryResult down = deliver(receivers, n, r.urls[1]);
  EXPECT_FALSE(down.ok);
  EXPECT_FALSE(down.permanent);
  EXPECT_NE(down.error.find("http://127.0.0.1:1/api/v2/alerts"), std::string::npos) << down.error;
  EXPECT_TRUE(deliver(receivers, n, r.urls[2]).ok);
  auto got = server.captured();
  ASSERT_EQ(got.size(), 2u);
  for (const auto& c : got) {
    EXPECT_EQ(c.path, "/api/v2/alerts");
    EXPECT_EQ(c.notification_id, "n-1");
    json body = json::parse(c.body);
    EXPECT_EQ(body, json::parse(alertmanager_api_alerts(n)));
    EXPECT_EQ(body[0]["endsAt"], "2024-06-14T08:20:00Z");  // firing, with endsAt ahead
    EXPECT_EQ(body[1]["endsAt"], "2024-06-13T17:33:20Z");  // resolved, with its end
  }
}

// A large group goes in batches, as Prometheus sends them: every alert once, in order.
TEST(ReceiversHttp, AlertmanagerSendsALargeGroupInBatches) {
  TestServer server;
  ReceiverConfig r;
  r.name = "am";
  r.type = ReceiverType::Alertmanager;
  r.urls = {server.url("/")};
  r.timeout_seconds = 5;
  Receivers receivers = make_receivers({r}, nullptr);
  Notification n = sample();
  n.receiver = "am";
  const NotifiedAlert model = n.alerts[0];
  n.alerts.clear();
  const size_t total = 2 * kAlertmanagerBatchSize + 7;
  for (size_t i = 0; i < total; ++i) {
    NotifiedAlert a = model;
    a.alert.key = "C" + std::to_string(i);
    a.alert.edit_text().labels.set("key", a.alert.key);
    n.alerts.push_back(a);
  }
  EXPECT_TRUE(deliver(receivers, n, r.urls[0]).ok);
  auto got = server.captured();
  ASSERT_EQ(got.size(), 3u);
  std::vector<std::string> keys;
  for (const auto& c : got) {
    json body = json::parse(c.body);
    EXPECT_LE(body.size(), kAlertmanagerBatchSize);
    for (const auto& alert : body) keys.push_back(alert["labels"]["key"]);
  }
  ASSERT_EQ(keys.size(), total);
  for (size_t i = 0; i < total; ++i) EXPECT_EQ(keys[i], "C" + std::to_string(i));
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
    auto send = [&](const std::string& s) { EXPECT_EQ(::write(fd, s.data(), s.size()), static_cast<ssize_t>(s.size())); };
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
  request.headers = {"Subject: x", "To: a@example.org, b@example.org"};
  request.text = "Line one = two\nA very long line " + std::string(100, 'x') + " end\n.leading dot\ncaf\xC3\xA9\n";
  request.html = "<p>caf\xC3\xA9</p>\n";
  request.timeout_seconds = 5;
  SmtpResult result = smtp_send(request);
  EXPECT_TRUE(result.ok) << result.error;
  EXPECT_EQ(server.mail_from(), "MAIL FROM:<casewatch@example.org>");
  EXPECT_EQ(server.recipients(), (std::vector<std::string>{"RCPT TO:<a@example.org>", "RCPT TO:<b@example.org>"}));

  // The message as it crossed the wire: our headers, then libcurl's MIME body, a
  // multipart/alternative of the text and the HTML, each quoted-printable, CRLF throughout.
  std::string data = server.data();
  for (size_t i = 0; i < data.size(); ++i)
    if (data[i] == '\n') {
      ASSERT_TRUE(i > 0 && data[i - 1] == '\r') << "bare LF at " << i;
    }
  // Lines within SMTP's limit; quoted-printable wraps the long one (its lines are at most 76).
  std::istringstream lines(data);
  for (std::string line; std::getline(lines, line);) EXPECT_LE(line.size(), 998u) << line;
  EXPECT_EQ(data.find(std::string(100, 'x')), std::string::npos);
  EXPECT_NE(data.find("Subject: x\r\n"), std::string::npos);
  EXPECT_NE(data.find("Mime-Version: 1.0\r\n"), std::string::npos) << data;
  std::string marker = "Content-Type: multipart/alternative; boundary=";
  size_t at = data.find(marker);
  ASSERT_NE(at, std::string::npos) << data;
  std::string boundary = data.substr(at + marker.size(), data.find("\r\n", at) - at - marker.size());
  if (!boundary.empty() && boundary.front() == '"') boundary = boundary.substr(1, boundary.size() - 2);
  std::vector<std::string> parts;
  for (size_t p = data.find("--" + boundary + "\r\n", at); p != std::string::npos;) {
    size_t start = p + boundary.size() + 4;
    size_t next = data.find("\r\n--" + boundary, start);
    ASSERT_NE(next, std::string::npos);
    parts.push_back(data.substr(start, next - start));
    p = data.compare(next + 2, boundary.size() + 4, "--" + boundary + "\r\n") == 0 ? next + 2 : std::string::npos;
  }
  ASSERT_EQ(parts.size(), 2u) << data;
  auto body_of = [](const std::string& part) { return part.substr(part.find("\r\n\r\n") + 4); };
  EXPECT_NE(parts[0].find("Content-Type: text/plain; charset=utf-8"), std::string::npos) << parts[0];
  EXPECT_NE(parts[0].find("Content-Transfer-Encoding: quoted-printable"), std::string::npos);
  EXPECT_NE(parts[1].find("Content-Type: text/html; charset=utf-8"), std::string::npos) << parts[1];
  // Decoding gives the text back; SMTP dot-stuffing ("..") is the server's to undo.
  std::string text = decode_qp(body_of(parts[0]));
  size_t dots = text.find("\n..leading");
  if (dots != std::string::npos) text.erase(dots + 1, 1);
  EXPECT_EQ(text, request.text);
  EXPECT_EQ(decode_qp(body_of(parts[1])), request.html);
}

TEST(ReceiversSmtp, RefusedRecipientIsAPermanentFailure) {
  FakeSmtp server;
  auto tables = team_emails();
  ReceiverConfig r = email_receiver("refused@example.org", tables.get());
  r.smtp_url = server.url();
  Receivers receivers = make_receivers({r}, tables);
  Notification n = sample();
  n.receiver = "team-mail";
  DeliveryResult result = deliver(receivers, n);
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
  Receivers receivers = make_receivers({r}, tables);
  Notification n = sample();
  n.receiver = "team-mail";
  DeliveryResult result = deliver(receivers, n);
  EXPECT_TRUE(result.ok) << result.error;
  EXPECT_EQ(server.mail_from(), "MAIL FROM:<casewatch@example.org>");
  EXPECT_EQ(server.recipients(), std::vector<std::string>{"RCPT TO:<assessment@example.org>"});
  EXPECT_NE(server.data().find("Message-ID: <n-1@example.org>\r\n"), std::string::npos);
  // The Date is the delivery's time as the daemon's clock gives it, not the system's.
  EXPECT_NE(server.data().find("Date: Fri, 14 Jun 2024 08:00:00 +0000\r\n"), std::string::npos) << server.data();
  EXPECT_NE(server.data().find("To: assessment@example.org\r\n"), std::string::npos);
  EXPECT_NE(server.data().find("Subject: Assessment: 1 overdue, 1 resolved\r\n"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// File

TEST(ReceiversFile, AppendsOneJsonLinePerNotification) {
  std::string dir = temp_dir();
  ReceiverConfig r;
  r.name = "log";
  r.type = ReceiverType::File;
  r.path = dir + "/notifications.jsonl";
  Receivers receivers = make_receivers({r}, nullptr);
  Notification n = sample();
  n.receiver = "log";
  ASSERT_TRUE(deliver(receivers, n).ok);
  n.id = "n-2";
  n.alerts[0].alert.edit_text().annotations.set("summary", "line\nbreak and invalid UTF-8 \xff");
  n.alerts[0].alert.due_date = kNullDay;
  ASSERT_TRUE(deliver(receivers, n).ok);
  EXPECT_EQ(std::filesystem::status(r.path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);

  std::ifstream in(r.path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 2u);
  json first = json::parse(lines[0]);
  // Names and ISO dates, never the daemon's internal codes.
  EXPECT_EQ(first, json::parse(R"({"id":"n-1","receiver":"log","route":"route 1","status":"firing",
    "group_key":"{team=\"Assessment\"}","group_labels":{"team":"Assessment"},"digest":false,
    "created_at":"2024-06-14T08:00:00Z","external_url":"http://casewatch.example:9797/","alerts":[
    {"fingerprint":"fp1","rule":"assessment_overdue","key":"C1","status":"firing","severity":"critical",
     "state":"firing","labels":{"alertname":"assessment_overdue","key":"C1","severity":"critical","team":"Assessment"},
     "annotations":{"runbook":"see wiki","summary":"Assessment for C1 overdue"},
     "active_since":"2024-06-10T06:13:20Z","fired_at":"2024-06-11T10:00:00Z","ends_at":null,
     "due_date":"2024-06-10","value":null,"is_new":false},
    {"fingerprint":"fp2","rule":"visit_overdue","key":"C2","status":"resolved","severity":"warning",
     "state":"firing","labels":{"alertname":"visit_overdue","key":"C2","severity":"warning","team":"Assessment"},
     "annotations":{"runbook":"see wiki","summary":"Visit <late> & due"},
     "active_since":"2024-05-29T16:26:40Z","fired_at":null,"ends_at":"2024-06-13T17:33:20Z",
     "due_date":"2024-06-01","value":null,"is_new":false}]})"));
  json second = json::parse(lines[1]);
  EXPECT_EQ(second["id"], "n-2");
  EXPECT_EQ(second["alerts"][0]["annotations"]["summary"], "line\nbreak and invalid UTF-8 \xEF\xBF\xBD");
  EXPECT_EQ(second["alerts"][0]["due_date"], nullptr);  // not -2147483648

  ReceiverConfig nowhere = r;
  nowhere.name = "nowhere";
  nowhere.path = dir + "/missing/dir/file.jsonl";
  Receivers failing = make_receivers({nowhere}, nullptr);
  n.receiver = "nowhere";
  DeliveryResult result = deliver(failing, n);
  EXPECT_FALSE(result.ok);
  EXPECT_FALSE(result.permanent);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace casewatch
