// A buffered CSV file writer for casewatch-gen: RFC 4180 quoting where a cell needs it, LF or
// CRLF line ends, an optional UTF-8 byte order mark, dates as dd/mm/yyyy. Writes go through one
// large buffer and fwrite. Single-threaded.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "tools/gen/workdays.h"

namespace casewatch::gen {

class CsvWriter {
 public:
  struct Options {
    bool crlf = false;
    bool bom = false;
  };

  CsvWriter(std::string path, Options options);
  ~CsvWriter();
  CsvWriter(const CsvWriter&) = delete;
  CsvWriter& operator=(const CsvWriter&) = delete;

  bool ok() const { return file_ != nullptr && !failed_; }
  const std::string& path() const { return path_; }
  uint64_t rows() const { return rows_; }     // data rows, the header not counted
  uint64_t bytes() const { return bytes_; }
  uint64_t bad_rows() const { return bad_rows_; }  // rows with a cell marked malformed

  void header(std::initializer_list<std::string_view> headings);

  // Cells of the current row, left to right.
  void text(std::string_view value);            // quoted when it holds , " CR or LF
  void number(int64_t value);
  void date(Day day);                           // kNoDay writes an empty cell
  void date_time(Day day, int hour, int minute);  // "dd/mm/yyyy HH:MM"
  void empty();
  void end_row();
  // Notes that the current row carries a deliberately malformed cell (for the summary).
  void mark_bad() { row_bad_ = true; }

  // Flushes and closes; false on any write error.
  bool close();

 private:
  void separator() {
    if (!first_in_row_) put(',');
    first_in_row_ = false;
  }
  void put(char c) {
    if (len_ == buffer_.size()) flush();
    buffer_[len_++] = c;
  }
  void put(std::string_view s);
  void put_date(Day day);
  void flush();

  std::string path_;
  Options options_;
  std::FILE* file_ = nullptr;
  std::vector<char> buffer_;
  size_t len_ = 0;
  bool first_in_row_ = true;
  bool failed_ = false;
  uint64_t rows_ = 0;
  uint64_t bytes_ = 0;
  bool row_bad_ = false;
  uint64_t bad_rows_ = 0;
};

}  // namespace casewatch::gen
