// Renders SceneSpec into a Stack with the closed-form polarizer models of domain.md.
#include "synthetic_scene.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>

namespace polscan::analysis::testing {

namespace {

constexpr double kDeg = std::numbers::pi / 180.0;

bool inside(const PaintedShape& s, int r, int c) {
  const double dx = c - s.cx_px;
  const double dy = -(r - s.cy_px);  // y up
  const double a = s.orientation_deg * kDeg;
  const double u = dx * std::cos(a) + dy * std::sin(a);
  const double v = -dx * std::sin(a) + dy * std::cos(a);
  const double hl = s.length_px / 2.0, hw = s.width_px / 2.0;
  switch (s.kind) {
    case PaintedShape::Kind::Rectangle:
    case PaintedShape::Kind::Bipyramid:
      return std::abs(u) <= hl && std::abs(v) <= hw;
    case PaintedShape::Kind::Ellipse:
      return (u * u) / (hl * hl) + (v * v) / (hw * hw) <= 1.0;
    case PaintedShape::Kind::Dumbbell: {
      // Two overlapping discs of diameter width at the ends joined by a thinner neck.
      const double rr = hw, off = hl - hw;
      const bool lobe =
          (u - off) * (u - off) + v * v <= rr * rr || (u + off) * (u + off) + v * v <= rr * rr;
      const bool neck = std::abs(u) <= off && std::abs(v) <= 0.45 * hw;
      return lobe || neck;
    }
  }
  return false;
}

// Retardance of shape s at pixel (r, c), which lies inside it.
double retardanceAt(const PaintedShape& s, int r, int c) {
  if (s.kind != PaintedShape::Kind::Bipyramid) return s.retardance_nm;
  const double dx = c - s.cx_px, dy = -(r - s.cy_px);
  const double a = s.orientation_deg * kDeg;
  const double fu = std::abs(dx * std::cos(a) + dy * std::sin(a)) / (s.length_px / 2.0);
  const double fv = std::abs(-dx * std::sin(a) + dy * std::cos(a)) / (s.width_px / 2.0);
  return s.retardance_nm * (1.0 - 0.5 * std::max(fu, fv)) * (fu >= fv ? 1.0 : s.facet_ratio);
}

}  // namespace

int shapeAt(const SceneSpec& spec, int r, int c) {
  for (int i = static_cast<int>(spec.shapes.size()) - 1; i >= 0; --i) {
    if (inside(spec.shapes[i], r, c)) return i;
  }
  return -1;
}

polscan::Stack renderStack(const SceneSpec& spec) {
  polscan::Stack stack;
  stack.angles_deg = spec.angles_deg;
  stack.train = spec.train;
  stack.wavelengths_nm = {spec.wavelength_nm};
  stack.pixel_um = spec.pixel_um;
  stack.stage = spec.stage;
  const int n = static_cast<int>(spec.angles_deg.size());
  for (int k = 0; k < n; ++k) stack.frames.emplace_back(spec.height, spec.width, CV_16UC1);

  std::mt19937 rng(spec.seed);
  std::normal_distribution<double> noise(0.0, spec.noise_sigma > 0 ? spec.noise_sigma : 1.0);
  const double bg_s =
      std::sin(2.0 * std::numbers::pi * spec.background_retardance_nm / spec.wavelength_nm);
  const double bg_n1 = -bg_s * std::sin(2.0 * spec.background_axis_deg * kDeg);
  const double bg_n2 = bg_s * std::cos(2.0 * spec.background_axis_deg * kDeg);
  for (int r = 0; r < spec.height; ++r) {
    for (int c = 0; c < spec.width; ++c) {
      const int idx = shapeAt(spec, r, c);
      double ret = 0.0, axis = 0.0, i0 = spec.background_i0;
      if (idx >= 0) {
        ret = retardanceAt(spec.shapes[idx], r, c);
        axis = spec.shapes[idx].slow_axis_deg;
        i0 *= spec.shapes[idx].transmission;
      }
      const double delta = 2.0 * std::numbers::pi * ret / spec.wavelength_nm;
      const double n1 = -std::sin(delta) * std::sin(2.0 * axis * kDeg) + bg_n1;
      const double n2 = std::sin(delta) * std::cos(2.0 * axis * kDeg) + bg_n2;
      for (int k = 0; k < n; ++k) {
        const double t = spec.angles_deg[k] * kDeg;
        double v;
        if (spec.train == polscan::OpticalTrain::Crossed) {
          const double s = std::sin(2.0 * (t - axis * kDeg));
          v = i0 * std::pow(std::sin(delta / 2.0), 2) * s * s;
        } else {
          v = i0 / 2.0 * (1.0 + n1 * std::cos(2.0 * t) + n2 * std::sin(2.0 * t));
        }
        if (spec.noise_sigma > 0) v += noise(rng);
        stack.frames[k].at<std::uint16_t>(r, c) =
            static_cast<std::uint16_t>(std::clamp(std::lround(v), 0L, 65535L));
      }
    }
  }
  return stack;
}

}  // namespace polscan::analysis::testing
