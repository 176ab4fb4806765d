// The virtual instrument's calibration inputs (dark, Malus, blank x2, stage move) from the twin.
#pragma once

#include <vector>

#include "calibration/calibrate.hpp"
#include "hardware/twin/field_renderer.hpp"
#include "hardware/twin/slide.hpp"
#include "tests/support/twin_stack.hpp"

namespace polscan::caltest {

using calibration::CalibrationInputs;
using calibration::StageMovePair;

constexpr int kW = 192, kH = 144;

inline twin::Slide emptySlide() {
  twin::Slide s;
  s.seed = 5;
  s.sample = "blank";
  return s;
}

// A few absorbing particles for the stage-move correlation.
inline twin::Slide texturedSlide() {
  twin::Slide s = emptySlide();
  const double pos[][2] = {{-20, 10}, {5, -12}, {18, 14}, {-8, -20}, {30, -5}, {-30, -8}};
  for (const auto& p : pos) {
    twin::CrystalSpec c;
    c.shape = twin::Shape::Rod;
    c.x_um = p[0];
    c.y_um = p[1];
    c.length_um = 6;
    c.width_um = 3;
    c.long_axis_deg = 20 + p[0];
    c.absorption = 0.6;
    s.objects.push_back(c);
  }
  return s;
}

// kW x kH px at 0.4 um/px; frame i's noise from seed * 100 + i.
inline Stack render(const twin::Slide& slide, const twin::OpticsConfig& optics,
                    const std::vector<double>& angles, std::uint64_t seed, double stage_x = 0) {
  return ::polscan::testing::renderTwinStack(slide, optics, angles, kW, kH, 0.4, seed * 100,
                                             stage_x);
}

inline std::vector<double> eightAngles() {
  return ::polscan::testing::eightAnglesDeg();
}

// Every input of a calibration, rendered by the twin with `optics`.
inline CalibrationInputs inputsFor(const twin::OpticsConfig& optics) {
  CalibrationInputs in;
  twin::OpticsConfig dark = optics;
  dark.led_level = 0;
  in.dark = render(emptySlide(), dark, {0, 0, 0}, 1);
  twin::OpticsConfig malus = optics;
  malus.qwp_in_path = false;
  in.malus = render(emptySlide(), malus, eightAngles(), 2);
  in.blank = render(emptySlide(), optics, eightAngles(), 3);
  in.blank_again = render(emptySlide(), optics, eightAngles(), 4);
  StageMovePair move;
  move.before = render(texturedSlide(), optics, {0}, 5, 0).frames[0];
  move.after = render(texturedSlide(), optics, {0}, 6, 8.0).frames[0];
  move.move_x_um = 8.0;
  in.stage_move = move;
  return in;
}

inline twin::OpticsConfig misaligned() {
  twin::OpticsConfig o;
  o.polarizer_offset_deg = 4.0;
  o.qwp_axis_error_deg = 2.0;
  o.vignetting = 0.2;
  o.black_level_dn = 100;
  return o;
}

}  // namespace polscan::caltest
