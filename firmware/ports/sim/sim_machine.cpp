// Simulated mechanics: step counting and sensor geometry.
#include "firmware/ports/sim/sim_machine.hpp"

#include <cmath>

namespace polscan::fw::sim {

void SimStepper::step() {
  ++pulses_;
  if (!enabled_) return;  // no current: the rotor does not follow
  steps_ += positive_ ? 1 : -1;
  if (on_step) on_step(steps_);
}

double SimIndexSensor::mechanicalAngle() const {
  double a = std::fmod(start_deg_ + motor_.steps() * config::kPolDegPerStep, 360.0);
  return a < 0 ? a + 360.0 : a;
}

bool SimIndexSensor::read() {
  if (!present_) return false;
  double d = std::fmod(mechanicalAngle() - offset_deg_, 360.0);
  if (d < 0) d += 360.0;
  // A hair of tolerance: the angle is a sum of float steps and an edge exactly on a step must
  // not flicker between two readings.
  return d < band_deg_ - 1e-9 || d > 360.0 - 1e-9;
}

void SimTrigger::pulse(std::uint32_t width_us) {
  (void)width_us;
  ++pulses_;
  if (on_pulse) on_pulse();
}

}  // namespace polscan::fw::sim
