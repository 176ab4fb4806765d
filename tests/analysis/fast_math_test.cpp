// The reconstruction's branch-free angle functions against libm over every quadrant and the edges
// (zero, equal, tiny and intensity-sized arguments).
#include <cmath>
#include <numbers>
#include <vector>

#include <gtest/gtest.h>

#include "analysis/fast_math.hpp"

namespace polscan::analysis {
namespace {

const std::vector<double> kValues = {0.0,   1e-30, 1e-13, 1e-6, 0.3,    1.0,
                                     1.001, 7.5,   250.0, 4e3,  65535.0};

TEST(FastMath, SquaredPairMatchesLibmOnBothAngles) {
  double worst1 = 0.0, worst2 = 0.0;
  for (double y : kValues) {
    for (double x : kValues) {
      for (int sy : {1, -1}) {
        for (int sx : {1, -1}) {
          // libm's atan2(-0, x < 0) is -pi; ours is pi (the range is (-pi, pi]): the same axis.
          if (y == 0.0 && sy < 0) continue;
          float r1 = -9.0f, r2 = -9.0f;
          const double y2 = sy * y, x2 = sx * x;
          fastmath::atan2SquaredPair(static_cast<float>(y * y), static_cast<float>(x * x),
                                     static_cast<float>(y2), static_cast<float>(x2), r1, r2);
          // Below the documented 1e-12 floor there is no signal: an axis direction (a multiple
          // of pi/2), never NaN.
          if (std::max(x, y) <= 1e-12) {
            for (float r : {r1, r2}) {
              const double turns = r / (std::numbers::pi / 2.0);
              EXPECT_NEAR(turns, std::round(turns), 1e-6) << "y " << y2 << " x " << x2;
            }
            continue;
          }
          const double want1 = std::atan2(y, x), want2 = std::atan2(y2, x2);
          worst1 = std::max(worst1, std::fabs(r1 - want1));
          worst2 = std::max(worst2, std::fabs(r2 - want2));
          EXPECT_NEAR(r1, want1, 2e-6) << "sqrt(" << y * y << "), sqrt(" << x * x << ")";
          EXPECT_NEAR(r2, want2, 2e-6) << "y " << y2 << " x " << x2;
        }
      }
    }
  }
  // The grid reaches the hard cases: a quarter turn (x = 0) and half a turn (y = 0, x < 0).
  EXPECT_GT(worst1, 0.0);
  RecordProperty("worst_rad", std::to_string(std::max(worst1, worst2)));
}

TEST(FastMath, SquaredPairGivesTheQuarterWaveWhenTheCosineVanishes) {
  float r1 = 0.0f, r2 = 0.0f;
  // |h| = a0: sin(delta) = 1, the top of the first-order curve.
  fastmath::atan2SquaredPair(400.0f, 0.0f, 0.0f, -3.0f, r1, r2);
  EXPECT_NEAR(r1, std::numbers::pi / 2.0, 1e-6);
  EXPECT_NEAR(r2, std::numbers::pi, 1e-6);
}

}  // namespace
}  // namespace polscan::analysis
