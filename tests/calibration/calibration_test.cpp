// Calibration on the virtual instrument with known misalignments: recovered within tolerances,
// and a broken set-up refused with what to adjust.
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>

#include "calibration/calibrate.hpp"
#include "calibration/calibration_error.hpp"
#include "io/stack_folder.hpp"
#include "tests/calibration/twin_calibration_inputs.hpp"

namespace fs = std::filesystem;
using namespace polscan;
using namespace polscan::calibration;

using namespace polscan::caltest;

TEST(Calibration, RecoversKnownMisalignmentsWithinStatedTolerances) {
  const InstrumentCalibration c = measureCalibration(inputsFor(misaligned()));
  for (const auto& line : describeCalibration(c)) std::cout << "  " << line << "\n";
  EXPECT_NEAR(c.dark_offset_dn, 100.0, 1.0);      // camera offset, DN
  EXPECT_NEAR(c.polarizer_offset_deg, 4.0, 0.3);  // index vs transmission axis
  EXPECT_NEAR(c.qwp_axis_error_deg, 2.0, 0.3);    // plate at 47 deg
  EXPECT_NEAR(c.vignetting, 0.2, 0.04);           // flat-field corner falloff
  ASSERT_TRUE(c.pixel_um.has_value());
  EXPECT_NEAR(*c.pixel_um, 0.4, 0.004);  // 1 %
  EXPECT_NEAR(c.camera_rotation_deg.value(), 0.0, 1.0);
  // Plate 2 deg off gives sin(4 deg) of background: 546 / 2pi * asin(sin 4 deg) = 6.07 nm.
  EXPECT_NEAR(c.background_retardance_nm, 6.07, 0.4);
  EXPECT_GT(c.extinction_ratio, 1000.0);
  EXPECT_GT(c.noise_floor_nm, 0.0);
  EXPECT_LT(c.noise_floor_nm, 3.0);
  EXPECT_LT(c.residual_background_nm, 0.3);
}

TEST(Calibration, OppositeMisalignmentsComeOutWithTheirSigns) {
  twin::OpticsConfig o = misaligned();
  o.polarizer_offset_deg = -6.0;
  o.qwp_axis_error_deg = -1.5;
  const InstrumentCalibration c = measureCalibration(inputsFor(o));
  EXPECT_NEAR(c.polarizer_offset_deg, -6.0, 0.3);
  EXPECT_NEAR(c.qwp_axis_error_deg, -1.5, 0.3);
}

TEST(Calibration, NoiseFloorFollowsTheLight) {
  twin::OpticsConfig bright = misaligned();
  twin::OpticsConfig dim = bright;
  dim.led_level = 0.1;
  CalibrationLimits lenient;
  lenient.max_noise_floor_nm = 20;
  const double nf_bright = measureCalibration(inputsFor(bright), lenient).noise_floor_nm;
  const double nf_dim = measureCalibration(inputsFor(dim), lenient).noise_floor_nm;
  // Shot noise: 8x less light gives ~sqrt(8) more retardance noise.
  EXPECT_GT(nf_dim / nf_bright, 2.0);
  EXPECT_LT(nf_dim / nf_bright, 4.0);
  // With the default limit the dim set-up is refused, saying what to change.
  try {
    measureCalibration(inputsFor(dim));
    FAIL() << "noise floor " << nf_dim << " nm accepted";
  } catch (const CalibrationRefused& e) {
    EXPECT_NE(std::string(e.what()).find("raise the exposure or LED level"), std::string::npos)
        << e.what();
  }
}

TEST(Calibration, MissingAnalyserIsRefusedWithWhatToAdjust) {
  twin::OpticsConfig o = misaligned();
  o.analyser_extinction_ratio = 1.0;  // no analyser: nothing modulates
  try {
    measureCalibration(inputsFor(o));
    FAIL() << "a set-up without analyser was accepted";
  } catch (const CalibrationRefused& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("extinction ratio 1.0"), std::string::npos) << m;
    EXPECT_NE(m.find("analyser is missing"), std::string::npos) << m;
  }
}

TEST(Calibration, PlateTooFarOffIsRefusedNamingTheTurn) {
  twin::OpticsConfig o = misaligned();
  o.qwp_axis_error_deg = 8.0;
  try {
    measureCalibration(inputsFor(o));
    FAIL();
  } catch (const CalibrationRefused& e) {
    ASSERT_EQ(e.problems().size(), 1u) << e.what();
    EXPECT_NE(e.problems()[0].find("turn the plate by -8"), std::string::npos) << e.what();
  }
}

TEST(Calibration, StoredCalibrationRoundTripsAndKeepsItsBlank) {
  const fs::path dir = fs::temp_directory_path() / ("polscan_cal_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const CalibrationInputs in = inputsFor(misaligned());
  const InstrumentCalibration saved = calibrate(in, dir / "calibration.json");
  const InstrumentCalibration loaded = loadCalibration(dir / "calibration.json");
  EXPECT_DOUBLE_EQ(loaded.polarizer_offset_deg, saved.polarizer_offset_deg);
  EXPECT_DOUBLE_EQ(loaded.noise_floor_nm, saved.noise_floor_nm);
  EXPECT_DOUBLE_EQ(*loaded.pixel_um, *saved.pixel_um);
  EXPECT_TRUE(fs::exists(dir / "dark.tif"));
  EXPECT_TRUE(fs::exists(dir / "flat.tif"));
  const Stack blank = readStackFolder(loaded.blankPath());
  EXPECT_EQ(blank.frames.size(), 8u);
  EXPECT_EQ(cv::norm(blank.frames[3], in.blank.frames[3], cv::NORM_INF), 0.0);

  // Refused: nothing is written.
  twin::OpticsConfig broken = misaligned();
  broken.analyser_extinction_ratio = 1.0;
  EXPECT_THROW(calibrate(inputsFor(broken), dir / "b" / "calibration.json"), CalibrationRefused);
  EXPECT_FALSE(fs::exists(dir / "b"));
  EXPECT_THROW(loadCalibration(dir / "b" / "calibration.json"), CalibrationError);
  fs::remove_all(dir);
}
