// Small deterministic random numbers for the twin: same bits on every platform and library.
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>

namespace polscan::twin {

// SplitMix64 mixing step; also used to derive independent seeds (per frame, per row, per object).
constexpr std::uint64_t mixSeed(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

constexpr std::uint64_t combineSeeds(std::uint64_t a, std::uint64_t b) {
  return mixSeed(a ^ mixSeed(b + 0x632BE59BD9B4E019ull));
}

// std:: distributions differ between standard libraries, and slides must be reproducible from
// their seed anywhere, so the twin draws its own numbers.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(mixSeed(seed)) {}

  std::uint64_t next() {
    state_ += 0x9E3779B97F4A7C15ull;
    std::uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Log-uniform: sizes of natural objects spread over decades, small ones more common.
  double logUniform(double lo, double hi) { return lo * std::exp(uniform() * std::log(hi / lo)); }
  bool chance(double p) { return uniform() < p; }
  int uniformInt(int lo, int hi_inclusive) {
    return lo + static_cast<int>(uniform() * (hi_inclusive - lo + 1));
  }
  // Box-Muller; exact enough for slide generation (rendering uses a faster table).
  double normal() {
    const double u1 = 1.0 - uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }
  // Poisson counts: Knuth's product method for small means, normal approximation above.
  int poisson(double mean) {
    if (mean <= 0) return 0;
    if (mean < 30) {
      const double limit = std::exp(-mean);
      double p = uniform();
      int k = 0;
      while (p > limit) {
        ++k;
        p *= uniform();
      }
      return k;
    }
    const double v = std::round(mean + std::sqrt(mean) * normal());
    return v < 0 ? 0 : static_cast<int>(v);
  }

 private:
  std::uint64_t state_;
};

}  // namespace polscan::twin
