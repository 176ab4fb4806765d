// STM32F405 board I/O behind the HAL: steppers, sensors, camera trigger, LED PWM, on the pins of
// the generated pin map (hardware/pinmap.json), with the qemu stand-in for the mechanics.
#pragma once

#include <cstdint>

#include "firmware/hal/digital_input.hpp"
#include "firmware/hal/led_pwm.hpp"
#include "firmware/hal/stepper_output.hpp"
#include "firmware/hal/trigger_output.hpp"
#include "firmware/mechanics/virtual_mechanics.hpp"
#include "polscan_pinmap.hpp"

namespace polscan::fw::stm32 {

// One GPIO line taken from the pin map.
class Pin {
 public:
  constexpr explicit Pin(const pinmap::PinAssignment& p) : port_(p.port), number_(p.pin) {}
  void high() const;
  void low() const;
  bool level() const;
  void configureOutput(bool initial_high) const;
  void configureInput(bool pull_up) const;
  void configureAltFunction(std::uint8_t af) const;

 private:
  char port_;
  std::uint8_t number_;
};

// Enable line shared by several drivers (the X, Y, Z TMC2209s share stage.enable): on while any
// of them wants current. Active low, as on the TMC2209.
class SharedEnable {
 public:
  constexpr explicit SharedEnable(const pinmap::PinAssignment& p) : pin_(p) {}
  void set(std::uint8_t user_bit, bool on);
  void init() const { pin_.configureOutput(true); }
  void forceOff() const { pin_.high(); }

 private:
  Pin pin_;
  volatile std::uint8_t users_ = 0;
};

// Step/dir/enable of one driver. The step pulse is made in software inside the step-timer ISR
// (high for about 0.2 us, well over the TMC2209's 100 ns); the pin map's timer channels stay free
// for hardware pulse generation later. Optionally mirrored into a virtual motor (qemu).
class Stm32Stepper final : public hal::StepperOutput {
 public:
  constexpr Stm32Stepper(const pinmap::PinAssignment& step, const pinmap::PinAssignment& dir,
                         SharedEnable& enable, std::uint8_t enable_bit)
      : step_(step), dir_(dir), enable_(enable), enable_bit_(enable_bit) {}
  void init() const;
  void step() override;
  void setDirection(bool positive) override;
  void enable(bool on) override;
  void mirrorInto(mechanics::VirtualStepper* model) { model_ = model; }

 private:
  Pin step_;
  Pin dir_;
  SharedEnable& enable_;
  std::uint8_t enable_bit_;
  mechanics::VirtualStepper* model_ = nullptr;
};

// A sensor wired open-collector to ground with the MCU's pull-up: active = low.
class Stm32Input final : public hal::DigitalInput {
 public:
  constexpr explicit Stm32Input(const pinmap::PinAssignment& p) : pin_(p) {}
  void init() const { pin_.configureInput(true); }
  bool read() override { return !pin_.level(); }

 private:
  Pin pin_;
};

// Camera trigger: pulse() raises the line; the step timer ends it (tick()) once width_us has
// passed, so the width is rounded up to whole 50 us ticks.
class Stm32Trigger final : public hal::TriggerOutput {
 public:
  constexpr explicit Stm32Trigger(const pinmap::PinAssignment& p) : pin_(p) {}
  void init() const { pin_.configureOutput(false); }
  void pulse(std::uint32_t width_us) override;
  // Step-timer context, before Instrument::onStepTimer().
  void tick();
  std::uint32_t pulses() const { return pulses_; }
  void forceOff() const { pin_.low(); }

 private:
  Pin pin_;
  std::uint32_t ticks_left_ = 0;
  volatile std::uint32_t pulses_ = 0;
};

// LED dimming: TIM12 channel 1 PWM at 20 kHz on led.pwm.
class Stm32Led final : public hal::LedPwm {
 public:
  constexpr explicit Stm32Led(const pinmap::PinAssignment& p) : pin_(p) {}
  void init(std::uint32_t timer_clock_hz);
  void setLevel(float level) override;
  void forceOff() const;

 private:
  Pin pin_;
  std::uint32_t period_ = 1;
};

// Drives every output to its safe level without any state: used by halt().
void safeOutputs();

}  // namespace polscan::fw::stm32
