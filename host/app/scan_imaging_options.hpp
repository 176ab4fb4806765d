// The imaging options that `polscan scan` and `polscan serve` share: pixel scale from the objective
// and sensor, chamber depth, the stack's angles / mode / exposure, and the LED strobe.
#pragma once

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
  // The sample-plane pixel size in um: --pixel-um when given, else sensor pixel / magnification.
  double pixelUm() const;
  // Sets the request's pixel size and chamber depth and the acquisition's stack and strobe.
  void applyTo(ScanRequest& request, ScanAcquisition& acquisition) const;
};

}  // namespace polscan
