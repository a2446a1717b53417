#include "cli/output.h"

#include "integrations/json_text.h"

#include <algorithm>
#include <ostream>

namespace casewatch {

nlohmann::ordered_json value_json(const OwnedValue& value) {
  switch (value.type) {
    case Type::Bool: return value.boolean;
    case Type::Number: return value.number;
    case Type::String: return value.text;
    case Type::Date: return format_iso(value.day);
    default: return nullptr;
  }
}

nlohmann::ordered_json match_json(const Config& config, const Match& match) {
  nlohmann::ordered_json j;
  j["rule"] = config.rules[match.rule].spec.name;
  j["key"] = match.key;
  j["severity"] = std::string(severity_name(match.severity));
  j["labels"] = match.labels;
  j["annotations"] = match.annotations;
  j["due_date"] = match.due_date == kNullDay ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(format_iso(match.due_date));
  j["value"] = match.value ? nlohmann::ordered_json(*match.value) : nlohmann::ordered_json(nullptr);
  return j;
}

nlohmann::ordered_json group_value_json(const Config& config, const GroupValue& value) {
  nlohmann::ordered_json j;
  j["rule"] = config.rules[value.rule].spec.name;
  nlohmann::ordered_json group = nlohmann::ordered_json::object();
  for (const auto& [name, v] : value.group) group[name] = value_json(v);
  j["group"] = group;
  j["value"] = value.value ? nlohmann::ordered_json(*value.value) : nlohmann::ordered_json(nullptr);
  return j;
}

namespace {

// Writes `items` as the value of a top-level member, exactly as dump(2) would inside the whole
// document, but one element at a time: 166,000 alerts never become one tree in memory.
template <class Items, class ToJson>
void write_array(std::string& out, const Items& items, ToJson to_json) {
  using Serializer = nlohmann::detail::serializer<nlohmann::ordered_json>;
  if (items.empty()) {
    out += "[]";
    return;
  }
  Serializer serializer(nlohmann::detail::output_adapter<char>(out), ' ', nlohmann::ordered_json::error_handler_t::replace);
  out += "[\n";
  bool first = true;
  for (const auto& item : items) {
    if (!first) out += ",\n";
    first = false;
    out += "    ";
    serializer.dump(to_json(item), true, false, 2, 4);
  }
  out += "\n  ]";
}

}  // namespace

void print_eval_json(const Config& config, const EvaluationResult& result, const std::string& evaluated_at,
                     const std::vector<FeedSummary>& feeds, std::ostream& out) {
  std::string text = "{\n  \"evaluated_at\": " + json_text(nlohmann::ordered_json(evaluated_at)) + ",\n  \"alerts\": ";
  write_array(text, result.matches, [&](const Match& m) { return match_json(config, m); });
  text += ",\n  \"values\": ";
  write_array(text, result.values, [&](const GroupValue& v) { return group_value_json(config, v); });
  text += ",\n  \"feeds\": ";
  write_array(text, feeds, [](const FeedSummary& f) {
    nlohmann::ordered_json feed;
    feed["name"] = f.name;
    feed["up"] = f.up;
    feed["records"] = f.records;
    feed["rejected"] = f.rejected;
    if (!f.error.empty()) feed["error"] = f.error;
    return feed;
  });
  text += "\n}\n";
  out << text;
}

void print_table(const std::vector<std::vector<std::string>>& rows, std::ostream& out) {
  std::vector<size_t> widths;
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) {
      if (widths.size() <= i) widths.push_back(0);
      widths[i] = std::max(widths[i], row[i].size());
    }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << '\n';
  }
}

void print_eval_table(const Config& config, const EvaluationResult& result, const std::string& evaluated_at,
                      const std::vector<FeedSummary>& feeds, std::ostream& out) {
  size_t counts[3] = {0, 0, 0};
  std::vector<std::vector<std::string>> rows = {{"RULE", "KEY", "SEVERITY", "DUE", "VALUE", "SUMMARY"}};
  for (const Match& m : result.matches) {
    ++counts[static_cast<int>(m.severity)];
    auto summary = m.annotations.find("summary");
    rows.push_back({config.rules[m.rule].spec.name, m.key, std::string(severity_name(m.severity)),
                    m.due_date == kNullDay ? "" : format_iso(m.due_date), m.value ? number_to_text(*m.value) : "",
                    summary == m.annotations.end() ? "" : summary->second});
  }
  out << "Alerts as of " << evaluated_at << ": " << result.matches.size() << " (" << counts[2] << " critical, "
      << counts[1] << " warning, " << counts[0] << " info)\n\n";
  if (!result.matches.empty()) {
    print_table(rows, out);
    out << '\n';
  }
  if (!result.values.empty()) {
    std::vector<std::vector<std::string>> values = {{"RULE", "GROUP", "VALUE"}};
    for (const GroupValue& v : result.values)
      values.push_back({config.rules[v.rule].spec.name, v.key.empty() ? "(all)" : v.key,
                        v.value ? number_to_text(*v.value) : "null"});
    print_table(values, out);
    out << '\n';
  }
  std::vector<std::vector<std::string>> feed_rows = {{"FEED", "STATUS", "RECORDS", "REJECTED"}};
  for (const FeedSummary& f : feeds)
    feed_rows.push_back({f.name, f.up ? "up" : "DOWN: " + f.error, std::to_string(f.records), std::to_string(f.rejected)});
  print_table(feed_rows, out);
}

}  // namespace casewatch
