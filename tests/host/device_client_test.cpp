// DeviceClient over a real pty (SerialTransport + ReliableLink + protobuf), against a scripted
// peer: replies, refusals, silence, and the wire bytes checked with the real protoc --decode.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "device/device_client.hpp"
#include "pty_peer.hpp"
#include "transport/transport_factory.hpp"

using namespace polscan;
using polscan::testing::PtyPeer;

namespace {
std::vector<wire::DeviceMessage> instrument(const wire::HostMessage& m) {
  wire::DeviceMessage d;
  auto* r = d.mutable_reply();
  r->set_request_id(m.request_id());
  switch (m.command_case()) {
    case wire::HostMessage::kGetInfo:
      r->mutable_info()->set_board("scripted");
      r->mutable_info()->set_firmware_version("9.9.9");
      r->mutable_info()->set_protocol_version(1);
      break;
    case wire::HostMessage::kMove:
      r->set_status(wire::STATUS_OUT_OF_LIMITS);
      r->set_message("X target 90000 um beyond 75000 um");
      break;
    default:
      r->set_status(wire::STATUS_UNKNOWN_COMMAND);
      break;
  }
  return {d};
}

std::unique_ptr<DeviceClient> connect(
    const PtyPeer& peer, std::chrono::milliseconds timeout = std::chrono::milliseconds(2000)) {
  const std::string path = peer.slavePath();
  return std::make_unique<DeviceClient>(
      [path](boost::asio::io_context& io) { return openTransport(io, "serial:" + path); }, timeout);
}
}  // namespace

TEST(DeviceClient, GetInfoOverARealPty) {
  PtyPeer peer(instrument);
  auto client = connect(peer);
  const wire::Info info = client->getInfo();
  EXPECT_EQ(info.board(), "scripted");
  EXPECT_EQ(info.firmware_version(), "9.9.9");
  EXPECT_EQ(client->describe(), "serial " + peer.slavePath());
  EXPECT_GE(client->clockSync().samples(), 1u);
}

TEST(DeviceClient, RefusalCarriesTheFirmwaresStatusAndMessage) {
  PtyPeer peer(instrument);
  auto client = connect(peer);
  try {
    client->move(wire::AXIS_X, 90000);
    FAIL() << "expected DeviceError";
  } catch (const DeviceError& e) {
    EXPECT_EQ(e.status(), wire::STATUS_OUT_OF_LIMITS);
    const std::string what = e.what();
    EXPECT_NE(what.find("Move refused"), std::string::npos) << what;
    EXPECT_NE(what.find("STATUS_OUT_OF_LIMITS"), std::string::npos) << what;
    EXPECT_NE(what.find("beyond 75000 um"), std::string::npos) << what;
  }
}

TEST(DeviceClient, SilentInstrumentGivesALinkErrorNamingThePort) {
  PtyPeer peer(instrument);
  auto client = connect(peer, std::chrono::milliseconds(300));
  peer.setSilent(true);
  try {
    client->getInfo();
    FAIL() << "expected LinkError";
  } catch (const LinkError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(peer.slavePath()), std::string::npos) << what;
  }
}

TEST(DeviceClient, BadAddressIsExplained) {
  try {
    DeviceClient client([](boost::asio::io_context& io) { return openTransport(io, "usb?"); });
    FAIL() << "expected TransportError";
  } catch (const TransportError& e) {
    EXPECT_NE(std::string(e.what()).find("tcp:HOST:PORT"), std::string::npos);
  }
  try {
    DeviceClient client(
        [](boost::asio::io_context& io) { return openTransport(io, "/dev/no-such-tty"); });
    FAIL() << "expected TransportError";
  } catch (const TransportError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open serial port /dev/no-such-tty"),
              std::string::npos);
  }
}

TEST(DeviceClient, CapturedFramePayloadDecodesWithProtoc) {
  PtyPeer peer(instrument);
  auto client = connect(peer);
  StackRequest req;
  req.angles_deg = {0, 22.5, 45};
  req.exposure_us = 1234;
  EXPECT_THROW(client->acquireStack(req), DeviceError);  // the scripted peer does not know it
  const auto payloads = peer.payloads();
  ASSERT_EQ(payloads.size(), 1u);
  const auto file = std::filesystem::temp_directory_path() /
                    ("polscan_payload_" + std::to_string(::getpid()) + ".bin");
  std::ofstream(file, std::ios::binary) << payloads[0];
  const std::string cmd = std::string(PROTOC_EXECUTABLE) +
                          " --decode=polscan.wire.HostMessage -I " + PROTO_DIR + " " + PROTO_DIR +
                          "/polscan.proto < " + file.string();
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string text;
  char buf[256];
  while (std::fgets(buf, sizeof(buf), p)) text += buf;
  EXPECT_EQ(::pclose(p), 0) << text;
  std::filesystem::remove(file);
  EXPECT_NE(text.find("protocol_version: 1"), std::string::npos) << text;
  EXPECT_NE(text.find("acquire_stack {"), std::string::npos) << text;
  EXPECT_NE(text.find("angles_deg: 22.5"), std::string::npos) << text;
  EXPECT_NE(text.find("exposure_us: 1234"), std::string::npos) << text;
}
