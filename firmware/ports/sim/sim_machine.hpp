// Simulated mechanics for the sim port and the firmware tests: motors that count their steps,
// an index sensor and limit switches driven by those steps, a trigger line and an LED.
#pragma once

#include <cstdint>
#include <functional>

#include "firmware/core/config.hpp"
#include "firmware/hal/digital_input.hpp"
#include "firmware/hal/led_pwm.hpp"
#include "firmware/hal/stepper_output.hpp"
#include "firmware/hal/trigger_output.hpp"

namespace polscan::fw::sim {

// A motor: its physical position is the sum of the steps it received while powered.
class SimStepper final : public hal::StepperOutput {
 public:
  explicit SimStepper(std::int32_t start_steps = 0) : steps_(start_steps) {}
  void step() override;
  void setDirection(bool positive) override { positive_ = positive; }
  void enable(bool on) override { enabled_ = on; }

  std::int32_t steps() const { return steps_; }
  bool enabled() const { return enabled_; }
  std::uint64_t pulses() const { return pulses_; }
  // Moves the rotor without a pulse: a mechanical bump or lost steps, for fault tests.
  void bump(std::int32_t steps) { steps_ += steps; }
  // Called after every pulse with the new physical position (tests record step times here).
  std::function<void(std::int32_t)> on_step;

 private:
  std::int32_t steps_;
  bool positive_ = true;
  bool enabled_ = false;
  std::uint64_t pulses_ = 0;
};

// Index sensor on the polarizer: active for band_deg of mechanical angle starting at offset_deg,
// so its rising edge when turning forward is at offset_deg.
class SimIndexSensor final : public hal::DigitalInput {
 public:
  SimIndexSensor(const SimStepper& motor, double start_angle_deg, double offset_deg,
                 bool present = true, double band_deg = 0.3)
      : motor_(motor),
        start_deg_(start_angle_deg),
        offset_deg_(offset_deg),
        band_deg_(band_deg),
        present_(present) {}
  bool read() override;
  double mechanicalAngle() const;

 private:
  const SimStepper& motor_;
  double start_deg_;
  double offset_deg_;
  double band_deg_;
  bool present_;
};

// Limit switch at the bottom of a linear axis: closed one microstep below mechanical 0.
class SimLimitSwitch final : public hal::DigitalInput {
 public:
  explicit SimLimitSwitch(const SimStepper& motor) : motor_(motor) {}
  bool read() override { return motor_.steps() <= config::kLimitSwitchSteps; }

 private:
  const SimStepper& motor_;
};

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
