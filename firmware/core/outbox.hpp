// Fixed-size ring of encoded DeviceMessages waiting for room in the link's send window.
#pragma once

#include <cstddef>
#include <cstdint>

#include "firmware/core/config.hpp"

namespace polscan::fw {

// Records are [len lo][len hi][bytes], written around the end of the buffer byte by byte. The
// last kReserveBytes are kept for the one Fault that reports an overflow, so the host always
// learns that something was lost.
class Outbox {
 public:
  static constexpr std::size_t kCapacity = config::kOutboxBytes;
  static constexpr std::size_t kReserveBytes = 160;

  // Appends one message. use_reserve lets the overflow Fault use the reserved room.
  bool push(const std::uint8_t* data, std::size_t n, bool use_reserve = false);
  // Copies the oldest message into out (capacity cap); returns its size, 0 when empty.
  std::size_t front(std::uint8_t* out, std::size_t cap) const;
  void pop();

  bool empty() const { return count_ == 0; }
  std::size_t count() const { return count_; }
  std::size_t bytesUsed() const { return used_; }
  std::size_t highWater() const { return high_water_; }

 private:
  std::uint8_t at(std::size_t offset) const { return buf_[(tail_ + offset) % kCapacity]; }

  std::uint8_t buf_[kCapacity] = {};
  std::size_t head_ = 0;  // next byte written
  std::size_t tail_ = 0;  // oldest record
  std::size_t used_ = 0;
  std::size_t count_ = 0;
  std::size_t high_water_ = 0;
};

}  // namespace polscan::fw
