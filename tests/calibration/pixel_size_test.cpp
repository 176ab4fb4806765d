// Pixel size from a stage micrometer and from a known stage move, on the virtual instrument.
#include <gtest/gtest.h>

#include <iostream>
#include <string>

#include "calibration/calibrate.hpp"
#include "calibration/calibration_error.hpp"
#include "calibration/calibration_measurements.hpp"
#include "hardware/twin/stage_micrometer.hpp"
#include "tests/calibration/twin_calibration_inputs.hpp"

using namespace polscan;
using namespace polscan::calibration;
using namespace polscan::caltest;

namespace {

cv::Mat micrometerImage(const twin::StageMicrometer& m, double pixel_um, int w = kW, int h = kH) {
  twin::OpticsConfig o = misaligned();  // vignetting and black level included
  twin::FieldRenderer r(twin::stageMicrometerSlide(m), o);
  twin::FieldRequest q;
  q.width_px = w;
  q.height_px = h;
  q.pixel_um = pixel_um;
  q.stage_x_um = 3.3;  // not centred on a line
  q.polarizer_deg = 30;
  q.frame_seed = 77;
  return r.render(q);
}

template <typename F>
void expectRefusal(F&& f, const std::string& detail) {
  try {
    f();
    ADD_FAILURE() << "no CalibrationError (expected one mentioning '" << detail << "')";
  } catch (const CalibrationError& e) {
    EXPECT_NE(std::string(e.what()).find(detail), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(PixelSize, MicrometerGivesThePixelSizeWithin1Percent) {
  struct Case {
    double pixel_um, pitch_um, angle_deg;
  };
  for (const Case c : {Case{0.31, 10, 90}, Case{0.65, 10, 91.5}, Case{0.4, 10, 0.5}}) {
    twin::StageMicrometer m;
    m.extent_um = 1.5 * kW * c.pixel_um;  // just past the field: the twin renders every line
    m.pitch_um = c.pitch_um;
    m.line_angle_deg = c.angle_deg;
    const MicrometerMeasurement r = measureMicrometer(micrometerImage(m, c.pixel_um), c.pitch_um);
    std::cout << "  pixel " << c.pixel_um << " um, lines at " << c.angle_deg << " deg: measured "
              << r.pixel_um << " um/px (" << r.pitch_px << " px per " << c.pitch_um << " um)\n";
    EXPECT_NEAR(r.pixel_um, c.pixel_um, 0.01 * c.pixel_um) << "lines at " << c.angle_deg;
    EXPECT_EQ(r.lines_along_y, c.angle_deg > 45) << "lines at " << c.angle_deg;
    EXPECT_GT(r.periodicity, 0.3);
  }
}

TEST(PixelSize, BlankOrCoarseImageIsRefusedNotMeasured) {
  const cv::Mat blank = render(emptySlide(), misaligned(), {30}, 9).frames[0];
  expectRefusal([&] { measureMicrometer(blank, 10); }, "no regular ruling");
  const cv::Mat flat(kH, kW, CV_16U, cv::Scalar(1000));
  expectRefusal([&] { measureMicrometer(flat, 10); }, "uniform");
  twin::StageMicrometer coarse;
  coarse.pitch_um = 40;  // two periods across a 77 um field: too few to measure
  coarse.extent_um = 200;
  expectRefusal([&] { measureMicrometer(micrometerImage(coarse, 0.4), 40); }, "micrometer: ");
  expectRefusal([&] { measureMicrometer(blank, 0); }, "pitch must be > 0");
}

TEST(PixelSize, StageMoveWithoutShiftIsRefused) {
  const Stack s = render(texturedSlide(), misaligned(), {0}, 5);
  expectRefusal([&] { measurePixelSize(s.frames[0], s.frames[0], 8.0, 0); }, "did the stage move");
}

TEST(PixelSize, CalibrationPrefersTheMicrometerAndChecksTheStageAgainstIt) {
  CalibrationInputs in = inputsFor(misaligned());
  twin::StageMicrometer m;
  m.extent_um = 150;
  in.micrometer = MicrometerImage{micrometerImage(m, 0.4), 10.0};
  const InstrumentCalibration c = measureCalibration(in);
  EXPECT_EQ(c.pixel_size_source, "stage micrometer");
  EXPECT_NEAR(c.pixel_um.value(), 0.4, 0.004);
  // A micrometer pitch typed wrong (5 instead of 10) disagrees with the stage move: refused.
  in.micrometer->pitch_um = 5;
  expectRefusal([&] { measureCalibration(in); }, "check the micrometer's pitch");
}
