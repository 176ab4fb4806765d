// Accuracy and input-checking tests of reconstruct() against closed-form synthetic stacks.
#include <cmath>
#include <numbers>
#include <string>

#include <gtest/gtest.h>

#include "analysis/analysis_error.hpp"
#include "analysis/reconstruction.hpp"
#include "synthetic_scene.hpp"
#include "tests/support/axial_angle.hpp"

namespace polscan::analysis {
namespace {

using testing::PaintedShape;
using testing::SceneSpec;

using ::polscan::testing::axialDiffDeg;

// A field entirely covered by one uniform retarder.
SceneSpec uniformScene(double ret_nm, double axis_deg, std::vector<double> angles,
                       double noise = 0.0) {
  SceneSpec s;
  s.width = 64;
  s.height = 48;
  s.angles_deg = std::move(angles);
  s.noise_sigma = noise;
  PaintedShape all;
  all.cx_px = 32;
  all.cy_px = 24;
  all.length_px = 200;
  all.width_px = 200;
  all.retardance_nm = ret_nm;
  all.slow_axis_deg = axis_deg;
  s.shapes.push_back(all);
  return s;
}

// Expects an AnalysisError whose message contains `detail`.
template <typename F>
void expectErrorMentioning(F&& f, const std::string& detail) {
  try {
    f();
    ADD_FAILURE() << "no AnalysisError (expected one mentioning '" << detail << "')";
  } catch (const AnalysisError& e) {
    EXPECT_NE(std::string(e.what()).find(detail), std::string::npos)
        << "message '" << e.what() << "' lacks '" << detail << "'";
  }
}

struct AngleCase {
  const char* name;
  std::vector<double> angles;
};

void PrintTo(const AngleCase& c, std::ostream* os) {
  *os << c.name;
}

class UniformRetarder : public ::testing::TestWithParam<AngleCase> {};

// Noise-free: only 16-bit rounding remains, so 0.2 nm and 0.2 deg are generous but would catch a
// sign, factor-of-two or angle-convention error.
TEST_P(UniformRetarder, RecoversRetardanceAndAxis) {
  for (const double axis : {0.0, 17.0, 63.0, 120.0, 171.0}) {
    for (const double ret : {8.0, 40.0, 110.0}) {
      const Stack st = testing::renderStack(uniformScene(ret, axis, GetParam().angles));
      const RetardanceMap m = reconstruct(st);
      const double r = cv::mean(m.retardance_nm)[0];
      const double a = cv::mean(m.slow_axis_deg)[0];
      EXPECT_NEAR(r, ret, 0.2) << GetParam().name << " axis " << axis;
      EXPECT_LT(axialDiffDeg(a, axis), 0.2) << GetParam().name << " ret " << ret;
      EXPECT_NEAR(cv::mean(m.intensity)[0], 30000.0, 30.0);
      EXPECT_EQ(cv::countNonZero(m.saturated), 0);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    AngleSets, UniformRetarder,
    ::testing::Values(AngleCase{"N3", {0.0, 60.0, 120.0}},
                      AngleCase{"N4", {0.0, 45.0, 90.0, 135.0}},
                      AngleCase{"N8", {0.0, 22.5, 45.0, 67.5, 90.0, 112.5, 135.0, 157.5}},
                      AngleCase{"unequal", {3.0, 31.0, 77.0, 98.5, 151.0}},
                      AngleCase{"beyond180", {10.0, 200.0, 330.0, 95.0}}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Reconstruction, AxisIsReportedInZeroTo180) {
  const Stack st = testing::renderStack(uniformScene(50.0, 179.5, {0, 45, 90, 135}));
  const RetardanceMap m = reconstruct(st);
  double lo, hi;
  cv::minMaxLoc(m.slow_axis_deg, &lo, &hi);
  EXPECT_GE(lo, 0.0);
  EXPECT_LT(hi, 180.0);
}

TEST(Reconstruction, NoisyFitStaysUnbiasedAndUncertaintyTracksScatter) {
  const Stack st = testing::renderStack(
      uniformScene(30.0, 40.0, {0, 22.5, 45, 67.5, 90, 112.5, 135, 157.5}, 150));
  ReconstructionOptions opt;
  opt.per_pixel_uncertainty = true;
  const RetardanceMap m = reconstruct(st, nullptr, opt);
  EXPECT_TRUE(reconstruct(st).uncertainty_nm.empty());  // opt-in only
  cv::Scalar mean, sd;
  cv::meanStdDev(m.retardance_nm, mean, sd);
  EXPECT_NEAR(mean[0], 30.0, 0.3);
  // The reported 1-sigma should describe the actual pixel scatter (within 25%).
  const double reported = cv::mean(m.uncertainty_nm)[0];
  EXPECT_NEAR(reported / sd[0], 1.0, 0.25) << "reported " << reported << " scatter " << sd[0];
}

TEST(Reconstruction, UncertaintyGrowsWithNoise) {
  const std::vector<double> angles{0, 22.5, 45, 67.5, 90, 112.5, 135, 157.5};
  double previous = -1.0;
  for (const double noise : {0.0, 30.0, 120.0, 480.0}) {
    ReconstructionOptions opt;
    opt.per_pixel_uncertainty = true;
    const RetardanceMap m =
        reconstruct(testing::renderStack(uniformScene(30, 40, angles, noise)), nullptr, opt);
    const double u = cv::mean(m.uncertainty_nm)[0];
    EXPECT_GT(u, previous * 2.0) << "noise " << noise;
    previous = u;
  }
}

TEST(Reconstruction, NoiseFloorTracksBackgroundNoise) {
  SceneSpec quiet = uniformScene(0.0, 0.0, {0, 45, 90, 135}, 20.0);
  SceneSpec loud = quiet;
  loud.noise_sigma = 200.0;
  const double q = reconstruct(testing::renderStack(quiet)).noise_floor_nm;
  const double l = reconstruct(testing::renderStack(loud)).noise_floor_nm;
  EXPECT_GT(q, 0.0);
  EXPECT_NEAR(l / q, 10.0, 2.0);
}

TEST(Reconstruction, BlankRemovesSystemRetardance) {
  const std::vector<double> angles{0, 45, 90, 135};
  SceneSpec sample = uniformScene(25.0, 30.0, angles);
  sample.background_retardance_nm = 9.0;
  sample.background_axis_deg = 100.0;
  SceneSpec blank_spec = sample;
  blank_spec.shapes.clear();
  const Stack st = testing::renderStack(sample);
  const Stack blank = testing::renderStack(blank_spec);

  const RetardanceMap raw = reconstruct(st);
  EXPECT_GT(std::abs(cv::mean(raw.retardance_nm)[0] - 25.0), 3.0)
      << "the uncorrected fit should be visibly biased, else this test proves nothing";
  const RetardanceMap corrected = reconstruct(st, &blank);
  EXPECT_TRUE(corrected.background_corrected);
  EXPECT_NEAR(cv::mean(corrected.retardance_nm)[0], 25.0, 0.3);
  EXPECT_LT(axialDiffDeg(cv::mean(corrected.slow_axis_deg)[0], 30.0), 0.5);
  // The blank itself corrects to ~0.
  EXPECT_LT(cv::mean(reconstruct(blank, &blank).retardance_nm)[0], 0.1);
}

TEST(Reconstruction, BlankFlatFieldsIntensity) {
  const std::vector<double> angles{0, 45, 90, 135};
  SceneSpec sample = uniformScene(0.0, 0.0, angles);
  sample.shapes.clear();
  SceneSpec blank_spec = sample;
  // Vignetting: left half of the illumination is dimmer in both sample and blank.
  sample.shapes.push_back({PaintedShape::Kind::Rectangle, 16, 24, 32, 60, 0, 0, 0, 0.6});
  blank_spec.shapes = sample.shapes;
  const Stack st = testing::renderStack(sample);
  const Stack blank = testing::renderStack(blank_spec);
  const RetardanceMap raw = reconstruct(st);
  const RetardanceMap flat = reconstruct(st, &blank);
  double lo, hi;
  cv::minMaxLoc(raw.intensity, &lo, &hi);
  EXPECT_LT(lo / hi, 0.7);
  cv::minMaxLoc(flat.intensity, &lo, &hi);
  EXPECT_GT(lo / hi, 0.99);
}

TEST(Reconstruction, SaturatedPixelsAreFlagged) {
  Stack st = testing::renderStack(uniformScene(20.0, 10.0, {0, 45, 90, 135}));
  st.frames[2].at<std::uint16_t>(5, 7) = 65535;
  st.frames[0].at<std::uint16_t>(30, 40) = 65535;
  const RetardanceMap m = reconstruct(st);
  EXPECT_EQ(cv::countNonZero(m.saturated), 2);
  EXPECT_EQ(m.saturated.at<std::uint8_t>(5, 7), 255);
  EXPECT_EQ(m.saturated.at<std::uint8_t>(30, 40), 255);

  // With 12 significant bits the ceiling is 4095.
  SceneSpec dim = uniformScene(20.0, 10.0, {0, 45, 90, 135});
  dim.background_i0 = 3000;
  Stack st12 = testing::renderStack(dim);
  st12.bit_depth = 12;
  st12.frames[1].at<std::uint16_t>(1, 1) = 4095;
  EXPECT_EQ(cv::countNonZero(reconstruct(st12).saturated), 1);
}

TEST(Reconstruction, StrongRetarderIsFlaggedAtTheFold) {
  const RetardanceMap m =
      reconstruct(testing::renderStack(uniformScene(136.0, 20.0, {0, 45, 90, 135})));
  EXPECT_EQ(cv::countNonZero(m.at_fold), m.at_fold.rows * m.at_fold.cols);
  const RetardanceMap weak =
      reconstruct(testing::renderStack(uniformScene(30.0, 20.0, {0, 45, 90, 135})));
  EXPECT_EQ(cv::countNonZero(weak.at_fold), 0);
}

TEST(Reconstruction, CrossedTrainRecoversRetardanceAndAxisModulo90) {
  SceneSpec s = uniformScene(60.0, 130.0, {0, 11.25, 22.5, 33.75, 45, 56.25, 67.5, 78.75});
  s.train = OpticalTrain::Crossed;
  const Stack st = testing::renderStack(s);
  expectErrorMentioning([&] { reconstruct(st); }, "crossed_reference_i0");
  ReconstructionOptions opt;
  opt.crossed_reference_i0 = 30000.0;
  const RetardanceMap m = reconstruct(st, nullptr, opt);
  EXPECT_TRUE(m.axis_modulo_90);
  EXPECT_NEAR(cv::mean(m.retardance_nm)[0], 60.0, 0.5);
  EXPECT_LT(axialDiffDeg(cv::mean(m.slow_axis_deg)[0], 40.0, 90.0), 0.5);
}

TEST(ReconstructionErrors, NoFrames) {
  Stack st;
  expectErrorMentioning([&] { reconstruct(st); }, "no frames");
}

TEST(ReconstructionErrors, FrameAngleCountMismatch) {
  Stack st = testing::renderStack(uniformScene(20, 0, {0, 45, 90, 135}));
  st.angles_deg.pop_back();
  expectErrorMentioning([&] { reconstruct(st); }, "4 frames but 3 angles");
}

TEST(ReconstructionErrors, TooFewAngles) {
  Stack st = testing::renderStack(uniformScene(20, 0, {0, 90}));
  expectErrorMentioning([&] { reconstruct(st); }, "at least 3");
}

TEST(ReconstructionErrors, MismatchedFrameSizeNamesFrameAndSizes) {
  Stack st = testing::renderStack(uniformScene(20, 0, {0, 45, 90, 135}));
  st.frames[3] = cv::Mat::zeros(40, 64, CV_16UC1);
  expectErrorMentioning([&] { reconstruct(st); },
                        "frame 3 (135 deg) is 64x40 but frame 0 is 64x48");
}

TEST(ReconstructionErrors, NonSixteenBitFrame) {
  Stack st = testing::renderStack(uniformScene(20, 0, {0, 45, 90, 135}));
  st.frames[1].convertTo(st.frames[1], CV_8U, 1.0 / 256);
  expectErrorMentioning([&] { reconstruct(st); }, "frame 1 (45 deg) is CV_8UC1");
  st.frames[1] = cv::Mat::zeros(48, 64, CV_32F);
  expectErrorMentioning([&] { reconstruct(st); }, "frame 1 (45 deg) is CV_32FC1");
}

TEST(ReconstructionErrors, DuplicateAnglesModulo180) {
  Stack st = testing::renderStack(uniformScene(20, 0, {0, 45, 90, 180}));
  expectErrorMentioning([&] { reconstruct(st); }, "frames 0 and 3");
}

TEST(ReconstructionErrors, NanAngle) {
  Stack st = testing::renderStack(uniformScene(20, 0, {0, 45, 90, 135}));
  st.angles_deg[2] = std::nan("");
  expectErrorMentioning([&] { reconstruct(st); }, "frame 2");
}

TEST(ReconstructionErrors, IllConditionedAngles) {
  Stack st = testing::renderStack(uniformScene(20, 0, {0, 1, 2, 3}));
  expectErrorMentioning([&] { reconstruct(st); }, "ill-conditioned");
}

TEST(ReconstructionErrors, BlankOfAnotherSize) {
  Stack st = testing::renderStack(uniformScene(20, 0, {0, 45, 90, 135}));
  SceneSpec small = uniformScene(0, 0, {0, 45, 90, 135});
  small.width = 32;
  const Stack blank = testing::renderStack(small);
  expectErrorMentioning([&] { reconstruct(st, &blank); }, "32x48");
}

}  // namespace
}  // namespace polscan::analysis
