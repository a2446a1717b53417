#include "tools/gen/csv_writer.h"

#include <cstring>

namespace casewatch::gen {

namespace {
constexpr size_t kBufferSize = size_t{4} << 20;
}

CsvWriter::CsvWriter(std::string path, Options options)
    : path_(std::move(path)), options_(options), buffer_(kBufferSize) {
  file_ = std::fopen(path_.c_str(), "wb");
  if (file_ != nullptr && options_.bom) put("\xEF\xBB\xBF");
}

CsvWriter::~CsvWriter() { close(); }

bool CsvWriter::close() {
  if (file_ == nullptr) return false;
  flush();
  if (std::fclose(file_) != 0) failed_ = true;
  file_ = nullptr;
  return !failed_;
}

void CsvWriter::flush() {
  if (file_ != nullptr && len_ > 0) {
    if (std::fwrite(buffer_.data(), 1, len_, file_) != len_) failed_ = true;
  }
  bytes_ += len_;
  len_ = 0;
}

void CsvWriter::put(std::string_view s) {
  if (s.empty()) return;  // an empty view may have no data pointer, which memcpy must not see
  if (s.size() > buffer_.size() - len_) {
    flush();
    if (s.size() > buffer_.size()) {
      if (file_ != nullptr && std::fwrite(s.data(), 1, s.size(), file_) != s.size()) failed_ = true;
      bytes_ += s.size();
      return;
    }
  }
  std::memcpy(buffer_.data() + len_, s.data(), s.size());
  len_ += s.size();
}

void CsvWriter::header(std::initializer_list<std::string_view> headings) {
  for (std::string_view h : headings) {
    separator();
    put(h);  // headings are chosen so that none needs quoting
  }
  first_in_row_ = true;
  put(options_.crlf ? std::string_view("\r\n") : std::string_view("\n"));
}

void CsvWriter::text(std::string_view value) {
  separator();
  if (value.find_first_of(",\"\r\n") == std::string_view::npos) {
    put(value);
    return;
  }
  put('"');
  for (char c : value) {
    if (c == '"') put('"');
    put(c);
  }
  put('"');
}

void CsvWriter::number(int64_t value) {
  separator();
  char digits[24];
  int n = 0;
  const bool negative = value < 0;
  uint64_t v = negative ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  if (negative) put('-');
  while (n > 0) put(digits[--n]);
}

void CsvWriter::put_date(Day day) {
  const Civil c = civil_from_days(day);
  char s[10] = {static_cast<char>('0' + c.day / 10), static_cast<char>('0' + c.day % 10), '/',
                static_cast<char>('0' + c.month / 10), static_cast<char>('0' + c.month % 10), '/',
                static_cast<char>('0' + c.year / 1000 % 10), static_cast<char>('0' + c.year / 100 % 10),
                static_cast<char>('0' + c.year / 10 % 10), static_cast<char>('0' + c.year % 10)};
  put(std::string_view(s, 10));
}

void CsvWriter::date(Day day) {
  separator();
  if (day != kNoDay) put_date(day);
}

void CsvWriter::date_time(Day day, int hour, int minute) {
  separator();
  if (day == kNoDay) return;
  put_date(day);
  const char s[6] = {' ', static_cast<char>('0' + hour / 10), static_cast<char>('0' + hour % 10), ':',
                     static_cast<char>('0' + minute / 10), static_cast<char>('0' + minute % 10)};
  put(std::string_view(s, 6));
}

void CsvWriter::empty() { separator(); }

void CsvWriter::end_row() {
  put(options_.crlf ? std::string_view("\r\n") : std::string_view("\n"));
  first_in_row_ = true;
  ++rows_;
  if (row_bad_) ++bad_rows_;
  row_bad_ = false;
}

}  // namespace casewatch::gen
