// RFC 4180 CSV records from a byte buffer, without copying where no unescaping is needed.
// A Reader is single-threaded; separate Readers may run on separate threads.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace casewatch::csv {

struct Record {
  // Views into the input, or into the reader's own buffer for fields that had quotes to unescape.
  // Valid until the next call to Reader::next.
  std::vector<std::string_view> fields;
  size_t line = 0;    // 1-based physical line on which the record starts
  std::string error;  // non-empty when the record is malformed (e.g. text after a closing quote)
  bool terminated = true;  // false for a last record with no line end after it
};

class Reader {
 public:
  // A record with more fields is malformed (its line is skipped): a line of millions of commas
  // would otherwise cost memory in proportion.
  static constexpr size_t kMaxFields = 10'000;

  // `data` must outlive the reader. A leading UTF-8 byte order mark is skipped. Records end at
  // LF or CRLF (a lone CR inside quotes is data). Blank lines are skipped.
  explicit Reader(std::string_view data);

  // For input read in pieces: `data` is the next piece, beginning where the previous reader
  // stopped (consumed()) on line `first_line`. Unless `last`, a record that runs to the end of
  // `data` is left for the next piece, which must begin with it.
  Reader(std::string_view data, size_t first_line, bool last);

  // Reads the next record; returns false at the end of the data (or of the complete records in
  // a piece that is not the last). A malformed record is still returned (with `error` set) so
  // the caller can reject it alone and go on.
  bool next(Record& out);

  // Bytes of `data` read so far, and the line on which the next record starts.
  size_t consumed() const { return pos_; }
  size_t line() const { return line_; }

 private:
  // Where a reader that stops at `p` (not in the last piece) says the next piece must start.
  size_t resume_at(const char* p) const;

  std::string_view data_;
  size_t pos_ = 0;
  size_t line_ = 1;
  bool last_ = true;
  std::vector<std::string> unescaped_;  // owned storage for unescaped fields of the current record
  // Indexes into Record::fields of the fields held in unescaped_ (the k-th uses unescaped_[k]).
  // Their views are set only once the record is complete, because growing unescaped_ mid-record
  // moves the strings (and a short string's bytes move with it).
  std::vector<size_t> unescaped_fields_;
};

}  // namespace casewatch::csv
