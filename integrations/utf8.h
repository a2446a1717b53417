// Text that reaches consumers who reject bad bytes: Prometheus refuses a whole scrape for one
// label that is not UTF-8, a log line must not be forged by a newline inside a key, and
// extracts are not always UTF-8 (Windows-1252 exports are common). Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace casewatch {

// The length of the well-formed UTF-8 sequence at text[i] (no overlong forms, no surrogates,
// nothing above U+10FFFF), or 0 when the bytes there are not one.
size_t utf8_sequence_length(std::string_view text, size_t i);

// Whether text[i..] is well-formed UTF-8 (the slow part of is_valid_utf8).
bool is_valid_utf8_from(std::string_view text, size_t i);

// Whether every byte of `text` is part of a well-formed sequence. Inline and ASCII first: every
// string cell of every extract passes through it, and nearly all of them are ASCII.
inline bool is_valid_utf8(std::string_view text) {
  const char* p = text.data();
  size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, p + i, 8);
    if (word & 0x8080808080808080ull) return is_valid_utf8_from(text, i);
  }
  for (; i < text.size(); ++i)
    if (static_cast<unsigned char>(p[i]) >= 0x80) return is_valid_utf8_from(text, i);
  return true;
}

// `text` with every byte that is not part of a well-formed sequence replaced by U+FFFD.
std::string valid_utf8(std::string_view text);

// For logs: valid UTF-8 with control characters escaped (\n, \r, \t, \xNN), so that one field
// can never start a new line or hide what follows.
std::string log_safe(std::string_view text);

}  // namespace casewatch
