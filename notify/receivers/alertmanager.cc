#include "notify/receivers/alertmanager.h"

#include <algorithm>

#include "integrations/json_text.h"
#include "notify/receivers/common.h"
#include "notify/receivers/receiver.h"

namespace casewatch {

using json = nlohmann::json;
using namespace receiver_text;

std::string alertmanager_api_alerts(const Notification& n, size_t first, size_t count) {
  // Written straight, keys sorted as a JSON tree would dump them: a batch at a time of a group
  // that may hold 100,000 alerts, at every evaluation.
  std::string out = "[";
  const size_t end = first + std::min(count, n.alerts.size() - std::min(first, n.alerts.size()));
  for (size_t i = first; i < end; ++i) {
    const NotifiedAlert& na = n.alerts[i];
    const Alert& a = na.alert;
    if (i > first) out += ',';
    out += "{\"annotations\":";
    append_json_object(out, a.annotations());
    if (na.resolved || na.ends_at != 0) {  // resolved: its end; firing: when Alertmanager may let it go
      out += ",\"endsAt\":";
      append_json_string(out, rfc3339_utc(na.resolved && na.ends_at == 0 ? n.created_at : na.ends_at));
    }
    out += ",\"generatorURL\":";
    append_json_string(out, generator_url(n, a));
    out += ",\"labels\":";
    append_json_object(out, a.labels());
    out += ",\"startsAt\":";
    append_json_string(out, rfc3339_utc(starts_at(a)));
    out += '}';
  }
  out += ']';
  return out;
}

namespace {

class AlertmanagerReceiver final : public Receiver {
 public:
  AlertmanagerReceiver(const ReceiverConfig& config, const ReceiverContext& context)
      : Receiver(config), http_(context.http) {}

  DeliveryResult deliver(const Notification& n, const std::string& target, int64_t,
                         const std::atomic<bool>& cancel) const override {
    const ReceiverConfig& r = config_;
    if (target.empty()) return {false, true, "receiver '" + r.name + "' has no urls"};
    HttpPostRequest request;
    request.headers = r.headers;
    request.headers.emplace_back("X-Casewatch-Notification-Id", one_line(n.id));
    request.timeout_seconds = r.timeout_seconds;
    request.cancel = &cancel;
    std::string error;
    if (!r.bearer_token_file.empty() && !read_secret(r.bearer_token_file, true, request.bearer_token, error))
      return {false, false, "receiver '" + r.name + "': bearer_token_file: " + error};
    request.url = without_trailing_slash(target) + "/api/v2/alerts";
    // A batch that fails fails the whole notification: sent again, the batches before it only
    // tell Alertmanager what it knows.
    for (size_t first = 0; first == 0 || first < n.alerts.size(); first += kAlertmanagerBatchSize) {
      request.body = alertmanager_api_alerts(n, first, kAlertmanagerBatchSize);
      HttpPostResult result = http_->post(request);
      if (!result.ok)
        return {false, is_permanent_http(result.status), "receiver '" + r.name + "': " + request.url + ": " + result.error};
    }
    return {true, false, ""};
  }

 private:
  std::shared_ptr<const HttpTransport> http_;
};

}  // namespace

std::unique_ptr<Receiver> make_alertmanager_receiver(const ReceiverConfig& config, const ReceiverContext& context) {
  return std::make_unique<AlertmanagerReceiver>(config, context);
}

}  // namespace casewatch
