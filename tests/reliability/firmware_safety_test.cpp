// Firmware safety on the test bench (simulated mechanics, test-driven clock): a host that falls
// silent stops the motors and darkens the LED; a fault is never hidden behind an idle axis.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bench.hpp"

using namespace polscan::fw;
using namespace polscan::fw::test;

namespace {
polscan_wire_HostMessage led(float level) {
  auto m = makeCommand(polscan_wire_HostMessage_set_led_tag);
  m.command.set_led.level = level;
  return m;
}
polscan_wire_HostMessage moveX(double um) {
  auto m = makeCommand(polscan_wire_HostMessage_move_tag);
  m.command.move.axis = polscan_wire_Axis_AXIS_X;
  m.command.move.target = um;
  return m;
}
}  // namespace

TEST(HostSilence, SilentHostStopsMotionAndTurnsTheLedOff) {
  Bench b;
  b.home(polscan_wire_Axis_AXIS_X);
  ASSERT_EQ(b.call(led(0.5f)).status, polscan_wire_Status_STATUS_OK);
  // 60 mm at 10 mm/s: still moving when the timeout (2 s) runs out.
  ASSERT_EQ(b.call(moveX(60000.0)).status, polscan_wire_Status_STATUS_OK);
  b.host_keepalive = false;
  b.run(1'500'000);
  EXPECT_TRUE(b.faults().empty()) << "tripped before the timeout";
  EXPECT_TRUE(b.inst->axis(polscan_wire_Axis_AXIS_X).busy());
  b.run(1'000'000);
  const auto faults = b.faults();
  ASSERT_EQ(faults.size(), 1u);
  EXPECT_EQ(faults[0].code, polscan_wire_FaultCode_FAULT_HOST_TIMEOUT);
  EXPECT_NE(std::string(faults[0].message).find("no frame from the host for 2000 ms"),
            std::string::npos)
      << faults[0].message;
  EXPECT_FALSE(b.inst->axis(polscan_wire_Axis_AXIS_X).busy());
  EXPECT_FALSE(b.x.enabled());
  EXPECT_EQ(b.led.level(), 0.0f);
  // The host comes back: the status tells it what happened.
  b.host_keepalive = true;
  const auto s = b.status();
  ASSERT_EQ(s.faults_count, 1u);
  EXPECT_EQ(s.faults[0], polscan_wire_FaultCode_FAULT_HOST_TIMEOUT);
  EXPECT_EQ(s.led_level, 0.0f);
  EXPECT_FALSE(s.axes[1].moving);
  EXPECT_FALSE(s.axes[1].homed);  // stopped without a ramp: must be homed again
}

TEST(HostSilence, SilentHostWithOnlyTheLedOnDarkensIt) {
  Bench b;
  ASSERT_EQ(b.call(led(0.8f)).status, polscan_wire_Status_STATUS_OK);
  b.host_keepalive = false;
  b.run(2'500'000);
  ASSERT_EQ(b.faults().size(), 1u);
  EXPECT_EQ(b.faults()[0].code, polscan_wire_FaultCode_FAULT_HOST_TIMEOUT);
  EXPECT_EQ(b.led.level(), 0.0f);
}

TEST(HostSilence, KeepAlivesHoldOffTheTimeoutAndIdleSilenceIsHarmless) {
  Bench b;
  ASSERT_EQ(b.call(led(0.8f)).status, polscan_wire_Status_STATUS_OK);
  b.run(5'000'000);  // keep-alives only, every 250 ms
  EXPECT_TRUE(b.faults().empty());
  EXPECT_EQ(b.led.level(), 0.8f);
  ASSERT_EQ(b.call(led(0.0f)).status, polscan_wire_Status_STATUS_OK);
  b.host_keepalive = false;
  b.run(5'000'000);  // nothing moving, LED off: nothing to stop
  EXPECT_TRUE(b.faults().empty());
}

// Regression: a status read in the same main-loop pass in which the step timer stopped an axis on
// its limit switch reported the axis idle and no fault, so the host took the move as done.
TEST(FaultVisibility, AnAxisStoppedByAFaultNeverReadsAsAFinishedMove) {
  Bench b;
  b.home(polscan_wire_Axis_AXIS_X);
  ASSERT_EQ(b.call(moveX(1000.0)).status, polscan_wire_Status_STATUS_OK);
  b.runUntil([&] { return b.idle(); }, 5'000'000);
  b.x.bump(-1700);  // pushed past its switch
  ASSERT_EQ(b.call(moveX(500.0)).status, polscan_wire_Status_STATUS_OK);
  // The very next status, as DeviceClient::move polls it.
  const polscan_wire_DeviceStatus s = b.status();
  if (!s.axes[polscan_wire_Axis_AXIS_X].moving) {
    ASSERT_EQ(s.faults_count, 1u);
    EXPECT_EQ(s.faults[0], polscan_wire_FaultCode_FAULT_LIMIT_SWITCH);
  }
  b.run(100000);
  const polscan_wire_DeviceStatus later = b.status();
  EXPECT_FALSE(later.axes[polscan_wire_Axis_AXIS_X].moving);
  ASSERT_EQ(later.faults_count, 1u);
}

// Regression (found by fuzz/firmware_commands_fuzz): an enum number outside the enum's values
// (Home axis 102) was loaded as the C enum type, undefined behaviour before the range check.
// Now each is refused as a bad request naming the field and its number, and nothing moves.
TEST(CommandValidation, EnumNumbersOutsideTheirValuesAreBadRequests) {
  Bench b;
  struct Case {
    std::vector<std::uint8_t> payload;  // HostMessage{protocol_version 1, request_id, command}
    std::uint32_t id;
    const char* message;
  };
  const Case cases[] = {
      // home { axis: 102 }
      {{0x08, 0x01, 0x10, 0x05, 0x5a, 0x02, 0x08, 0x66}, 5, "unknown axis 102"},
      // move { axis: 7 target: 0 }
      {{0x08, 0x01, 0x10, 0x06, 0x62, 0x02, 0x08, 0x07}, 6, "unknown axis 7"},
      // acquire_stack { mode: 9 }
      {{0x08, 0x01, 0x10, 0x07, 0x72, 0x02, 0x18, 0x09}, 7, "unknown acquisition mode 9"},
  };
  for (const Case& c : cases) {
    b.sendRaw(c.payload.data(), c.payload.size());
    const polscan_wire_Reply r = b.reply(c.id);
    EXPECT_EQ(r.status, polscan_wire_Status_STATUS_BAD_REQUEST) << c.message;
    EXPECT_STREQ(r.message, c.message);
  }
  EXPECT_TRUE(b.idle());
  EXPECT_TRUE(b.faults().empty());
}

// The other half of host silence: the host still sends (keep-alives) but acknowledges nothing
// the device sends (a cable that only works one way): 25 unanswered resends during a move.
TEST(HostSilence, OneWayLinkDuringMotionIsAHostTimeout) {
  Bench b;
  b.home(polscan_wire_Axis_AXIS_X);
  ASSERT_EQ(b.call(moveX(60000.0)).status, polscan_wire_Status_STATUS_OK);
  b.deliver_to_host = false;
  b.send(makeCommand(polscan_wire_HostMessage_get_status_tag));  // its reply is never acked
  b.run(1'500'000);
  b.deliver_to_host = true;
  b.run(200'000);  // the events reach the host now: the outbox kept them
  const auto all = b.faults();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].code, polscan_wire_FaultCode_FAULT_HOST_TIMEOUT);
  EXPECT_NE(std::string(all[0].message).find("host link lost during motion"), std::string::npos)
      << all[0].message;
  EXPECT_FALSE(b.inst->axis(polscan_wire_Axis_AXIS_X).busy());
  EXPECT_FALSE(b.x.enabled());
  EXPECT_EQ(b.led.level(), 0.0f);
}
