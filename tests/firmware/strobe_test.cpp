// Fly-by strobe: the LED is lit at each trigger for at most 0.5 deg of polarizer rotation.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "bench.hpp"

using namespace polscan::fw;
using namespace polscan::fw::test;

namespace {
struct Flash {
  double from_deg, to_deg;  // polarizer's mechanical angle at the first and last lit tick
  int ticks;
};

// Runs a strobed 8-angle fly-by one step-timer tick at a time and records every LED flash.
std::vector<Flash> strobedStack(std::uint32_t exposure_us, double speed_deg_s) {
  Bench b;
  b.home(polscan_wire_Axis_AXIS_POLARIZER);
  auto led = makeCommand(polscan_wire_HostMessage_set_led_tag);
  led.command.set_led.level = 0.8f;
  EXPECT_EQ(b.call(led).status, polscan_wire_Status_STATUS_OK);
  auto m = makeCommand(polscan_wire_HostMessage_acquire_stack_tag);
  auto& a = m.command.acquire_stack;
  for (int i = 0; i < 8; ++i) a.angles_deg[a.angles_deg_count++] = 22.5 * i;
  a.mode = polscan_wire_AcquisitionMode_ACQUISITION_MODE_FLY_BY;
  a.exposure_us = exposure_us;
  a.speed_deg_s = speed_deg_s;
  a.strobe_led = true;
  const auto id = b.send(m);
  EXPECT_EQ(b.reply(id).status, polscan_wire_Status_STATUS_OK);
  std::vector<Flash> flashes;
  bool lit = false;
  bool in_flash = false;  // a strobe flash: lit on the tick of a trigger pulse
  for (int t = 0; t < 20 * 20000 && b.stackDone(id) == nullptr; ++t) {
    const std::uint32_t pulses = b.trigger.pulses();
    b.run(config::kUsPerStepTick);
    const bool on = b.led.level() > 0.0f;
    const double angle = b.index.mechanicalAngle();
    if (on && !lit) {
      // After the stack the LED returns to its steady level: that is no flash.
      in_flash = b.trigger.pulses() != pulses;
      if (in_flash) flashes.push_back({angle, angle, 0});
    }
    if (on && in_flash) {
      flashes.back().to_deg = angle;
      ++flashes.back().ticks;
    }
    lit = on;
  }
  EXPECT_NE(b.stackDone(id), nullptr);
  return flashes;
}

double turned(const Flash& f) {
  double d = f.to_deg - f.from_deg;
  if (d < 0) d += 360.0;
  return d;
}
}  // namespace

TEST(Strobe, EachFrameIsLitForAtMostHalfADegreeAtFullSpeed) {
  // 10 ms exposure: unstrobed, the frame would smear over 7.2 deg at 720 deg/s.
  const auto flashes = strobedStack(10000, 720.0);
  ASSERT_EQ(flashes.size(), 8u);
  for (const Flash& f : flashes) {
    // One tick more than the lit span: the LED turns on during the trigger's tick.
    EXPECT_LE(turned(f) + 720.0 / config::kStepTimerHz, config::kStrobeMaxDeg + 1e-9);
    EXPECT_GE(turned(f), 0.3);  // and not needlessly short: ~0.47 deg lit
  }
}

TEST(Strobe, ASlowTurnIsLitForTheExposureOnly) {
  // 2 ms exposure at 45 deg/s turns 0.09 deg: the exposure is the shorter limit.
  const auto flashes = strobedStack(2000, 45.0);
  ASSERT_EQ(flashes.size(), 8u);
  for (const Flash& f : flashes)
    EXPECT_EQ(f.ticks, 2000 / static_cast<int>(config::kUsPerStepTick));
}
