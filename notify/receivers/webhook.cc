#include "notify/receivers/webhook.h"

#include "integrations/json_text.h"
#include "notify/receivers/common.h"
#include "notify/receivers/receiver.h"
#include "rules/date.h"

namespace casewatch {

using json = nlohmann::json;
using namespace receiver_text;

namespace {

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

}  // namespace

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
          {"status", std::string(notification_status_name(n.status()))},
          {"receiver", n.receiver},
          {"groupLabels", n.group_labels},
          {"commonLabels", n.common_labels()},
          {"commonAnnotations", n.common_annotations()},
          {"externalURL", n.external_url},
          {"alerts", alerts}};
}

json teams_payload(const Notification& n) {
  bool firing = n.status() == NotificationStatus::Firing;
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

namespace {

class WebhookReceiver final : public Receiver {
 public:
  WebhookReceiver(const ReceiverConfig& config, const ReceiverContext& context) : Receiver(config), http_(context.http) {}

  DeliveryResult deliver(const Notification& n, const std::string&, int64_t, const std::atomic<bool>& cancel) const override {
    const ReceiverConfig& r = config_;
    if (r.url.empty()) return {false, true, "receiver '" + r.name + "' has no url"};
    HttpPostRequest request;
    request.headers = r.headers;
    request.headers.emplace_back("X-Casewatch-Notification-Id", one_line(n.id));
    request.timeout_seconds = r.timeout_seconds;
    request.cancel = &cancel;
    std::string error;
    if (!r.bearer_token_file.empty() && !read_secret(r.bearer_token_file, true, request.bearer_token, error))
      return {false, false, "receiver '" + r.name + "': bearer_token_file: " + error};
    request.url = r.url;
    switch (r.format) {
      case WebhookFormat::Json: request.body = json_text(alertmanager_webhook_payload(n)); break;
      case WebhookFormat::Teams: request.body = json_text(teams_payload(n)); break;
      case WebhookFormat::Slack: request.body = json_text(slack_payload(n)); break;
    }
    // The URL itself may hold a secret (Slack, Teams): errors name the status or the transport's
    // reason, never the URL.
    HttpPostResult result = http_->post(request);
    if (result.ok) return {true, false, ""};
    return {false, is_permanent_http(result.status), "receiver '" + r.name + "': " + result.error};
  }

 private:
  std::shared_ptr<const HttpTransport> http_;
};

}  // namespace

std::unique_ptr<Receiver> make_webhook_receiver(const ReceiverConfig& config, const ReceiverContext& context) {
  return std::make_unique<WebhookReceiver>(config, context);
}

}  // namespace casewatch
