// Single-producer single-consumer ring from the step timer to the main loop (no locks).
#pragma once

#include <cstdint>

namespace polscan::fw {

// The producer writes only head_, the consumer only tail_; both are word-sized volatile
// counters, so a push interrupted by nothing and a pop interrupted by a push both stay correct
// on a single-core MCU. N must be a power of two.
template <typename T, std::uint32_t N>
class SpscRing {
  static_assert(N > 1 && (N & (N - 1)) == 0, "N must be a power of two");

 public:
  bool push(const T& item) {
    const std::uint32_t head = head_;
    if (head - tail_ == N) return false;
    items_[head % N] = item;
    head_ = head + 1;  // publish after the item is written (volatile order)
    return true;
  }
  bool pop(T& item) {
    const std::uint32_t tail = tail_;
    if (tail == head_) return false;
    item = items_[tail % N];
    tail_ = tail + 1;
    return true;
  }
  bool empty() const { return head_ == tail_; }
  std::uint32_t size() const { return head_ - tail_; }

 private:
  T items_[N] = {};
  volatile std::uint32_t head_ = 0;
  volatile std::uint32_t tail_ = 0;
};

}  // namespace polscan::fw
