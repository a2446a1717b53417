// casewatch-floor: the floor of loading CSV extracts (issue 10), the least work any loader does.
//
//   casewatch-floor [--json] PATH...
//
// On one core, for every CSV file given (a folder: every *.csv in it): memory-map it, split every
// record into fields (RFC 4180: a field may be quoted, a quote inside written twice, commas and line
// breaks inside quotes; LF or CRLF line ends; blank lines skipped), turn every cell that is a date in
// dd/mm/yyyy or YYYY-MM-DD into a day number (days since 1970-01-01; an impossible date is not one),
// and count records, fields and dates. Nothing is kept: no table, no strings, no key check. Prints the
// wall time from the first open to the last unmap and the bytes read (with --json, one JSON object,
// which bench/macro.sh keeps). The sum of the day numbers is printed so that no step can be skipped.
//
// The scan finds the three bytes that matter (comma, line feed, quote) 16 bytes at a time with SSE2
// and walks only those; every date candidate is a cell of exactly 10 bytes.
#include <emmintrin.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct Counts {
  uint64_t bytes = 0;
  uint64_t records = 0;  // data records, the heading row of each file not counted
  uint64_t fields = 0;   // of the data records
  uint64_t dates = 0;
  int64_t day_sum = 0;
};

inline bool digit(char c) { return static_cast<unsigned char>(c - '0') < 10; }
inline int two(const char* p) { return (p[0] - '0') * 10 + (p[1] - '0'); }

// Howard Hinnant's days_from_civil.
inline int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

inline bool valid_civil(int y, int m, int d) {
  if (m < 1 || m > 12 || d < 1) return false;
  static constexpr int kLength[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
  return d <= kLength[m - 1] + (m == 2 && leap);
}

// A cell of 10 bytes: dd/mm/yyyy or yyyy-mm-dd to a day number.
inline void date_cell(const char* p, Counts& c) {
  int y, m, d;
  if (p[2] == '/' && p[5] == '/') {
    if (!(digit(p[0]) && digit(p[1]) && digit(p[3]) && digit(p[4]) && digit(p[6]) && digit(p[7]) &&
          digit(p[8]) && digit(p[9])))
      return;
    d = two(p);
    m = two(p + 3);
    y = two(p + 6) * 100 + two(p + 8);
  } else if (p[4] == '-' && p[7] == '-') {
    if (!(digit(p[0]) && digit(p[1]) && digit(p[2]) && digit(p[3]) && digit(p[5]) && digit(p[6]) &&
          digit(p[8]) && digit(p[9])))
      return;
    y = two(p) * 100 + two(p + 2);
    m = two(p + 5);
    d = two(p + 8);
  } else {
    return;
  }
  if (!valid_civil(y, m, d)) return;
  ++c.dates;
  c.day_sum += days_from_civil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
}

// Bit i set where p[i] is a comma, a line feed or a quote.
inline uint32_t specials16(const char* p) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(',')),
                                                 _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'))),
                                   _mm_cmpeq_epi8(v, _mm_set1_epi8('"')));
  return static_cast<uint32_t>(_mm_movemask_epi8(hit));
}

class Splitter {
 public:
  explicit Splitter(Counts& counts) : c_(counts) {}

  void run(const char* data, size_t size) {
    data_ = data;
    end_ = data + size;
    field_ = data;
    quoted_ = false;
    in_quotes_ = false;
    close_ = skip_ = nullptr;
    record_fields_ = 0;
    heading_ = true;
    // Skip a UTF-8 byte order mark.
    if (size >= 3 && std::memcmp(data, "\xEF\xBB\xBF", 3) == 0) field_ = data + 3;
    const char* p = field_;
    for (; p + 16 <= end_; p += 16) {
      for (uint32_t bits = specials16(p); bits != 0; bits &= bits - 1) event(p + __builtin_ctz(bits));
    }
    for (; p < end_; ++p) {
      if (*p == ',' || *p == '\n' || *p == '"') event(p);
    }
    if (field_ < end_ || record_fields_ > 0) end_field(end_, true);
  }

 private:
  void event(const char* p) {
    if (p < skip_) return;  // the second quote of a doubled one
    if (in_quotes_) {
      if (*p != '"') return;
      if (p + 1 < end_ && p[1] == '"') {
        skip_ = p + 2;
        return;
      }
      in_quotes_ = false;
      close_ = p;
      return;
    }
    if (*p == '"') {
      if (p == field_) {  // a quote opens a field only at its start
        in_quotes_ = quoted_ = true;
      }
      return;
    }
    end_field(p, *p == '\n');
    field_ = p + 1;
  }

  void end_field(const char* p, bool record_end) {
    const char* begin = field_;
    const char* finish = p;
    if (quoted_) {
      ++begin;
      if (close_ >= begin && close_ < p) finish = close_;
    } else if (record_end && finish > begin && finish[-1] == '\r') {
      --finish;
    }
    const bool blank = record_end && record_fields_ == 0 && !quoted_ && finish == begin;
    if (!blank) {
      ++record_fields_;
      if (finish - begin == 10) date_cell(begin, c_);
    }
    quoted_ = false;
    if (record_end) {
      if (record_fields_ > 0) {
        if (heading_) {
          heading_ = false;
        } else {
          ++c_.records;
          c_.fields += record_fields_;
        }
      }
      record_fields_ = 0;
    }
  }

  Counts& c_;
  const char* data_ = nullptr;
  const char* end_ = nullptr;
  const char* field_ = nullptr;
  const char* close_ = nullptr;
  const char* skip_ = nullptr;
  bool quoted_ = false;
  bool in_quotes_ = false;
  bool heading_ = true;
  uint64_t record_fields_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  bool json = false;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--json") {
      json = true;
    } else if (arg == "-h" || arg == "--help") {
      std::fprintf(stderr, "usage: casewatch-floor [--json] PATH... (a folder: every *.csv in it)\n");
      return 0;
    } else if (std::filesystem::is_directory(argv[i])) {
      std::vector<std::string> found;
      for (const auto& entry : std::filesystem::directory_iterator(argv[i])) {
        if (entry.is_regular_file() && entry.path().extension() == ".csv") found.push_back(entry.path().string());
      }
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else {
      files.emplace_back(argv[i]);
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "usage: casewatch-floor [--json] PATH... (a folder: every *.csv in it)\n");
    return 2;
  }

  Counts counts;
  Splitter splitter(counts);
  const auto start = std::chrono::steady_clock::now();
  for (const std::string& path : files) {
    const int fd = open(path.c_str(), O_RDONLY);
    struct stat st {};
    if (fd < 0 || fstat(fd, &st) != 0) {
      std::fprintf(stderr, "casewatch-floor: %s: %s\n", path.c_str(), std::strerror(errno));
      return 1;
    }
    const size_t size = static_cast<size_t>(st.st_size);
    if (size > 0) {
      void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
      if (map == MAP_FAILED) {
        std::fprintf(stderr, "casewatch-floor: mmap %s: %s\n", path.c_str(), std::strerror(errno));
        return 1;
      }
      madvise(map, size, MADV_SEQUENTIAL);
      splitter.run(static_cast<const char*>(map), size);
      munmap(map, size);
    }
    close(fd);
    counts.bytes += size;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  if (json) {
    std::printf(
        "{\"files\": %zu, \"bytes\": %llu, \"records\": %llu, \"fields\": %llu, \"dates\": %llu, "
        "\"day_sum\": %lld, \"wall_seconds\": %.4f, \"mb_per_second\": %.1f}\n",
        files.size(), static_cast<unsigned long long>(counts.bytes), static_cast<unsigned long long>(counts.records),
        static_cast<unsigned long long>(counts.fields), static_cast<unsigned long long>(counts.dates),
        static_cast<long long>(counts.day_sum), seconds, counts.bytes / 1e6 / seconds);
  } else {
    std::printf("%.4f s, %llu bytes in %zu files (%.1f MB/s, one core): %llu records, %llu fields, %llu dates "
                "(day sum %lld)\n",
                seconds, static_cast<unsigned long long>(counts.bytes), files.size(), counts.bytes / 1e6 / seconds,
                static_cast<unsigned long long>(counts.records), static_cast<unsigned long long>(counts.fields),
                static_cast<unsigned long long>(counts.dates), static_cast<long long>(counts.day_sum));
  }
  return 0;
}
