// Field rendering: optics through the renderer, noise, determinism, crystal signatures, focus.
#include <cmath>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include "hardware/twin/crystal_generators.hpp"
#include "hardware/twin/field_renderer.hpp"
#include "hardware/twin/jones.hpp"
#include "twin_test_util.hpp"

namespace polscan::twin {
namespace {

using namespace polscan::twin::testing;

FieldRequest smallRequest(double theta = 0) {
  FieldRequest r;
  r.width_px = 96;
  r.height_px = 64;
  r.polarizer_deg = theta;
  return r;
}

CrystalSpec uniformPlate(double retardance_nm, double slow_axis_deg, double absorption = 0) {
  CrystalSpec c;
  c.id = 1;
  c.cls = CrystalClass::CPPD;
  c.shape = Shape::Rod;
  c.length_um = c.width_um = 1000;  // covers the whole field
  c.thickness_um = 1;
  c.birefringence = retardance_nm / 1000;
  c.slow_axis_deg = slow_axis_deg;
  c.absorption = absorption;
  return c;
}

TEST(Renderer, MalusLawWithNoSample) {
  for (OpticalTrain train :
       {OpticalTrain::FixedAnalyser, OpticalTrain::Crossed, OpticalTrain::Circular}) {
    const OpticsConfig o = idealOptics(train);
    const FieldRenderer fr(slideWith({}), o);
    const double i0 = i0Dn(o), leak = 1 / o.extinction_ratio;
    for (double theta = 0; theta <= 180; theta += 15) {
      const cv::Mat img = fr.render(smallRequest(theta));
      double expect = 0;
      switch (train) {
        case OpticalTrain::FixedAnalyser:
          expect = std::pow(std::sin(theta * kDeg), 2);
          break;
        case OpticalTrain::Crossed:
          expect = 0;
          break;
        default:
          expect = 0.5;
          break;
      }
      // Finite extinction: ideal * (1 - leak)^2 + 2 leak (both polarizers leak).
      expect = expect * (1 - leak) * (1 - leak) + 2 * leak;
      EXPECT_NEAR(mean16(img), i0 * expect, 1.0) << opticalTrainName(train) << " " << theta;
    }
  }
}

TEST(Renderer, KnownRetarderMatchesClosedFormForEachTrain) {
  const double r_nm = 95, phi = 28, lambda = 546;
  const double delta = 2 * std::numbers::pi * r_nm / lambda;
  for (OpticalTrain train : {OpticalTrain::Circular, OpticalTrain::Crossed,
                             OpticalTrain::FixedAnalyser, OpticalTrain::Compensated}) {
    OpticsConfig o = idealOptics(train);
    o.extinction_ratio = std::numeric_limits<double>::infinity();
    const FieldRenderer fr(slideWith({uniformPlate(r_nm, phi)}), o);
    for (double theta = 0; theta < 180; theta += 22.5) {
      double ideal = 0;
      switch (train) {
        case OpticalTrain::Circular:
          ideal = closedFormCircular(theta, delta, phi);
          break;
        case OpticalTrain::Crossed:
          ideal = closedFormCrossed(theta, delta, phi);
          break;
        case OpticalTrain::FixedAnalyser:
          ideal = closedFormFixedAnalyser(theta, delta, phi);
          break;
        case OpticalTrain::Compensated:
          ideal = closedFormCompensated(theta, delta, phi, 2 * std::numbers::pi * 530 / lambda);
          break;
      }
      const cv::Mat img = fr.render(smallRequest(theta));
      EXPECT_NEAR(img.at<std::uint16_t>(32, 48), i0Dn(o) * ideal, 1.0)
          << opticalTrainName(train) << " theta " << theta;
    }
  }
}

TEST(Renderer, IntensityNeverExceedsInput) {
  SlideRecipe recipe;
  recipe.width_mm = recipe.height_mm = 0.12;
  for (CrystalClass c : {CrystalClass::MSU, CrystalClass::CPPD, CrystalClass::CaOxMonohydrate,
                         CrystalClass::UricAcid, CrystalClass::CaOxDihydrate}) {
    recipe.per_mm2[c] = 600;
  }
  recipe.cells_per_mm2 = recipe.debris_per_mm2 = recipe.bubbles_per_mm2 = 200;
  const Slide slide = makeSlide(recipe, 3);
  ASSERT_GT(slide.objects.size(), 20u);
  for (int t = 0; t < 4; ++t) {
    OpticsConfig o = idealOptics(static_cast<OpticalTrain>(t));
    const FieldRenderer fr(slide, o);
    const double input = i0Dn(o) * (1 + 1 / o.extinction_ratio);
    double overall_max = 0;
    for (double theta = 0; theta < 180; theta += 30) {
      FieldRequest r;
      r.width_px = 300;
      r.height_px = 300;
      r.polarizer_deg = theta;
      double mx = 0;
      cv::minMaxLoc(fr.render(r), nullptr, &mx);
      EXPECT_LE(mx, input + 1.0) << t << " " << theta;
      overall_max = std::max(overall_max, mx);
    }
    EXPECT_GT(overall_max, 0.2 * input);  // the check above saw real signal
  }
}

TEST(Renderer, IdenticalSeedsIdenticalImagesDifferentSeedsDifferent) {
  const Slide slide = demoSlide();
  OpticsConfig o;
  o.led_drift = 0.01;
  o.polarizer_wobble_deg = 0.2;
  const FieldRenderer a(slide, o), b(slide, o);
  FieldRequest r;
  r.width_px = 320;
  r.height_px = 240;
  r.polarizer_deg = 45;
  r.frame_seed = 17;
  const cv::Mat i1 = a.render(r), i2 = b.render(r), i3 = a.render(r);
  EXPECT_EQ(cv::norm(i1, i2, cv::NORM_INF), 0.0);
  EXPECT_EQ(cv::norm(i1, i3, cv::NORM_INF), 0.0);
  r.frame_seed = 18;
  const cv::Mat i4 = a.render(r);
  cv::Mat diff;
  cv::compare(i1, i4, diff, cv::CMP_NE);
  EXPECT_GT(cv::countNonZero(diff), static_cast<int>(0.5 * diff.total()));
}

TEST(Renderer, ShotAndReadNoiseHaveTheRightVariance) {
  OpticsConfig o;
  o.vignetting = 0;
  o.bit_depth = 16;  // quantisation step well below the noise
  const FieldRenderer fr(slideWith({}), o);
  FieldRequest r;
  r.width_px = r.height_px = 256;
  const cv::Mat img = fr.render(r);
  cv::Scalar mean, stddev;
  cv::meanStdDev(img, mean, stddev);
  const double gain = 65535.0 / o.full_well_e;
  const double e = 0.5 * o.led_level * o.full_well_e * (1 - 1 / o.extinction_ratio) *
                       (1 - 1 / o.extinction_ratio) +
                   2 * o.led_level * o.full_well_e / o.extinction_ratio;
  EXPECT_NEAR(mean[0] / gain, e, 2.0);
  const double var_e = stddev[0] * stddev[0] / (gain * gain);
  EXPECT_NEAR(var_e / (e + o.read_noise_e * o.read_noise_e), 1.0, 0.03);
}

TEST(Renderer, LowLightShotNoiseIsPoisson) {
  OpticsConfig o = idealOptics(OpticalTrain::Circular);
  o.shot_noise = true;
  o.led_level = 4.0 / o.full_well_e;  // I0 = 4 e, 2 e detected: the exact Poisson branch
  o.bit_depth = 16;
  o.full_well_e = 65535;  // 1 DN per electron
  o.led_level = 4.0 / o.full_well_e;
  o.extinction_ratio = std::numeric_limits<double>::infinity();
  const FieldRenderer fr(slideWith({}), o);
  FieldRequest r;
  r.width_px = r.height_px = 256;
  cv::Scalar mean, stddev;
  cv::meanStdDev(fr.render(r), mean, stddev);
  EXPECT_NEAR(mean[0], 2.0, 0.05);
  EXPECT_NEAR(stddev[0] * stddev[0], 2.0, 0.1);
}

TEST(Renderer, SaturatesAtFullScaleAndRespectsBitDepth) {
  OpticsConfig o;
  o.led_level = 3.0;
  o.bit_depth = 12;
  const FieldRenderer fr(slideWith({}), o);
  double mn = 0, mx = 0;
  cv::minMaxLoc(fr.render(smallRequest()), &mn, &mx);
  EXPECT_EQ(mx, 4095.0);
  EXPECT_EQ(mn, 4095.0);
  o.led_level = 0.5;
  o.bit_depth = 10;
  cv::minMaxLoc(FieldRenderer(slideWith({}), o).render(smallRequest()), &mn, &mx);
  EXPECT_LT(mx, 1023.0 * 0.3);
  EXPECT_GT(mn, 1023.0 * 0.2);
}

TEST(Renderer, VignettingDarkensCornersByTheConfiguredFraction) {
  OpticsConfig o = idealOptics(OpticalTrain::Circular);
  o.vignetting = 0.2;
  const cv::Mat img = FieldRenderer(slideWith({}), o).render(smallRequest());
  const double corner = img.at<std::uint16_t>(0, 0);
  const double centre = 0.5 * (img.at<std::uint16_t>(31, 47) + img.at<std::uint16_t>(32, 48));
  EXPECT_NEAR(corner / centre, 0.8, 0.01);
}

TEST(Renderer, LedDriftAndWobbleChangeFramesOnlyWhenConfigured) {
  OpticsConfig o = idealOptics(OpticalTrain::FixedAnalyser);
  FieldRequest r = smallRequest(45);
  auto meanFor = [&](const OpticsConfig& opt, std::uint64_t seed) {
    r.frame_seed = seed;
    return mean16(FieldRenderer(slideWith({}), opt).render(r));
  };
  EXPECT_EQ(meanFor(o, 1), meanFor(o, 2));
  OpticsConfig drift = o;
  drift.led_drift = 0.02;
  EXPECT_NE(meanFor(drift, 1), meanFor(drift, 2));
  OpticsConfig wobble = o;
  wobble.polarizer_wobble_deg = 1.0;
  const double m1 = meanFor(wobble, 1), m2 = meanFor(wobble, 2);
  EXPECT_NE(m1, m2);
  // At 45 deg a 1 deg wobble moves Malus's cos^2 by at most ~4% per sigma.
  EXPECT_NEAR(m1 / meanFor(o, 1), 1.0, 0.15);
}

TEST(Renderer, RgbChannelsAreBgrOrderedAndShowTheRedPlateBackground) {
  OpticsConfig o = idealOptics(OpticalTrain::Compensated);
  o.wavelengths_nm = {610, 545, 465};
  o.extinction_ratio = std::numeric_limits<double>::infinity();
  const cv::Mat img = FieldRenderer(slideWith({}), o).render(smallRequest(0));
  ASSERT_EQ(img.type(), CV_16UC3);
  const cv::Scalar m = cv::mean(img);
  const double plate = 2 * std::numbers::pi * 530;
  EXPECT_NEAR(m[2], i0Dn(o) * closedFormCompensated(0, 0, 0, plate / 610), 1.0);
  EXPECT_NEAR(m[1], i0Dn(o) * closedFormCompensated(0, 0, 0, plate / 545), 1.0);
  EXPECT_NEAR(m[0], i0Dn(o) * closedFormCompensated(0, 0, 0, plate / 465), 1.0);
  EXPECT_GT(m[0], 5 * m[1]);  // magenta: little green
}

// One crystal of a class, centred, sized to fit the field, retardance kept under a half wave
// at 546 nm so the circular fit does not fold (the fold itself is tested below).
CrystalSpec testCrystal(CrystalClass cls, std::uint64_t seed, double max_retardance_nm) {
  Rng rng(seed);
  CrystalSpec c = makeCrystal(cls, rng);
  c.id = 1;
  if (c.length_um > 40) {
    const double k = 40 / c.length_um;
    c.length_um *= k;
    c.width_um *= k;
  }
  c.length_um = std::max(c.length_um, 6.0);
  if (c.retardance_nm() > max_retardance_nm)
    c.thickness_um *= max_retardance_nm / c.retardance_nm();
  return c;
}

struct ClassCase {
  CrystalClass cls;
  Elongation expected;  // None: sign varies within the class, check against the spec
};

class ClassSignature : public ::testing::TestWithParam<ClassCase> {};

TEST_P(ClassSignature, CircularFitRecoversTheSlowAxisAndSignOfElongation) {
  const ClassCase cc = GetParam();
  const OpticsConfig o = idealOptics(OpticalTrain::Circular);
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    const CrystalSpec c = testCrystal(cc.cls, seed * 31 + 5, 230);
    const FieldRenderer fr(slideWith({c}), o);
    FieldRequest r;
    r.pixel_um = 0.15;
    r.width_px = r.height_px = 300;
    std::vector<cv::Mat> frames;
    std::vector<double> angles;
    for (int i = 0; i < 8; ++i) {
      r.polarizer_deg = i * 22.5;
      angles.push_back(r.polarizer_deg);
      frames.push_back(fr.render(r));
    }
    const cv::Mat mask = objectMask(c, r, 1.0, 0.3);
    double amp = 0;
    const double phi = fitSlowAxisDeg(frames, angles, mask, &amp);
    EXPECT_GT(amp, 1.0) << "no birefringence seen";
    EXPECT_LT(axisDiffDeg(phi, c.slow_axis_deg), 2.0) << crystalClassName(cc.cls) << " " << seed;
    const Elongation seen =
        axisDiffDeg(phi, c.long_axis_deg) < 45 ? Elongation::Positive : Elongation::Negative;
    EXPECT_EQ(seen, elongationOf(c));
    if (cc.expected != Elongation::None) {
      EXPECT_EQ(seen, cc.expected) << crystalClassName(cc.cls);
    }
  }
}

TEST_P(ClassSignature, RedCompensatorShowsBlueWhenSlowAxisParallelToPlate) {
  const ClassCase cc = GetParam();
  OpticsConfig o = idealOptics(OpticalTrain::Compensated);
  o.wavelengths_nm = {610, 545, 465};
  CrystalSpec c = testCrystal(cc.cls, 77, 230);
  const bool positive = elongationOf(c) == Elongation::Positive;
  for (double axis : {45.0, 135.0}) {
    c.long_axis_deg = axis;
    c.slow_axis_deg = normalizeAxisDeg(axis + (positive ? 0 : 90));
    const FieldRenderer fr(slideWith({c}), o);
    FieldRequest r;
    r.pixel_um = 0.15;
    r.width_px = r.height_px = 300;
    const cv::Mat img = fr.render(r);
    const cv::Mat bg = FieldRenderer(slideWith({}), o).render(r);
    const cv::Mat mask = objectMask(c, r, 1.0, 0.3);
    const cv::Scalar m = cv::mean(img, mask), b = cv::mean(bg, mask);
    const double d_blue = m[0] - b[0], d_red = m[2] - b[2];
    const bool parallel = axisDiffDeg(c.slow_axis_deg, 45) < 1;
    // CPPD (positive) blue with its long axis along the plate's slow axis; MSU the reverse.
    const bool expect_blue = cc.expected == Elongation::Negative   ? axis == 135.0
                             : cc.expected == Elongation::Positive ? axis == 45.0
                                                                   : parallel;
    EXPECT_EQ(expect_blue, parallel);
    if (expect_blue) {
      EXPECT_GT(d_blue, d_red) << crystalClassName(cc.cls) << " axis " << axis;
    } else {
      EXPECT_GT(d_red, d_blue) << crystalClassName(cc.cls) << " axis " << axis;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Classes, ClassSignature,
    ::testing::Values(ClassCase{CrystalClass::MSU, Elongation::Negative},
                      ClassCase{CrystalClass::CPPD, Elongation::Positive},
                      ClassCase{CrystalClass::CaOxDihydrate, Elongation::Positive},
                      ClassCase{CrystalClass::CaOxMonohydrate, Elongation::None},
                      ClassCase{CrystalClass::UricAcid, Elongation::None},
                      ClassCase{CrystalClass::Cholesterol, Elongation::None}),
    [](const auto& info) {
      std::string n(crystalClassName(info.param.cls));
      std::erase_if(n, [](char ch) { return !std::isalnum(static_cast<unsigned char>(ch)); });
      return n;
    });

TEST(Renderer, NonBirefringentObjectsShowNoHarmonic) {
  const OpticsConfig o = idealOptics(OpticalTrain::Circular);
  Rng rng(4);
  CrystalSpec apatite = makeCrystal(CrystalClass::NonBirefringent, rng);
  apatite.length_um = 20;
  apatite.width_um = 16;
  apatite.id = 3;
  CrystalSpec cell = makeDistractor(Shape::Cell, rng);
  cell.x_um = 30;
  cell.id = 4;
  const FieldRenderer fr(slideWith({apatite, cell}), o);
  FieldRequest r;
  r.width_px = 256;
  r.height_px = 160;
  std::vector<cv::Mat> frames;
  std::vector<double> angles;
  for (int i = 0; i < 8; ++i) {
    r.polarizer_deg = i * 22.5;
    angles.push_back(r.polarizer_deg);
    frames.push_back(fr.render(r));
  }
  for (const CrystalSpec* c : {&apatite, &cell}) {
    const cv::Mat mask = objectMask(*c, r, 0.8);
    double amp = 0;
    fitSlowAxisDeg(frames, angles, mask, &amp);
    EXPECT_LT(amp, 0.5);
    // ... but they are visible: they absorb.
    EXPECT_LT(cv::mean(frames[0], mask)[0], 0.97 * i0Dn(o) / 2);
  }
}

TEST(Renderer, StrongRetarderFoldsBeyondHalfWaveInTheCircularFit) {
  // sin(delta) < 0 for 273 < R < 546 nm at 546 nm: the fit sees the slow axis turned by 90 deg.
  const OpticsConfig o = idealOptics(OpticalTrain::Circular);
  CrystalSpec c = uniformPlate(400, 20);
  c.length_um = c.width_um = 20;
  const FieldRenderer fr(slideWith({c}), o);
  FieldRequest r;
  r.width_px = r.height_px = 64;
  std::vector<cv::Mat> frames;
  std::vector<double> angles;
  for (int i = 0; i < 4; ++i) {
    r.polarizer_deg = i * 45;
    angles.push_back(r.polarizer_deg);
    frames.push_back(fr.render(r));
  }
  EXPECT_LT(axisDiffDeg(fitSlowAxisDeg(frames, angles, objectMask(c, r, 0.5)), 110), 1.0);
}

double laplacianVariance(const cv::Mat& img16) {
  cv::Mat f, lap;
  img16.convertTo(f, CV_32F);
  cv::Laplacian(f, lap, CV_32F);
  cv::Scalar mean, stddev;
  cv::meanStdDev(lap, mean, stddev);
  return stddev[0] * stddev[0];
}

TEST(Renderer, DefocusLowersTheFocusMetricMonotonically) {
  const Slide slide = demoSlide();
  OpticsConfig o = idealOptics(OpticalTrain::Circular);
  o.focus_z_um = 5;
  const FieldRenderer fr(slide, o);
  FieldRequest r;
  r.stage_x_um = -30;
  r.stage_y_um = -70;  // the demo's first envelope
  r.width_px = r.height_px = 128;
  r.polarizer_deg = 30;
  double previous = std::numeric_limits<double>::infinity();
  for (double dz : {0.0, 2.0, 5.0, 10.0, 20.0, 40.0}) {
    r.z_um = o.focus_z_um + dz;
    const double v = laplacianVariance(fr.render(r));
    EXPECT_LT(v, previous) << "defocus " << dz;
    previous = v;
    r.z_um = o.focus_z_um - dz;  // blur is symmetric about focus
    EXPECT_NEAR(laplacianVariance(fr.render(r)), v, 1e-6 * v + 1e-9);
  }
}

TEST(Renderer, AntiAliasedEdgesHaveIntermediateValues) {
  const OpticsConfig o = idealOptics(OpticalTrain::Circular);
  Rng rng(2);
  CrystalSpec cell = makeDistractor(Shape::Cell, rng);
  cell.absorption = 0.5;
  cell.length_um = cell.width_um = 12.3;
  const cv::Mat img = FieldRenderer(slideWith({cell}), o).render(smallRequest());
  const double open = i0Dn(o) / 2, body = open * 0.5;
  int between = 0;
  for (int r = 0; r < img.rows; ++r) {
    for (int c = 0; c < img.cols; ++c) {
      const double v = img.at<std::uint16_t>(r, c);
      if (v > body * 1.05 && v < open * 0.95) ++between;
    }
  }
  // The rim of a 12.3 um disc at 0.4 um/px crosses ~95 pixels; the nucleus adds none in range.
  EXPECT_GT(between, 60);
  EXPECT_LT(between, 200);
}

TEST(Renderer, ImageConventionPutsSlideYUpAndXRight) {
  const OpticsConfig o = idealOptics(OpticalTrain::Circular);
  CrystalSpec cell;
  cell.id = 1;
  cell.shape = Shape::Cell;
  cell.length_um = cell.width_um = 4;
  cell.absorption = 0.8;
  cell.x_um = 110 + 8;  // right of centre
  cell.y_um = 50 + 6;   // above centre
  FieldRequest r = smallRequest();
  r.stage_x_um = 110;
  r.stage_y_um = 50;
  const cv::Mat img = FieldRenderer(slideWith({cell}), o).render(r);
  cv::Point min_loc;
  cv::minMaxLoc(img, nullptr, nullptr, &min_loc);
  EXPECT_NEAR(min_loc.x, (r.width_px - 1) / 2.0 + 8 / r.pixel_um, 2.5);
  EXPECT_NEAR(min_loc.y, (r.height_px - 1) / 2.0 - 6 / r.pixel_um, 2.5);
}

TEST(Renderer, CacheReusesMapsAcrossAnglesButNotAcrossFields) {
  const FieldRenderer fr(demoSlide(), OpticsConfig{});
  FieldRequest r = smallRequest(0);
  const auto a = fr.fieldMaps(r);
  r.polarizer_deg = 60;
  r.frame_seed = 9;
  EXPECT_EQ(fr.fieldMaps(r).get(), a.get());
  r.z_um = 3;
  EXPECT_NE(fr.fieldMaps(r).get(), a.get());
}

}  // namespace
}  // namespace polscan::twin
