// A small map of strings to strings (an alert's labels or annotations) held in one buffer.
//
// An alert is copied into the alert book, the published snapshot, each route's group state and
// each notification: at England scale that is 100,000 alerts several times over. A std::map puts
// every label in a node of its own (about 110 bytes for "team" -> "Assessment"); here a whole
// label set is one allocation of its bytes and their lengths, compared with one memcmp. The bytes
// are immutable and shared: a copy is a reference count, so every copy of an alert holds the same
// labels; set() and erase() make a new buffer. Entries are kept sorted by key (byte order, as
// std::map<std::string, ...> orders them), so that iterating, comparing and fingerprinting see the
// same order as before.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace casewatch {

class StringMap {
 public:
  using value_type = std::pair<std::string_view, std::string_view>;

  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = StringMap::value_type;
    using difference_type = std::ptrdiff_t;
    using reference = value_type;
    struct pointer {
      value_type entry;
      const value_type* operator->() const { return &entry; }
    };

    const_iterator() = default;
    value_type operator*() const { return entry_; }
    pointer operator->() const { return {entry_}; }
    const_iterator& operator++() {
      at_ = next_;
      decode();
      return *this;
    }
    const_iterator operator++(int) {
      const_iterator before = *this;
      ++*this;
      return before;
    }
    bool operator==(const const_iterator& other) const { return at_ == other.at_; }

   private:
    friend class StringMap;
    const_iterator(const char* at, const char* end) : at_(at), end_(end) { decode(); }
    void decode();

    const char* at_ = nullptr;
    const char* end_ = nullptr;
    const char* next_ = nullptr;
    value_type entry_;
  };

  StringMap() = default;
  // Later entries win over earlier ones with the same key, as assigning them one by one would.
  StringMap(std::initializer_list<value_type> entries);
  explicit StringMap(std::vector<std::pair<std::string, std::string>> entries);
  // From entries already sorted by key, each key once (an evaluation's labels, whose order is
  // known from the rule): no copy to sort.
  static StringMap from_sorted(std::span<const value_type> entries);

  const_iterator begin() const { return {bytes_.get(), bytes_.get() + size_}; }
  const_iterator end() const { return {bytes_.get() + size_, bytes_.get() + size_}; }
  bool empty() const { return size_ == 0; }
  size_t size() const;

  const_iterator find(std::string_view key) const;
  bool contains(std::string_view key) const { return find(key) != end(); }
  // The value of `key`; throws std::out_of_range when it is absent.
  std::string_view at(std::string_view key) const;
  // The value of `key`, or "" when it is absent.
  std::string_view value_or_empty(std::string_view key) const;

  // Sets `key` to `value`, adding it when absent.
  void set(std::string_view key, std::string_view value);
  // Removes `key`; returns whether it was there.
  bool erase(std::string_view key);

  bool operator==(const StringMap& other) const { return encoded() == other.encoded(); }

 private:
  std::string_view encoded() const { return {bytes_.get(), size_}; }
  template <typename Pair>
  void encode(std::vector<Pair>& entries);
  // A new buffer of `size` bytes for this map, to be written through the pointer returned.
  char* allocate(size_t size);

  // Each entry: the key's length and the value's length (LEB128), then the key's bytes and the
  // value's bytes. The encoding is canonical (sorted, no duplicates), so equal maps have equal
  // bytes. Null when empty.
  std::shared_ptr<const char[]> bytes_;
  size_t size_ = 0;
};

// JSON objects of strings, for nlohmann::json (found by argument-dependent lookup; templates, so
// that the pure engine does not include a JSON library).
template <typename Json>
void to_json(Json& json, const StringMap& map) {
  json = Json::object();
  for (const auto& [key, value] : map) json[std::string(key)] = value;
}

template <typename Json>
void from_json(const Json& json, StringMap& map) {
  std::vector<std::pair<std::string, std::string>> entries;
  for (auto it = json.begin(); it != json.end(); ++it)
    entries.emplace_back(it.key(), it.value().template get<std::string>());
  map = StringMap(std::move(entries));
}

}  // namespace casewatch
