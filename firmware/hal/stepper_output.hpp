// HAL: one stepper driver's step/dir/enable pins.
#pragma once

namespace polscan::fw::hal {

// Called from the step timer: implementations must be a few register writes, no waiting beyond
// the driver's minimum pulse width.
class StepperOutput {
 public:
  // One microstep in the direction last set.
  virtual void step() = 0;
  virtual void setDirection(bool positive) = 0;
  // false removes motor current (safe state); steps while disabled do not move the motor.
  virtual void enable(bool on) = 0;

 protected:
  ~StepperOutput() = default;
};

}  // namespace polscan::fw::hal
