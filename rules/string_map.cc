#include "rules/string_map.h"

#include <algorithm>
#include <stdexcept>

namespace casewatch {

namespace {

void append_length(std::string& out, size_t n) {
  while (n >= 0x80) {
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
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

void append_entry(std::string& out, std::string_view key, std::string_view value) {
  append_length(out, key.size());
  append_length(out, value.size());
  out.append(key);
  out.append(value);
}

// Sorts by key keeping the last of equal keys, then encodes: one allocation for the whole map.
template <typename Pair>
std::string encode(std::vector<Pair>& entries) {
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Pair& a, const Pair& b) { return std::string_view(a.first) < std::string_view(b.first); });
  auto kept = [&](size_t i) { return i + 1 == entries.size() || entries[i].first != entries[i + 1].first; };
  size_t bytes = 0;
  for (size_t i = 0; i < entries.size(); ++i)
    if (kept(i)) bytes += encoded_size(entries[i].first, entries[i].second);
  std::string out;
  out.reserve(bytes);
  for (size_t i = 0; i < entries.size(); ++i)
    if (kept(i)) append_entry(out, entries[i].first, entries[i].second);
  return out;
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

StringMap::StringMap(std::initializer_list<value_type> entries) {
  std::vector<value_type> sorted(entries);
  bytes_ = encode(sorted);
}

StringMap::StringMap(std::vector<std::pair<std::string, std::string>> entries) : bytes_(encode(entries)) {}

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
  std::string out;
  out.reserve(bytes_.size() + encoded_size(key, value));
  bool placed = false;
  for (const auto& [k, v] : *this) {
    if (!placed && k >= key) {
      append_entry(out, key, value);
      placed = true;
      if (k == key) continue;  // replaced
    }
    append_entry(out, k, v);
  }
  if (!placed) append_entry(out, key, value);
  bytes_ = std::move(out);
}

bool StringMap::erase(std::string_view key) {
  auto it = find(key);
  if (it == end()) return false;
  bytes_.erase(static_cast<size_t>(it.at_ - bytes_.data()), static_cast<size_t>(it.next_ - it.at_));
  return true;
}

}  // namespace casewatch
