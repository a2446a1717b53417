// Receivers (SPEC 6): a Notification turned into an email, a webhook call (Alertmanager webhook
// JSON, a Teams Adaptive Card or a Slack Block Kit message), alerts posted to every peer of an
// Alertmanager cluster, or a line appended to a file.
// The renderers are pure functions. Receivers is immutable after construction and deliver() may
// run on several threads at once; secrets are read from their files at every delivery, so a
// rotated token or password needs no reload.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/routing.h"
#include "daemon/notification.h"
#include "rules/expr.h"

namespace casewatch {

struct DeliveryResult {
  bool ok = false;
  bool permanent = false;  // retrying cannot help (e.g. a recipient outside allowed_recipient_domains)
  std::string error;
};

class Receivers {
 public:
  Receivers(std::vector<ReceiverConfig> receivers, std::shared_ptr<const LookupTables> tables,
            ReceiverTemplateScope scope);

  bool has(const std::string& name) const { return find(name) != nullptr; }
  const ReceiverConfig* find(const std::string& name) const;

  // Delivers `n` to the receiver named n.receiver. Thread-safe. Blocks for at most the
  // receiver's timeout (per Alertmanager peer for `alertmanager`).
  DeliveryResult deliver(const Notification& n) const;

 private:
  DeliveryResult deliver_email(const ReceiverConfig& r, const Notification& n) const;
  DeliveryResult deliver_webhook(const ReceiverConfig& r, const Notification& n) const;
  DeliveryResult deliver_alertmanager(const ReceiverConfig& r, const Notification& n) const;
  DeliveryResult deliver_file(const ReceiverConfig& r, const Notification& n) const;

  std::vector<ReceiverConfig> receivers_;
  std::map<std::string, size_t, std::less<>> by_name_;
  std::shared_ptr<const LookupTables> tables_;
  ReceiverTemplateScope scope_;
  mutable std::mutex file_mutex_;  // one appender at a time per process
};

// The Alertmanager webhook payload, version "4".
nlohmann::json alertmanager_webhook_payload(const Notification& n);
// A Teams workflow webhook message holding one Adaptive Card (version 1.4).
nlohmann::json teams_payload(const Notification& n);
// A Slack Block Kit message (incoming webhook).
nlohmann::json slack_payload(const Notification& n);
// The body for an Alertmanager's POST /api/v2/alerts.
nlohmann::json alertmanager_api_alerts(const Notification& n);

struct EmailMessage {
  std::vector<std::string> to;  // bare addresses
  std::string subject;
  std::string text;  // "\n" line endings; email_mime makes them CRLF
  std::string html;
};

// Renders the `to` and `subject` templates over the group's labels ("count" and "status" too) and
// the plain-text and HTML bodies. On a problem (no `to`, no address, a malformed address) sets
// `error` and returns what it could.
EmailMessage render_email(const ReceiverConfig& receiver, const Notification& n, const LookupTables& tables,
                          const ReceiverTemplateScope& scope, std::string& error);

// The RFC 5322 message: headers (Date, From, To, Subject, Message-ID, MIME-Version) and a
// multipart/alternative body of the text and HTML parts, both UTF-8 and quoted-printable, with
// CRLF line endings. `message_id` is the notification id: the Message-ID header is
// <ID@DOMAIN-OF-FROM>, the same on every retry.
std::string email_mime(const EmailMessage& message, const std::string& from, const std::string& message_id,
                       int64_t date_seconds);

// The bare address of "Name <a@b>" or "a@b".
std::string envelope_address(const std::string& address);

}  // namespace casewatch
