#include "rules/table.h"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace casewatch {

int Schema::field_index(std::string_view name) const {
  for (size_t i = 0; i < fields.size(); ++i)
    if (fields[i].name == name) return static_cast<int>(i);
  return -1;
}

Table::Table(std::shared_ptr<const Schema> schema) : schema_(std::move(schema)) {
  columns_.resize(schema_->fields.size());
  for (size_t i = 0; i < columns_.size(); ++i) columns_[i].type = schema_->fields[i].type;
}

std::string_view trim(std::string_view text) {
  size_t begin = 0, end = text.size();
  while (begin < end && (text[begin] == ' ' || text[begin] == '\t' || text[begin] == '\r' || text[begin] == '\n')) ++begin;
  while (end > begin && (text[end - 1] == ' ' || text[end - 1] == '\t' || text[end - 1] == '\r' || text[end - 1] == '\n')) --end;
  return text.substr(begin, end - begin);
}

std::optional<double> parse_number_cell(std::string_view text) {
  if (text.empty()) return std::nullopt;
  const char* first = text.data();
  const char* last = first + text.size();
  if (*first == '+') ++first;  // from_chars refuses a leading '+'
  double value = 0;
  auto [ptr, ec] = std::from_chars(first, last, value, std::chars_format::general);
  if (ec != std::errc() || ptr != last || std::isnan(value) || std::isinf(value)) return std::nullopt;
  return value;
}

std::optional<bool> parse_bool_cell(std::string_view text) {
  auto equals = [&](std::string_view word) {
    return text.size() == word.size() &&
           std::equal(text.begin(), text.end(), word.begin(),
                      [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
  };
  if (equals("true") || equals("yes") || equals("y") || equals("1")) return true;
  if (equals("false") || equals("no") || equals("n") || equals("0")) return false;
  return std::nullopt;
}

TableBuilder::TableBuilder(std::shared_ptr<const Schema> schema, DateParser dates)
    : table_(std::move(schema)), dates_(std::move(dates)) {
  size_t n = table_.schema().fields.size();
  dictionaries_.resize(n);
  numbers_.resize(n);
  days_.resize(n);
  bools_.resize(n);
}

std::string_view TableBuilder::store(std::string_view text) {
  constexpr size_t kChunk = 1 << 20;
  if (table_.storage_.empty() || table_.storage_used_ + text.size() > table_.storage_.back().size()) {
    table_.storage_.emplace_back(std::max(kChunk, text.size()), '\0');
    table_.storage_used_ = 0;
  }
  char* out = table_.storage_.back().data() + table_.storage_used_;
  std::memcpy(out, text.data(), text.size());
  table_.storage_used_ += text.size();
  return {out, text.size()};
}

uint32_t TableBuilder::intern(size_t field, std::string_view text) {
  auto& dictionary = dictionaries_[field];
  auto it = dictionary.find(text);
  if (it != dictionary.end()) return it->second;
  Column& column = table_.columns_[field];
  auto code = static_cast<uint32_t>(column.dictionary.size());
  std::string_view stored = store(text);
  column.dictionary.push_back(stored);
  dictionary.emplace(stored, code);
  return code;
}

std::optional<TableBuilder::RowError> TableBuilder::add_row(std::span<const std::string_view> cells) {
  const Schema& schema = table_.schema();
  const size_t n = schema.fields.size();
  for (size_t f = 0; f < n; ++f) {
    std::string_view cell = f < cells.size() ? cells[f] : std::string_view();
    switch (schema.fields[f].type) {
      case Type::Number: {
        if (cell.empty()) { numbers_[f] = std::nan(""); break; }
        auto v = parse_number_cell(cell);
        if (!v) return RowError{f, "not a number"};
        numbers_[f] = *v;
        break;
      }
      case Type::Date: {
        if (cell.empty()) { days_[f] = kNullDay; break; }
        auto v = dates_.parse(cell);
        if (!v) return RowError{f, dates_.format().empty() ? "not a date (expected YYYY-MM-DD)"
                                                            : "not a date (expected " + dates_.format() + " or YYYY-MM-DD)"};
        days_[f] = *v;
        break;
      }
      case Type::Bool: {
        if (cell.empty()) { bools_[f] = -1; break; }
        auto v = parse_bool_cell(cell);
        if (!v) return RowError{f, "not a bool (expected true/false, yes/no, y/n or 1/0)"};
        bools_[f] = *v ? 1 : 0;
        break;
      }
      default: break;
    }
  }
  std::string_view key = schema.key < cells.size() ? cells[schema.key] : std::string_view();
  if (key.empty()) return RowError{schema.key, "empty key"};
  if (dictionaries_[schema.key].count(key)) return RowError{schema.key, "duplicate key"};

  for (size_t f = 0; f < n; ++f) {
    Column& column = table_.columns_[f];
    switch (column.type) {
      case Type::Number: column.numbers.push_back(numbers_[f]); break;
      case Type::Date: column.days.push_back(days_[f]); break;
      case Type::Bool: column.bools.push_back(bools_[f]); break;
      default: {
        std::string_view cell = f < cells.size() ? cells[f] : std::string_view();
        column.codes.push_back(cell.empty() ? kNullCode : intern(f, cell));
      }
    }
  }
  ++table_.rows_;
  return std::nullopt;
}

Table TableBuilder::finish() {
  dictionaries_.clear();
  return std::move(table_);
}

}  // namespace casewatch
