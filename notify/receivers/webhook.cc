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
    if (na.is_acknowledgement()) continue;  // not an alert's state: only for people
    const Alert& a = na.alert;
    alerts.push_back({{"status", status_of(na)},
                      {"labels", a.labels()},
                      {"annotations", a.annotations()},
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

namespace {

// What a chat message lists: the firing items most urgent first (each worker's timescales
// together, the most urgent worker first), then measures, the others, the acknowledged and the
// resolved; at most kMaxChatAlerts items, the rest counted.
struct ChatSection {
  std::string heading;
  std::vector<const DayItem*> items;
  bool acknowledged = false;
};

std::vector<ChatSection> chat_sections(const ReadableNotification& r, const MessageTemplates& wording, size_t& left_out) {
  const TeamDay& day = r.day;
  const DayContext& c = r.context;
  auto say = [&](Phrase p) { return wording.render(p, {Value::of_string(day.group)}, c.today, *c.calendar); };
  std::vector<ChatSection> sections;
  size_t budget = kMaxChatAlerts;
  left_out = 0;
  auto add = [&](ChatSection section, const std::vector<const DayItem*>& items) {
    for (const DayItem* item : items) {
      if (budget == 0) {
        ++left_out;
        continue;
      }
      section.items.push_back(item);
      --budget;
    }
    if (!section.items.empty()) sections.push_back(std::move(section));
  };
  auto pointers = [](const std::vector<DayItem>& items) {
    std::vector<const DayItem*> out;
    for (const DayItem& item : items) out.push_back(&item);
    return out;
  };
  for (const WorkerDay& w : day.workers) {
    std::vector<const DayItem*> items;
    for (size_t i : w.items) items.push_back(&day.timescales[i]);
    add({w.heading, {}, false}, items);
  }
  add({say(Phrase::MeasuresHeading), {}, false}, pointers(day.measures));
  add({say(Phrase::OthersHeading), {}, false}, pointers(day.others));
  add({say(Phrase::AcknowledgedHeading), {}, true}, pointers(day.acknowledged));
  add({say(Phrase::ResolvedHeading), {}, false}, pointers(day.resolved));
  return sections;
}

std::string more_text(const ReadableNotification& r, const MessageTemplates& wording, size_t left_out) {
  return wording.render(Phrase::More, {Value::of_number(static_cast<double>(left_out)), Value::of_string(r.day.group)},
                        r.context.today, *r.context.calendar);
}

const MessageTemplates& wording_of(const MessageTemplates* templates) {
  return templates ? *templates : *MessageTemplates::defaults();
}

}  // namespace

json teams_payload(const Notification& n, const ReceiverContext& context, const MessageTemplates* templates) {
  const MessageTemplates& wording = wording_of(templates);
  ReadableNotification r = readable(n, context, &wording);
  const TeamDay& day = r.day;
  bool links = !n.external_url.empty();
  std::string new_mark = wording.render(Phrase::ItemNew, {}, r.context.today, *r.context.calendar);
  json body = json::array();
  body.push_back({{"type", "TextBlock"},
                  {"text", day.subject},
                  {"weight", "Bolder"},
                  {"size", "Medium"},
                  {"color", day.overdue ? "Attention" : n.status() == NotificationStatus::Firing ? "Default" : "Good"},
                  {"wrap", true}});
  if (!day.intro.empty())
    body.push_back({{"type", "TextBlock"}, {"text", day.intro}, {"isSubtle", true}, {"wrap", true}, {"spacing", "None"}});
  size_t left_out = 0;
  // Teams refuses a card of more than about 28 KB, and a refusal is permanent: items past
  // kMaxTeamsCardBytes are counted in "and N more", never sent to be refused.
  size_t bytes = json_text(body).size();
  for (const ChatSection& section : chat_sections(r, wording, left_out)) {
    bool headed = false;
    for (const DayItem* item : section.items) {
      if (bytes > kMaxTeamsCardBytes) {
        ++left_out;
        continue;
      }
      if (!headed) {
        json heading = {{"type", "TextBlock"}, {"text", section.heading}, {"weight", "Bolder"}, {"wrap", true}, {"spacing", "Medium"}};
        bytes += json_text(heading).size() + 1;
        body.push_back(std::move(heading));
        headed = true;
      }
      json lines = json::array();
      std::string when = section.acknowledged ? item->acknowledged : item->timing;
      if (!when.empty())
        lines.push_back({{"type", "TextBlock"},
                         {"text", when + (item->is_new ? " (" + new_mark + ")" : "")},
                         {"weight", "Bolder"},
                         {"color", item->urgency == Urgency::Overdue && !item->resolved && !section.acknowledged ? "Attention" : "Default"},
                         {"wrap", true}});
      lines.push_back({{"type", "TextBlock"}, {"text", truncate_utf8(item->what, kMaxChatItemText)}, {"wrap", true}, {"spacing", "None"}});
      json container = {{"type", "Container"}, {"separator", true}, {"items", lines}};
      if (links) container["selectAction"] = {{"type", "Action.OpenUrl"}, {"url", item->link}};
      bytes += json_text(container).size() + 1;
      body.push_back(std::move(container));
    }
  }
  if (left_out)
    body.push_back({{"type", "TextBlock"}, {"text", more_text(r, wording, left_out)}, {"isSubtle", true}, {"wrap", true}});
  json content = {{"$schema", "http://adaptivecards.io/schemas/adaptive-card.json"},
                  {"type", "AdaptiveCard"},
                  {"version", "1.4"},
                  {"body", body}};
  if (links)
    content["actions"] = json::array(
        {{{"type", "Action.OpenUrl"},
          {"title", wording.render(Phrase::TeamLink, {Value::of_string(day.group)}, r.context.today, *r.context.calendar)},
          {"url", day.page_link}}});
  return {{"type", "message"},
          {"attachments", json::array({{{"contentType", "application/vnd.microsoft.card.adaptive"},
                                        {"contentUrl", nullptr},
                                        {"content", content}}})}};
}

json slack_payload(const Notification& n, const ReceiverContext& context, const MessageTemplates* templates) {
  const MessageTemplates& wording = wording_of(templates);
  ReadableNotification r = readable(n, context, &wording);
  const TeamDay& day = r.day;
  bool links = !n.external_url.empty();
  std::string new_mark = wording.render(Phrase::ItemNew, {}, r.context.today, *r.context.calendar);
  json blocks = json::array();
  blocks.push_back({{"type", "header"},
                    {"text", {{"type", "plain_text"}, {"text", truncate_utf8(day.subject, 150)}, {"emoji", false}}}});
  if (!day.intro.empty())
    blocks.push_back({{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", slack_escape(day.intro)}}}});
  size_t left_out = 0;
  // A section holds at most 3,000 characters and a message 50 blocks: a section is closed at an
  // item's end before it would overflow, never cut inside an item or its link, and items past the
  // last block (two are kept for "and N more" and the button) are counted, not lost.
  auto section_block = [](const std::string& text) {
    return json{{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", text}}}};
  };
  for (const ChatSection& section : chat_sections(r, wording, left_out)) {
    std::string text = "*" + slack_escape(truncate_utf8(section.heading, kMaxChatItemText)) + "*";
    bool listed = false;  // an item is in `text`: a heading alone is not sent
    for (const DayItem* item : section.items) {
      if (blocks.size() >= kMaxSlackBlocks - 2) {
        ++left_out;
        continue;
      }
      std::string when = section.acknowledged ? item->acknowledged : item->timing;
      std::string shown = slack_escape(truncate_utf8(item->what, kMaxChatItemText));
      std::string what = links ? "<" + slack_escape(item->link) + "|" + shown + ">" : shown;
      std::string line = "\u2022 " + (when.empty() ? "" : "*" + slack_escape(when) + "*: ") + what;
      if (item->is_new) line += " _(" + slack_escape(new_mark) + ")_";
      if (listed && text.size() + 1 + line.size() > kMaxSlackSectionText) {
        blocks.push_back(section_block(text));
        text.clear();
        listed = false;
        if (blocks.size() >= kMaxSlackBlocks - 2) {
          ++left_out;
          continue;
        }
      }
      text += (text.empty() ? "" : "\n") + line;
      listed = true;
    }
    if (listed) blocks.push_back(section_block(text));
  }
  if (left_out)
    blocks.push_back({{"type", "context"},
                      {"elements", json::array({{{"type", "mrkdwn"}, {"text", slack_escape(more_text(r, wording, left_out))}}})}});
  if (links)
    blocks.push_back(
        {{"type", "actions"},
         {"elements",
          json::array({{{"type", "button"},
                        {"text",
                         {{"type", "plain_text"},
                          {"text", truncate_utf8(wording.render(Phrase::TeamLink, {Value::of_string(day.group)}, r.context.today,
                                                                *r.context.calendar),
                                                 75)}}},
                        {"url", day.page_link}}})}});
  return {{"text", slack_escape(day.subject)}, {"blocks", blocks}};
}

namespace {

class WebhookReceiver final : public Receiver {
 public:
  WebhookReceiver(const ReceiverConfig& config, const ReceiverContext& context) : Receiver(config), context_(context) {}

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
      case WebhookFormat::Teams: request.body = json_text(teams_payload(n, context_, r.templates.get())); break;
      case WebhookFormat::Slack: request.body = json_text(slack_payload(n, context_, r.templates.get())); break;
    }
    // The URL itself may hold a secret (Slack, Teams): errors name the status or the transport's
    // reason, never the URL.
    HttpPostResult result = context_.http->post(request);
    if (result.ok) return {true, false, ""};
    return {false, is_permanent_http(result.status), "receiver '" + r.name + "': " + result.error};
  }

 private:
  ReceiverContext context_;
};

}  // namespace

std::unique_ptr<Receiver> make_webhook_receiver(const ReceiverConfig& config, const ReceiverContext& context) {
  return std::make_unique<WebhookReceiver>(config, context);
}

}  // namespace casewatch
