// Virtual mechanics: motors that count their steps and the sensors those counts imply. Shared by
// the sim port, the firmware tests and the qemu image (where no real sensor can be read).
#pragma once

#include <cstdint>

#include "firmware/core/config.hpp"
#include "firmware/hal/digital_input.hpp"
#include "firmware/hal/stepper_output.hpp"

namespace polscan::fw::mechanics {

// A motor: its physical position is the sum of the steps it received while powered. Portable
// (no heap, no library calls): it runs inside the MCU's step-timer interrupt under qemu.
class VirtualStepper : public hal::StepperOutput {
 public:
  explicit VirtualStepper(std::int32_t start_steps = 0) : steps_(start_steps) {}
  void step() override;
  void setDirection(bool positive) override { positive_ = positive; }
  void enable(bool on) override { enabled_ = on; }

  std::int32_t steps() const { return steps_; }
  bool enabled() const { return enabled_; }
  std::uint64_t pulses() const { return pulses_; }
  // Moves the rotor without a pulse: a mechanical bump or lost steps, for fault tests.
  void bump(std::int32_t steps) { steps_ += steps; }

 protected:
  ~VirtualStepper() = default;

 private:
  std::int32_t steps_;
  bool positive_ = true;
  bool enabled_ = false;
  std::uint64_t pulses_ = 0;
};

// The concrete motor for ports that need no hooks.
class PlainStepper final : public VirtualStepper {
 public:
  using VirtualStepper::VirtualStepper;
};

// Index sensor on the polarizer: active for band_deg of mechanical angle starting at offset_deg,
// so its rising edge when turning forward is at offset_deg.
class VirtualIndexSensor final : public hal::DigitalInput {
 public:
  VirtualIndexSensor(const VirtualStepper& motor, double start_angle_deg, double offset_deg,
                     bool present = true, double band_deg = 0.3);
  // Integer only: the motor's step count against the band's precomputed step range (this runs
  // in the MCU's step interrupt, where double arithmetic is emulated in software).
  bool read() override;
  double mechanicalAngle() const;

 private:
  // The geometric definition, evaluated once per candidate step count by the constructor.
  bool activeAt(std::int32_t steps) const;

  const VirtualStepper& motor_;
  double start_deg_;
  double offset_deg_;
  double band_deg_;
  bool present_;
  std::int32_t first_step_ = 0;  // first active step count within a turn
  std::int32_t band_steps_ = 0;  // active step counts from first_step_ on
};

// Limit switch at the bottom of a linear axis: closed one microstep below mechanical 0.
class VirtualLimitSwitch final : public hal::DigitalInput {
 public:
  explicit VirtualLimitSwitch(const VirtualStepper& motor) : motor_(motor) {}
  bool read() override { return motor_.steps() <= config::kLimitSwitchSteps; }

 private:
  const VirtualStepper& motor_;
};

}  // namespace polscan::fw::mechanics
