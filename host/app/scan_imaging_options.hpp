// The imaging options that `polscan scan` and `polscan serve` share: pixel scale from the objective
// and sensor, chamber depth, the stack's angles / mode / exposure, and the LED strobe.
#pragma once

#include <optional>

#include <CLI/CLI.hpp>

#include "app/stack_options.hpp"
#include "scan/scan_checkpoint.hpp"

namespace polscan {

struct ScanImagingOptions {
  double objective = 20.0;       // magnification (x)
  double sensor_pixel_um = 8.0;  // camera sensor pixel
  double pixel_um = 0.0;         // sample-plane pixel; 0: sensor pixel / magnification
  double chamber_depth_um = ScanRequest{}.chamber_depth_um;
  StackOptions stack;
  bool no_strobe = false;

  // Registers --objective, --sensor-pixel-um, --pixel-um, --chamber-depth-um, the stack options
  // (--angles, --mode, --exposure-us) and --no-strobe on cmd.
  void addTo(CLI::App& cmd);
  // The sample-plane pixel size in um: --pixel-um when given, else the calibration's (measured
  // on a stage micrometer) when there is one, else sensor pixel / magnification.
  double pixelUm(std::optional<double> calibrated_pixel_um = std::nullopt) const;
  // Sets the request's pixel size (as pixelUm) and chamber depth and the acquisition's stack and
  // strobe.
  void applyTo(ScanRequest& request, ScanAcquisition& acquisition,
               std::optional<double> calibrated_pixel_um = std::nullopt) const;
};

}  // namespace polscan
