// HAL: the illumination LED's PWM output.
#pragma once

namespace polscan::fw::hal {

class LedPwm {
 public:
  // level in 0..1 of full duty; callable from the step timer (fly-by strobing).
  virtual void setLevel(float level) = 0;

 protected:
  ~LedPwm() = default;
};

}  // namespace polscan::fw::hal
