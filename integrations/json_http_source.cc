// The json_http source: records from a JSON API over HTTP(S) with libcurl. The body is parsed
// as it arrives (nlohmann's SAX, pulling from libcurl's multi interface), so a 200 MB response is
// never held whole nor as a tree; only one record's cells are. `records` is a JSON pointer to
// the array of records (the top level by default), each an object whose fields are found by
// their `column`, a dotted path for nested objects. Pages follow RFC 8288 Link rel="next", at
// most max_pages of them, each link resolved as RFC 3986 says and followed only to the url's own
// origin (or one the config allows), never from https to http: the token goes with every request.
// TLS is verified (ca_file for a council's own authority); redirects are not followed (they
// could carry the token elsewhere); each page is at most max_response_bytes, decoded, held a
// megabyte at a time; JSON nests at most kMaxJsonDepth deep.
#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <istream>
#include <memory>
#include <set>
#include <sstream>
#include <streambuf>

#include <nlohmann/json.hpp>

#include "casewatch/version.h"
#include "integrations/feed_source.h"
#include "integrations/http_post.h"
#include "integrations/utf8.h"

namespace casewatch {
namespace {

using json = nlohmann::json;

std::vector<std::string> pointer_tokens(const std::string& pointer) {
  std::vector<std::string> out;
  if (pointer.empty()) return out;
  size_t start = 1;
  for (;;) {
    size_t slash = pointer.find('/', start);
    std::string token = pointer.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    // RFC 6901: ~1 is '/', ~0 is '~'.
    for (size_t at; (at = token.find("~1")) != std::string::npos;) token.replace(at, 2, "/");
    for (size_t at; (at = token.find("~0")) != std::string::npos;) token.replace(at, 2, "~");
    out.push_back(token);
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return out;
}

std::vector<std::string> dotted(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t dot = path.find('.', start);
    out.push_back(path.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return out;
}

// Finds the records array and hands each record's fields to FeedRows, one record at a time.
class RecordsSax final : public nlohmann::json_sax<json> {
 public:
  RecordsSax(const FeedConfig& feed, FeedRows& rows, size_t& number, std::optional<size_t> limit)
      : feed_(feed), rows_(rows), number_(number), limit_(limit), target_(pointer_tokens(feed.records)) {
    for (const FieldConfig& f : feed.fields) columns_.push_back(dotted(f.column));
    cells_.resize(feed.fields.size());
    views_.resize(feed.fields.size());
    present_.assign(feed.fields.size(), false);
    nested_.assign(feed.fields.size(), false);
  }

  bool null() override { return scalar(""); }
  bool boolean(bool b) override { return scalar(b ? "true" : "false"); }
  bool number_integer(number_integer_t n) override { return scalar(std::to_string(n)); }
  bool number_unsigned(number_unsigned_t n) override { return scalar(std::to_string(n)); }
  bool number_float(number_float_t, const string_t& raw) override { return scalar(raw); }
  bool string(string_t& s) override { return scalar(s); }
  bool binary(binary_t&) override { return scalar(""); }
  bool start_object(std::size_t) override { return open(false); }
  bool start_array(std::size_t) override { return open(true); }
  bool key(string_t& k) override {
    stack_.back().key = k;
    return true;
  }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) override {
    // What nlohmann says is wrong, without what it read ("; last read: '...'" quotes the page).
    std::string what = e.what();
    if (const size_t dash = what.find(" - "); dash != std::string::npos) what = what.substr(dash + 3);
    else if (const size_t tag = what.find("] "); what.starts_with("[json.exception.out_of_range") && tag != std::string::npos)
      what = what.substr(tag + 2);
    else what.clear();
    what = what.substr(0, what.find("; last read"));
    what = what.substr(0, what.find(" parsing '"));  // "number overflow parsing '1e999'" quotes it
    error_ = "invalid JSON at byte " + std::to_string(position) + (what.empty() ? "" : " (" + what + ")");
    return false;
  }

  // "" when the records were found and read; else why not.
  std::string result() const {
    if (rows_.over_limit()) return "";  // the load's error says why
    if (!error_.empty()) return error_;
    if (!found_) return "no records at " + (feed_.records.empty() ? std::string("the top level") : "'" + feed_.records + "'");
    return "";
  }
  bool stopped_at_limit() const { return at_limit_; }

 private:
  struct Frame {
    bool array;
    std::string key;  // objects: the member being read
    size_t index = 0; // arrays: the element being read
  };

  // The path of the value about to start or being read, from the document's root.
  bool at_target() const {
    if (stack_.size() != target_.size()) return false;
    for (size_t i = 0; i < stack_.size(); ++i) {
      const Frame& f = stack_[i];
      if ((f.array ? std::to_string(f.index) : f.key) != target_[i]) return false;
    }
    return true;
  }

  // Inside a record: the path below the record's object, by keys.
  std::optional<size_t> field_here() const {
    const size_t depth = records_depth_ + 1;  // the record object's frame
    if (stack_.size() <= depth) return std::nullopt;
    for (size_t f = 0; f < columns_.size(); ++f) {
      const auto& path = columns_[f];
      if (path.size() != stack_.size() - depth) continue;
      bool same = true;
      for (size_t i = 0; i < path.size() && same; ++i) {
        const Frame& frame = stack_[depth + i];
        same = !frame.array && frame.key == path[i];
      }
      if (same) return f;
    }
    return std::nullopt;
  }

  void next_element() {
    if (!stack_.empty() && stack_.back().array) ++stack_.back().index;
  }

  bool scalar(const std::string& text) {
    if (in_records_) {
      if (stack_.size() == records_depth_ + 1) {  // an element that is not an object
        ++number_;
        rows_.reject(number_, "", "the record is not a JSON object");
        next_element();
        return !hit_limit() && !rows_.over_limit();
      }
      if (auto f = field_here()) {
        cells_[*f] = text;
        present_[*f] = true;
      }
    } else if (at_target()) {
      error_ = "'" + (feed_.records.empty() ? std::string("the top level") : feed_.records) + "' is not an array";
      return false;
    }
    next_element();
    return true;
  }

  bool open(bool array) {
    if (stack_.size() + 1 > kMaxJsonDepth) {
      error_ = "the JSON nests deeper than " + std::to_string(kMaxJsonDepth) + " levels";
      return false;
    }
    if (in_records_) {
      if (stack_.size() == records_depth_ + 1) {
        if (array) {
          ++number_;
          rows_.reject(number_, "", "the record is not a JSON object");
          skip_depth_ = stack_.size();
        } else {
          in_record_ = true;
          std::fill(present_.begin(), present_.end(), false);
          std::fill(nested_.begin(), nested_.end(), false);
          for (auto& c : cells_) c.clear();
        }
      } else if (auto f = field_here()) {
        nested_[*f] = true;  // a field's value is an object or an array: not one value
      }
    } else if (at_target()) {
      if (!array) {
        error_ = "'" + (feed_.records.empty() ? std::string("the top level") : feed_.records) + "' is not an array";
        return false;
      }
      found_ = in_records_ = true;
      records_depth_ = stack_.size();
    }
    stack_.push_back({array, "", 0});
    return true;
  }

  bool close() {
    stack_.pop_back();
    if (in_records_ && stack_.size() == records_depth_) {
      in_records_ = false;  // the records array ended
    } else if (in_records_ && stack_.size() == records_depth_ + 1) {
      if (skip_depth_ == stack_.size() + 1) {
        skip_depth_ = 0;
      } else if (in_record_) {
        in_record_ = false;
        ++number_;
        auto nested = std::find(nested_.begin(), nested_.end(), true);
        if (nested != nested_.end()) {
          const size_t key = feed_.schema->key;
          rows_.reject(number_, feed_.fields[static_cast<size_t>(nested - nested_.begin())].name,
                       "not a single value (an object or an array)", nested_[key] ? std::string_view() : cells_[key]);
        } else {
          for (size_t f = 0; f < cells_.size(); ++f) views_[f] = cells_[f];
          rows_.add_fields(number_, views_);
        }
        if (rows_.over_limit()) {
          error_ = "over";  // the load's error already says why
          return false;
        }
        if (hit_limit()) return false;
      }
    }
    next_element();
    return true;
  }

  bool hit_limit() {
    at_limit_ = limit_ && rows_.rows() >= *limit_;
    return at_limit_;
  }

  const FeedConfig& feed_;
  FeedRows& rows_;
  size_t& number_;
  std::optional<size_t> limit_;
  std::vector<std::string> target_;
  std::vector<std::vector<std::string>> columns_;
  std::vector<Frame> stack_;
  bool found_ = false, in_records_ = false, in_record_ = false, at_limit_ = false;
  size_t records_depth_ = 0, skip_depth_ = 0;
  std::vector<std::string> cells_;
  std::vector<std::string_view> views_;
  std::vector<bool> present_, nested_;  // by field, in the record being read
  std::string error_;
};

// JSON text on its way to the parser, a piece at a time. Outside strings, a run of whitespace
// becomes one space (the parser keeps every byte it skips until the next token: a page of
// spaces would be held whole); inside strings, a byte that is not UTF-8 becomes U+FFFD, as a
// CSV cell's does (a Windows-1252 byte fails no page), a sequence cut between two pieces waiting
// for the next; and no string or bare value may pass kMaxTokenBytes.
class JsonText {
 public:
  static constexpr size_t kMaxTokenBytes = 16 << 20;

  // Appends what `in` becomes to `out`; false once a token is too long.
  bool filter(std::string_view in, std::string& out) {
    if (!cut_.empty()) {  // the start of a sequence the last piece ended in
      std::string joined = cut_ + std::string(in);
      cut_.clear();
      return filter_all(joined, out, false);
    }
    return filter_all(in, out, false);
  }
  // At the end of the text: what waits for a next piece that will not come.
  bool flush(std::string& out) {
    std::string rest;
    rest.swap(cut_);
    return filter_all(rest, out, true);
  }

 private:
  bool filter_all(std::string_view in, std::string& out, bool last) {
    out.reserve(out.size() + in.size());
    for (size_t i = 0; i < in.size();) {
      const unsigned char c = static_cast<unsigned char>(in[i]);
      if (!in_string_) {
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
          if (!blank_) out += ' ';
          blank_ = true;
          ++i;
          continue;
        }
        blank_ = false;
        if (c == '"') {
          in_string_ = true;
          token_ = 0;
        } else if (c == '{' || c == '}' || c == '[' || c == ']' || c == ',' || c == ':') {
          token_ = 0;
        } else if (++token_ > kMaxTokenBytes) {
          return false;
        }
        out += static_cast<char>(c);
        ++i;
        continue;
      }
      if (++token_ > kMaxTokenBytes) return false;
      if (c == '\\') {
        const size_t n = escape_length(in.substr(i), last);
        if (n == 0) {  // cut between two pieces
          cut_ = std::string(in.substr(i));
          return true;
        }
        if (lone_surrogate(in.substr(i, n))) out += "\\uFFFD";
        else out.append(in.substr(i, n));
        token_ += n - 1;
        i += n;
        continue;
      }
      if (c < 0x80) {
        if (c == '"') in_string_ = false;
        out += static_cast<char>(c);
        ++i;
        continue;
      }
      const size_t n = utf8_sequence_length(in, i);
      if (n > 0) {
        out.append(in.substr(i, n));
        i += n;
        continue;
      }
      if (!last && could_continue(in.substr(i))) {
        cut_ = std::string(in.substr(i));
        return true;
      }
      out += "\xEF\xBF\xBD";
      ++i;
    }
    return true;
  }
  static int hex4(std::string_view s) {  // the value of 4 hex digits, or -1
    if (s.size() < 4) return -1;
    int v = 0;
    for (char ch : s.substr(0, 4)) {
      const int d = std::isdigit(static_cast<unsigned char>(ch)) ? ch - '0'
                    : (ch >= 'a' && ch <= 'f')                  ? ch - 'a' + 10
                    : (ch >= 'A' && ch <= 'F')                  ? ch - 'A' + 10
                                                                : -1;
      if (d < 0) return -1;
      v = v * 16 + d;
    }
    return v;
  }
  // The bytes of the escape `at` starts with, a surrogate pair whole; 0 when the piece ends before
  // they do (and more may come). A malformed escape is passed on for the parser to refuse.
  static size_t escape_length(std::string_view at, bool last) {
    const size_t need = at.size() >= 2 && at[1] == 'u' ? 6 : 2;
    if (at.size() < need) return last ? at.size() : 0;
    if (need == 2) return 2;
    const int unit = hex4(at.substr(2));
    if (unit < 0xd800 || unit > 0xdbff) return 6;  // not a high surrogate
    if (at.size() < 12) {
      if (last || (at.size() > 6 && at[6] != '\\') || (at.size() > 7 && at[7] != 'u')) return 6;
      return 0;
    }
    const int low = at[6] == '\\' && at[7] == 'u' ? hex4(at.substr(8)) : -1;
    return low >= 0xdc00 && low <= 0xdfff ? 12 : 6;
  }
  // A \u escape of half a surrogate pair: JSON allows it, UTF-8 cannot hold it (U+FFFD instead,
  // as for a byte that is not UTF-8).
  static bool lone_surrogate(std::string_view escape) {
    if (escape.size() != 6 || escape[1] != 'u') return false;
    const int unit = hex4(escape.substr(2));
    return unit >= 0xd800 && unit <= 0xdfff;
  }
  // A lead byte followed only by continuation bytes, fewer than its sequence needs.
  static bool could_continue(std::string_view tail) {
    const unsigned char lead = static_cast<unsigned char>(tail[0]);
    const size_t need = lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
    if (need == 0 || tail.size() >= need) return false;
    for (size_t k = 1; k < tail.size(); ++k)
      if ((static_cast<unsigned char>(tail[k]) & 0xc0) != 0x80) return false;
    return true;
  }

  bool in_string_ = false, blank_ = false;
  size_t token_ = 0;
  std::string cut_;
};

// One page over HTTP(S), as a stream: libcurl's multi interface is driven only when the parser
// wants more bytes, and pauses the transfer while a megabyte waits unread, so nothing beyond a
// small buffer is held whatever the body decodes to. Every wait is bounded by the load's control.
class HttpPage final : public std::streambuf {
 public:
  HttpPage(const FeedConfig& feed, const std::string& url, const std::vector<std::string>& headers,
           const LoadControl& control, ContentHash& hash)
      : feed_(feed), control_(control), hash_(hash) {
    curl_global_init_once();
    easy_ = curl_easy_init();
    multi_ = curl_multi_init();
    for (const auto& h : headers) list_ = curl_slist_append(list_, h.c_str());
    list_ = curl_slist_append(list_, "Accept: application/json");
    const long timeout_ms = static_cast<long>(std::clamp<int64_t>(feed.timeout_seconds, 1, 3600) * 1000);
    curl_easy_setopt(easy_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, error_buffer_);
    curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!feed.ca_file.empty()) curl_easy_setopt(easy_, CURLOPT_CAINFO, feed.ca_file.c_str());
    curl_easy_setopt(easy_, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    // A peer that vanishes without closing is found by keepalive probes, not only by the timeout.
    curl_easy_setopt(easy_, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(easy_, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(easy_, CURLOPT_TCP_KEEPINTVL, 10L);
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, list_);
    curl_easy_setopt(easy_, CURLOPT_USERAGENT, "casewatch/" CASEWATCH_VERSION);
    curl_easy_setopt(easy_, CURLOPT_ACCEPT_ENCODING, "");  // gzip when the server offers it
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(easy_, CURLOPT_HEADERDATA, this);
    curl_multi_add_handle(multi_, easy_);
  }
  ~HttpPage() override {
    curl_multi_remove_handle(multi_, easy_);
    curl_easy_cleanup(easy_);
    curl_multi_cleanup(multi_);
    curl_slist_free_all(list_);
  }

  // Runs until the status line and headers are in (or the transfer ended).
  void wait_for_headers() {
    while (!headers_done_ && !done_) pump();
  }
  long status() const {
    long code = 0;
    curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &code);
    return code;
  }
  // Why the transfer failed, or "" (libcurl's words: the caller redacts them).
  std::string failure() const {
    if (stopped_) return control_.reason();
    if (too_long_) return "a JSON string or value longer than " + std::to_string(JsonText::kMaxTokenBytes >> 20) + " MiB";
    if (too_large_) return "the response is larger than max_response_bytes (" + std::to_string(feed_.max_response_bytes) + ")";
    // libcurl refuses a header line over 100 KB as "out of memory": it is the peer's doing.
    if (done_ && result_ == CURLE_OUT_OF_MEMORY && !body_started_)
      return "a response header is longer than 100 KB: refused";
    if (done_ && result_ != CURLE_OK) return error_buffer_[0] ? error_buffer_ : curl_easy_strerror(result_);
    return "";
  }
  // The page's rel="next" target as written, from the first Link header that has one.
  const std::string& next_target() const { return next_target_; }
  const std::string& last_modified() const { return last_modified_; }

 protected:
  int_type underflow() override {
    for (;;) {
      if (control_.stopped()) stopped_ = done_ = true;
      while (chunk_.empty() && !done_) pump();
      if (stopped_ || too_long_) return traits_type::eof();
      if (chunk_.empty()) {  // the end: what waited for a next piece
        current_.clear();
        if (!text_.flush(current_)) too_long_ = true;
        if (current_.empty() || too_long_) return traits_type::eof();
      } else {
        current_.clear();
        if (!text_.filter(chunk_, current_)) too_long_ = true;
        chunk_.clear();
        if (paused_) {
          paused_ = false;
          curl_easy_pause(easy_, CURLPAUSE_CONT);  // may deliver more into chunk_ at once
        }
        if (too_long_) return traits_type::eof();
        if (current_.empty()) continue;  // a piece that was all whitespace
      }
      setg(current_.data(), current_.data(), current_.data() + current_.size());
      return traits_type::to_int_type(current_[0]);
    }
  }

 private:
  static constexpr size_t kMaxBuffered = 1 << 20;

  void pump() {
    if (control_.stopped()) {
      stopped_ = done_ = headers_done_ = true;
      return;
    }
    int running = 0;
    curl_multi_perform(multi_, &running);
    if (running == 0) {
      int left = 0;
      while (CURLMsg* message = curl_multi_info_read(multi_, &left))
        if (message->msg == CURLMSG_DONE) result_ = message->data.result;
      done_ = true;
      headers_done_ = true;
      return;
    }
    if (chunk_.empty()) {
      const int wait_ms = static_cast<int>(control_.remaining(std::chrono::milliseconds(100)).count());
      curl_multi_poll(multi_, nullptr, 0, std::max(1, wait_ms), nullptr);
    }
  }

  static size_t on_body(char* data, size_t size, size_t count, void* self) {
    auto* page = static_cast<HttpPage*>(self);
    const size_t n = size * count;
    page->headers_done_ = page->body_started_ = true;
    if (page->chunk_.size() >= kMaxBuffered) {
      page->paused_ = true;
      return CURL_WRITEFUNC_PAUSE;  // delivered again once the parser has read what waits
    }
    page->total_ += n;
    if (static_cast<int64_t>(page->total_) > page->feed_.max_response_bytes) {
      page->too_large_ = true;
      return 0;  // aborts the transfer
    }
    page->hash_.add(std::string_view(data, n));
    page->chunk_.append(data, n);
    return n;
  }

  static size_t on_header(char* data, size_t size, size_t count, void* self) {
    auto* page = static_cast<HttpPage*>(self);
    std::string line(data, size * count);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    if (line.empty()) page->headers_done_ = true;
    std::string lower = line;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lower.starts_with("http/")) {  // a new response (after 100 Continue): start afresh
      page->next_target_.clear();
      page->headers_done_ = false;
    } else if (lower.starts_with("link:")) {
      // Each header is looked at as it comes, so any number of them costs nothing kept.
      if (page->next_target_.empty()) page->next_target_ = next_page_target({line.substr(5)});
    } else if (lower.starts_with("last-modified:")) {
      page->last_modified_ = line.substr(14);
    }
    return size * count;
  }

  const FeedConfig& feed_;
  const LoadControl& control_;
  ContentHash& hash_;
  CURL* easy_ = nullptr;
  CURLM* multi_ = nullptr;
  curl_slist* list_ = nullptr;
  char error_buffer_[CURL_ERROR_SIZE] = {0};
  std::string chunk_, current_;
  size_t total_ = 0;
  bool body_started_ = false;
  bool done_ = false, headers_done_ = false, too_large_ = false, stopped_ = false, paused_ = false, too_long_ = false;
  JsonText text_;
  CURLcode result_ = CURLE_OK;
  std::string next_target_;
  std::string last_modified_;
};

std::optional<std::string> read_file_secret(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string s = buffer.str();
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t start = 0;
  while (start < s.size() && std::isspace(static_cast<unsigned char>(s[start]))) ++start;
  return s.substr(start);
}

bool has_line_break(const std::string& s) { return s.find_first_of("\r\n") != std::string::npos; }

struct UrlParts {
  std::string scheme, origin;  // origin as config's url_origin writes it: scheme://host:port
  bool has_userinfo = false;
};

std::optional<UrlParts> url_parts(const std::string& url) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), curl_url_cleanup);
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return std::nullopt;
  auto part = [&](CURLUPart which, unsigned flags) -> std::optional<std::string> {
    char* text = nullptr;
    if (curl_url_get(u.get(), which, &text, flags) != CURLUE_OK || !text) return std::nullopt;
    std::string out(text);
    curl_free(text);
    return out;
  };
  auto scheme = part(CURLUPART_SCHEME, 0);
  auto host = part(CURLUPART_HOST, 0);
  auto port = part(CURLUPART_PORT, CURLU_DEFAULT_PORT);
  if (!scheme || !host || !port) return std::nullopt;
  UrlParts parts;
  std::transform(scheme->begin(), scheme->end(), scheme->begin(), ::tolower);
  std::transform(host->begin(), host->end(), host->begin(), ::tolower);
  parts.scheme = *scheme;
  parts.origin = *scheme + "://" + *host + ":" + *port;
  parts.has_userinfo = part(CURLUPART_USER, 0).has_value();
  return parts;
}

class JsonHttpSource final : public FeedSource {
 public:
  explicit JsonHttpSource(const FeedConfig& feed) : feed_(feed) {}

  void read(FeedRows& rows, FeedLoad& load, const ReadOptions& options) override {
    Redactor& redact = options.redact;
    const std::string where = "json_http feed '" + feed_.name + "': ";
    // Secrets are read at every load: a rotated token needs no reload.
    std::vector<std::string> headers;
    for (const auto& [name, value] : feed_.headers) headers.push_back(name + ": " + value);
    for (const auto& [name, file] : feed_.header_files) {
      auto value = read_file_secret(file);
      if (!value) {
        load.error = where + file + ": cannot read the header's file";
        return;
      }
      redact.add_secret(*value);
      headers.push_back(name + ": " + *value);
    }
    if (!feed_.bearer_token_file.empty()) {
      auto token = read_file_secret(feed_.bearer_token_file);
      if (!token || token->empty()) {
        load.error = where + feed_.bearer_token_file + ": cannot read the bearer token";
        return;
      }
      redact.add_secret(*token);
      headers.push_back("Authorization: Bearer " + *token);
    }
    for (const auto& h : headers)
      if (has_line_break(h)) {
        load.error = where + "a header holds a line break";
        return;
      }
    redact.add_secret(feed_.url);
    const std::optional<UrlParts> first = url_parts(feed_.url);
    if (!first) {
      load.error = where + "the url cannot be parsed";
      return;
    }

    ContentHash hash;  // of every page's bytes, in order: the same pages again are the same load
    size_t number = 0;
    std::set<std::string> seen;
    std::string url = feed_.url;
    for (size_t page_number = 1; !url.empty(); ++page_number) {
      const std::string page_name = where + "page " + std::to_string(page_number) + ": ";
      if (!seen.insert(url).second) {
        load.error = where + "the pages' rel=\"next\" links go round in a loop (page " + std::to_string(page_number - 1) +
                     " links back to an earlier page)";
        return;
      }
      if (page_number > static_cast<size_t>(feed_.max_pages)) {
        load.error = where + "more than max_pages (" + std::to_string(feed_.max_pages) + ") pages: the rel=\"next\" links go on";
        return;
      }
      redact.add_secret(url);
      HttpPage page(feed_, url, headers, options.control, hash);
      page.wait_for_headers();
      if (std::string failure = page.failure(); !failure.empty()) {
        load.error = page_name + failure;
        return;
      }
      long status = page.status();
      if (status < 200 || status >= 300) {
        load.error = page_name + "HTTP " + std::to_string(status);
        return;
      }
      if (page_number == 1 && !page.last_modified().empty()) {
        time_t t = curl_getdate(page.last_modified().c_str(), nullptr);
        if (t > 0) load.source_time = static_cast<int64_t>(t);
      }
      std::istream in(&page);
      std::string problem = read_json_records(in, feed_, rows, number, options.limit);
      bool at_limit = problem == "at limit";
      if (std::string failure = page.failure(); !failure.empty() && !at_limit) {
        load.error = page_name + failure;
        return;
      }
      if (rows.over_limit()) {
        load.error = page_name + load.error;
        return;
      }
      if (!problem.empty() && !at_limit) {
        load.error = page_name + problem;
        return;
      }
      hash.add(std::string_view("\0page\0", 6));  // where one page ends and the next begins
      if (at_limit) break;
      const std::string& target = page.next_target();
      if (target.empty()) break;
      const std::string next = resolve_url(url, target);
      const std::optional<UrlParts> parts = next.empty() ? std::nullopt : url_parts(next);
      if (!parts || (parts->scheme != "http" && parts->scheme != "https")) {
        load.error = page_name + "its rel=\"next\" link is not an http or https URL";
        return;
      }
      // The token goes with every request: it may go only where the config sends it.
      if (parts->has_userinfo) {
        load.error = page_name + "its rel=\"next\" link carries a user name or password: refused";
        return;
      }
      if (url_parts(url)->scheme == "https" && parts->scheme == "http") {
        load.error = page_name + "its rel=\"next\" link goes from https to http (" + parts->origin +
                     "): refused, the credentials would travel in clear";
        return;
      }
      if (parts->origin != first->origin &&
          std::find(feed_.allowed_origins.begin(), feed_.allowed_origins.end(), parts->origin) == feed_.allowed_origins.end()) {
        load.error = page_name + "its rel=\"next\" link leads to another origin (" + parts->origin +
                     "): refused; list it in allowed_origins to follow it";
        return;
      }
      url = next;
    }
    load.content_hash = hash.value();
  }

 private:
  const FeedConfig& feed_;
};

}  // namespace

std::string read_json_records(std::istream& in, const FeedConfig& feed, FeedRows& rows, size_t& number,
                              std::optional<size_t> limit) {
  RecordsSax sax(feed, rows, number, limit);
  json::sax_parse(in, &sax);
  if (sax.stopped_at_limit()) return "at limit";
  return sax.result();
}

std::string next_page_target(const std::vector<std::string>& link_headers) {
  for (const std::string& header : link_headers) {
    // Link: <url>; rel="next", <url2>; rel="prev"
    size_t pos = 0;
    while ((pos = header.find('<', pos)) != std::string::npos) {
      size_t close = header.find('>', pos);
      if (close == std::string::npos) break;
      std::string target = header.substr(pos + 1, close - pos - 1);
      size_t end = header.find('<', close);
      std::string params = header.substr(close + 1, end == std::string::npos ? std::string::npos : end - close - 1);
      std::string lower = params;
      std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
      size_t rel = lower.find("rel=");
      if (rel != std::string::npos) {
        std::string value = lower.substr(rel + 4);
        value = value.substr(0, value.find_first_of(";,"));
        value.erase(std::remove(value.begin(), value.end(), '"'), value.end());
        std::istringstream words(value);
        for (std::string word; words >> word;)
          if (word == "next") return target;
      }
      pos = close + 1;
    }
  }
  return "";
}

std::string resolve_url(const std::string& base, const std::string& reference) {
  // libcurl's URL API resolves a reference against the URL already set, as RFC 3986 section 5
  // does ("?page=2" on /f/x?page=1 is /f/x?page=2).
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), curl_url_cleanup);
  if (!u || curl_url_set(u.get(), CURLUPART_URL, base.c_str(), 0) != CURLUE_OK) return "";
  if (curl_url_set(u.get(), CURLUPART_URL, reference.c_str(), CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) return "";
  char* text = nullptr;
  if (curl_url_get(u.get(), CURLUPART_URL, &text, 0) != CURLUE_OK || !text) return "";
  std::string out(text);
  curl_free(text);
  return out;
}

std::unique_ptr<FeedSource> make_json_http_source(const FeedConfig& feed) {
  return std::make_unique<JsonHttpSource>(feed);
}

}  // namespace casewatch
