// ScanImagingOptions: one definition of the imaging options of `polscan scan` and `polscan serve`.
#include "app/scan_imaging_options.hpp"

namespace polscan {

void ScanImagingOptions::addTo(CLI::App& cmd) {
  cmd.add_option("--objective", objective, "Objective magnification (x)")->capture_default_str();
  cmd.add_option("--sensor-pixel-um", sensor_pixel_um,
                 "Camera sensor pixel in um; pixel size = sensor pixel / magnification")
      ->capture_default_str();
  cmd.add_option("--pixel-um", pixel_um,
                 "Sample-plane pixel size in um (overrides --objective / --sensor-pixel-um)");
  cmd.add_option("--chamber-depth-um", chamber_depth_um,
                 "Counting-chamber depth in um (volume = scanned area x depth)")
      ->capture_default_str();
  stack.addTo(cmd);
  cmd.add_flag("--no-strobe", no_strobe, "Keep the LED on instead of strobing per frame");
}

double ScanImagingOptions::pixelUm(std::optional<double> calibrated_pixel_um) const {
  if (pixel_um > 0) return pixel_um;
  if (calibrated_pixel_um && *calibrated_pixel_um > 0) return *calibrated_pixel_um;
  return pixelSizeUm(sensor_pixel_um, objective);
}

void ScanImagingOptions::applyTo(ScanRequest& request, ScanAcquisition& acquisition,
                                 std::optional<double> calibrated_pixel_um) const {
  request.pixel_um = pixelUm(calibrated_pixel_um);
  request.chamber_depth_um = chamber_depth_um;
  acquisition.angles = stack.angles;
  acquisition.mode = stack.mode;
  acquisition.exposure_us = stack.exposure_us;
  acquisition.strobe = !no_strobe;
}

}  // namespace polscan
