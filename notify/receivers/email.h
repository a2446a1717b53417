// The email receiver: one message per notification, plain text and HTML, to the addresses the
// receiver's `to` template gives over the group's labels, over the injected SMTP transport
// (libcurl writes the MIME body). A recipient outside allowed_recipient_domains stops the whole
// message (a permanent failure).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/routing.h"
#include "notify/notification.h"
#include "notify/receivers/receiver.h"
#include "rules/expr.h"

namespace casewatch {

struct EmailMessage {
  std::vector<std::string> to;  // bare addresses
  std::string subject;
  std::string text;  // "\n" line endings
  std::string html;
};

// Renders the `to` and `subject` templates over the group's labels ("count" and "status" too) and
// the plain-text and HTML bodies from the team's day (notify/team_day.h) in the receiver's
// wording; without a `subject` the wording's. On a problem (no `to`, no address, a malformed address) sets
// `error` and returns what it could.
EmailMessage render_email(const ReceiverConfig& receiver, const Notification& n, const ReceiverContext& context,
                          std::string& error);

// The header lines (Date, From, To, Subject, Message-ID, Auto-Submitted), non-ASCII text as
// RFC 2047 encoded words, long ones folded. Message-ID is <ID@DOMAIN-OF-FROM> with ID the
// notification's id: the same on every retry.
std::vector<std::string> email_headers(const EmailMessage& message, const std::string& from,
                                       const std::string& message_id, int64_t date_seconds);

// The bare address of "Name <a@b>" or "a@b".
std::string envelope_address(const std::string& address);

}  // namespace casewatch
