#include "cli/output.h"

#include "integrations/json_text.h"

#include <algorithm>
#include <cstdint>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "rules/parallel.h"

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

// The alerts are written as text, one after another, laid out exactly as dump(2) lays out the
// whole document: 166,000 alerts never become JSON values, let alone one tree.
void append_member(std::string& out, std::string_view indent, std::string_view name) {
  out += indent;
  append_json_string(out, name);
  out += ": ";
}

void append_string_map(std::string& out, MatchTextEntries map) {
  if (map.empty()) {
    out += "{}";
    return;
  }
  out += "{\n";
  bool first = true;
  for (const auto& [name, text] : map) {
    if (!first) out += ",\n";
    first = false;
    append_member(out, "        ", name);
    append_json_string(out, text);
  }
  out += "\n      }";
}

void append_value(std::string& out, const OwnedValue& value) {
  switch (value.type) {
    case Type::Bool: out += value.boolean ? "true" : "false"; break;
    case Type::Number: append_json_number(out, value.number); break;
    case Type::String: append_json_string(out, value.text); break;
    case Type::Date: append_json_string(out, format_iso(value.day)); break;
    default: out += "null";
  }
}

void append_optional_number(std::string& out, const std::optional<double>& number) {
  if (number) append_json_number(out, *number);
  else out += "null";
}

void append_match(std::string& out, const EvaluationInput& source, const Match& match) {
  out += "{\n";
  append_member(out, "      ", "rule");
  append_json_string(out, source.rules[match.rule].spec.name);
  out += ",\n";
  append_member(out, "      ", "key");
  append_json_string(out, match.key);
  out += ",\n";
  append_member(out, "      ", "severity");
  append_json_string(out, severity_name(match.severity));
  out += ",\n";
  visit_match_text(source, match, [&](MatchTextEntries labels, MatchTextEntries annotations) {
    append_member(out, "      ", "labels");
    append_string_map(out, labels);
    out += ",\n";
    append_member(out, "      ", "annotations");
    append_string_map(out, annotations);
    out += ",\n";
  });
  append_member(out, "      ", "due_date");
  if (match.due_date == kNullDay) out += "null";
  else append_json_string(out, format_iso(match.due_date));
  out += ",\n";
  append_member(out, "      ", "value");
  append_optional_number(out, match.value);
  out += "\n    }";
}

void append_group_value(std::string& out, const Config& config, const GroupValue& value) {
  out += "{\n";
  append_member(out, "      ", "rule");
  append_json_string(out, config.rules[value.rule].spec.name);
  out += ",\n";
  append_member(out, "      ", "group");
  if (value.group.empty()) {
    out += "{}";
  } else {
    out += "{\n";
    for (size_t i = 0; i < value.group.size(); ++i) {
      if (i) out += ",\n";
      append_member(out, "        ", value.group[i].first);
      append_value(out, value.group[i].second);
    }
    out += "\n      }";
  }
  out += ",\n";
  append_member(out, "      ", "value");
  append_optional_number(out, value.value);
  out += "\n    }";
}

void append_feed(std::string& out, const FeedSummary& feed) {
  out += "{\n";
  append_member(out, "      ", "name");
  append_json_string(out, feed.name);
  out += ",\n";
  append_member(out, "      ", "up");
  out += feed.up ? "true" : "false";
  out += ",\n";
  append_member(out, "      ", "records");
  out += std::to_string(feed.records);
  out += ",\n";
  append_member(out, "      ", "rejected");
  out += std::to_string(feed.rejected);
  if (!feed.error.empty()) {
    out += ",\n";
    append_member(out, "      ", "error");
    append_json_string(out, feed.error);
  }
  out += "\n    }";
}

// Writes the array in chunks of items, a chunk rendered on each core side by side. One round's
// chunks are written out while the next round's are rendered, so that no core waits on the
// writes, and the text in memory stays two rounds of chunks.
template <class Items, class Append>
void write_array(std::string& text, std::ostream& out, const Items& items, Append append) {
  if (items.empty()) {
    text += "[]";
    return;
  }
  text += "[\n";
  constexpr size_t kChunk = 2048;  // items: about a megabyte of text
  const size_t cores = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::string> rendered[2] = {std::vector<std::string>(cores), std::vector<std::string>(cores)};
  size_t count[2] = {0, 0};  // chunks rendered into each set
  auto render = [&](int set, size_t begin, size_t c) {
    // Appended to here, not in `rendered`: neighbouring strings share a cache line, and each
    // append writes the string's length.
    std::string chunk = std::move(rendered[set][c]);
    chunk.clear();
    const size_t from = begin + c * kChunk, to = std::min(items.size(), from + kChunk);
    for (size_t i = from; i < to; ++i) {
      if (i > 0) chunk += ",\n";
      chunk += "    ";
      append(chunk, items[i]);
    }
    rendered[set][c] = std::move(chunk);
  };
  auto write = [&](int set) {  // `text` first: what came before the array
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    text.clear();
    for (size_t c = 0; c < count[set]; ++c)
      out.write(rendered[set][c].data(), static_cast<std::streamsize>(rendered[set][c].size()));
  };
  constexpr size_t kWrite = SIZE_MAX;  // the work item that writes the round before
  for (size_t round = 0, begin = 0;; ++round, begin += kChunk * cores) {
    const int set = static_cast<int>(round % 2);
    count[set] = 0;
    while (count[set] < cores && begin + count[set] * kChunk < items.size()) ++count[set];
    std::vector<size_t> work;
    if (round > 0) work.push_back(kWrite);
    for (size_t c = 0; c < count[set]; ++c) work.push_back(c);
    parallel_for_each(work, [&](size_t w) {
      if (w == kWrite) write(1 - set);
      else render(set, begin, w);
    });
    if (count[set] == 0) break;
  }
  text += "\n  ]";
}

}  // namespace

void print_eval_json(const Config& config, const EvaluationInput& source, const EvaluationResult& result,
                     const std::string& evaluated_at,
                     const std::vector<FeedSummary>& feeds, std::ostream& out) {
  std::string text = "{\n  \"evaluated_at\": ";
  append_json_string(text, evaluated_at);
  text += ",\n  \"alerts\": ";
  write_array(text, out, result.matches, [&](std::string& t, const Match& m) { append_match(t, source, m); });
  text += ",\n  \"values\": ";
  write_array(text, out, result.values, [&](std::string& t, const GroupValue& v) { append_group_value(t, config, v); });
  text += ",\n  \"feeds\": ";
  write_array(text, out, feeds, append_feed);
  text += "\n}\n";
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
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

void print_eval_table(const Config& config, const EvaluationInput& source, const EvaluationResult& result,
                      const std::string& evaluated_at,
                      const std::vector<FeedSummary>& feeds, std::ostream& out) {
  size_t counts[3] = {0, 0, 0};
  std::vector<std::vector<std::string>> rows = {{"RULE", "KEY", "SEVERITY", "DUE", "VALUE", "SUMMARY"}};
  for (const Match& m : result.matches) {
    ++counts[static_cast<int>(m.severity)];
    rows.push_back({config.rules[m.rule].spec.name, m.key, std::string(severity_name(m.severity)),
                    m.due_date == kNullDay ? "" : format_iso(m.due_date), m.value ? number_to_text(*m.value) : "",
                    std::string(match_text(source, m).annotations.value_or_empty("summary"))});
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

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

}  // namespace casewatch
