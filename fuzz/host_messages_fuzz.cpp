// Fuzzes the host's receive path: link bytes into ReliableLink, delivered payloads parsed as
// DeviceMessages (protobuf) and handled as the client does (clock sync, names of codes). A mode
// byte selects raw wire bytes or a payload sent in a valid frame, so the parser is reached.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "device/clock_sync.hpp"
#include "polscan.pb.h"
#include "proto/framing/reliable_link.hpp"

namespace {

using namespace polscan;

struct Wire : link::ByteSink {
  std::vector<std::uint8_t> bytes;
  void writeBytes(const std::uint8_t* data, std::size_t n) override {
    bytes.insert(bytes.end(), data, data + n);
  }
};

struct Client : link::PayloadHandler {
  ClockSync clock;
  void onPayload(const std::uint8_t* data, std::size_t n) override {
    wire::DeviceMessage m;
    if (!m.ParseFromArray(data, static_cast<int>(n))) return;
    clock.addSample(m.device_time_us(), 1.0 + static_cast<double>(clock.samples()) * 0.001);
    volatile std::size_t sink = 0;
    switch (m.body_case()) {
      case wire::DeviceMessage::kReply:
        sink = wire::Status_Name(m.reply().status()).size() + m.reply().message().size();
        break;
      case wire::DeviceMessage::kTrigger:
        sink = static_cast<std::size_t>(clock.toHostSeconds(m.trigger().timestamp_us()) != 0.0);
        break;
      case wire::DeviceMessage::kStackDone:
        sink = wire::Status_Name(m.stack_done().status()).size();
        break;
      case wire::DeviceMessage::kFault:
        sink = wire::FaultCode_Name(m.fault().code()).size() +
               wire::Axis_Name(m.fault().axis()).size();
        break;
      case wire::DeviceMessage::BODY_NOT_SET:
        break;
    }
    (void)sink;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  Wire to_device;
  Client client;
  link::ReliableLink host(to_device, client, 0x17);
  if (data[0] & 1) {
    // The rest is one payload from a well-behaved device link.
    Wire from_device;
    struct Nobody : link::PayloadHandler {
      void onPayload(const std::uint8_t*, std::size_t) override {}
    } nobody;
    link::ReliableLink device(from_device, nobody, 0x29);
    device.send(data + 1, size - 1, 0);
    host.receive(from_device.bytes.data(), from_device.bytes.size(), 10);
  } else {
    host.receive(data + 1, size - 1, 10);
  }
  host.poll(100000);
  return 0;
}
