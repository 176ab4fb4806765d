// HAL: one digital sensor input (polarizer index, X/Y/Z limit switches).
#pragma once

namespace polscan::fw::hal {

class DigitalInput {
 public:
  // true = sensor active (index seen, switch pressed), whatever the pin polarity.
  virtual bool read() = 0;

 protected:
  ~DigitalInput() = default;
};

}  // namespace polscan::fw::hal
