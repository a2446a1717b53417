// Runs csv::Reader over arbitrary bytes and checks it against a slow byte-at-a-time reference
// parser with the same rules, plus invariants that hold whatever the rules are; then reads the
// same bytes in pieces, as feeds are read from files, and checks that it gives the same rows.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "integrations/csv_reader.h"

namespace {

struct Row {
  std::vector<std::string> fields;
  size_t line = 0;
  std::string error;
};

void check(bool ok) {
  if (!ok) std::abort();  // libFuzzer reports the input and the stack
}

// Deliberately naive: one byte at a time, no memchr, no views; must agree with the reader exactly.
std::vector<Row> reference(std::string_view d) {
  std::vector<Row> rows;
  size_t pos = d.starts_with("\xEF\xBB\xBF") ? 3 : 0;
  size_t line = 1;
  const size_t n = d.size();
  for (;;) {
    while (pos < n) {
      if (d[pos] == '\n') {
        ++line;
        ++pos;
      } else if (d[pos] == '\r' && (pos + 1 == n || d[pos + 1] == '\n')) {
        ++pos;
      } else {
        break;
      }
    }
    if (pos == n) return rows;
    Row row;
    row.line = line;
    for (;;) {
      if (row.fields.size() > casewatch::csv::Reader::kMaxFields) {
        row.error = "more than " + std::to_string(casewatch::csv::Reader::kMaxFields) + " fields";
        row.fields.resize(casewatch::csv::Reader::kMaxFields);
        while (pos < n && d[pos] != '\n') ++pos;
        if (pos < n) {
          ++line;
          ++pos;
        }
        break;
      }
      std::string field;
      if (pos < n && d[pos] == '"') {
        ++pos;
        const size_t start_line = line;
        bool closed = false;
        while (pos < n) {
          if (d[pos] == '"') {
            if (pos + 1 < n && d[pos + 1] == '"') {
              field += '"';
              pos += 2;
              continue;
            }
            ++pos;
            closed = true;
            break;
          }
          if (d[pos] == '\n') ++line;
          field += d[pos++];
        }
        row.fields.push_back(field);
        if (!closed) {
          row.error = "unterminated quoted field starting on line " + std::to_string(start_line);
          rows.push_back(row);
          return rows;
        }
        if (pos == n) break;
        if (d[pos] == ',') {
          ++pos;
          continue;
        }
        if (d[pos] == '\n') {
          ++line;
          ++pos;
          break;
        }
        if (d[pos] == '\r' && pos + 1 == n) {
          ++pos;
          break;
        }
        if (d[pos] == '\r' && d[pos + 1] == '\n') {
          ++line;
          pos += 2;
          break;
        }
        row.error = "unexpected text after closing quote in field " +
                    std::to_string(row.fields.size());
        while (pos < n && d[pos] != '\n') ++pos;
        if (pos < n) {
          ++line;
          ++pos;
        }
        break;
      }
      while (pos < n && d[pos] != ',' && d[pos] != '\n') field += d[pos++];
      if (pos < n && d[pos] == ',') {
        row.fields.push_back(field);
        ++pos;
        continue;
      }
      if (!field.empty() && field.back() == '\r') field.pop_back();
      row.fields.push_back(field);
      if (pos < n) {
        ++line;
        ++pos;
      }
      break;
    }
    rows.push_back(row);
  }
}

// The record is the reference's row `index`.
void check_same(const casewatch::csv::Record& record, const std::vector<Row>& expected, size_t index) {
  check(index < expected.size());
  const Row& want = expected[index];
  check(record.line == want.line);
  check(record.error == want.error);
  check(record.fields.size() == want.fields.size());
  for (size_t i = 0; i < want.fields.size(); ++i) check(record.fields[i] == want.fields[i]);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  // A heap copy of exactly `size` bytes, so ASan catches any read past the end of the input.
  const std::string input(reinterpret_cast<const char*>(bytes), size);
  const std::string_view data(input);
  const std::vector<Row> expected = reference(data);

  casewatch::csv::Reader reader(data);
  casewatch::csv::Record record;
  size_t count = 0;
  size_t last_line = 0;
  while (reader.next(record)) {
    // Each call consumes at least one byte, so more records than bytes means it is not advancing.
    check(count <= size);
    check(record.line > last_line);
    last_line = record.line;
    check(!record.fields.empty());
    for (std::string_view field : record.fields) {
      const bool inside = field.data() >= data.data() && field.data() + field.size() <= data.data() + data.size();
      const bool outside = field.data() + field.size() <= data.data() || field.data() >= data.data() + data.size();
      check(inside || outside);  // never straddles the input and something else
      volatile char sink = 0;
      for (char c : field) sink = sink ^ c;  // ASan: the bytes must be readable now
    }

    check_same(record, expected, count++);
  }
  check(count == expected.size());
  check(!reader.next(record));  // the end stays the end

  // In pieces of a size taken from the input's first byte, each reader given what the previous
  // one left unread and the next piece.
  const size_t piece = size == 0 ? 1 : 1 + bytes[0] % 64;
  std::string buffer;
  size_t line = 1, offset = 0;
  count = 0;
  for (bool last = false; !last;) {
    const size_t n = std::min(piece, size - offset);
    buffer.append(data.substr(offset, n));
    offset += n;
    last = n < piece;
    casewatch::csv::Reader pieces(buffer, line, last);
    while (pieces.next(record)) {
      check_same(record, expected, count++);
    }
    check(pieces.consumed() <= buffer.size());
    line = pieces.line();
    buffer.erase(0, pieces.consumed());
    check(buffer.size() <= size);  // what is left unread never grows past the input
  }
  check(count == expected.size());
  return 0;
}
