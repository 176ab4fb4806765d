// A virtual first-order-red compensator image: what a clinician sees with a 530 nm plate.
#pragma once

#include <opencv2/core.hpp>

#include "analysis/retardance_map.hpp"

namespace polscan::analysis {

struct CompensatorOptions {
  double plate_nm = 530.0;            // first-order red plate
  double plate_axis_deg = 45.0;       // plate's slow axis (marked on the microscope)
  bool modulate_by_intensity = true;  // darken absorbing particles as the eye would see them
};

// Colour (B, G, R, 8-bit sRGB; the lamp through parallel polarizers would be white, the plate alone
// is first-order magenta) between crossed polarizers of a pixel with the given retardance and
// slow axis under the plate. The crystal's retardance adds to the plate's in proportion to
// cos 2(phi - plate axis): parallel slow axes add (second-order blue), crossed subtract (yellow).
// That projection is the usual small-retardance approximation of the two retarders in series.
cv::Vec3b compensatorColour(double retardance_nm, double slow_axis_deg,
                            const CompensatorOptions& options = {});

// CV_8UC3 (BGR) view of a whole map.
cv::Mat compensatorView(const RetardanceMap& map, const CompensatorOptions& options = {});

}  // namespace polscan::analysis
