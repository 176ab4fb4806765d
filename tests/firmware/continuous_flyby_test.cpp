// Continuous fly-by: back-to-back stacks on a polarizer that keeps turning (angles modulo a half
// turn, no back-up or ramp), stage moves while it spins, and an instrument without fly-by.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "bench.hpp"

using namespace polscan::fw;
using namespace polscan::fw::test;

namespace {

// Distance of a to b modulo 180 deg (the 2-theta model's period).
double halfTurnDiff(double a, double b) {
  double d = std::fmod(a - b, 180.0);
  if (d < 0) d += 180.0;
  return std::min(d, 180.0 - d);
}

polscan_wire_HostMessage continuousStack(int n, double speed, std::uint32_t exposure_us) {
  auto m = makeCommand(polscan_wire_HostMessage_acquire_stack_tag);
  auto& a = m.command.acquire_stack;
  for (int i = 0; i < n; ++i) a.angles_deg[a.angles_deg_count++] = 180.0 * i / n;
  a.mode = polscan_wire_AcquisitionMode_ACQUISITION_MODE_FLY_BY;
  a.exposure_us = exposure_us;
  a.speed_deg_s = speed;
  a.continuous = true;
  return m;
}

polscan_wire_HostMessage moveX(double target) {
  auto m = makeCommand(polscan_wire_HostMessage_move_tag);
  m.command.move.axis = polscan_wire_Axis_AXIS_X;
  m.command.move.target = target;
  return m;
}

bool polarizerMoving(Bench& b) {
  return b.status().axes[polscan_wire_Axis_AXIS_POLARIZER].moving;
}

// Every requested angle was taken exactly once (modulo 180), within a microstep, in firing order.
void expectEveryAngleOnce(const std::vector<polscan_wire_TriggerFired>& t, int n) {
  ASSERT_EQ(static_cast<int>(t.size()), n);
  std::vector<int> hits(static_cast<std::size_t>(n), 0);
  for (std::size_t j = 0; j < t.size(); ++j) {
    EXPECT_EQ(t[j].frame_index, j);
    EXPECT_LE(halfTurnDiff(t[j].measured_angle_deg, t[j].commanded_angle_deg),
              config::kPolDegPerStep)
        << j;
    for (int i = 0; i < n; ++i) {
      if (halfTurnDiff(t[j].commanded_angle_deg, 180.0 * i / n) < 1e-6) ++hits[i];
    }
    if (j > 0) {
      EXPECT_GT(t[j].timestamp_us, t[j - 1].timestamp_us);
    }
  }
  for (int i = 0; i < n; ++i) EXPECT_EQ(hits[static_cast<std::size_t>(i)], 1) << "angle " << i;
}

}  // namespace

TEST(ContinuousFlyBy, BackToBackStacksOnASpinningPolarizerWithAStageMoveBetween) {
  Bench b;
  b.home(polscan_wire_Axis_AXIS_POLARIZER);
  b.home(polscan_wire_Axis_AXIS_X);
  const int n = 8;
  const double speed = 660.0;  // a trigger every 34 ms
  const std::uint32_t exposure_us = 10000;

  const auto id1 = b.send(continuousStack(n, speed, exposure_us));
  const auto r1 = b.reply(id1);
  ASSERT_EQ(r1.status, polscan_wire_Status_STATUS_OK) << r1.message;
  ASSERT_TRUE(b.runUntil([&] { return b.stackDone(id1) != nullptr; }, 5'000'000));
  EXPECT_EQ(b.stackDone(id1)->status, polscan_wire_Status_STATUS_OK);
  expectEveryAngleOnce(b.triggers(id1), n);
  // The polarizer keeps turning after the stack ...
  EXPECT_TRUE(polarizerMoving(b));
  EXPECT_FALSE(b.status().acquiring);
  // ... and the stage moves to the next tile meanwhile.
  const auto mv = b.call(moveX(400.0));
  ASSERT_EQ(mv.status, polscan_wire_Status_STATUS_OK) << mv.message;
  ASSERT_TRUE(
      b.runUntil([&] { return !b.inst->axis(polscan_wire_Axis_AXIS_X).busy(); }, 2'000'000));
  EXPECT_TRUE(polarizerMoving(b));

  // The next stack needs no back-up or ramp: its 8 frames take at most the lead, one gap of
  // waiting for the first crossing, 7 gaps and the last exposure.
  const std::uint64_t t0 = b.clock.us;
  const auto id2 = b.send(continuousStack(n, speed, exposure_us));
  ASSERT_EQ(b.reply(id2).status, polscan_wire_Status_STATUS_OK);
  ASSERT_TRUE(b.runUntil([&] { return b.stackDone(id2) != nullptr; }, 5'000'000));
  const double stack_s = (b.clock.us - t0) * 1e-6;
  const auto t2 = b.triggers(id2);
  expectEveryAngleOnce(t2, n);
  const double gap_s = 180.0 / n / speed;
  EXPECT_LE(stack_s, config::kSpinLeadS + 8 * gap_s + exposure_us * 1e-6 + 0.003) << stack_s;
  for (std::size_t j = 1; j < t2.size(); ++j) {
    EXPECT_NEAR((t2[j].timestamp_us - t2[j - 1].timestamp_us) * 1e-6, gap_s, 1e-4) << j;
  }
  for (const auto& t : t2) EXPECT_NEAR(t.stage_x_um, 400.0, 1e-9);
  // A non-fly-by stack, or one at another speed, is refused while it spins; Abort stops it.
  auto sag = continuousStack(n, 0.0, exposure_us);
  sag.command.acquire_stack.mode = polscan_wire_AcquisitionMode_ACQUISITION_MODE_STOP_AND_GO;
  EXPECT_EQ(b.call(sag).status, polscan_wire_Status_STATUS_BUSY);
  const auto other = b.call(continuousStack(n, 330.0, exposure_us));
  EXPECT_EQ(other.status, polscan_wire_Status_STATUS_BUSY);
  EXPECT_NE(std::string(other.message).find("Abort first"), std::string::npos) << other.message;
  EXPECT_EQ(b.call(makeCommand(polscan_wire_HostMessage_abort_tag)).status,
            polscan_wire_Status_STATUS_OK);
  ASSERT_TRUE(b.runUntil([&] { return b.idle(); }, 2'000'000));
  const auto id3 = b.send(sag);
  ASSERT_EQ(b.reply(id3).status, polscan_wire_Status_STATUS_OK);
  ASSERT_TRUE(b.runUntil([&] { return b.stackDone(id3) != nullptr; }, 10'000'000));
  EXPECT_EQ(b.stackDone(id3)->status, polscan_wire_Status_STATUS_OK);
  EXPECT_TRUE(b.faults().empty());
}

TEST(ContinuousFlyBy, AnglesBeyondAHalfTurnAndTooCloseAcrossTheWrapAreRefused) {
  Bench b;
  b.home(polscan_wire_Axis_AXIS_POLARIZER);
  auto wide = continuousStack(2, 360.0, 5000);
  wide.command.acquire_stack.angles_deg[1] = 200.0;
  const auto r = b.call(wide);
  EXPECT_EQ(r.status, polscan_wire_Status_STATUS_BAD_REQUEST);
  EXPECT_NE(std::string(r.message).find("half turn"), std::string::npos) << r.message;
  // 0 and 179 deg: 1 deg apart across the half-turn wrap, shorter than the exposure at 360 deg/s.
  auto close = continuousStack(2, 360.0, 5000);
  close.command.acquire_stack.angles_deg[1] = 179.0;
  const auto c = b.call(close);
  EXPECT_EQ(c.status, polscan_wire_Status_STATUS_BAD_REQUEST);
  EXPECT_NE(std::string(c.message).find("trigger overrun"), std::string::npos) << c.message;
  EXPECT_FALSE(polarizerMoving(b));
}

TEST(ContinuousFlyBy, AnInstrumentWithoutFlyByRefusesItAndStillDoesStopAndGo) {
  BenchOptions o;
  o.fly_by = false;
  Bench b(o);
  b.home(polscan_wire_Axis_AXIS_POLARIZER);
  const auto info = b.call(makeCommand(polscan_wire_HostMessage_get_info_tag));
  EXPECT_EQ(info.result.info.capabilities & polscan_wire_Capability_CAPABILITY_FLY_BY, 0u);
  EXPECT_EQ(info.result.info.capabilities & polscan_wire_Capability_CAPABILITY_CONTINUOUS_FLY_BY,
            0u);
  const auto r = b.call(continuousStack(4, 360.0, 5000));
  EXPECT_EQ(r.status, polscan_wire_Status_STATUS_BAD_REQUEST);
  EXPECT_NE(std::string(r.message).find("fly-by is not available"), std::string::npos) << r.message;
  EXPECT_FALSE(polarizerMoving(b));
  auto sag = continuousStack(4, 0.0, 5000);
  sag.command.acquire_stack.mode = polscan_wire_AcquisitionMode_ACQUISITION_MODE_STOP_AND_GO;
  const auto id = b.send(sag);
  ASSERT_EQ(b.reply(id).status, polscan_wire_Status_STATUS_OK);
  ASSERT_TRUE(b.runUntil([&] { return b.stackDone(id) != nullptr; }, 10'000'000));
  EXPECT_EQ(b.stackDone(id)->frames, 4u);
}
