// Simulated mechanics for the sim port and the firmware tests: the shared virtual mechanics
// (firmware/mechanics) plus test hooks, a trigger line and an LED.
#pragma once

#include <cstdint>
#include <functional>

#include "firmware/core/config.hpp"
#include "firmware/hal/led_pwm.hpp"
#include "firmware/hal/trigger_output.hpp"
#include "firmware/mechanics/virtual_mechanics.hpp"

namespace polscan::fw::sim {

// A motor that counts its steps (mechanics::VirtualStepper) and reports each one to a hook.
class SimStepper final : public mechanics::VirtualStepper {
 public:
  using VirtualStepper::VirtualStepper;
  void step() override;
  // Called after every pulse that moved the rotor, with the new physical position (tests record
  // step times here).
  std::function<void(std::int32_t)> on_step;
};

using SimIndexSensor = mechanics::VirtualIndexSensor;
using SimLimitSwitch = mechanics::VirtualLimitSwitch;

class SimTrigger final : public hal::TriggerOutput {
 public:
  void pulse(std::uint32_t width_us) override;
  std::uint32_t pulses() const { return pulses_; }
  std::function<void()> on_pulse;

 private:
  std::uint32_t pulses_ = 0;
};

class SimLed final : public hal::LedPwm {
 public:
  void setLevel(float level) override { level_ = level; }
  float level() const { return level_; }

 private:
  float level_ = 0.0f;
};

}  // namespace polscan::fw::sim
