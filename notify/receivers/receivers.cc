#include "notify/receivers/receiver.h"

namespace casewatch {

std::vector<std::string> receiver_targets(const ReceiverConfig& receiver) {
  if (receiver.type == ReceiverType::Alertmanager && !receiver.urls.empty()) return receiver.urls;
  return {""};
}

Receivers::Receivers(const std::vector<ReceiverConfig>& configs, const ReceiverContext& context) {
  for (const ReceiverConfig& config : configs) {
    std::unique_ptr<Receiver> receiver;
    switch (config.type) {
      case ReceiverType::Email: receiver = make_email_receiver(config, context); break;
      case ReceiverType::Webhook: receiver = make_webhook_receiver(config, context); break;
      case ReceiverType::Alertmanager: receiver = make_alertmanager_receiver(config, context); break;
      case ReceiverType::File: receiver = make_file_receiver(config, context); break;
    }
    receivers_.emplace(config.name, std::move(receiver));
  }
}

const Receiver* Receivers::find(const std::string& name) const {
  auto it = receivers_.find(name);
  return it == receivers_.end() ? nullptr : it->second.get();
}

std::vector<std::string> Receivers::names() const {
  std::vector<std::string> out;
  for (const auto& [name, receiver] : receivers_) out.push_back(name);
  return out;
}

}  // namespace casewatch
