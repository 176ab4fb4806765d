// Outbox byte ring: variable-length records so small events do not waste fixed slots.
#include "firmware/core/outbox.hpp"

namespace polscan::fw {

bool Outbox::push(const std::uint8_t* data, std::size_t n, bool use_reserve) {
  if (n == 0 || n > 0xFFFF) return false;
  const std::size_t need = n + 2;
  const std::size_t limit = use_reserve ? kCapacity : kCapacity - kReserveBytes;
  if (used_ + need > limit) return false;
  buf_[head_] = static_cast<std::uint8_t>(n & 0xFF);
  head_ = (head_ + 1) % kCapacity;
  buf_[head_] = static_cast<std::uint8_t>(n >> 8);
  head_ = (head_ + 1) % kCapacity;
  for (std::size_t i = 0; i < n; ++i) {
    buf_[head_] = data[i];
    head_ = (head_ + 1) % kCapacity;
  }
  used_ += need;
  ++count_;
  if (used_ > high_water_) high_water_ = used_;
  return true;
}

std::size_t Outbox::front(std::uint8_t* out, std::size_t cap) const {
  if (count_ == 0) return 0;
  const std::size_t n = static_cast<std::size_t>(at(0)) | (static_cast<std::size_t>(at(1)) << 8);
  if (n > cap) return 0;
  for (std::size_t i = 0; i < n; ++i) out[i] = at(2 + i);
  return n;
}

void Outbox::pop() {
  if (count_ == 0) return;
  const std::size_t n = static_cast<std::size_t>(at(0)) | (static_cast<std::size_t>(at(1)) << 8);
  tail_ = (tail_ + n + 2) % kCapacity;
  used_ -= n + 2;
  --count_;
}

}  // namespace polscan::fw
