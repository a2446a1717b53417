#include "integrations/csv_reader.h"

#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace casewatch::csv {

namespace {

const char* find(const char* from, const char* end, char c) {
  return static_cast<const char*>(std::memchr(from, c, static_cast<size_t>(end - from)));
}

size_t count_newlines(const char* from, const char* end) {
  size_t n = 0;
  // memchr rather than a byte loop: newlines inside quoted fields are rare, so this is one call.
  while ((from = find(from, end, '\n')) != nullptr) {
    ++n;
    ++from;
  }
  return n;
}

// The commas of the data, 64 bytes at a time: a compare per 16 bytes rather than a memchr call
// per field, most fields being a few bytes long. The block's bitmask serves every field in it.
class CommaFinder {
 public:
  explicit CommaFinder(const char* data_end) : data_end_(data_end), block_(data_end) {}

  // The first ',' in [from, end), or null; `end` is at most the end of the data.
  const char* next(const char* from, const char* end) {
    while (from < end) {
      if (from < block_ || from - block_ >= 64) load(from);
      const uint64_t after_from = mask_ & (~uint64_t{0} << (from - block_));
      if (after_from != 0) {
        const char* comma = block_ + __builtin_ctzll(after_from);
        return comma < end ? comma : nullptr;
      }
      from = block_ + 64;
    }
    return nullptr;
  }

 private:
  void load(const char* at) {
    block_ = at;
    mask_ = 0;
#if defined(__SSE2__)
    if (data_end_ - at >= 64) {
      const __m128i comma = _mm_set1_epi8(',');
      for (int k = 0; k < 4; ++k) {
        const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at + 16 * k));
        mask_ |= uint64_t{static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, comma)))} << (16 * k);
      }
      return;
    }
#endif
    for (ptrdiff_t i = 0; i < 64 && i < data_end_ - at; ++i)
      if (at[i] == ',') mask_ |= uint64_t{1} << i;
  }

  const char* data_end_;
  const char* block_;  // the 64 bytes whose commas mask_ holds (fewer at the end of the data)
  uint64_t mask_ = 0;
};

}  // namespace

Reader::Reader(std::string_view data) : data_(data) {
  if (data_.starts_with("\xEF\xBB\xBF")) pos_ = 3;
}

Reader::Reader(std::string_view data, size_t first_line, bool last) : data_(data), line_(first_line), last_(last) {
  if (first_line == 1 && data_.starts_with("\xEF\xBB\xBF")) pos_ = 3;
}

size_t Reader::resume_at(const char* p) const {
  // Nothing read yet but a byte order mark: the next piece starts at the beginning again, to skip
  // the mark itself, or a second mark (data) would be skipped as if it were the first.
  if (!last_ && line_ == 1) return 0;
  return static_cast<size_t>(p - data_.data());
}

bool Reader::next(Record& out) {
  out.fields.clear();
  out.error.clear();
  out.terminated = true;
  unescaped_fields_.clear();

  const char* const begin = data_.data();
  const char* const end = begin + data_.size();
  const char* p = begin + pos_;

  // Blank lines: empty, or a lone CR (the CR of a CRLF, or one left at the end of the data).
  for (;;) {
    if (p == end || (!last_ && *p == '\r' && p + 1 == end)) {
      pos_ = resume_at(p);
      return false;
    }
    if (*p == '\n') {
      ++line_;
      ++p;
    } else if (*p == '\r' && (p + 1 == end || p[1] == '\n')) {
      ++p;
    } else {
      break;
    }
  }
  pos_ = static_cast<size_t>(p - begin);
  out.line = line_;
  const size_t record_line = line_;

  // In a piece that is not the last, a record reaching the end of the data may go on in the
  // next piece: it is left unread, to be read whole from there.
  auto incomplete = [&] {
    line_ = record_line;
    pos_ = resume_at(begin + pos_);
    out.fields.clear();
    out.error.clear();
    unescaped_fields_.clear();
    return false;
  };

  // Where the current record ends, unless a quoted field runs past it (then it is recomputed).
  auto line_end = [&](const char* from) {
    const char* nl = find(from, end, '\n');
    return nl ? nl : end;
  };
  const char* eol = line_end(p);
  CommaFinder commas(end);

  // Ends the record after a terminator at `at` ('\n', or `end`).
  auto finish = [&](const char* at) {
    if (at == end && !last_) return incomplete();
    if (at == end) {
      pos_ = data_.size();
      out.terminated = false;
    } else {
      ++line_;
      pos_ = static_cast<size_t>(at + 1 - begin);
    }
    for (size_t k = 0; k < unescaped_fields_.size(); ++k)
      out.fields[unescaped_fields_[k]] = unescaped_[k];
    return true;
  };

  auto too_many_fields = [&] {
    out.error = "more than " + std::to_string(kMaxFields) + " fields";
    out.fields.resize(kMaxFields);
    unescaped_fields_.clear();  // the record is rejected: its fields are not read
    return finish(eol);
  };

  for (;;) {
    if (out.fields.size() > kMaxFields) return too_many_fields();
    if (p == end || *p != '"') {
      // Unquoted: runs to the next comma or the end of the line. A quote here is plain data.
      if (const char* comma = commas.next(p, eol)) {
        out.fields.emplace_back(p, static_cast<size_t>(comma - p));
        p = comma + 1;
        continue;
      }
      const char* field_end = eol;
      if (field_end > p && field_end[-1] == '\r') --field_end;
      out.fields.emplace_back(p, static_cast<size_t>(field_end - p));
      return finish(eol);
    }

    // Quoted. Stays a view into the input unless a doubled quote forces a copy.
    const size_t start_line = line_;
    const char* const start = p + 1;
    const char* segment = start;
    std::string* copy = nullptr;
    const char* close = nullptr;
    for (;;) {
      const char* quote = find(segment, end, '"');
      line_ += count_newlines(segment, quote ? quote : end);
      if (quote == nullptr) {
        if (copy) copy->append(segment, end);
        out.fields.emplace_back(start, static_cast<size_t>(end - start));
        if (copy) unescaped_fields_.back() = out.fields.size() - 1;
        out.error = "unterminated quoted field starting on line " + std::to_string(start_line);
        return finish(end);
      }
      if (quote + 1 != end && quote[1] == '"') {
        if (copy == nullptr) {
          const size_t k = unescaped_fields_.size();
          if (k == unescaped_.size()) unescaped_.emplace_back();
          copy = &unescaped_[k];
          copy->clear();
          unescaped_fields_.push_back(0);  // field index filled in below
        }
        copy->append(segment, quote + 1);  // keeps one of the two quotes
        segment = quote + 2;
        continue;
      }
      if (copy) copy->append(segment, quote);
      close = quote;
      break;
    }
    out.fields.emplace_back(start, static_cast<size_t>(close - start));
    if (copy) unescaped_fields_.back() = out.fields.size() - 1;

    const char* after = close + 1;
    if (after > eol) eol = line_end(after);
    if (after == end) return finish(end);
    if (*after == ',') {
      p = after + 1;
      continue;
    }
    if (*after == '\n') return finish(after);
    if (*after == '\r' && (after + 1 == end || after[1] == '\n')) return finish(after + 1 == end ? end : after + 1);

    // Text after the closing quote: reject this record and resynchronise at the next line, so one
    // bad row does not swallow the rest of the file.
    out.error = "unexpected text after closing quote in field " + std::to_string(out.fields.size());
    return finish(eol);
  }
}

}  // namespace casewatch::csv
