// HAL: the set of devices one board hands to the portable core.
#pragma once

#include "firmware/hal/byte_link.hpp"
#include "firmware/hal/clock.hpp"
#include "firmware/hal/digital_input.hpp"
#include "firmware/hal/led_pwm.hpp"
#include "firmware/hal/stepper_output.hpp"
#include "firmware/hal/trigger_output.hpp"

namespace polscan::fw::hal {

// References only: the port owns the objects (statically allocated on the MCU).
struct Board {
  Clock& clock;
  StepperOutput& polarizer;
  StepperOutput& x;
  StepperOutput& y;
  StepperOutput& z;
  DigitalInput& index;
  DigitalInput& limit_x;
  DigitalInput& limit_y;
  DigitalInput& limit_z;
  TriggerOutput& trigger;
  LedPwm& led;
  ByteLink& link;
};

}  // namespace polscan::fw::hal
