// HAL: the firmware's monotonic clock (free-running counter and its rate).
#pragma once

#include <cstdint>

namespace polscan::fw::hal {

class Clock {
 public:
  // Monotonic ticks since boot; never wraps within the instrument's lifetime (64 bits).
  virtual std::uint64_t now() = 0;
  virtual std::uint32_t tickHz() const = 0;

 protected:
  ~Clock() = default;
};

}  // namespace polscan::fw::hal
