// The alertmanager receiver: alerts POSTed to /api/v2/alerts of every peer of an Alertmanager
// cluster, as Prometheus does. Each peer is its own outbox entry (a target), delivered and
// retried on its own, so a restarted or partitioned peer still learns of every resolve.
// Firing alerts carry endsAt (the dispatcher sets it ahead, so Alertmanager resolves them if
// casewatch stops); resolved ones their end.
#pragma once

#include <nlohmann/json.hpp>

#include "notify/notification.h"

namespace casewatch {

// The body for an Alertmanager's POST /api/v2/alerts.
nlohmann::json alertmanager_api_alerts(const Notification& n);

}  // namespace casewatch
