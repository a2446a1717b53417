// The alertmanager receiver: alerts POSTed to /api/v2/alerts of every peer of an Alertmanager
// cluster, as Prometheus does. Each peer is its own outbox entry (a target), delivered and
// retried on its own, so a restarted or partitioned peer still learns of every resolve.
// Firing alerts carry endsAt (the dispatcher sets it ahead, so Alertmanager resolves them if
// casewatch stops); resolved ones their end.
#pragma once

#include <cstddef>
#include <cstdint>

#include <string>

#include "notify/notification.h"

namespace casewatch {

// Alerts per POST, as Prometheus' notifier batches them: a group of a hundred thousand alerts is
// many small requests, not one of a hundred megabytes.
inline constexpr size_t kAlertmanagerBatchSize = 256;

// The body for an Alertmanager's POST /api/v2/alerts: `count` of the alerts from `first`, as
// JSON text.
std::string alertmanager_api_alerts(const Notification& n, size_t first = 0, size_t count = SIZE_MAX);

}  // namespace casewatch
