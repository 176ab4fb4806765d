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

// asin for s in [0, 1] via atan2(s, sqrt(1 - s^2)).
[[gnu::always_inline]] inline float asinUnit(float s) {
  const float c2 = 1.0f - s * s;
  return atan2f(s, std::sqrt(c2 > 0.0f ? c2 : 0.0f));
}

}  // namespace polscan::analysis::fastmath
