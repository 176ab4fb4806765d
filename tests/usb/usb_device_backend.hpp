// What answers behind the fake USB device's URBs: bytes from the host in, bytes to the host out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>

namespace polscan::testing {

// Called with the fake's lock held, from umockdev's handler thread or the fake's ticker.
// Deliberately free of protobuf types: the firmware core's nanopb polscan.pb.h must never meet
// the host's protobuf polscan.pb.h in one translation unit.
class UsbDeviceBackend {
 public:
  virtual ~UsbDeviceBackend() = default;
  // Bytes of one bulk OUT URB; anything to send back is appended to to_host.
  virtual void fromHost(const std::uint8_t* data, std::size_t n,
                        std::deque<std::uint8_t>& to_host) = 0;
  // Called about every millisecond: timers, retransmits, events.
  virtual void poll(std::deque<std::uint8_t>& to_host) = 0;
};

}  // namespace polscan::testing
