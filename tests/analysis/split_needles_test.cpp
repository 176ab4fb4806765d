// The two ends of a needle cut by the half-wave fold are one crystal; separate needles are not.
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "analysis/split_needles.hpp"

namespace polscan::analysis {
namespace {

// A strong needle end (MSU-like taper) centred at (x, y) along axis_deg.
CrystalFeatures end(double x, double y, double axis_deg, double length = 3.2) {
  CrystalFeatures f;
  f.x_um = x;
  f.y_um = y;
  f.length_um = length;
  f.width_um = 0.8;
  f.aspect = length / 0.8;
  f.long_axis_deg = axis_deg;
  f.slow_axis_deg = axis_deg + 90.0;
  f.peak_retardance_nm = 70;
  f.mean_retardance_nm = 30;
  f.area_um2 = length * 0.8;
  return f;
}

constexpr double kQuarterWave = 136.5;

TEST(SplitNeedles, CollinearEndsWithOneSlowAxisMergeIntoTheWholeNeedle) {
  // A 16 um needle at 30 deg whose 10 um middle reads zero: ends centred 6.6 um either side.
  const double c = std::cos(30.0 * 3.14159265358979 / 180.0), s = std::sin(30.0 * 3.14159265 / 180);
  std::vector<CrystalFeatures> r = {end(100 + 6.6 * c, 50 + 6.6 * s, 30),
                                    end(100 - 6.6 * c, 50 - 6.6 * s, 31, 3.0)};
  const std::vector<bool> merged = mergeSplitNeedles(r, kQuarterWave);
  ASSERT_EQ(merged.size(), 2u);
  EXPECT_FALSE(merged[0]);
  EXPECT_TRUE(merged[1]);
  EXPECT_NEAR(r[0].x_um, 100.0, 0.2);  // the record sits on the needle's centre
  EXPECT_NEAR(r[0].y_um, 50.0, 0.2);
  EXPECT_NEAR(r[0].length_um, 16.2, 0.3);  // tip to tip
  EXPECT_GT(r[0].aspect, 15.0);
}

TEST(SplitNeedles, ParallelOffsetCrossedOrWeakPiecesStayApart) {
  // Side by side (parallel, 3 um apart across the axis): two needles.
  std::vector<CrystalFeatures> side = {end(0, 0, 0), end(0, 3, 0)};
  EXPECT_FALSE(mergeSplitNeedles(side, kQuarterWave)[1]);
  // On one line but with slow axes 40 deg apart: two crystals.
  std::vector<CrystalFeatures> axes = {end(0, 0, 0), end(8, 0, 0)};
  axes[1].slow_axis_deg += 40;
  EXPECT_FALSE(mergeSplitNeedles(axes, kQuarterWave)[1]);
  // Weak pieces (CPPD rods never reach the half wave): not cut by the fold.
  std::vector<CrystalFeatures> weak = {end(0, 0, 0), end(8, 0, 0)};
  for (CrystalFeatures& f : weak) f.peak_retardance_nm = 12;
  EXPECT_FALSE(mergeSplitNeedles(weak, kQuarterWave)[1]);
  // Too far apart for one needle: 30 um of gap.
  std::vector<CrystalFeatures> far = {end(0, 0, 0), end(33.2, 0, 0)};
  EXPECT_FALSE(mergeSplitNeedles(far, kQuarterWave)[1]);
  // The same collinear pair merges (the control for the cases above).
  std::vector<CrystalFeatures> pair = {end(0, 0, 0), end(8, 0, 0)};
  EXPECT_TRUE(mergeSplitNeedles(pair, kQuarterWave)[1]);
}

TEST(SplitNeedles, ChainOfTwoStrongEndsAndAWeakMiddleIsOneNeedle) {
  // A 21.6 um needle at 8 deg near the half wave: strong 3.5 um ends, a weak 1.6 um middle piece
  // (the short pieces read their long axes 8 deg off, as on the twin).
  const double c = std::cos(8.0 * 3.14159265358979 / 180.0), s = std::sin(8.0 * 3.14159265 / 180);
  auto at = [&](double t, double axis, double length) { return end(t * c, t * s, axis, length); };
  CrystalFeatures middle = at(1.0, 0.0, 1.6);
  middle.peak_retardance_nm = 21;
  middle.mean_retardance_nm = 17;
  std::vector<CrystalFeatures> r = {at(-9.0, 0.0, 3.6), middle, at(9.2, 8.0, 3.2)};
  std::vector<bool> merged = mergeSplitNeedles(r, kQuarterWave);
  EXPECT_FALSE(merged[0]);
  EXPECT_TRUE(merged[1]);
  EXPECT_TRUE(merged[2]);
  EXPECT_NEAR(r[0].length_um, 21.6, 0.5);  // tip to tip
  EXPECT_NEAR(r[0].x_um, 0.0, 0.5);
  EXPECT_NEAR(r[0].peak_retardance_nm, 70.0, 1e-9);
  // Past the half wave the middle reads its slow axis turned by 90 deg: still one needle.
  std::vector<CrystalFeatures> past = {at(-9.0, 0.0, 3.6), middle, at(9.2, 8.0, 3.2)};
  past[1].slow_axis_deg += 90.0;
  merged = mergeSplitNeedles(past, kQuarterWave);
  EXPECT_TRUE(merged[1] && merged[2]);
  // Without the middle the ends are too far apart (14.8 um > 4 piece lengths): two records.
  std::vector<CrystalFeatures> ends = {at(-9.0, 0.0, 3.6), at(9.2, 8.0, 3.2)};
  EXPECT_FALSE(mergeSplitNeedles(ends, kQuarterWave)[1]);
  // A weak piece beyond a strong end is a separate crystal lined up, not the needle's middle.
  std::vector<CrystalFeatures> beyond = {at(-2.0, 0.0, 3.6), at(2.0, 0.0, 3.2), middle};
  beyond[2].x_um = 6.5 * c;
  beyond[2].y_um = 6.5 * s;
  merged = mergeSplitNeedles(beyond, kQuarterWave);
  EXPECT_TRUE(merged[1]);
  EXPECT_FALSE(merged[2]);
}

}  // namespace
}  // namespace polscan::analysis
