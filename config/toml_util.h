// Reading TOML documents into plain structs with every problem reported at its position.
// toml++ exceptions are caught here and turned into diagnostics. Not thread-safe.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "config/diagnostics.h"

namespace casewatch {

// A parsed TOML file, with its raw text kept for mapping offsets inside strings to positions.
class TomlFile {
 public:
  // Reads and parses `path`; on failure returns nullopt and reports why (with the position of a
  // syntax error).
  static std::optional<TomlFile> load(const std::string& path, Diagnostics& diagnostics);
  static std::optional<TomlFile> parse(std::string text, const std::string& path, Diagnostics& diagnostics);

  const std::string& path() const { return path_; }
  const toml::table& root() const { return root_; }

  // Reports an error at a node, a key, or the character `offset` bytes into a string node's
  // decoded value (for problems inside expressions and templates).
  void error(const toml::node& node, std::string message, Diagnostics& diagnostics) const;
  void error(const toml::key& key, std::string message, Diagnostics& diagnostics) const;
  void error_in_string(const toml::node& node, size_t offset, std::string message, Diagnostics& diagnostics) const;

  // Reports every key of `table` not in `allowed`.
  void reject_unknown_keys(const toml::table& table, std::initializer_list<std::string_view> allowed,
                           std::string_view where, Diagnostics& diagnostics) const;

  // Typed getters: nullopt when the key is absent; reports a wrong type and returns nullopt.
  std::optional<std::string> get_string(const toml::table& table, std::string_view key, Diagnostics& d) const;
  std::optional<bool> get_bool(const toml::table& table, std::string_view key, Diagnostics& d) const;
  std::optional<double> get_number(const toml::table& table, std::string_view key, Diagnostics& d) const;
  std::optional<std::vector<std::string>> get_string_array(const toml::table& table, std::string_view key,
                                                           Diagnostics& d) const;
  // A run-time interval: "30s", "5m", "2h", "1d", "1w"; returned in seconds.
  std::optional<int64_t> get_interval(const toml::table& table, std::string_view key, Diagnostics& d) const;
  const toml::table* get_table(const toml::table& table, std::string_view key, Diagnostics& d) const;

 private:
  std::string path_;
  std::string text_;
  toml::table root_;
  std::vector<size_t> line_starts_;  // byte offset of each line's first character
};

// "30s", "5m", "2h", "1d", "1w" to seconds; nullopt if malformed.
std::optional<int64_t> parse_interval(std::string_view text);
// Seconds as parse_interval reads them, in the largest unit that divides them ("5m", "90s").
std::string format_interval(int64_t seconds);

}  // namespace casewatch
