#include "rules/string_map.h"

#include <algorithm>
#include <cassert>
#include <stdexcept>

namespace casewatch {

namespace {

char* put_length(char* out, size_t n) {
  while (n >= 0x80) {
    *out++ = static_cast<char>((n & 0x7f) | 0x80);
    n >>= 7;
  }
  *out++ = static_cast<char>(n);
  return out;
}

size_t read_length(const char*& p) {
  size_t n = 0;
  for (int shift = 0;; shift += 7) {
    const auto byte = static_cast<unsigned char>(*p++);
    n |= static_cast<size_t>(byte & 0x7f) << shift;
    if (byte < 0x80) return n;
  }
}

size_t encoded_size(std::string_view key, std::string_view value) {
  auto length_bytes = [](size_t n) {
    size_t bytes = 1;
    while (n >= 0x80) n >>= 7, ++bytes;
    return bytes;
  };
  return length_bytes(key.size()) + length_bytes(value.size()) + key.size() + value.size();
}

char* put_entry(char* out, std::string_view key, std::string_view value) {
  out = put_length(out, key.size());
  out = put_length(out, value.size());
  out = std::copy(key.begin(), key.end(), out);
  return std::copy(value.begin(), value.end(), out);
}

}  // namespace

void StringMap::const_iterator::decode() {
  if (at_ == end_) return;
  const char* p = at_;
  const size_t key_size = read_length(p);
  const size_t value_size = read_length(p);
  entry_ = {std::string_view(p, key_size), std::string_view(p + key_size, value_size)};
  next_ = p + key_size + value_size;
}

// Sorts by key keeping the last of equal keys, then encodes: one allocation for the whole map.
template <typename Pair>
void StringMap::encode(std::vector<Pair>& entries) {
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Pair& a, const Pair& b) { return std::string_view(a.first) < std::string_view(b.first); });
  auto kept = [&](size_t i) { return i + 1 == entries.size() || entries[i].first != entries[i + 1].first; };
  size_t bytes = 0;
  for (size_t i = 0; i < entries.size(); ++i)
    if (kept(i)) bytes += encoded_size(entries[i].first, entries[i].second);
  char* out = allocate(bytes);
  for (size_t i = 0; i < entries.size(); ++i)
    if (kept(i)) out = put_entry(out, entries[i].first, entries[i].second);
}

StringMap::StringMap(std::initializer_list<value_type> entries) {
  std::vector<value_type> sorted(entries);
  encode(sorted);
}

StringMap::StringMap(std::vector<std::pair<std::string, std::string>> entries) { encode(entries); }

StringMap StringMap::from_sorted(std::span<const value_type> entries) {
  size_t bytes = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    assert(i == 0 || entries[i - 1].first < entries[i].first);
    bytes += encoded_size(entries[i].first, entries[i].second);
  }
  StringMap map;
  char* out = map.allocate(bytes);
  for (const auto& [key, value] : entries) out = put_entry(out, key, value);
  return map;
}

char* StringMap::allocate(size_t size) {
  size_ = size;
  if (size == 0) {
    bytes_.reset();
    return nullptr;
  }
  auto bytes = std::make_shared_for_overwrite<char[]>(size);
  char* out = bytes.get();
  bytes_ = std::move(bytes);
  return out;
}

size_t StringMap::size() const {
  size_t n = 0;
  for (auto it = begin(); it != end(); ++it) ++n;
  return n;
}

StringMap::const_iterator StringMap::find(std::string_view key) const {
  for (auto it = begin(); it != end(); ++it) {
    const std::string_view k = it->first;
    if (k == key) return it;
    if (k > key) break;  // sorted: it is not further on
  }
  return end();
}

std::string_view StringMap::at(std::string_view key) const {
  auto it = find(key);
  if (it == end()) throw std::out_of_range("no entry '" + std::string(key) + "'");
  return it->second;
}

std::string_view StringMap::value_or_empty(std::string_view key) const {
  auto it = find(key);
  return it == end() ? std::string_view() : it->second;
}

void StringMap::set(std::string_view key, std::string_view value) {
  const StringMap old = *this;  // keeps the bytes read below (and `key` and `value`, if they are in them)
  const const_iterator replaced = old.find(key);
  const size_t replaced_size = replaced == old.end() ? 0 : static_cast<size_t>(replaced.next_ - replaced.at_);
  char* out = allocate(old.size_ - replaced_size + encoded_size(key, value));
  bool placed = false;
  for (const auto& [k, v] : old) {
    if (!placed && k >= key) {
      out = put_entry(out, key, value);
      placed = true;
      if (k == key) continue;  // replaced
    }
    out = put_entry(out, k, v);
  }
  if (!placed) put_entry(out, key, value);
}

bool StringMap::erase(std::string_view key) {
  auto it = find(key);
  if (it == end()) return false;
  const StringMap old = *this;
  char* out = allocate(old.size_ - static_cast<size_t>(it.next_ - it.at_));
  out = std::copy(old.bytes_.get(), it.at_, out);
  std::copy(it.next_, old.bytes_.get() + old.size_, out);
  return true;
}

}  // namespace casewatch
