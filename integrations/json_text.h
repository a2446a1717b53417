// JSON as text, for every JSON casewatch writes (API answers, payloads, state, CLI output).
// Extracts are not always valid UTF-8 (Windows-1252 exports are common): invalid bytes become
// U+FFFD instead of throwing, so one odd cell can never break an answer or a delivery.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "rules/string_map.h"

namespace casewatch {

template <class Json>
std::string json_text(const Json& json, int indent = -1) {
  return json.dump(indent, ' ', false, Json::error_handler_t::replace);
}

// For output too large to build as a tree (eval's hundred thousand alerts): appends what
// json_text would write for one string or number, byte for byte, without a JSON value.
void append_json_string(std::string& out, std::string_view text);
void append_json_number(std::string& out, double number);
// A map of strings as a JSON object (a label set), keys in the map's order, as a tree would be.
void append_json_object(std::string& out, const StringMap& map);

}  // namespace casewatch
