// Branch-free float atan2/asin that the compiler can vectorise inside the reconstruction's row
// loops.
#pragma once

#include <cmath>
#include <numbers>

// always_inline: the multi-versioned (AVX2) row loops only vectorise when these are inlined before
// the vectoriser runs, and GCC's early inliner otherwise declines them as too large.
namespace polscan::analysis::fastmath {

// atan on [0, 1]: odd polynomial in x (Abramowitz & Stegun 4.4.49 coefficients, |error| <= 2e-8
// rad, below float resolution), so libm's scalar call is not needed in the hot loop.
[[gnu::always_inline]] inline float atanUnit(float x) {
  const float x2 = x * x;
  float p = 0.0028662257f;
  p = p * x2 - 0.0161657367f;
  p = p * x2 + 0.0429096138f;
  p = p * x2 - 0.0752896400f;
  p = p * x2 + 0.1065626393f;
  p = p * x2 - 0.1420889944f;
  p = p * x2 + 0.1999355085f;
  p = p * x2 - 0.3333314528f;
  return x + x * x2 * p;
}

// Full-quadrant atan2(y, x) in (-pi, pi]; written with selects (no branches) to vectorise.
[[gnu::always_inline]] inline float atan2f(float y, float x) {
  constexpr float kPi = std::numbers::pi_v<float>;
  const float ax = std::fabs(x), ay = std::fabs(y);
  const float mx = ax > ay ? ax : ay;
  const float mn = ax > ay ? ay : ax;
  // Unconditional division (mn is 0 whenever mx is): a guarded one blocks if-conversion.
  const float t = mn / (mx > 0.0f ? mx : 1.0f);
  float a = atanUnit(t);
  a = ay > ax ? 0.5f * kPi - a : a;
  a = x < 0.0f ? kPi - a : a;
  return y < 0.0f ? -a : a;
}

// The reconstruction's two angles for the price of one division and one square root:
// r1 = atan2(sqrt(ysq1), sqrt(xsq1)) in [0, pi/2] from squares (ysq1, xsq1 >= 0) and the
// full-quadrant r2 = atan2(y2, x2) in (-pi, pi]. Both ratios min/max come from
// 1 / (max_1^2 max_2); the first is square-rooted once. A pair whose larger magnitude is below
// 1e-12 (1e-24 squared) carries no direction and gives a multiple of pi/2; the threshold keeps
// the shared product clear of float's denormal range.
[[gnu::always_inline]] inline void atan2SquaredPair(float ysq1, float xsq1, float y2, float x2,
                                                    float& r1, float& r2) {
  constexpr float kPi = std::numbers::pi_v<float>;
  constexpr float kTiny = 1e-12f;
  float mx1 = xsq1 > ysq1 ? xsq1 : ysq1, mn1 = xsq1 > ysq1 ? ysq1 : xsq1;
  const float ax2 = std::fabs(x2), ay2 = std::fabs(y2);
  float mx2 = ax2 > ay2 ? ax2 : ay2, mn2 = ax2 > ay2 ? ay2 : ax2;
  mn1 = mx1 > kTiny * kTiny ? mn1 : 0.0f;
  mx1 = mx1 > kTiny * kTiny ? mx1 : 1.0f;
  mn2 = mx2 > kTiny ? mn2 : 0.0f;
  mx2 = mx2 > kTiny ? mx2 : 1.0f;
  const float inv = 1.0f / (mx1 * mx2);
  float a1 = atanUnit(std::sqrt(mn1 * mx2 * inv));
  float a2 = atanUnit(mn2 * mx1 * inv);
  r1 = ysq1 > xsq1 ? 0.5f * kPi - a1 : a1;
  a2 = ay2 > ax2 ? 0.5f * kPi - a2 : a2;
  a2 = x2 < 0.0f ? kPi - a2 : a2;
  r2 = y2 < 0.0f ? -a2 : a2;
}

// asin for s in [0, 1] via atan2(s, sqrt(1 - s^2)).
[[gnu::always_inline]] inline float asinUnit(float s) {
  const float c2 = 1.0f - s * s;
  return atan2f(s, std::sqrt(c2 > 0.0f ? c2 : 0.0f));
}

// sin and cos of any x (|x| up to ~1e4 rad): reduced to [-pi, pi] by whole turns, then Taylor
// polynomials (|error| < 1e-6 at the ends of the range, below what the retardance fit resolves).
[[gnu::always_inline]] inline void sinCos(float x, float& s, float& c) {
  constexpr float kTwoPi = 2.0f * std::numbers::pi_v<float>;
  constexpr float kInvTwoPi = 1.0f / kTwoPi;
  // Round to nearest by the 1.5 * 2^23 trick: nearbyint is a libm call without SSE4.1.
  constexpr float kRound = 12582912.0f;
  const float turns = (x * kInvTwoPi + kRound) - kRound;
  const float r = x - turns * kTwoPi;
  const float r2 = r * r;
  float ps = -7.6471637e-13f;  // -1/15!
  ps = ps * r2 + 1.6059044e-10f;
  ps = ps * r2 - 2.5052108e-8f;
  ps = ps * r2 + 2.7557319e-6f;
  ps = ps * r2 - 1.9841270e-4f;
  ps = ps * r2 + 8.3333333e-3f;
  ps = ps * r2 - 1.6666667e-1f;
  s = r + r * r2 * ps;
  float pc = 4.7794773e-14f;  // 1/16!
  pc = pc * r2 - 1.1470746e-11f;
  pc = pc * r2 + 2.0876757e-9f;
  pc = pc * r2 - 2.7557319e-7f;
  pc = pc * r2 + 2.4801587e-5f;
  pc = pc * r2 - 1.3888889e-3f;
  pc = pc * r2 + 4.1666667e-2f;
  pc = pc * r2 - 0.5f;
  c = 1.0f + r2 * pc;
}

}  // namespace polscan::analysis::fastmath
