// StepperAxis: trapezoid and triangle profiles sampled from step times, exact targets.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "firmware/core/config.hpp"
#include "firmware/core/stepper_axis.hpp"

using namespace polscan::fw;

namespace {

struct RecordingOutput final : hal::StepperOutput {
  void step() override { ticks.push_back(now); }
  void setDirection(bool positive) override { forward = positive; }
  void enable(bool) override {}
  std::vector<std::uint32_t> ticks;
  std::uint32_t now = 0;
  bool forward = true;
};

struct NeverOn final : hal::DigitalInput {
  bool read() override { return false; }
};

constexpr std::uint32_t kHz = config::kStepTimerHz;

AxisConfig polarizerLike() {
  AxisConfig c;
  c.units_per_step = config::kPolDegPerStep;
  c.steps_per_rev = config::kPolStepsPerRev;
  c.max_speed_sps = config::stepsPerSecond(config::kPolMaxSpeedDegS, config::kPolDegPerStep);
  c.accel_sps2 = config::stepsPerSecond(config::kPolAccelDegS2, config::kPolDegPerStep);
  c.home_speed_sps = 1200;
  c.sensor_is_limit = false;
  return c;
}

struct MoveRecord {
  std::vector<std::uint32_t> ticks;
  std::int32_t position;
  std::uint32_t end_tick;
};

MoveRecord runMove(std::int32_t target, std::uint32_t speed_sps) {
  RecordingOutput out;
  NeverOn sensor;
  StepperAxis axis;
  axis.init(polarizerLike(), out, sensor, kHz);
  EXPECT_TRUE(axis.startMove(target, speed_sps));
  std::uint32_t t = 0;
  while (axis.busy() && t < 10 * kHz) {
    out.now = ++t;
    axis.tick(t);
  }
  return {out.ticks, axis.position(), t};
}

// Largest number of steps in any window of w ticks.
std::size_t maxStepsInWindow(const std::vector<std::uint32_t>& ticks, std::uint32_t w) {
  std::size_t best = 0;
  std::size_t j = 0;
  for (std::size_t i = 0; i < ticks.size(); ++i) {
    while (j < ticks.size() && ticks[j] < ticks[i] + w) ++j;
    best = std::max(best, j - i);
  }
  return best;
}

// Steps per consecutive window of w ticks from the first step on.
std::vector<int> stepsPerWindow(const std::vector<std::uint32_t>& ticks, std::uint32_t w) {
  std::vector<int> counts;
  if (ticks.empty()) return counts;
  const std::uint32_t t0 = ticks.front();
  for (auto t : ticks) {
    const std::size_t k = (t - t0) / w;
    if (counts.size() <= k) counts.resize(k + 1, 0);
    ++counts[k];
  }
  return counts;
}

void expectWithinSpeedAndAccel(const MoveRecord& r, double vmax_sps, double a_sps2) {
  // Speed: a DDA running at v never puts more than v*w + 1 steps into w ticks.
  for (std::uint32_t w : {20u, 200u, 2000u}) {
    const double bound = vmax_sps * w / kHz + 1.0;
    EXPECT_LE(static_cast<double>(maxStepsInWindow(r.ticks, w)), bound) << "window " << w;
  }
  // Acceleration: the step count of neighbouring 10 ms windows differs by at most a*w^2 plus
  // one step of quantisation at each of the two windows' ends.
  const std::uint32_t w = 200;
  const auto counts = stepsPerWindow(r.ticks, w);
  const double dt = static_cast<double>(w) / kHz;
  for (std::size_t k = 1; k + 1 < counts.size(); ++k) {
    EXPECT_LE(std::abs(counts[k] - counts[k - 1]), a_sps2 * dt * dt + 2.0) << "window " << k;
  }
}

}  // namespace

TEST(StepperAxis, LongMoveIsTrapezoidWithinLimitsAndExact) {
  const auto c = polarizerLike();
  const std::int32_t target = 2 * config::kPolStepsPerRev;  // two turns
  const MoveRecord r = runMove(target, 0);
  EXPECT_EQ(r.position, 0);  // rotary: two whole turns end where they began
  ASSERT_EQ(r.ticks.size(), static_cast<std::size_t>(target));
  expectWithinSpeedAndAccel(r, c.max_speed_sps, c.accel_sps2);
  // It does reach cruise: some 100 ms window runs at (almost) full speed.
  const double v_peak = static_cast<double>(maxStepsInWindow(r.ticks, 2000)) * kHz / 2000;
  EXPECT_GT(v_peak, 0.98 * c.max_speed_sps);
  // And is not needlessly slow: d/v + v/a is the ideal trapezoid's duration.
  const double ideal = static_cast<double>(target) / c.max_speed_sps +
                       static_cast<double>(c.max_speed_sps) / c.accel_sps2;
  const double took = static_cast<double>(r.end_tick) / kHz;  // from the start command
  EXPECT_NEAR(took, ideal, 0.03 * ideal);
}

TEST(StepperAxis, NegativeMoveLandsExactly) {
  const MoveRecord r = runMove(-1234, 0);
  EXPECT_EQ(r.position, config::kPolStepsPerRev - 1234);  // rotary count stays within a turn
  EXPECT_EQ(r.ticks.size(), 1234u);
}

TEST(StepperAxis, ShortMoveIsTriangle) {
  const auto c = polarizerLike();
  const std::int32_t d = 200;  // 7.5 deg: far too short to reach 720 deg/s
  const MoveRecord r = runMove(d, 0);
  EXPECT_EQ(r.position, d);
  ASSERT_EQ(r.ticks.size(), static_cast<std::size_t>(d));
  expectWithinSpeedAndAccel(r, c.max_speed_sps, c.accel_sps2);
  // Triangle peak: sqrt(a*d); measured over 5 ms windows it is somewhat below.
  const double v_tri = std::sqrt(static_cast<double>(c.accel_sps2) * d);
  const double v_peak = static_cast<double>(maxStepsInWindow(r.ticks, 100)) * kHz / 100;
  EXPECT_LT(v_peak, v_tri * 1.05);
  EXPECT_GT(v_peak, v_tri * 0.75);
  EXPECT_LT(v_peak, 0.5 * c.max_speed_sps);
  // Duration of a triangle: 2*sqrt(d/a); the last step leaves at the floor speed, a little early.
  const double ideal = 2.0 * std::sqrt(static_cast<double>(d) / c.accel_sps2);
  const double took = static_cast<double>(r.end_tick) / kHz;  // from the start command
  EXPECT_NEAR(took, ideal, 0.1 * ideal);
}

TEST(StepperAxis, RespectsRequestedSlowerSpeed) {
  const MoveRecord r = runMove(4000, 4800);  // 180 deg/s
  EXPECT_EQ(r.position, 4000);
  EXPECT_LE(static_cast<double>(maxStepsInWindow(r.ticks, 2000)), 4800.0 * 2000 / kHz + 1);
  EXPECT_GT(static_cast<double>(maxStepsInWindow(r.ticks, 2000)), 0.97 * 4800.0 * 2000 / kHz);
}
