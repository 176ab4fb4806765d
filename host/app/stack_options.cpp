// StackOptions: one definition of the acquisition options for every command that acquires.
#include "app/stack_options.hpp"

namespace polscan {

void StackOptions::addTo(CLI::App& cmd) {
  cmd.add_option("--angles", angles, "Polarizer angles per stack, equally spaced over 0-180 deg")
      ->check(CLI::Range(3, 64))
      ->capture_default_str();
  cmd.add_option("--mode", mode, "fly-by (continuous rotation) or stop-and-go")
      ->check(CLI::IsMember({"fly-by", "stop-and-go"}))
      ->capture_default_str();
  cmd.add_option("--exposure-us", exposure_us, "Exposure per frame in microseconds")
      ->check(CLI::Range(10u, 2000000u))
      ->capture_default_str();
}

AcquisitionSettings StackOptions::settings() const {
  AcquisitionSettings s;
  s.request.angles_deg = equallySpacedAngles(angles);
  s.request.exposure_us = exposure_us;
  s.request.mode =
      mode == "fly-by" ? wire::ACQUISITION_MODE_FLY_BY : wire::ACQUISITION_MODE_STOP_AND_GO;
  return s;
}

}  // namespace polscan
