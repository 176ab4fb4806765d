// HAL: the host byte stream (UART, USB CDC, or a pty/socket in the sim).
#pragma once

#include <cstddef>
#include <cstdint>

namespace polscan::fw::hal {

class ByteLink {
 public:
  // Copies up to cap bytes already received into buf; never blocks. Returns the count (0: none).
  virtual std::size_t read(std::uint8_t* buf, std::size_t cap) = 0;
  // Queues bytes for sending; never blocks. Bytes that do not fit may be dropped: the reliable
  // link above retransmits.
  virtual void write(const std::uint8_t* data, std::size_t n) = 0;

 protected:
  ~ByteLink() = default;
};

}  // namespace polscan::fw::hal
