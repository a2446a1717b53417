#include "rules/table.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdint>
#include <cstring>

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

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

std::optional<double> parse_number_cell(std::string_view text) {
  if (text.empty()) return std::nullopt;
  const char* first = text.data();
  const char* last = first + text.size();
  if (*first == '+') {  // from_chars refuses a leading '+'; a sign after it is not a number
    ++first;
    if (first == last || *first == '-' || *first == '+') return std::nullopt;
  }
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
  // t and f are how PostgreSQL writes its booleans.
  if (equals("true") || equals("yes") || equals("y") || equals("t") || equals("1")) return true;
  if (equals("false") || equals("no") || equals("n") || equals("f") || equals("0")) return false;
  return std::nullopt;
}

void release_pages(const void* from, const void* to) {
#if defined(__linux__)
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t first = (reinterpret_cast<uintptr_t>(from) + page - 1) & ~(page - 1);
  const uintptr_t last = reinterpret_cast<uintptr_t>(to) & ~(page - 1);
  if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
#else
  (void)from;
  (void)to;
#endif
}

uint64_t StringInterner::hash(std::string_view text) {
  // 8-byte words, the tail read as one more (overlapping) word or as two halves, each folded in
  // with a multiply-xorshift: no byte-at-a-time loop for the short identifiers and names that fill
  // extracts, and well mixed in the high bits that choose a slot.
  const char* p = text.data();
  const size_t n = text.size();
  auto load64 = [](const char* at) {
    uint64_t word;
    std::memcpy(&word, at, 8);
    return word;
  };
  auto load32 = [](const char* at) {
    uint32_t word;
    std::memcpy(&word, at, 4);
    return static_cast<uint64_t>(word);
  };
  const auto mix = &StringInterner::mix;
  uint64_t h = 0xcbf29ce484222325ull ^ n;
  if (n >= 8) {
    size_t i = 0;
    for (; i + 8 < n; i += 8) h = mix(h, load64(p + i));
    h = mix(h, load64(p + n - 8));
  } else if (n >= 4) {
    h = mix(h, load32(p) | (load32(p + n - 4) << 32));
  } else if (n > 0) {
    const auto byte = [&](size_t i) { return static_cast<uint64_t>(static_cast<unsigned char>(p[i])); };
    h = mix(h, byte(0) | (byte(n / 2) << 8) | (byte(n - 1) << 16));
  }
  h *= 0xd6e8feb86659fd93ull;
  return h ^ (h >> 32);
}

void StringInterner::insert(uint64_t h, uint32_t code) {
  if ((used_ + 1) * 4 > slots_.size() * 3) grow();  // keep the load under 3/4
  uint64_t tag = h >> 32;
  size_t mask = slots_.size() - 1;
  size_t i = tag & mask;
  while (slots_[i] != 0) i = (i + 1) & mask;
  slots_[i] = (tag << 32) | (static_cast<uint64_t>(code) + 1);
  ++used_;
}

void StringInterner::clear(size_t strings) {
  size_t size = 1024;
  while (strings * 4 > size * 3) size *= 2;
  slots_.assign(std::max(size, slots_.size()), 0);
  used_ = 0;
}

void StringInterner::grow() {
  size_t size = slots_.empty() ? 1024 : slots_.size() * 2;
  std::vector<uint64_t> old = std::move(slots_);
  slots_.assign(size, 0);
  size_t mask = size - 1;
  for (uint64_t slot : old) {
    if (slot == 0) continue;
    size_t i = (slot >> 32) & mask;
    while (slots_[i] != 0) i = (i + 1) & mask;
    slots_[i] = slot;
  }
}

namespace {
constexpr size_t kCardinalitySample = 50000;
}  // namespace

TableBuilder::TableBuilder(std::shared_ptr<const Schema> schema, DateParser dates, DateRange valid_dates)
    : table_(std::move(schema)), dates_(std::move(dates)), valid_dates_(valid_dates) {
  size_t n = table_.schema().fields.size();
  interners_.resize(n);
  numbers_.resize(n);
  days_.resize(n);
  bools_.resize(n);
}

void TableBuilder::review_cardinality() {
  const size_t rows = table_.rows_;
  for (size_t f = 0; f < table_.columns_.size(); ++f) {
    Column& column = table_.columns_[f];
    if (column.type != Type::String || f == table_.schema().key || !column.stored || !column.distinct_codes) continue;
    if (column.dictionary.size() * 2 > rows) {
      column.distinct_codes = false;
      interners_[f] = StringInterner();
    }
  }
}

uint32_t TableBuilder::intern(size_t field, std::string_view text) {
  Column& column = table_.columns_[field];
  uint64_t h = StringInterner::hash(text);
  uint32_t code = interners_[field].find(h, text, column.dictionary);
  if (code != kNullCode) return code;
  code = column.dictionary.add(text);
  interners_[field].insert(h, code);
  return code;
}

void TableBuilder::store_only(const std::vector<bool>& fields) {
  for (size_t f = 0; f < table_.columns_.size(); ++f)
    table_.columns_[f].stored = f == table_.schema().key || (f < fields.size() && fields[f]);
}

std::optional<Day> TableBuilder::parse_date(std::string_view text) {
  if (text.size() != 10) return dates_.parse(text);
  constexpr size_t kBits = 12;
  if (remembered_dates_.empty()) remembered_dates_.resize(size_t{1} << kBits);
  uint64_t head;
  uint16_t two;
  std::memcpy(&head, text.data(), 8);
  std::memcpy(&two, text.data() + 8, 2);
  const uint32_t tail = two | (uint32_t{1} << 16);
  RememberedDate& entry = remembered_dates_[((head ^ (uint64_t{two} << 48)) * 0x9e3779b97f4a7c15ull) >> (64 - kBits)];
  if (entry.head == head && entry.tail == tail) return entry.day;
  std::optional<Day> day = dates_.parse(text);
  if (day) entry = {head, tail, *day};
  return day;
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
        auto v = parse_date(cell);
        if (!v) return RowError{f, dates_.format().empty() ? "not a date (expected YYYY-MM-DD)"
                                                            : "not a date (expected " + dates_.format() + " or YYYY-MM-DD)"};
        if (!valid_dates_.contains(*v))
          return RowError{f, "date outside engine.valid_dates (" + format_iso(valid_dates_.from) + " to " +
                                 format_iso(valid_dates_.until) + ")"};
        days_[f] = *v;
        break;
      }
      case Type::Bool: {
        if (cell.empty()) { bools_[f] = -1; break; }
        auto v = parse_bool_cell(cell);
        if (!v) return RowError{f, "not a bool (expected true/false, yes/no, y/n, t/f or 1/0)"};
        bools_[f] = *v ? 1 : 0;
        break;
      }
      default: break;
    }
  }
  std::string_view key = schema.key < cells.size() ? cells[schema.key] : std::string_view();
  if (key.empty()) return RowError{schema.key, "empty key"};
  // A key names the alert in logs, the state file and notifications: a NUL would cut it short
  // there and a newline could forge a log line.
  if (std::any_of(key.begin(), key.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
    return RowError{schema.key, "key contains a control character"};

  for (size_t f = 0; f < n; ++f) {
    Column& column = table_.columns_[f];
    if (!column.stored) continue;
    switch (column.type) {
      case Type::Number: column.numbers.push_back(numbers_[f]); break;
      case Type::Date: column.days.push_back(days_[f]); break;
      case Type::Bool: column.bools.push_back(bools_[f]); break;
      default: {
        std::string_view cell = f < cells.size() ? cells[f] : std::string_view();
        if (f == schema.key) {  // each its own entry: a repeated one is dropped later
          column.codes.push_back(column.dictionary.add(cell));
        } else if (cell.empty()) {
          column.codes.push_back(kNullCode);
        } else {
          column.codes.push_back(column.distinct_codes ? intern(f, cell) : column.dictionary.add(cell));
        }
      }
    }
  }
  // Judged once, on a sample big enough that a team or worker column has shown its few values.
  if (++table_.rows_ == kCardinalitySample) review_cardinality();
  return std::nullopt;
}

void TableBuilder::reserve_rows(size_t rows) {
  const size_t have = table_.rows_;
  if (rows <= have) return;
  const size_t key = table_.schema_->key;
  for (size_t f = 0; f < table_.columns_.size(); ++f) {
    Column& column = table_.columns_[f];
    if (!column.stored) continue;
    switch (column.type) {
      case Type::Number: column.numbers.reserve(rows); break;
      case Type::Date: column.days.reserve(rows); break;
      case Type::Bool: column.bools.reserve(rows); break;
      default:
        column.codes.reserve(rows);
        // The key's dictionary holds one entry a row; its bytes go as the rows so far did.
        if (f == key && have > 0) {
          const size_t bytes_per_row = column.dictionary.byte_size() / have + 1;
          column.dictionary.reserve_more(rows - have, (rows - have) * bytes_per_row);
        }
    }
  }
}

std::vector<size_t> TableBuilder::drop_duplicate_keys() {
  keys_checked_ = true;
  const size_t rows = table_.rows_;
  const Column& keys = table_.columns_[table_.schema().key];
  // Rows by the top bits of their key's hash, in row order within each part (a counting sort), so
  // that each part's table of a few thousand keys stays in cache.
  constexpr size_t kRowsPerPart = 4096;
  size_t part_bits = 0;
  while ((rows >> part_bits) > kRowsPerPart && part_bits < 16) ++part_bits;
  const size_t parts = size_t{1} << part_bits;
  auto part_of = [&](uint64_t h) { return part_bits == 0 ? 0 : static_cast<size_t>(h >> (64 - part_bits)); };
  std::vector<uint64_t> hashes(rows);
  std::vector<uint32_t> starts(parts + 1, 0);
  for (size_t row = 0; row < rows; ++row) {
    hashes[row] = StringInterner::hash(keys.dictionary[keys.codes[row]]);
    ++starts[part_of(hashes[row]) + 1];
  }
  for (size_t p = 0; p < parts; ++p) starts[p + 1] += starts[p];
  std::vector<uint32_t> order(rows);
  {
    std::vector<uint32_t> next(starts.begin(), starts.end() - 1);
    for (size_t row = 0; row < rows; ++row) order[next[part_of(hashes[row])]++] = static_cast<uint32_t>(row);
  }
  std::vector<size_t> dropped;
  StringInterner seen;  // a part's keys; its slots are chosen by hash bits below the part's
  for (size_t p = 0; p < parts; ++p) {
    seen.clear(starts[p + 1] - starts[p]);
    for (size_t i = starts[p]; i < starts[p + 1]; ++i) {
      const uint32_t row = order[i];
      // The key's text is read only when a slot's hash bits match: most rows find an empty slot
      // first, and their text, far off in the dictionary, is never fetched again.
      const auto same_key = [&](uint32_t code) { return keys.dictionary[code] == keys.dictionary[keys.codes[row]]; };
      if (seen.find_if(hashes[row], same_key) != kNullCode)
        dropped.push_back(row);
      else
        seen.insert(hashes[row], keys.codes[row]);
    }
  }
  std::sort(dropped.begin(), dropped.end());
  if (!dropped.empty()) erase_rows(dropped);
  return dropped;
}

void TableBuilder::erase_rows(const std::vector<size_t>& dropped) {
  auto erase = [&](auto& cells) {
    if (cells.empty()) return;
    size_t kept = 0, next = 0;
    for (size_t row = 0; row < cells.size(); ++row) {
      if (next < dropped.size() && dropped[next] == row) {
        ++next;
        continue;
      }
      cells[kept++] = cells[row];
    }
    cells.resize(kept);
  };
  // A dropped row's strings stay in the other columns' dictionaries, unused: a code is found only
  // from a row. The key's dictionary is made again, so that it holds each key once.
  for (Column& column : table_.columns_) {
    erase(column.numbers);
    erase(column.days);
    erase(column.bools);
    erase(column.codes);
  }
  table_.rows_ -= dropped.size();
  Column& keys = table_.columns_[table_.schema().key];
  StringDictionary unique;
  unique.reserve_more(keys.codes.size(), keys.dictionary.byte_size());
  for (uint32_t& code : keys.codes) code = unique.add(keys.dictionary[code]);
  keys.dictionary = std::move(unique);
}

bool Table::has_rejected_key(std::string_view key) const {
  return std::binary_search(rejected_keys_.begin(), rejected_keys_.end(), key, std::less<>());
}

Table TableBuilder::finish() {
  if (!keys_checked_) drop_duplicate_keys();
  std::vector<std::string>& rejected = table_.rejected_keys_;
  std::sort(rejected.begin(), rejected.end());
  rejected.erase(std::unique(rejected.begin(), rejected.end()), rejected.end());
  rejected.shrink_to_fit();
  static std::atomic<uint64_t> last_id{0};
  table_.id_ = ++last_id;
  interners_.clear();
  // The vectors grew by doubling or from a guess: some of each may be spare. A snapshot is kept
  // for hours, so a column with much slack is given it back, one at a time, before it is.
  for (Column& column : table_.columns_) {
    give_back_spare(column.numbers);
    give_back_spare(column.days);
    give_back_spare(column.bools);
    give_back_spare(column.codes);
    column.dictionary.shrink_to_fit();
  }
  return std::move(table_);
}

}  // namespace casewatch
