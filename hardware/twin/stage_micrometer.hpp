// A stage micrometer for the twin: opaque ruled lines at a known pitch (pixel-size calibration).
#pragma once

#include "hardware/twin/slide.hpp"

namespace polscan::twin {

struct StageMicrometer {
  double pitch_um = 10;        // ruling pitch (a 1 mm / 100 division micrometer: 10 um)
  double line_width_um = 2;    // width of each ruled line
  double extent_um = 600;      // ruled length and span, centred on the slide origin
  double line_angle_deg = 90;  // direction of the lines, CCW from +x (90: lines along y)
  double absorption = 0.7;     // fraction of the light a line stops
};

// The micrometer as a slide of non-birefringent absorbing rods, one per ruled line.
Slide stageMicrometerSlide(const StageMicrometer& m = {});

}  // namespace polscan::twin
