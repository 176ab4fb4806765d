// Per-region measurements: position, size, orientation, optics and shape descriptors.
#pragma once

#include <optional>

#include "analysis/retardance_map.hpp"
#include "analysis/segmentation.hpp"
#include "common/crystal_class.hpp"
#include "common/stack.hpp"

namespace polscan::analysis {

struct CrystalFeatures {
  // Geometry (slide coordinates: stage centre + offset, x right, y up; lengths in um).
  double x_um = 0.0, y_um = 0.0;
  double cx_px = 0.0, cy_px = 0.0;  // centroid in map pixels (column, row)
  double length_um = 0.0, width_um = 0.0;
  double long_axis_deg = 0.0;  // CCW from +x, y up, [0, 180)
  double area_um2 = 0.0;
  double aspect = 1.0;          // length / width
  double solidity = 1.0;        // area / convex-hull area (concave outlines < 1)
  double rectangularity = 1.0;  // area / (length x width): 1 rectangle, 0.785 ellipse, 0.5 rhombus
  double waist = 1.0;           // narrowest central width / widest end width (< ~0.75 dumbbell)
  double x_pattern = 0.0;       // [0, 1]: four sectors with alternating slow axes (bipyramid)
  double focus = 0.0;           // mean edge gradient / mean level (sharp ~0.3+, blurred < 0.1)
  // Outline against its minimum-area rectangle: unlike the second moments, it finds the sides of
  // near-square outlines (a square's moments are isotropic, so its moment axes are arbitrary).
  double box_fill = 1.0;    // area / min-area-rectangle area: 1 box, 0.785 ellipse, 0.5 rhombus
  double box_aspect = 1.0;  // long / short side of that rectangle
  // Thickness profile over the outline (in the rectangle's frame, r = max(|u|/A, |v|/B)):
  // mean retardance of the core (r < 0.5) over the rim band (0.5 < r < 0.85). A flat plate is
  // ~1; a bipyramid, thickest at its apex, is clearly above 1.
  double centre_peak = 1.0;
  // Facets: the four triangles between the rectangle's diagonals. |mean(opposite pair 1) -
  // mean(pair 2)| / their sum, in retardance; a plate or a rod is ~0, an envelope whose facet
  // pairs present different thickness or tilt is clearly above 0.
  double facet_contrast = 0.0;
  // Absorption path: smooth, round particles (cells) versus lumpy, textured ones (clumps).
  double ellipse_fit = 1.0;        // IoU of the outline with its moment ellipse (smooth ~0.95)
  double hollowness = 0.0;         // 1 - area / hole-filled area (bubble rings are hollow)
  double intensity_texture = 0.0;  // std of I0 over the eroded interior / local background
  // Optics.
  double mean_retardance_nm = 0.0, peak_retardance_nm = 0.0;
  double slow_axis_deg = 0.0;     // circular mean of the axial slow axis (weighted by retardance)
  double axis_coherence = 0.0;    // |weighted mean of exp(2i phi)|: 1 uniform, ~0 disordered
  double axis_to_long_deg = 0.0;  // axial angle between slow axis and long axis, [0, 90]
  polscan::Elongation elongation = polscan::Elongation::None;
  // Share of pixels at the quarter-wave fold (strong crystal). Mono circular only: an RGB map
  // reports the real retardance (real_retardance) and has no fold.
  double fold_fraction = 0.0;
  double saturated_fraction = 0.0;  // share of saturated pixels (optics not trusted)
  double intensity_contrast = 0.0;  // mean I0 / local background - 1 (absorption < 0)
  // Contrast-to-noise of the retardance integrated over the region: sum(R) / (noise floor x
  // sqrt(n)). A tiny region a few nm above the threshold can be noise; a real crystal integrates.
  double cnr = 0.0;
  // Retardance that survives vector averaging of the slow axis (|mean of R e^(2i phi)|, nm): noise
  // and randomly oriented sub-micron crystals (apatite clumps) cancel, a weakly birefringent
  // particle (debris, fibres) does not.
  double coherent_nm = 0.0;
  double coherent_snr = 0.0;  // coherent_nm / (noise floor / sqrt(n))
  bool touches_border = false;
  bool birefringent = true;
  // RGB (three-wavelength) map: mean/peak retardance are the real (unwrapped) retardance, not the
  // first-order reading of one wavelength, so strength is read from them directly.
  bool real_retardance = false;
  // RGB: share of the region's pixels whose retardance the channels do not settle
  // (RetardanceMap::ambiguous). They are left out of the retardance and slow-axis statistics
  // while the trusted pixels are at least half of the region (and >= 3).
  double ambiguous_fraction = 0.0;
};

struct FeatureContext {
  std::optional<polscan::StagePosition> stage;
  double threshold_nm = 3.0;    // segmentation threshold: below ~2x it the optics are too weak
  double noise_floor_nm = 1.0;  // the map's background retardance scale (for cnr, coherent_snr)
  double min_aspect_for_sign = 1.3;  // rounder regions have no long axis to compare with
  double min_axis_snr = 10.0;     // coherent_snr below: the mean slow axis is not known to ~3 deg
  double sign_margin_deg = 10.0;  // slow axis within this of 45 deg to the long axis: no sign
};

CrystalFeatures measureRegion(const Region& region, const RetardanceMap& map,
                              const FeatureContext& context);

}  // namespace polscan::analysis
