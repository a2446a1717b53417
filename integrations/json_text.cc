#include "integrations/json_text.h"

namespace casewatch {

void append_json_string(std::string& out, std::string_view text) {
  // Printable ASCII without quotes or backslashes is written as it is; anything else (escapes,
  // UTF-8, bad bytes) goes through nlohmann's writer, so the two ways cannot disagree.
  bool plain = true;
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7f || c == '"' || c == '\\') { plain = false; break; }
  }
  if (!plain) {
    out += json_text(nlohmann::json(std::string(text)));
    return;
  }
  out += '"';
  out.append(text);
  out += '"';
}

void append_json_number(std::string& out, double number) { out += json_text(nlohmann::json(number)); }

void append_json_object(std::string& out, const StringMap& map) {
  out += '{';
  bool first = true;
  for (const auto& [name, value] : map) {
    if (!first) out += ',';
    first = false;
    append_json_string(out, name);
    out += ':';
    append_json_string(out, value);
  }
  out += '}';
}

}  // namespace casewatch
