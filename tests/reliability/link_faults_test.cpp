// The framed link under each byte fault, end to end: DeviceClient -> FaultInjectingTransport ->
// the real pty -> polscan-fwsim's ReliableLink and back. Every call must get its own answer.
#include <gtest/gtest.h>

#include <thread>

#include "app/fwsim_process.hpp"
#include "device/device_client.hpp"
#include "transport/fault_injecting_transport.hpp"
#include "transport/transport_factory.hpp"

using namespace polscan;

namespace {

struct FaultyLink {
  explicit FaultyLink(const FaultPlan& plan)
      : injector(FaultInjector::create(plan)),
        client(injector->wrap([path = sim.ptyPath()](boost::asio::io_context& io) {
          return openTransport(io, "serial:" + path);
        }),
               std::chrono::milliseconds(5000)) {}

  // Many round trips, each checked: an LED level set, then read back in the status.
  void exercise(int calls) {
    for (int i = 0; i < calls; ++i) {
      const float level = static_cast<float>(i % 10) / 10.0f;
      client.setLed(level);
      const wire::DeviceStatus s = client.getStatus();
      ASSERT_FLOAT_EQ(s.led_level(), level) << "call " << i;
      ASSERT_EQ(s.axes_size(), 4) << "call " << i;
    }
    EXPECT_EQ(client.getInfo().board(), "sim");
    EXPECT_FALSE(client.linkLost());
    client.setLed(0.0f);
  }

  FwsimProcess sim;
  std::shared_ptr<FaultInjector> injector;
  DeviceClient client;
};

}  // namespace

TEST(LinkFaults, CorruptedBytesAreCaughtByTheCrcAndResent) {
  FaultPlan plan;
  plan.to_device.corrupt = 0.01;
  plan.from_device.corrupt = 0.01;
  plan.seed = 1;
  FaultyLink link(plan);
  link.exercise(25);
  EXPECT_GT(link.injector->counts().corrupted, 0u);
  const link::LinkStats st = link.client.linkStats();
  EXPECT_GT(st.crc_errors + st.framing_errors, 0u);
  EXPECT_GT(st.retransmits, 0u);
}

TEST(LinkFaults, DroppedBytesCostAFrameThatIsResent) {
  FaultPlan plan;
  plan.to_device.drop = 0.01;
  plan.from_device.drop = 0.01;
  plan.seed = 2;
  FaultyLink link(plan);
  link.exercise(25);
  EXPECT_GT(link.injector->counts().dropped, 0u);
  const link::LinkStats st = link.client.linkStats();
  EXPECT_GT(st.crc_errors + st.framing_errors, 0u);
  EXPECT_GT(st.retransmits, 0u);
}

TEST(LinkFaults, DuplicatedBytesNeverDeliverAMessageTwice) {
  FaultPlan plan;
  plan.to_device.duplicate = 0.01;
  plan.from_device.duplicate = 0.01;
  plan.seed = 3;
  FaultyLink link(plan);
  link.exercise(25);
  EXPECT_GT(link.injector->counts().duplicated, 0u);
  EXPECT_GT(link.client.linkStats().crc_errors + link.client.linkStats().framing_errors, 0u);
}

TEST(LinkFaults, StallsDelayButLoseNothing) {
  FaultPlan plan;
  // A stall on a fifth of the chunks, up to 120 ms: past the 40 ms retransmit timeout, so
  // the far end resends frames that were only late, and duplicates must be recognised.
  plan.to_device.delay = 0.2;
  plan.to_device.delay_max = std::chrono::milliseconds(120);
  plan.from_device.delay = 0.2;
  plan.from_device.delay_max = std::chrono::milliseconds(120);
  plan.seed = 4;
  FaultyLink link(plan);
  link.exercise(20);
  EXPECT_GT(link.injector->counts().delayed, 0u);
  EXPECT_EQ(link.injector->counts().corrupted, 0u);
}

TEST(LinkFaults, UnplugFailsCallsWithANamedErrorAndReplugRecovers) {
  FaultPlan plan;
  plan.unplug.period = std::chrono::seconds(30);
  plan.unplug.down = std::chrono::seconds(3);
  plan.unplug.time_scale = 60.0;  // unplug after 0.5 s real, for 50 ms real
  FaultyLink link(plan);
  EXPECT_EQ(link.client.getInfo().board(), "sim");
  // Wait for the cable to be pulled: calls then fail with a LinkError naming the device.
  while (!link.client.linkLost()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  try {
    link.client.getStatus();
    FAIL() << "expected LinkError";
  } catch (const LinkError& e) {
    EXPECT_NE(std::string(e.what()).find("faulty(serial"), std::string::npos) << e.what();
  }
  EXPECT_EQ(link.injector->counts().unplugs, 1u);
  link.client.reconnect(std::chrono::seconds(5));
  EXPECT_EQ(link.client.getInfo().board(), "sim");
}
