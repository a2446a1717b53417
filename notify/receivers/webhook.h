// The webhook receiver: the Alertmanager webhook payload (version 4), a Teams workflow
// message (an Adaptive Card) or a Slack Block Kit message, POSTed to the receiver's url with
// X-Casewatch-Notification-Id (the same on every retry).
#pragma once

#include <nlohmann/json.hpp>

#include "notify/notification.h"
#include "notify/receivers/receiver.h"

namespace casewatch {

// The Alertmanager webhook payload, version "4".
nlohmann::json alertmanager_webhook_payload(const Notification& n);
// A Teams workflow webhook message holding one Adaptive Card (version 1.4), and a Slack Block Kit
// message (incoming webhook): the team's day (notify/team_day.h) in `templates`' wording (null:
// the built-in), at most kMaxChatAlerts items, a link to each item's page and the team's.
nlohmann::json teams_payload(const Notification& n, const ReceiverContext& context, const MessageTemplates* templates);
nlohmann::json slack_payload(const Notification& n, const ReceiverContext& context, const MessageTemplates* templates);

}  // namespace casewatch
