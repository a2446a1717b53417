// Deterministic pseudo-random numbers for casewatch-gen: xoshiro256** seeded through splitmix64,
// and the few distributions the generator needs, written out here so that the same seed gives
// the same bytes on every platform and standard library (no std:: distributions, no libm).
// An Rng is a plain value: not thread-safe, cheap to copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace casewatch::gen {

inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Natural logarithm from +, -, *, / only (IEEE 754 rounds those exactly the same everywhere),
// so that draws built on it are reproducible across C libraries. x must be > 0.
inline double det_log(double x) {
  uint64_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  int exponent = static_cast<int>((bits >> 52) & 0x7ff) - 1023;
  bits = (bits & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;  // mantissa in [1, 2)
  double m;
  std::memcpy(&m, &bits, sizeof m);
  if (m > 1.4142135623730951) {
    m *= 0.5;
    ++exponent;
  }
  // ln(m) = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.172: the series converges fast.
  const double s = (m - 1.0) / (m + 1.0);
  const double s2 = s * s;
  double term = s, sum = 0.0;
  for (int k = 1; k < 30; k += 2) {
    sum += term / k;
    term *= s2;
  }
  return 2.0 * sum + exponent * 0.6931471805599453;
}

// e^x from +, -, * only, for the same reason; |x| up to about 700.
inline double det_exp(double x) {
  // x = k ln 2 + r with |r| <= ln 2 / 2; e^r by its Taylor series; then scale by 2^k exactly.
  const double ln2 = 0.6931471805599453;
  const double kf = x / ln2;
  const int k = static_cast<int>(kf < 0 ? kf - 0.5 : kf + 0.5);
  const double r = x - k * ln2;
  double term = 1.0, sum = 1.0;
  for (int i = 1; i < 20; ++i) {
    term *= r / i;
    sum += term;
  }
  double scale = 1.0;
  for (int i = 0; i < (k < 0 ? -k : k); ++i) scale *= 2.0;
  return k < 0 ? sum / scale : sum * scale;
}

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    uint64_t x = seed;
    for (auto& word : s_) word = splitmix64(x);
  }

  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, n); n > 0. Multiply-shift: the bias is far below anything visible here.
  uint64_t below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }
  // Uniform integer in [lo, hi] (inclusive); hi >= lo.
  int range(int lo, int hi) { return lo + static_cast<int>(below(static_cast<uint64_t>(hi - lo) + 1)); }
  // Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  bool chance(double p) { return uniform() < p; }
  // Exponential with the given mean.
  double exponential(double mean) { return -mean * det_log(1.0 - uniform()); }
  // Approximately standard normal (Irwin-Hall: the sum of 12 uniforms, less 6).
  double normal() {
    double sum = 0;
    for (int i = 0; i < 12; ++i) sum += uniform();
    return sum - 6.0;
  }

  // An index drawn with the given weights (which need not sum to 1).
  template <size_t N>
  size_t weighted(const double (&weights)[N]) {
    double total = 0;
    for (double w : weights) total += w;
    double u = uniform() * total;
    for (size_t i = 0; i < N; ++i) {
      if (u < weights[i]) return i;
      u -= weights[i];
    }
    return N - 1;
  }

  template <typename T, size_t N>
  const T& pick(const T (&items)[N]) {
    return items[below(N)];
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace casewatch::gen
