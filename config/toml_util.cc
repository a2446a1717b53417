#include "config/toml_util.h"

#include <charconv>
#include <fstream>
#include <limits>
#include <sstream>

namespace casewatch {

std::optional<int64_t> parse_interval(std::string_view text) {
  int64_t amount = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), amount);
  if (ec != std::errc() || amount < 0 || ptr == text.data() + text.size()) return std::nullopt;
  std::string_view unit(ptr, text.data() + text.size() - ptr);
  int64_t scale = unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : unit == "d" ? 86400 : unit == "w" ? 7 * 86400 : 0;
  if (scale == 0 || amount > std::numeric_limits<int64_t>::max() / scale) return std::nullopt;  // no overflow
  return amount * scale;
}

std::optional<TomlFile> TomlFile::load(const std::string& path, Diagnostics& diagnostics) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diagnostics.error(path, "cannot read the file");
    return std::nullopt;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse(buffer.str(), path, diagnostics);
}

std::optional<TomlFile> TomlFile::parse(std::string text, const std::string& path, Diagnostics& diagnostics) {
  TomlFile file;
  file.path_ = path;
  file.text_ = std::move(text);
  file.line_starts_.push_back(0);
  for (size_t i = 0; i < file.text_.size(); ++i)
    if (file.text_[i] == '\n') file.line_starts_.push_back(i + 1);
  try {
    file.root_ = toml::parse(file.text_, path);
  } catch (const toml::parse_error& e) {
    const auto& begin = e.source().begin;
    diagnostics.error(path, static_cast<int>(begin.line), static_cast<int>(begin.column), std::string(e.description()));
    return std::nullopt;
  }
  return file;
}

void TomlFile::error(const toml::node& node, std::string message, Diagnostics& diagnostics) const {
  const auto& begin = node.source().begin;
  diagnostics.error(path_, static_cast<int>(begin.line), static_cast<int>(begin.column), std::move(message));
}

void TomlFile::error(const toml::key& key, std::string message, Diagnostics& diagnostics) const {
  const auto& begin = key.source().begin;
  diagnostics.error(path_, static_cast<int>(begin.line), static_cast<int>(begin.column), std::move(message));
}

// Walks the raw string literal from its opening delimiter, decoding as TOML does, until `offset`
// decoded bytes have passed, so that a position inside an expression is exact even in multi-line
// strings (CRLF line ends, line-ending backslashes) and strings with escapes. Columns count code
// points, as toml++ does for every other position.
void TomlFile::error_in_string(const toml::node& node, size_t offset, std::string message,
                               Diagnostics& diagnostics) const {
  const auto& begin = node.source().begin;
  size_t line = begin.line, column = begin.column;
  if (line == 0 || line > line_starts_.size()) return error(node, std::move(message), diagnostics);
  auto at = [&](size_t i) { return i < text_.size() ? text_[i] : '\0'; };
  auto continuation = [&](size_t i) { return (static_cast<unsigned char>(at(i)) & 0xC0) == 0x80; };
  size_t pos = line_starts_[line - 1];
  if (line == 1 && text_.compare(0, 3, "\xEF\xBB\xBF") == 0) pos = 3;  // toml++ skips a byte order mark
  for (size_t c = 1; c < column && pos < text_.size() && at(pos) != '\n'; ++c) {
    ++pos;
    while (continuation(pos)) ++pos;
  }
  char quote = at(pos);
  if (quote != '"' && quote != '\'') return error(node, std::move(message), diagnostics);
  bool multiline = at(pos + 1) == quote && at(pos + 2) == quote;
  bool basic = quote == '"';
  auto step = [&](size_t n) {
    for (size_t i = 0; i < n && pos < text_.size(); ++i, ++pos) {
      if (text_[pos] == '\n') { ++line; column = 1; }
      else if (!continuation(pos)) ++column;
    }
  };
  auto is_blank = [](char c) { return c == ' ' || c == '\t'; };
  step(multiline ? 3 : 1);
  if (multiline) {  // a newline right after the opening delimiter is not part of the value
    if (at(pos) == '\r' && at(pos + 1) == '\n') step(2);
    else if (at(pos) == '\n') step(1);
  }
  size_t decoded = 0;
  while (pos < text_.size()) {
    if (multiline && basic && at(pos) == '\\') {
      // A line-ending backslash: it and all whitespace and newlines after it decode to nothing.
      size_t next = pos + 1;
      while (is_blank(at(next))) ++next;
      if (at(next) == '\r' && at(next + 1) == '\n') ++next;
      if (at(next) == '\n') {
        step(next + 1 - pos);
        while (is_blank(at(pos)) || at(pos) == '\n' || (at(pos) == '\r' && at(pos + 1) == '\n')) step(1);
        continue;
      }
    }
    if (decoded >= offset) break;
    if (basic && at(pos) == '\\') {
      char e = at(pos + 1);
      size_t raw = e == 'u' ? 6 : e == 'U' ? 10 : 2;
      size_t bytes = 1;
      if (e == 'u' || e == 'U') {
        unsigned long cp = std::strtoul(text_.substr(pos + 2, raw - 2).c_str(), nullptr, 16);
        bytes = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      }
      step(raw);
      decoded += bytes;
      continue;
    }
    if (multiline && at(pos) == '\r' && at(pos + 1) == '\n') {  // toml++ decodes CRLF as LF
      step(2);
      ++decoded;
      continue;
    }
    step(1);
    ++decoded;
  }
  diagnostics.error(path_, static_cast<int>(line), static_cast<int>(column), std::move(message));
}

void TomlFile::reject_unknown_keys(const toml::table& table, std::initializer_list<std::string_view> allowed,
                                   std::string_view where, Diagnostics& diagnostics) const {
  for (const auto& [key, value] : table) {
    bool known = false;
    for (auto name : allowed) known = known || key.str() == name;
    if (!known) error(key, "unknown key '" + std::string(key.str()) + "' in " + std::string(where), diagnostics);
  }
}

std::optional<std::string> TomlFile::get_string(const toml::table& table, std::string_view key, Diagnostics& d) const {
  const toml::node* node = table.get(key);
  if (!node) return std::nullopt;
  if (auto s = node->value<std::string>(); s && node->is_string()) return *s;
  error(*node, "'" + std::string(key) + "' must be a string", d);
  return std::nullopt;
}

std::optional<bool> TomlFile::get_bool(const toml::table& table, std::string_view key, Diagnostics& d) const {
  const toml::node* node = table.get(key);
  if (!node) return std::nullopt;
  if (node->is_boolean()) return node->as_boolean()->get();
  error(*node, "'" + std::string(key) + "' must be true or false", d);
  return std::nullopt;
}

std::optional<double> TomlFile::get_number(const toml::table& table, std::string_view key, Diagnostics& d) const {
  const toml::node* node = table.get(key);
  if (!node) return std::nullopt;
  if (node->is_integer()) return static_cast<double>(node->as_integer()->get());
  if (node->is_floating_point()) return node->as_floating_point()->get();
  error(*node, "'" + std::string(key) + "' must be a number", d);
  return std::nullopt;
}

std::optional<std::vector<std::string>> TomlFile::get_string_array(const toml::table& table, std::string_view key,
                                                                   Diagnostics& d) const {
  const toml::node* node = table.get(key);
  if (!node) return std::nullopt;
  const toml::array* array = node->as_array();
  if (!array) {
    error(*node, "'" + std::string(key) + "' must be an array of strings", d);
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (const auto& item : *array) {
    if (!item.is_string()) {
      error(item, "'" + std::string(key) + "' must hold only strings", d);
      ok = false;
      continue;
    }
    out.push_back(item.as_string()->get());
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<int64_t> TomlFile::get_interval(const toml::table& table, std::string_view key, Diagnostics& d) const {
  const toml::node* node = table.get(key);
  if (!node) return std::nullopt;
  if (node->is_string()) {
    if (auto seconds = parse_interval(node->as_string()->get())) return seconds;
  }
  error(*node, "'" + std::string(key) + "' must be an interval such as \"30s\", \"5m\", \"2h\" or \"1d\"", d);
  return std::nullopt;
}

const toml::table* TomlFile::get_table(const toml::table& table, std::string_view key, Diagnostics& d) const {
  const toml::node* node = table.get(key);
  if (!node) return nullptr;
  if (const toml::table* t = node->as_table()) return t;
  error(*node, "'" + std::string(key) + "' must be a table", d);
  return nullptr;
}

}  // namespace casewatch

namespace casewatch {

std::string format_interval(int64_t seconds) {
  for (auto [unit, size] : {std::pair{'w', int64_t{604800}}, {'d', int64_t{86400}}, {'h', int64_t{3600}}, {'m', int64_t{60}}})
    if (seconds != 0 && seconds % size == 0) return std::to_string(seconds / size) + unit;
  return std::to_string(seconds) + "s";
}

}  // namespace casewatch
