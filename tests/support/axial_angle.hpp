// Angle differences for axes (tests only): an axis at a and one at a + period are the same axis.
#pragma once

#include <algorithm>
#include <cmath>

namespace polscan::testing {

// Smallest difference in degrees between two axes that repeat every `period` degrees
// (180 for a slow axis, 90 when a fixed analyser cannot tell the fast from the slow axis).
inline double axialDiffDeg(double a, double b, double period = 180.0) {
  const double d = std::fmod(std::abs(a - b), period);
  return std::min(d, period - d);
}

}  // namespace polscan::testing
