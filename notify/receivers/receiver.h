// Receivers (SPEC 6): a notification turned into an email, a webhook call, alerts posted to an
// Alertmanager, or a line in a file; one file per type in notify/receivers/, each over the
// transports it is given (libcurl in the daemon, fakes in tests). A receiver is immutable and
// deliver() may run on several threads at once. Secrets are read from their files at every
// delivery, so a rotated token or password needs no reload.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/routing.h"
#include "integrations/http_post.h"
#include "integrations/smtp_send.h"
#include "notify/notification.h"
#include "rules/expr.h"

namespace casewatch {

struct DeliveryResult {
  bool ok = false;
  bool permanent = false;  // retrying cannot help (e.g. a recipient outside allowed_recipient_domains)
  std::string error;
};

// What receivers are built with.
struct ReceiverContext {
  std::shared_ptr<const LookupTables> tables;
  ReceiverTemplateScope scope;
  std::shared_ptr<const HttpTransport> http;
  std::shared_ptr<const SmtpTransport> smtp;
  // What the messages a manager reads are worked out with: working days, local times, titles.
  std::shared_ptr<const Calendar> calendar;
  std::string timezone = "Europe/London";
  std::shared_ptr<const RuleTitles> rule_titles;
};

class Receiver {
 public:
  explicit Receiver(ReceiverConfig config) : config_(std::move(config)) {}
  virtual ~Receiver() = default;
  const ReceiverConfig& config() const { return config_; }
  // Sends `n` to `target` (one of receiver_targets(config()), "" for most receivers) at `now`;
  // gives up within a second once `cancel` is set. Blocks for at most the receiver's timeout.
  virtual DeliveryResult deliver(const Notification& n, const std::string& target, int64_t now,
                                 const std::atomic<bool>& cancel) const = 0;

 protected:
  ReceiverConfig config_;
};

// Where a notification to this receiver goes, each place tracked on its own in the outbox: every
// peer of an Alertmanager cluster; one place ("") for the others.
std::vector<std::string> receiver_targets(const ReceiverConfig& receiver);

// The configured receivers, by name.
class Receivers {
 public:
  Receivers(const std::vector<ReceiverConfig>& configs, const ReceiverContext& context);
  const Receiver* find(const std::string& name) const;
  std::vector<std::string> names() const;

 private:
  std::map<std::string, std::unique_ptr<Receiver>, std::less<>> receivers_;
};

// One per type, each in its own file.
std::unique_ptr<Receiver> make_email_receiver(const ReceiverConfig& config, const ReceiverContext& context);
std::unique_ptr<Receiver> make_webhook_receiver(const ReceiverConfig& config, const ReceiverContext& context);
std::unique_ptr<Receiver> make_alertmanager_receiver(const ReceiverConfig& config, const ReceiverContext& context);
std::unique_ptr<Receiver> make_file_receiver(const ReceiverConfig& config, const ReceiverContext& context);

}  // namespace casewatch
