// Degrees to radians for the twin's optics and slide geometry.
#pragma once

#include <numbers>

namespace polscan::twin {

inline constexpr double kDeg = std::numbers::pi / 180.0;  // radians per degree

}  // namespace polscan::twin
