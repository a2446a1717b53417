// A feed's config as the config loader would make it, for tests that load feeds without a
// config file: its fields, the first of them the key, and the schema from them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"

namespace casewatch {

inline FeedConfig test_feed(std::string name, FeedType type, std::vector<FieldConfig> fields) {
  FeedConfig feed;
  feed.name = std::move(name);
  feed.type = type;
  feed.fields = std::move(fields);
  feed.key = feed.fields.front().name;
  auto schema = std::make_shared<Schema>();
  for (const auto& f : feed.fields) schema->fields.push_back({f.name, f.type});
  schema->key = 0;
  feed.schema = schema;
  return feed;
}

}  // namespace casewatch
