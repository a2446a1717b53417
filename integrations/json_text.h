// JSON as text, for every JSON casewatch writes (API answers, payloads, state, CLI output).
// Extracts are not always valid UTF-8 (Windows-1252 exports are common): invalid bytes become
// U+FFFD instead of throwing, so one odd cell can never break an answer or a delivery.
#pragma once

#include <string>

namespace casewatch {

template <class Json>
std::string json_text(const Json& json, int indent = -1) {
  return json.dump(indent, ' ', false, Json::error_handler_t::replace);
}

}  // namespace casewatch
