// UsbTransport, discovery and the full stack (DeviceClient -> libusb -> umockdev usbdevfs -> link).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libusb.h>
#include <sys/stat.h>
#include <unistd.h>

#include <future>
#include <thread>

#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>

#include "device/device_client.hpp"
#include "fake_usb_instrument.hpp"
#ifdef POLSCAN_USB_TEST_FW_CORE
#include "firmware_backend.hpp"
#endif
#include "transport/usb_discovery.hpp"
#include "transport/usb_transport.hpp"

namespace polscan {
namespace {

namespace asio = boost::asio;
using testing::FakeUsbInstrument;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

// Message of the TransportError thrown by f, or "" if none.
template <typename F>
std::string transportError(F&& f) {
  try {
    f();
  } catch (const TransportError& e) {
    return e.what();
  }
  return "";
}

DeviceClient::TransportFactory usbFactory(std::string address = "usb") {
  return [address](asio::io_context& io) { return openUsbTransport(io, address); };
}

// Waits for one read on the transport (the io_context runs here, on the test thread).
struct ReadResult {
  boost::system::error_code ec;
  std::size_t n = 0;
  bool done = false;
};

ReadResult readOnce(asio::io_context& io, Transport& t, std::span<std::uint8_t> buf,
                    std::chrono::milliseconds timeout) {
  ReadResult r;
  t.asyncRead(buf, [&](const boost::system::error_code& ec, std::size_t n) { r = {ec, n, true}; });
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!r.done && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(10ms);
  }
  return r;
}

TEST(UsbTransport, RunsUnderUmockdev) {
  FakeUsbInstrument fake;
  ASSERT_TRUE(umockdev_in_mock_environment())
      << "run this binary through umockdev-wrapper (ctest does)";
}

TEST(UsbTransport, GetInfoThroughDeviceClient) {
  FakeUsbInstrument fake;
  DeviceClient client(usbFactory());
  EXPECT_EQ(client.describe(), "usb 1209:7a50 serial PS-0001 (bus 1 address 2)");
  const wire::Info info = client.getInfo();
  EXPECT_EQ(info.board(), "usb-test");
  EXPECT_EQ(info.serial_number(), "PS-0001");
  // A command the device refuses comes back as a refusal, not as a link problem.
  EXPECT_THROW(client.setLed(0.5f), DeviceError);
}

TEST(UsbTransport, OpensEveryAddressForm) {
  FakeUsbInstrument fake;
  asio::io_context io;
  for (const char* address : {"usb", "usb:PS-0001", "usb:1:2"}) {
    auto t = openUsbTransport(io, address);
    EXPECT_EQ(t->describe(), "usb 1209:7a50 serial PS-0001 (bus 1 address 2)") << address;
  }
  for (const char* bad : {"usb:", "usbx", "usb:0:2", "usb:1:x", "usb:1:300"}) {
    EXPECT_THAT(transportError([&] { openUsbTransport(io, bad); }), HasSubstr("expected usb"))
        << bad;
  }
  EXPECT_THAT(transportError([&] { openUsbTransport(io, "usb:3:4"); }),
              HasSubstr("at bus 3 address 4 (connected: (bus 1 address 2))"));
}

TEST(UsbTransport, WrongSerialIsNamed) {
  FakeUsbInstrument fake;
  asio::io_context io;
  const std::string error = transportError([&] { openUsbTransport(io, "usb:PS-9999"); });
  EXPECT_THAT(error, HasSubstr("with serial 'PS-9999' is connected"));
  EXPECT_THAT(error, HasSubstr("found: PS-0001"));
}

TEST(UsbTransport, NothingConnected) {
  UMockdevTestbed* testbed = umockdev_testbed_new();  // an empty bus
  asio::io_context io;
  EXPECT_EQ(transportError([&] { openUsbTransport(io, "usb"); }),
            "no polscan instrument (USB 1209:7a50) is connected");
  EXPECT_TRUE(listUsbInstruments().empty());
  g_object_unref(testbed);
}

TEST(UsbDiscovery, ListsTheInstrumentWithItsSerial) {
  FakeUsbInstrument fake;
  const auto all = listInstruments();
  std::vector<InstrumentCandidate> usb;
  for (const auto& c : all) {
    if (c.kind == InstrumentCandidate::Kind::usb) usb.push_back(c);
  }
  ASSERT_EQ(usb.size(), 1u);
  EXPECT_EQ(usb[0].serial, "PS-0001");
  EXPECT_EQ(usb[0].bus, 1);
  EXPECT_EQ(usb[0].usb_address, 2);
  EXPECT_EQ(usb[0].address, "usb:PS-0001");
  EXPECT_EQ(usb[0].problem, "");
  EXPECT_EQ(usb[0].description, "polscan USB instrument, serial PS-0001 (bus 1 address 2)");
  // The address it offers opens the same device.
  asio::io_context io;
  EXPECT_EQ(openUsbTransport(io, usb[0].address)->describe(),
            "usb 1209:7a50 serial PS-0001 (bus 1 address 2)");
}

TEST(UsbTransport, EndpointsComeFromTheDescriptors) {
  FakeUsbInstrument::Options options;
  options.in_ep = 0x83;
  options.out_ep = 0x04;
  FakeUsbInstrument fake(options);
  asio::io_context io;
  UsbTransport t(io);
  EXPECT_EQ(t.inEndpoint(), 0x83);
  EXPECT_EQ(t.outEndpoint(), 0x04);
  EXPECT_EQ(t.inPacketSize(), 64);
}

TEST(UsbTransport, MultiPacketFramesArriveIntact) {
  FakeUsbInstrument::Options options;
  options.board = std::string(300, 'b') + "-end";  // the reply spans several 64-byte packets
  FakeUsbInstrument fake(options);
  DeviceClient client(usbFactory());
  StackRequest request;
  for (int i = 0; i < 64; ++i) request.angles_deg.push_back(i * 2.8125 + 0.001);
  std::uint32_t frames = 0;
  client.acquireStack(request, &frames);
  EXPECT_EQ(frames, 64u);
  EXPECT_GT(fake.largestOutUrb(), 512u);  // one frame, several packets on the wire
  const auto received = fake.received();
  ASSERT_FALSE(received.empty());
  const wire::HostMessage& m = received.back();
  ASSERT_TRUE(m.has_acquire_stack());
  ASSERT_EQ(m.acquire_stack().angles_deg_size(), 64);
  for (int i = 0; i < 64; ++i) EXPECT_EQ(m.acquire_stack().angles_deg(i), request.angles_deg[i]);
  EXPECT_EQ(client.getInfo().board(), options.board);
  EXPECT_EQ(client.linkStats().crc_errors, 0u);
}

TEST(UsbTransport, UnplugFailsThePendingCall) {
  FakeUsbInstrument fake;
  fake.setSilent(wire::HostMessage::kGetStatus);
  DeviceClient client(usbFactory(), 3000ms);
  ASSERT_EQ(client.getInfo().board(), "usb-test");
  auto pending = std::async(std::launch::async, [&] { return client.getStatus(); });
  std::this_thread::sleep_for(100ms);
  const auto unplugged_at = std::chrono::steady_clock::now();
  fake.unplug();
  try {
    pending.get();
    FAIL() << "the call survived the unplug";
  } catch (const LinkError& e) {
    EXPECT_THAT(e.what(), HasSubstr("unplugged"));
    EXPECT_THAT(e.what(), HasSubstr("usb 1209:7a50 serial PS-0001 (bus 1 address 2)"));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - unplugged_at, 1500ms);  // not the call timeout
  EXPECT_THROW(client.getInfo(), LinkError);
}

// The instrument is unplugged and plugged in again: reconnect() finds it and a new session works.
TEST(UsbTransport, ReplugThenReconnectResumes) {
  auto fake = std::make_unique<FakeUsbInstrument>();
  DeviceClient client(usbFactory(), 2000ms);
  ASSERT_EQ(client.getInfo().board(), "usb-test");
  fake->unplug();
  EXPECT_THROW(client.getInfo(), LinkError);
  EXPECT_TRUE(client.linkLost());
  client.disconnect();  // releases the dead device's handle before it vanishes from the bus
  fake.reset();
  // Nothing plugged in: reconnect gives up with the not-found error after its wait.
  EXPECT_THROW(client.reconnect(300ms), TransportError);
  FakeUsbInstrument::Options replugged;
  replugged.board = "usb-test-replugged";
  fake = std::make_unique<FakeUsbInstrument>(replugged);
  client.reconnect(2000ms);
  EXPECT_FALSE(client.linkLost());
  EXPECT_EQ(client.getInfo().board(), "usb-test-replugged");
}

// Hotplug LEFT alone (the URBs still look alive) is enough to report the unplug.
TEST(UsbTransport, HotplugLeftReportsUnplugged) {
  if (libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG) == 0) GTEST_SKIP() << "libusb without hotplug";
  FakeUsbInstrument fake;
  asio::io_context io;
  UsbTransport t(io);
  fake.unplug(/*uevent=*/true, /*urbs_fail=*/false);
  std::array<std::uint8_t, 256> buf{};
  const ReadResult r = readOnce(io, t, buf, 2000ms);
  ASSERT_TRUE(r.done) << "no hotplug LEFT within 2 s";
  EXPECT_EQ(r.ec, make_error_code(UsbReadError::unplugged));
  EXPECT_THAT(r.ec.message(), HasSubstr("unplugged"));
  const std::uint8_t byte = 0;
  EXPECT_EQ(transportError([&] {
              t.write({&byte, 1});
            }),
            "cannot write to usb 1209:7a50 serial PS-0001 (bus 1 address 2): usb 1209:7a50 serial "
            "PS-0001 (bus 1 address 2) was unplugged");
  t.close();
  EXPECT_EQ(fake.pendingInUrbs(), 0u);  // close cancelled and reaped every IN transfer
}

// URBs failing with ENODEV alone (no uevent seen yet) also reports the unplug.
TEST(UsbTransport, NoDeviceTransferReportsUnplugged) {
  FakeUsbInstrument fake;
  asio::io_context io;
  UsbTransport t(io);
  fake.unplug(/*uevent=*/false, /*urbs_fail=*/true);
  std::array<std::uint8_t, 256> buf{};
  const ReadResult r = readOnce(io, t, buf, 2000ms);
  ASSERT_TRUE(r.done);
  EXPECT_EQ(r.ec, make_error_code(UsbReadError::unplugged));
  t.close();
}

TEST(UsbTransport, CloseAbortsTheReadAndReapsEveryTransfer) {
  FakeUsbInstrument fake;
  asio::io_context io;
  UsbTransport t(io);
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(fake.pendingInUrbs(), 4u);  // the IN transfers are queued at the device
  ReadResult r;
  std::array<std::uint8_t, 64> buf{};
  t.asyncRead(buf, [&](const boost::system::error_code& ec, std::size_t n) { r = {ec, n, true}; });
  t.close();
  t.close();  // twice is fine
  io.run_for(100ms);
  ASSERT_TRUE(r.done);
  EXPECT_EQ(r.ec, asio::error::operation_aborted);
  EXPECT_EQ(fake.pendingInUrbs(), 0u);
  const std::uint8_t byte = 0;
  EXPECT_THAT(transportError([&] { t.write({&byte, 1}); }), HasSubstr("is closed"));
}

TEST(UsbTransport, ErrorTextsNameTheDeviceAndTheRemedy) {
  EXPECT_EQ(usbOpenErrorText(LIBUSB_ERROR_ACCESS, 0x1209, 0x7A50, 1, 2, "open"),
            "permission denied opening USB device 1209:7a50 (bus 1 address 2): install "
            "hardware/udev/70-polscan.rules and re-plug (or run as root)");
  EXPECT_EQ(usbOpenErrorText(LIBUSB_ERROR_BUSY, 0x1209, 0x7A50, 3, 7, "claim"),
            "USB device 1209:7a50 (bus 3 address 7) is claimed by another program (another "
            "polscan session?)");
  EXPECT_THAT(usbOpenErrorText(LIBUSB_ERROR_IO, 0x1209, 0x7A50, 1, 2, "claim"),
              HasSubstr("cannot claim USB device 1209:7a50 (bus 1 address 2): LIBUSB_ERROR_IO"));
}

// A device node the user may not open gives the udev-rules hint, if the environment can produce
// LIBUSB_ERROR_ACCESS at all: umockdev 0.17 connects an emulated node to its ioctl socket
// without checking the node's mode (tried as root and as uid 65534 in a forked child), so here
// the case usually skips and ErrorTextsNameTheDeviceAndTheRemedy covers the text.
TEST(UsbTransport, PermissionDeniedNamesTheUdevRules) {
  FakeUsbInstrument fake;
  ASSERT_EQ(::chmod(fake.devnodeFile().c_str(), 0), 0);
  asio::io_context io;
  const std::string error = transportError([&] { UsbTransport t(io); });
  if (error.empty()) {
    GTEST_SKIP() << "the emulated device node opened despite mode 000 (umockdev ignores node "
                    "modes for ioctl-emulated devices"
                 << (::geteuid() == 0 ? ", and root ignores them anyway)" : ")");
  }
  EXPECT_THAT(error, HasSubstr("permission denied opening USB device 1209:7a50 (bus 1 address 2): "
                               "install hardware/udev/70-polscan.rules and re-plug"));
}

}  // namespace
}  // namespace polscan

#ifdef POLSCAN_USB_TEST_FW_CORE
namespace polscan {
namespace {

// "Its URBs answered by the firmware sim's core": the real dispatch and nanopb codec.
TEST(UsbTransport, FirmwareCoreBehindTheUrbs) {
  FakeUsbInstrument::Options options;
  options.serial = "PS-0042";
  options.backend = testing::makeFirmwareBackend;
  FakeUsbInstrument fake(options);
  DeviceClient client(usbFactory("usb:PS-0042"));
  const wire::Info info = client.getInfo();
  EXPECT_EQ(info.board(), "usb-fw");
  EXPECT_EQ(info.serial_number(), "PS-0042");
  EXPECT_GT(info.ByteSizeLong(), 64u);  // the reply spans several IN packets
  client.setLed(0.25f);
  EXPECT_FLOAT_EQ(client.getStatus().led_level(), 0.25f);
  // 64 angles (> 512 bytes in one frame) decode on the device: refused for a reason of its own.
  StackRequest request;
  for (int i = 0; i < 64; ++i) request.angles_deg.push_back(i * 5.5);
  try {
    client.acquireStack(request);
    FAIL() << "an unhomed instrument accepted a stack";
  } catch (const DeviceError& e) {
    EXPECT_EQ(e.status(), wire::STATUS_NOT_HOMED) << e.what();
  }
}

}  // namespace
}  // namespace polscan
#endif
