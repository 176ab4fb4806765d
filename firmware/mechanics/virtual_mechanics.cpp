// Virtual mechanics: step counting and sensor geometry (the same model on the host and in qemu).
#include "firmware/mechanics/virtual_mechanics.hpp"

#include <cmath>

namespace polscan::fw::mechanics {

void VirtualStepper::step() {
  ++pulses_;
  if (!enabled_) return;  // no current: the rotor does not follow
  steps_ += positive_ ? 1 : -1;
}

namespace {
constexpr std::int32_t kRev = config::kPolStepsPerRev;

std::int32_t modRev(std::int64_t v) {
  const auto m = static_cast<std::int32_t>(v % kRev);
  return m < 0 ? m + kRev : m;
}

double angleOf(double start_deg, std::int32_t steps) {
  double a = std::fmod(start_deg + steps * config::kPolDegPerStep, 360.0);
  return a < 0 ? a + 360.0 : a;
}
}  // namespace

VirtualIndexSensor::VirtualIndexSensor(const VirtualStepper& motor, double start_angle_deg,
                                       double offset_deg, bool present, double band_deg)
    : motor_(motor),
      start_deg_(start_angle_deg),
      offset_deg_(offset_deg),
      band_deg_(band_deg),
      present_(present) {
  if (!present_) return;
  // The band is one contiguous run of step counts per turn: find it by testing the geometric
  // definition on the step counts around the edge, so read() agrees with it exactly.
  const double edge = (offset_deg_ - start_deg_) / config::kPolDegPerStep;
  const auto guess = static_cast<std::int32_t>(std::floor(edge));
  const auto span = static_cast<std::int32_t>(band_deg_ / config::kPolDegPerStep) + 4;
  bool found = false;
  for (std::int32_t s = guess - 4; s <= guess + span; ++s) {
    if (!activeAt(s)) continue;
    if (!found) first_step_ = modRev(s);
    found = true;
    band_steps_ = modRev(static_cast<std::int64_t>(s) - first_step_) + 1;
  }
}

bool VirtualIndexSensor::activeAt(std::int32_t steps) const {
  double d = std::fmod(angleOf(start_deg_, steps) - offset_deg_, 360.0);
  if (d < 0) d += 360.0;
  // A hair of tolerance: the angle is a sum of float steps and an edge exactly on a step must
  // not flicker between two readings.
  return d < band_deg_ - 1e-9 || d > 360.0 - 1e-9;
}

double VirtualIndexSensor::mechanicalAngle() const {
  return angleOf(start_deg_, motor_.steps());
}

bool VirtualIndexSensor::read() {
  if (band_steps_ == 0) return false;
  // 32-bit on purpose (no 64-bit division in the interrupt): a motor would need 2^31 steps,
  // 220 000 turns one way, to overflow it.
  std::int32_t m = (motor_.steps() - first_step_) % kRev;
  if (m < 0) m += kRev;
  return m < band_steps_;
}

}  // namespace polscan::fw::mechanics
