// Instrument faults through the real firmware simulator on its pty: each gives a clear error
// naming the axis or device, and leaves the instrument safe (motors stopped, LED off), as its
// status says. Faults are injected where a real instrument would have them: the simulator's
// mechanics (a slipping rotor, a pushed stage, a missing index), a silent host, a camera.
#include <gtest/gtest.h>

#include <signal.h>

#include <string>
#include <thread>

#include "acquisition/stack_acquirer.hpp"
#include "app/instrument_session.hpp"

using namespace polscan;

namespace {

InstrumentOptions simWith(std::vector<std::string> args) {
  InstrumentOptions o;
  o.sim_args = std::move(args);
  o.camera.width = 256;
  o.camera.height = 192;
  return o;
}

const wire::AxisState& axis(const wire::DeviceStatus& s, wire::Axis a) {
  for (const auto& x : s.axes()) {
    if (x.axis() == a) return x;
  }
  throw std::runtime_error("status without axis " + wire::Axis_Name(a));
}

bool hasFault(const wire::DeviceStatus& s, wire::FaultCode code) {
  for (int f : s.faults()) {
    if (f == code) return true;
  }
  return false;
}

// The safe state as the status reports it: nothing moving, LED off, no stack running.
void expectSafe(const wire::DeviceStatus& s) {
  for (const auto& a : s.axes()) EXPECT_FALSE(a.moving()) << wire::Axis_Name(a.axis());
  EXPECT_EQ(s.led_level(), 0.0f);
  EXPECT_FALSE(s.acquiring());
}

// The Fault event the firmware sent (queued by the client).
std::optional<wire::Fault> faultEvent(DeviceClient& d) {
  while (auto ev = d.nextEvent(std::chrono::milliseconds(500))) {
    if (auto* f = std::get_if<wire::Fault>(&*ev)) return *f;
  }
  return std::nullopt;
}

void signalSim(InstrumentSession& s, int sig) {
  ASSERT_EQ(::kill(s.simulator()->pid(), sig), 0);
  // A round trip after the signal: the simulator applies it at the top of its next loop pass.
  s.device().getStatus();
}

AcquisitionSettings eightAngles() {
  AcquisitionSettings a;
  a.request.angles_deg = equallySpacedAngles(8);
  a.request.exposure_us = 5000;
  return a;
}

}  // namespace

TEST(InstrumentFaults, MissedStepsAreCaughtAtTheIndexAndStopTheStack) {
  InstrumentSession s(simWith({"--start-angle-deg", "350", "--usr1-slip-polarizer", "40"}));
  DeviceClient& d = s.device();
  d.home(wire::AXIS_POLARIZER);
  d.setLed(0.5f);
  signalSim(s, SIGUSR1);  // the rotor slips 40 microsteps (1.5 deg): the count no longer matches
  try {
    acquireStack(d, s.camera(), eightAngles());  // the run-up crosses the index turning forward
    FAIL() << "expected DeviceError";
  } catch (const DeviceError& e) {
    EXPECT_EQ(e.status(), wire::STATUS_FAULT);
    const std::string what = e.what();
    EXPECT_NE(what.find("FAULT_MISSED_STEPS"), std::string::npos) << what;
    EXPECT_NE(what.find("polarizer"), std::string::npos) << what;
  }
  const wire::DeviceStatus st = d.getStatus();
  EXPECT_TRUE(hasFault(st, wire::FAULT_MISSED_STEPS));
  EXPECT_FALSE(axis(st, wire::AXIS_POLARIZER).homed());  // must be homed again
  expectSafe(st);
  // Refused until homed again, with the reason.
  try {
    d.rotate(90.0);
    FAIL() << "expected DeviceError";
  } catch (const DeviceError& e) {
    EXPECT_EQ(e.status(), wire::STATUS_FAULT) << e.what();
  }
}

TEST(InstrumentFaults, IndexNeverSeenDuringHomingNamesThePolarizer) {
  // No index at all; mechanics 20x faster so the two-turn search takes 0.8 s, not 16 s.
  InstrumentSession s(simWith({"--no-index", "--motion-speedup", "20"}));
  DeviceClient& d = s.device();
  d.setLed(0.5f);
  try {
    d.home(wire::AXIS_POLARIZER);
    FAIL() << "expected DeviceError";
  } catch (const DeviceError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("homing the polarizer failed: FAULT_HOMING_INDEX_NOT_FOUND"),
              std::string::npos)
        << what;
  }
  const auto f = faultEvent(d);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->code(), wire::FAULT_HOMING_INDEX_NOT_FOUND);
  EXPECT_EQ(f->axis(), wire::AXIS_POLARIZER);
  EXPECT_EQ(f->message(), "polarizer: no index edge within 2 turns");
  const wire::DeviceStatus st = d.getStatus();
  EXPECT_TRUE(hasFault(st, wire::FAULT_HOMING_INDEX_NOT_FOUND));
  EXPECT_FALSE(axis(st, wire::AXIS_POLARIZER).homed());
  expectSafe(st);
}

TEST(InstrumentFaults, LimitSwitchHitStopsTheStageAndNamesIt) {
  InstrumentSession s(simWith({"--usr2-push-x", "-1700"}));
  DeviceClient& d = s.device();
  d.home(wire::AXIS_X);
  d.move(wire::AXIS_X, 1000.0);
  d.setLed(0.5f);
  signalSim(s, SIGUSR2);  // the stage is pushed 1062.5 um towards its switch
  try {
    d.move(wire::AXIS_X, 500.0);
    FAIL() << "expected DeviceError";
  } catch (const DeviceError& e) {
    EXPECT_EQ(e.status(), wire::STATUS_FAULT);
    EXPECT_NE(std::string(e.what()).find("moving the X stage failed: FAULT_LIMIT_SWITCH"),
              std::string::npos)
        << e.what();
  }
  const auto f = faultEvent(d);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->code(), wire::FAULT_LIMIT_SWITCH);
  EXPECT_EQ(f->axis(), wire::AXIS_X);
  EXPECT_EQ(f->message(), "x: limit switch hit outside homing");
  const wire::DeviceStatus st = d.getStatus();
  EXPECT_TRUE(hasFault(st, wire::FAULT_LIMIT_SWITCH));
  EXPECT_FALSE(axis(st, wire::AXIS_X).homed());
  expectSafe(st);
  // Homing is the way out: the stage finds its switch again and the fault clears.
  d.home(wire::AXIS_X);
  const wire::DeviceStatus after = d.getStatus();
  EXPECT_EQ(after.faults_size(), 0);
  EXPECT_TRUE(axis(after, wire::AXIS_X).homed());
  EXPECT_NEAR(axis(after, wire::AXIS_X).position(), 0.0, 1e-9);
}

TEST(InstrumentFaults, SilentHostStopsMotionAndTurnsTheLedOff) {
  InstrumentSession s(simWith({}));
  DeviceClient& d = s.device();
  d.home(wire::AXIS_X);
  d.setLed(0.6f);
  wire::HostMessage move;  // sent without waiting for the end of the move
  move.mutable_move()->set_axis(wire::AXIS_X);
  move.mutable_move()->set_target(70000.0);  // 7 s at full speed
  ASSERT_EQ(d.call(move, std::chrono::milliseconds(2000)).status(), wire::STATUS_OK);
  d.disconnect();  // the host hangs: no commands, no keep-alives
  std::this_thread::sleep_for(std::chrono::milliseconds(2600));  // past the 2 s timeout
  d.reconnect();
  const wire::DeviceStatus st = d.getStatus();
  EXPECT_TRUE(hasFault(st, wire::FAULT_HOST_TIMEOUT));
  expectSafe(st);
  EXPECT_LT(axis(st, wire::AXIS_X).position(), 70000.0 - 1000.0);  // stopped well short
  EXPECT_FALSE(axis(st, wire::AXIS_X).homed());
  const auto f = faultEvent(d);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->code(), wire::FAULT_HOST_TIMEOUT);
  EXPECT_EQ(f->message(), "no frame from the host for 2000 ms: motors stopped, LED off");
}

TEST(InstrumentFaults, CommandsOutsideLimitsAreRefusedAndNothingMoves) {
  InstrumentSession s(simWith({"--start-angle-deg", "350"}));
  DeviceClient& d = s.device();
  d.home(wire::AXIS_POLARIZER);
  d.home(wire::AXIS_Z);
  const wire::DeviceStatus before = d.getStatus();
  auto refused = [&](const std::function<void()>& command, wire::Status expected,
                     const std::string& detail) {
    try {
      command();
      ADD_FAILURE() << "accepted: " << detail;
    } catch (const DeviceError& e) {
      EXPECT_EQ(e.status(), expected) << e.what();
      EXPECT_NE(std::string(e.what()).find(detail), std::string::npos) << e.what();
    }
  };
  refused([&] { d.move(wire::AXIS_Z, 5000.1); }, wire::STATUS_OUT_OF_LIMITS, "z target");
  refused([&] { d.move(wire::AXIS_Z, -5.0); }, wire::STATUS_OUT_OF_LIMITS, "z target");
  refused([&] { d.move(wire::AXIS_POLARIZER, 400.0); }, wire::STATUS_OUT_OF_LIMITS,
          "outside 0..360");
  refused([&] { d.move(wire::AXIS_Z, 100.0, 1e6); }, wire::STATUS_OUT_OF_LIMITS,
          "above the maximum");
  refused([&] { d.setLed(1.5f); }, wire::STATUS_OUT_OF_LIMITS, "outside 0..1");
  StackRequest bad;
  bad.angles_deg = {0.0, 90.0, 400.0};
  refused([&] { d.acquireStack(bad); }, wire::STATUS_OUT_OF_LIMITS, "outside [0, 360)");
  refused([&] { d.move(wire::AXIS_X, 100.0); }, wire::STATUS_NOT_HOMED, "x is not homed");
  const wire::DeviceStatus after = d.getStatus();
  for (wire::Axis a : {wire::AXIS_POLARIZER, wire::AXIS_X, wire::AXIS_Y, wire::AXIS_Z}) {
    EXPECT_EQ(axis(after, a).steps(), axis(before, a).steps()) << wire::Axis_Name(a);
  }
  EXPECT_EQ(after.faults_size(), 0);
  EXPECT_EQ(after.led_level(), 0.0f);
}

TEST(InstrumentFaults, CameraFrameTimeoutNamesTheCameraAndLeavesTheInstrumentDark) {
  InstrumentOptions o = simWith({"--start-angle-deg", "350"});
  o.camera.drop_frame = 7;  // the last frame never comes
  InstrumentSession s(o);
  DeviceClient& d = s.device();
  d.home(wire::AXIS_POLARIZER);
  d.setLed(0.5f);
  AcquisitionSettings a = eightAngles();
  a.frame_timeout = std::chrono::milliseconds(300);
  try {
    acquireStack(d, s.camera(), a);
    FAIL() << "expected CameraError";
  } catch (const CameraError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("virtual camera"), std::string::npos) << what;
    EXPECT_NE(what.find("frame timeout, 7 of 8 frames within 300 ms"), std::string::npos) << what;
    EXPECT_NE(what.find("frame 7"), std::string::npos) << what;
  }
  expectSafe(d.getStatus());
}
