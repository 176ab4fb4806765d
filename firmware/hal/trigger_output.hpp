// HAL: the camera trigger line.
#pragma once

#include <cstdint>

namespace polscan::fw::hal {

class TriggerOutput {
 public:
  // Starts one pulse of width_us and returns at once (a one-shot timer ends it on hardware):
  // called from the step timer at the exact firing tick.
  virtual void pulse(std::uint32_t width_us) = 0;

 protected:
  ~TriggerOutput() = default;
};

}  // namespace polscan::fw::hal
