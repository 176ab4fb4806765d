// Simulated mechanics: the test hooks around the shared virtual mechanics.
#include "firmware/ports/sim/sim_machine.hpp"

namespace polscan::fw::sim {

void SimStepper::step() {
  VirtualStepper::step();
  if (enabled() && on_step) on_step(steps());
}

void SimTrigger::pulse(std::uint32_t width_us) {
  (void)width_us;
  ++pulses_;
  if (on_pulse) on_pulse();
}

}  // namespace polscan::fw::sim
