// Stage micrometer slide: one absorbing, non-birefringent rod per ruled line.
#include "hardware/twin/stage_micrometer.hpp"

#include <cmath>
#include <numbers>

namespace polscan::twin {

Slide stageMicrometerSlide(const StageMicrometer& m) {
  Slide s;
  s.seed = 1;
  s.sample = "stage-micrometer";
  const double a = m.line_angle_deg * std::numbers::pi / 180.0;
  // Lines step along the normal to their direction.
  const double nx = std::sin(a), ny = -std::cos(a);
  const int half = static_cast<int>(std::floor(m.extent_um / 2 / m.pitch_um));
  for (int i = -half; i <= half; ++i) {
    CrystalSpec line;
    line.id = i + half + 1;
    line.shape = Shape::Rod;
    line.x_um = i * m.pitch_um * nx;
    line.y_um = i * m.pitch_um * ny;
    line.length_um = m.extent_um;
    line.width_um = m.line_width_um;
    line.long_axis_deg = m.line_angle_deg;
    line.birefringence = 0;
    line.absorption = m.absorption;
    s.objects.push_back(line);
  }
  return s;
}

}  // namespace polscan::twin
