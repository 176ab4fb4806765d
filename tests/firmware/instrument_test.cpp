// Instrument over real frames: commands, homing, limits, fly-by and stop-and-go triggers,
// abort, the safe state and the outbox under a full link window.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>

#include "bench.hpp"

using namespace polscan::fw;
using namespace polscan::fw::test;

namespace {

constexpr double kStepDeg = config::kPolDegPerStep;
constexpr std::uint32_t kTickUs = config::kUsPerStepTick;

// Angular distance modulo 360.
double angleDiff(double a, double b) {
  double d = std::fmod(a - b, 360.0);
  if (d > 180.0) d -= 360.0;
  if (d < -180.0) d += 360.0;
  return std::fabs(d);
}

polscan_wire_HostMessage acquire(std::initializer_list<double> angles,
                                 polscan_wire_AcquisitionMode mode, std::uint32_t exposure_us,
                                 double speed = 0.0, std::uint32_t settle_ms = 0) {
  auto m = makeCommand(polscan_wire_HostMessage_acquire_stack_tag);
  auto& a = m.command.acquire_stack;
  for (double v : angles) a.angles_deg[a.angles_deg_count++] = v;
  a.mode = mode;
  a.exposure_us = exposure_us;
  a.speed_deg_s = speed;
  a.settle_ms = settle_ms;
  return m;
}

polscan_wire_HostMessage move(polscan_wire_Axis axis, double target, double speed = 0.0) {
  auto m = makeCommand(polscan_wire_HostMessage_move_tag);
  m.command.move.axis = axis;
  m.command.move.target = target;
  m.command.move.speed = speed;
  return m;
}

std::vector<double> evenAngles(int n) {
  std::vector<double> v;
  for (int i = 0; i < n; ++i) v.push_back(180.0 * i / n);
  return v;
}

polscan_wire_HostMessage acquireList(const std::vector<double>& angles,
                                     polscan_wire_AcquisitionMode mode, std::uint32_t exposure_us,
                                     double speed) {
  auto m = acquire({}, mode, exposure_us, speed);
  for (double v : angles) {
    m.command.acquire_stack.angles_deg[m.command.acquire_stack.angles_deg_count++] = v;
  }
  return m;
}

}  // namespace

TEST(Instrument, GetInfoDescribesTheMachine) {
  Bench b;
  const auto r = b.call(makeCommand(polscan_wire_HostMessage_get_info_tag));
  ASSERT_EQ(r.status, polscan_wire_Status_STATUS_OK);
  ASSERT_EQ(r.which_result, polscan_wire_Reply_info_tag);
  EXPECT_EQ(r.result.info.protocol_version, 1u);
  EXPECT_STREQ(r.result.info.board, "test");
  EXPECT_STREQ(r.result.info.serial_number, "T-1");
  EXPECT_EQ(r.result.info.max_angles, 64u);
  EXPECT_EQ(r.result.info.tick_hz, 1000000u);
  ASSERT_EQ(r.result.info.limits_count, 4u);
  EXPECT_DOUBLE_EQ(r.result.info.limits[0].units_per_step, 0.0375);
  EXPECT_DOUBLE_EQ(r.result.info.limits[0].max_speed, 720.0);
  EXPECT_DOUBLE_EQ(r.result.info.limits[1].max, 75000.0);
  EXPECT_DOUBLE_EQ(r.result.info.limits[1].units_per_step, 0.625);
  EXPECT_DOUBLE_EQ(r.result.info.limits[2].max, 25000.0);
  EXPECT_DOUBLE_EQ(r.result.info.limits[3].units_per_step, 0.1);
  // Every DeviceMessage carries the version and the firmware clock.
  ASSERT_FALSE(b.received.empty());
  EXPECT_EQ(b.received.back().protocol_version, 1u);
  EXPECT_GT(b.received.back().device_time_us, 0u);
  EXPECT_LE(b.received.back().device_time_us, b.clock.us);
}

TEST(Instrument, UnknownCommandIsNamedAsSuch) {
  Bench b;
  // protocol_version=1, request_id=77, then field 30 (a command from a newer host), empty.
  const std::uint8_t payload[] = {0x08, 0x01, 0x10, 77, 0xF2, 0x01, 0x00};
  b.sendRaw(payload, sizeof(payload));
  const auto r = b.reply(77);
  EXPECT_EQ(r.status, polscan_wire_Status_STATUS_UNKNOWN_COMMAND);
}

TEST(Instrument, GarbagePayloadIsBadRequestNamingTheDecodeError) {
  Bench b;
  const std::uint8_t payload[] = {0x0F, 0xFF, 0xFF, 0x01};  // wire type 7 does not exist
  b.sendRaw(payload, sizeof(payload));
  b.run(5000);
  ASSERT_EQ(b.received.size(), 1u);
  const auto& r = b.received[0].body.reply;
  EXPECT_EQ(r.status, polscan_wire_Status_STATUS_BAD_REQUEST);
  // The nanopb error is named ("wrong wire type" for a wire type that does not exist).
  EXPECT_NE(std::string(r.message).find("undecodable"), std::string::npos) << r.message;
  EXPECT_NE(std::string(r.message).find("wire type"), std::string::npos) << r.message;
}

TEST(Instrument, OtherProtocolVersionIsRefused) {
  Bench b;
  // protocol_version=2, request_id=9, get_status {}.
  const std::uint8_t payload[] = {0x08, 0x02, 0x10, 9, 0x82, 0x01, 0x00};
  b.sendRaw(payload, sizeof(payload));
  EXPECT_EQ(b.reply(9).status, polscan_wire_Status_STATUS_VERSION_MISMATCH);
}

TEST(Instrument, HomingSetsPositionFromTheIndex) {
  // The index sits at 10 deg on one machine and 200 deg on the other: after homing each
  // firmware angle equals the mechanical angle, so the step counts differ by about 190 deg.
  std::int32_t steps[2];
  const double offsets[2] = {10.0, 200.0};
  for (int k = 0; k < 2; ++k) {
    BenchOptions o;
    o.index_offset_deg = offsets[k];
    Bench b(o);
    EXPECT_EQ(b.home(polscan_wire_Axis_AXIS_POLARIZER).status, polscan_wire_Status_STATUS_OK);
    const auto s = b.status();
    ASSERT_TRUE(s.axes[0].homed);
    EXPECT_FALSE(s.axes[0].moving);
    EXPECT_LE(angleDiff(s.axes[0].position, b.index.mechanicalAngle()), kStepDeg + 1e-9)
        << "offset " << offsets[k];
    // It stopped just past the index (decelerating from the homing speed).
    EXPECT_LE(angleDiff(s.axes[0].position, offsets[k]), 1.0);
    steps[k] = s.axes[0].steps;
  }
  EXPECT_NEAR((steps[1] - steps[0]) * kStepDeg, 190.0, 0.5);
}

TEST(Instrument, HomingFailsWithFaultWhenNoIndex) {
  BenchOptions o;
  o.index_present = false;
  Bench b(o);
  EXPECT_EQ(b.home(polscan_wire_Axis_AXIS_POLARIZER).status, polscan_wire_Status_STATUS_OK);
  b.run(20000);
  const auto faults = b.faults();
  ASSERT_EQ(faults.size(), 1u);
  EXPECT_EQ(faults[0].code, polscan_wire_FaultCode_FAULT_HOMING_INDEX_NOT_FOUND);
  EXPECT_EQ(faults[0].axis, polscan_wire_Axis_AXIS_POLARIZER);
  // About two turns, then stop.
  EXPECT_NEAR(static_cast<double>(b.pol.pulses()), 2.0 * config::kPolStepsPerRev, 10.0);
  const auto s = b.status();
  EXPECT_FALSE(s.axes[0].homed);
  EXPECT_FALSE(s.axes[0].moving);
  ASSERT_EQ(s.faults_count, 1u);
  EXPECT_EQ(s.faults[0], polscan_wire_FaultCode_FAULT_HOMING_INDEX_NOT_FOUND);
  EXPECT_FALSE(b.pol.enabled());  // safe state: current off
}

TEST(Instrument, LinearAxisHomesOnItsSwitchAtZero) {
  Bench b;
  EXPECT_EQ(b.home(polscan_wire_Axis_AXIS_X).status, polscan_wire_Status_STATUS_OK);
  const auto s = b.status();
  EXPECT_TRUE(s.axes[1].homed);
  EXPECT_EQ(s.axes[1].steps, 0);
  EXPECT_EQ(b.x.steps(), 0);  // physically at the switch's edge, not on it
  EXPECT_FALSE(b.limit_x.read());
  EXPECT_TRUE(b.faults().empty());
}

TEST(Instrument, SoftLimitsRefuseAndNothingMoves) {
  Bench b;
  b.home(polscan_wire_Axis_AXIS_X);
  b.home(polscan_wire_Axis_AXIS_POLARIZER);
  const auto x_pulses = b.x.pulses();
  const auto pol_pulses = b.pol.pulses();
  EXPECT_EQ(b.call(move(polscan_wire_Axis_AXIS_X, 75000.7)).status,
            polscan_wire_Status_STATUS_OUT_OF_LIMITS);
  EXPECT_EQ(b.call(move(polscan_wire_Axis_AXIS_X, -1.0)).status,
            polscan_wire_Status_STATUS_OUT_OF_LIMITS);
  EXPECT_EQ(b.call(move(polscan_wire_Axis_AXIS_X, 1000.0, 20000.0)).status,
            polscan_wire_Status_STATUS_OUT_OF_LIMITS);  // over the axis's max speed
  EXPECT_EQ(b.call(move(polscan_wire_Axis_AXIS_POLARIZER, 361.0)).status,
            polscan_wire_Status_STATUS_OUT_OF_LIMITS);
  EXPECT_EQ(
      b.call(acquire({10.0, 400.0}, polscan_wire_AcquisitionMode_ACQUISITION_MODE_FLY_BY, 1000))
          .status,
      polscan_wire_Status_STATUS_OUT_OF_LIMITS);
  b.run(200000);
  EXPECT_EQ(b.x.pulses(), x_pulses);
  EXPECT_EQ(b.pol.pulses(), pol_pulses);
  // Inside the limits it moves, exactly.
  EXPECT_EQ(b.call(move(polscan_wire_Axis_AXIS_X, 1250.0)).status, polscan_wire_Status_STATUS_OK);
  b.runUntil([&] { return b.idle(); }, 5'000'000);
  EXPECT_EQ(b.x.steps(), 2000);
}

TEST(Instrument, MoveBeforeHomingIsNotHomed) {
  Bench b;
  EXPECT_EQ(b.call(move(polscan_wire_Axis_AXIS_Y, 100.0)).status,
            polscan_wire_Status_STATUS_NOT_HOMED);
}

TEST(Instrument, AcquireStackBeforeHomingIsNotHomed) {
  Bench b;
  const auto r = b.call(
      acquire({0.0, 45.0, 90.0}, polscan_wire_AcquisitionMode_ACQUISITION_MODE_FLY_BY, 1000));
  EXPECT_EQ(r.status, polscan_wire_Status_STATUS_NOT_HOMED);
  b.run(100000);
  EXPECT_EQ(b.pol.pulses(), 0u);
  EXPECT_EQ(b.trigger.pulses(), 0u);
}

TEST(Instrument, CommandsDuringAStackAreBusy) {
  Bench b;
  b.home(polscan_wire_Axis_AXIS_POLARIZER);
  b.home(polscan_wire_Axis_AXIS_X);
  ASSERT_EQ(
      b.call(acquire({0.0, 90.0}, polscan_wire_AcquisitionMode_ACQUISITION_MODE_FLY_BY, 1000, 90.0))
          .status,
      polscan_wire_Status_STATUS_OK);
  EXPECT_EQ(b.call(move(polscan_wire_Axis_AXIS_X, 100.0)).status, polscan_wire_Status_STATUS_BUSY);
  EXPECT_EQ(
      b.call(acquire({0.0}, polscan_wire_AcquisitionMode_ACQUISITION_MODE_FLY_BY, 1000)).status,
      polscan_wire_Status_STATUS_BUSY);
}

TEST(Instrument, FlyByTriggersAtEveryAngleWithinOneMicrostep) {
  Bench b;
  b.home(polscan_wire_Axis_AXIS_POLARIZER);
  b.home(polscan_wire_Axis_AXIS_X);
  ASSERT_EQ(b.call(move(polscan_wire_Axis_AXIS_X, 500.0)).status, polscan_wire_Status_STATUS_OK);
  b.runUntil([&] { return b.idle(); }, 5'000'000);
  const std::vector<double> angles = {0, 22.5, 45, 67.5, 90, 112.5, 135, 157.5};
  const double speed = 360.0;
  const auto id = b.send(
      acquireList(angles, polscan_wire_AcquisitionMode_ACQUISITION_MODE_FLY_BY, 5000, speed));
  const auto r = b.reply(id);
  ASSERT_EQ(r.status, polscan_wire_Status_STATUS_OK) << r.message;
  ASSERT_EQ(r.which_result, polscan_wire_Reply_frames_scheduled_tag);
  EXPECT_EQ(r.result.frames_scheduled, 8u);
  ASSERT_TRUE(b.runUntil([&] { return b.stackDone(id) != nullptr; }, 5'000'000));
  const auto done = *b.stackDone(id);
  EXPECT_EQ(done.status, polscan_wire_Status_STATUS_OK);
  EXPECT_EQ(done.frames, 8u);

  const auto t = b.triggers(id);
  ASSERT_EQ(t.size(), 8u);
  ASSERT_EQ(b.trigger.pulses(), 8u);
  const double expected_dt_us = 22.5 / speed * 1e6;
  for (std::size_t i = 0; i < t.size(); ++i) {
    EXPECT_EQ(t[i].frame_index, i);
    EXPECT_EQ(t[i].stack_id, id);
    EXPECT_DOUBLE_EQ(t[i].commanded_angle_deg, angles[i]);
    EXPECT_LE(angleDiff(t[i].measured_angle_deg, angles[i]), kStepDeg) << i;
    // The physical polarizer agrees (the bench's truth, not the firmware's count).
    EXPECT_LE(angleDiff(b.trigger_mech_angles[i], angles[i]), kStepDeg) << i;
    EXPECT_NEAR(t[i].stage_x_um, 500.0, 1e-9);
    EXPECT_EQ(t[i].timestamp_us, static_cast<std::uint64_t>(b.trigger_ticks[i]) * kTickUs);
    if (i > 0) {
      ASSERT_GT(t[i].timestamp_us, t[i - 1].timestamp_us);
      // Constant speed through the angles: the DDA's jitter is one tick.
      EXPECT_NEAR(static_cast<double>(t[i].timestamp_us - t[i - 1].timestamp_us), expected_dt_us,
                  kTickUs + 1.0)
          << i;
    }
  }
  // Events arrive in order: every TriggerFired before the StackDone.
  std::size_t last_trigger = 0;
  std::size_t done_at = 0;
  for (std::size_t i = 0; i < b.received.size(); ++i) {
    if (b.received[i].which_body == polscan_wire_DeviceMessage_trigger_tag) last_trigger = i;
    if (b.received[i].which_body == polscan_wire_DeviceMessage_stack_done_tag) done_at = i;
  }
  EXPECT_LT(last_trigger, done_at);
  EXPECT_EQ(b.status().triggers_fired, 8u);
}

TEST(Instrument, FlyBySpeedFromExposureAndStrobe) {
  Bench b;
  b.home(polscan_wire_Axis_AXIS_POLARIZER);
  auto m = acquireList(evenAngles(4), polscan_wire_AcquisitionMode_ACQUISITION_MODE_FLY_BY, 100000,
                       0.0);  // 100 ms exposure, 45 deg apart
  m.command.acquire_stack.strobe_led = true;
  const auto id = b.send(m);
  ASSERT_EQ(b.reply(id).status, polscan_wire_Status_STATUS_OK);
  // LED off between exposures, on at each trigger (for 0.5 deg of turn: 1.35 ms at 360 deg/s;
  // runUntil returns within 1 ms of the pulse).
  ASSERT_TRUE(b.runUntil([&] { return b.trigger.pulses() == 1; }, 5'000'000));
  EXPECT_GT(b.led.level(), 0.0f);
  b.run(110000);
  EXPECT_EQ(b.led.level(), 0.0f);
  ASSERT_TRUE(b.runUntil([&] { return b.stackDone(id) != nullptr; }, 10'000'000));
  const auto t = b.triggers(id);
  ASSERT_EQ(t.size(), 4u);
  // Chosen speed leaves the exposure plus 25%: 45 deg / (0.1 s * 1.25) = 360 deg/s.
  for (std::size_t i = 1; i < t.size(); ++i) {
    const double dt = static_cast<double>(t[i].timestamp_us - t[i - 1].timestamp_us);
    EXPECT_NEAR(dt, 125000.0, 2 * kTickUs);
  }
}

TEST(Instrument, FlyByRefusesAnglesTooCloseForTheExposure) {
  Bench b;
  b.home(polscan_wire_Axis_AXIS_POLARIZER);
  // 1 deg apart at 720 deg/s is 1.4 ms, less than a 5 ms exposure.
  const auto r = b.call(
      acquire({0.0, 1.0, 2.0}, polscan_wire_AcquisitionMode_ACQUISITION_MODE_FLY_BY, 5000, 720.0));
  EXPECT_EQ(r.status, polscan_wire_Status_STATUS_BAD_REQUEST);
  EXPECT_NE(std::string(r.message).find("overrun"), std::string::npos) << r.message;
}

TEST(Instrument, StopAndGoFiresOnlyAfterSettling) {
  Bench b;
  b.home(polscan_wire_Axis_AXIS_POLARIZER);
  const std::uint32_t settle_ms = 30;
  const std::uint32_t exposure_us = 10000;
  const auto id = b.send(acquire({0.0, 45.0, 90.0, 135.0},
                                 polscan_wire_AcquisitionMode_ACQUISITION_MODE_STOP_AND_GO,
                                 exposure_us, 0.0, settle_ms));
  ASSERT_EQ(b.reply(id).status, polscan_wire_Status_STATUS_OK);
  ASSERT_TRUE(b.runUntil([&] { return b.stackDone(id) != nullptr; }, 10'000'000));
  EXPECT_EQ(b.stackDone(id)->status, polscan_wire_Status_STATUS_OK);
  const auto t = b.triggers(id);
  ASSERT_EQ(t.size(), 4u);
  ASSERT_EQ(b.trigger_ticks.size(), 4u);
  const std::uint32_t settle_ticks = settle_ms * 1000 / kTickUs;
  const std::uint32_t exposure_ticks = exposure_us / kTickUs;
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(t[i].frame_index, i);
    EXPECT_LE(angleDiff(t[i].measured_angle_deg, t[i].commanded_angle_deg), kStepDeg);
    const std::uint32_t fire = b.trigger_ticks[i];
    // The polarizer stood still for settle_ms before the trigger and during the exposure.
    std::uint32_t last_before = 0;
    for (const auto& s : b.pol_steps) {
      if (s.tick <= fire) last_before = s.tick;
      EXPECT_FALSE(s.tick > fire && s.tick <= fire + exposure_ticks) << "step during exposure";
    }
    EXPECT_GE(fire - last_before, settle_ticks) << i;
    EXPECT_LE(fire - last_before, settle_ticks + 40) << i;  // and did not dawdle (2 ms)
  }
}

TEST(Instrument, AbortStopsMotionAndEndsTheStack) {
  Bench b;
  b.home(polscan_wire_Axis_AXIS_POLARIZER);
  const auto id = b.send(acquireList(
      evenAngles(16), polscan_wire_AcquisitionMode_ACQUISITION_MODE_FLY_BY, 1000, 45.0));
  ASSERT_EQ(b.reply(id).status, polscan_wire_Status_STATUS_OK);
  ASSERT_TRUE(b.runUntil([&] { return b.trigger.pulses() >= 3; }, 10'000'000));
  EXPECT_EQ(b.call(makeCommand(polscan_wire_HostMessage_abort_tag)).status,
            polscan_wire_Status_STATUS_OK);
  ASSERT_TRUE(b.runUntil([&] { return b.stackDone(id) != nullptr; }, 1'000'000));
  const auto done = *b.stackDone(id);
  EXPECT_EQ(done.status, polscan_wire_Status_STATUS_ABORTED);
  EXPECT_LT(done.frames, 16u);
  EXPECT_EQ(done.frames, b.triggers(id).size());
  EXPECT_EQ(done.frames, b.trigger.pulses());
  const auto steps = b.pol.pulses();
  b.run(500000);
  EXPECT_EQ(b.pol.pulses(), steps);  // stopped
  EXPECT_EQ(b.trigger.pulses(), done.frames);
  EXPECT_TRUE(b.faults().empty());
  EXPECT_TRUE(b.status().axes[0].homed);  // a ramped stop keeps the position
}

TEST(Instrument, OutboxKeepsEveryEventWhileTheLinkWindowIsFull) {
  Bench b;
  b.home(polscan_wire_Axis_AXIS_POLARIZER);
  std::vector<double> angles;
  for (int i = 0; i < 32; ++i) angles.push_back(11.25 * i);
  const auto id = b.send(
      acquireList(angles, polscan_wire_AcquisitionMode_ACQUISITION_MODE_FLY_BY, 2000, 360.0));
  ASSERT_EQ(b.reply(id).status, polscan_wire_Status_STATUS_OK);
  ASSERT_TRUE(b.runUntil([&] { return b.trigger.pulses() >= 2; }, 5'000'000));
  // The host stops hearing the device for 600 ms (about 19 triggers at 31 ms each).
  b.deliver_to_host = false;
  std::size_t max_queued = 0;
  for (int i = 0; i < 600; ++i) {
    b.run(1000);
    if (b.inst->outbox().count() > max_queued) max_queued = b.inst->outbox().count();
  }
  EXPECT_TRUE(b.inst->link().windowFull());
  EXPECT_GE(max_queued, 8u);
  b.deliver_to_host = true;
  ASSERT_TRUE(b.runUntil([&] { return b.stackDone(id) != nullptr; }, 5'000'000));
  const auto t = b.triggers(id);
  ASSERT_EQ(t.size(), 32u);
  for (std::size_t i = 0; i < t.size(); ++i) EXPECT_EQ(t[i].frame_index, i);
  EXPECT_EQ(b.stackDone(id)->frames, 32u);
  EXPECT_TRUE(b.faults().empty());
  EXPECT_EQ(b.inst->droppedMessages(), 0u);
}

TEST(Instrument, LimitSwitchHitGoesToSafeStateUntilHomed) {
  Bench b;
  b.home(polscan_wire_Axis_AXIS_X);
  b.home(polscan_wire_Axis_AXIS_POLARIZER);
  ASSERT_EQ(b.call(move(polscan_wire_Axis_AXIS_X, 1000.0)).status, polscan_wire_Status_STATUS_OK);
  b.runUntil([&] { return b.idle(); }, 5'000'000);
  b.x.bump(-1700);  // the stage was pushed: the firmware thinks 1000 um, it is at -62.5 um
  b.led.setLevel(0.5f);
  ASSERT_EQ(b.call(move(polscan_wire_Axis_AXIS_X, 500.0)).status, polscan_wire_Status_STATUS_OK);
  b.run(300000);
  const auto faults = b.faults();
  ASSERT_EQ(faults.size(), 1u);
  EXPECT_EQ(faults[0].code, polscan_wire_FaultCode_FAULT_LIMIT_SWITCH);
  EXPECT_EQ(faults[0].axis, polscan_wire_Axis_AXIS_X);
  EXPECT_FALSE(b.x.enabled());
  EXPECT_FALSE(b.pol.enabled());
  EXPECT_EQ(b.led.level(), 0.0f);
  // Refused while in the safe state, with the fault in the status.
  EXPECT_EQ(b.call(move(polscan_wire_Axis_AXIS_POLARIZER, 90.0)).status,
            polscan_wire_Status_STATUS_FAULT);
  auto s = b.status();
  ASSERT_EQ(s.faults_count, 1u);
  EXPECT_FALSE(s.axes[1].homed);
  // A Home clears it.
  EXPECT_EQ(b.home(polscan_wire_Axis_AXIS_X).status, polscan_wire_Status_STATUS_OK);
  s = b.status();
  EXPECT_EQ(s.faults_count, 0u);
  EXPECT_TRUE(s.axes[1].homed);
  EXPECT_EQ(b.x.steps(), 0);
  EXPECT_EQ(b.call(move(polscan_wire_Axis_AXIS_POLARIZER, 90.0)).status,
            polscan_wire_Status_STATUS_OK);
}

TEST(Instrument, IndexAwayFromItsStepCountIsMissedSteps) {
  Bench b;
  b.home(polscan_wire_Axis_AXIS_POLARIZER);
  auto rotate = makeCommand(polscan_wire_HostMessage_rotate_tag);
  rotate.command.rotate.angle_deg = 180.0;
  ASSERT_EQ(b.call(rotate).status, polscan_wire_Status_STATUS_OK);
  b.runUntil([&] { return b.idle(); }, 5'000'000);
  // The bench's index is at 10 deg. Passing it forward with the count intact is fine...
  rotate.command.rotate.angle_deg = 0.0;
  ASSERT_EQ(b.call(rotate).status, polscan_wire_Status_STATUS_OK);
  b.runUntil([&] { return b.idle(); }, 5'000'000);
  rotate.command.rotate.angle_deg = 180.0;
  ASSERT_EQ(b.call(rotate).status, polscan_wire_Status_STATUS_OK);
  b.runUntil([&] { return b.idle(); }, 5'000'000);
  EXPECT_TRUE(b.faults().empty());
  // ...but after the rotor slipped 10 microsteps, the next forward pass is a fault.
  b.pol.bump(10);
  rotate.command.rotate.angle_deg = 0.0;  // forward to 360: the index at 10 deg not yet reached
  ASSERT_EQ(b.call(rotate).status, polscan_wire_Status_STATUS_OK);
  b.runUntil([&] { return b.idle(); }, 5'000'000);
  rotate.command.rotate.angle_deg = 170.0;  // crosses the index turning forward
  b.call(rotate);
  b.runUntil([&] { return !b.faults().empty(); }, 5'000'000);
  const auto faults = b.faults();
  ASSERT_EQ(faults.size(), 1u);
  EXPECT_EQ(faults[0].code, polscan_wire_FaultCode_FAULT_MISSED_STEPS);
  EXPECT_FALSE(b.status().axes[0].homed);
}
