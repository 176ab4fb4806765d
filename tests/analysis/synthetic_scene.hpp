// Closed-form synthetic polarizer stacks for the analysis tests: painted retarders plus noise.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "common/stack.hpp"

namespace polscan::analysis::testing {

struct PaintedShape {
  // Bipyramid: a rectangle whose retardance is thickest at the centre (apex) and falls to half at
  // the rim; the facet pair across the width shows facet_ratio of it (a tilted envelope).
  enum class Kind { Rectangle, Ellipse, Dumbbell, Bipyramid };
  Kind kind = Kind::Rectangle;
  double cx_px = 0.0;  // centre column
  double cy_px = 0.0;  // centre row (rows grow downward)
  double length_px = 10.0;
  double width_px = 4.0;
  double orientation_deg = 0.0;  // long axis, CCW from +x as displayed (y up)
  double retardance_nm = 0.0;
  double slow_axis_deg = 0.0;  // CCW from +x as displayed
  double transmission = 1.0;   // multiplies I0 (absorbing particles < 1)
  double facet_ratio = 0.55;   // Bipyramid only
};

struct SceneSpec {
  int width = 256;
  int height = 256;
  double background_i0 = 30000.0;  // counts of I0 (frames see I0/2 on average)
  // System retardance (strain in the optics) added to every pixel, as normalised harmonics.
  double background_retardance_nm = 0.0;
  double background_axis_deg = 0.0;
  std::vector<PaintedShape> shapes;
  double noise_sigma = 0.0;  // Gaussian read noise per frame sample, counts
  std::uint32_t seed = 1;
  std::vector<double> angles_deg{0.0, 22.5, 45.0, 67.5, 90.0, 112.5, 135.0, 157.5};
  polscan::OpticalTrain train = polscan::OpticalTrain::Circular;
  double wavelength_nm = 546.0;
  double pixel_um = 0.5;
  std::optional<polscan::StagePosition> stage;
};

// Renders I(theta) = I0/2 (1 + sin(delta) sin(2(theta - phi))) (circular) or
// I0 sin^2(delta/2) sin^2(2(theta - phi)) (crossed) per pixel, adds noise, rounds and clamps.
polscan::Stack renderStack(const SceneSpec& spec);

// Which shape (index) covers pixel (r, c), or -1: the last painted wins, as in renderStack.
int shapeAt(const SceneSpec& spec, int r, int c);

}  // namespace polscan::analysis::testing
