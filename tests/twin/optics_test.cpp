// The twin's optics: Jones engine against domain.md's closed forms, fast path against Jones.
#include <cmath>
#include <numbers>

#include <gtest/gtest.h>

#include "hardware/twin/jones.hpp"
#include "hardware/twin/optics.hpp"
#include "hardware/twin/rng.hpp"

namespace polscan::twin {
namespace {

constexpr double kPi = std::numbers::pi;

TEST(Jones, MalusLawWithoutSample) {
  for (double theta = 0; theta < 360; theta += 7.5) {
    JonesTrainParams p;
    p.polarizer_deg = theta;
    p.train = OpticalTrain::FixedAnalyser;
    const double malus = std::pow(std::cos((theta - 90) * kPi / 180), 2);
    EXPECT_NEAR(jonesTrainIntensity(p), malus, 1e-12) << theta;
    p.train = OpticalTrain::Crossed;
    EXPECT_NEAR(jonesTrainIntensity(p), 0.0, 1e-12) << theta;
    p.train = OpticalTrain::Circular;
    EXPECT_NEAR(jonesTrainIntensity(p), 0.5, 1e-12) << theta;
  }
}

TEST(Jones, KnownRetarderMatchesClosedFormOfEveryTrain) {
  Rng rng(11);
  for (int i = 0; i < 300; ++i) {
    JonesTrainParams p;
    p.polarizer_deg = rng.uniform(0, 180);
    p.slow_axis_deg = rng.uniform(0, 180);
    p.retardance_nm = rng.uniform(0, 800);
    p.wavelength_nm = rng.uniform(450, 650);
    const double delta = 2 * kPi * p.retardance_nm / p.wavelength_nm;
    p.train = OpticalTrain::Circular;
    EXPECT_NEAR(jonesTrainIntensity(p), closedFormCircular(p.polarizer_deg, delta, p.slow_axis_deg),
                1e-12);
    p.train = OpticalTrain::Crossed;
    EXPECT_NEAR(jonesTrainIntensity(p), closedFormCrossed(p.polarizer_deg, delta, p.slow_axis_deg),
                1e-12);
    p.train = OpticalTrain::FixedAnalyser;
    EXPECT_NEAR(jonesTrainIntensity(p),
                closedFormFixedAnalyser(p.polarizer_deg, delta, p.slow_axis_deg), 1e-12);
    p.train = OpticalTrain::Compensated;
    EXPECT_NEAR(jonesTrainIntensity(p),
                closedFormCompensated(p.polarizer_deg, delta, p.slow_axis_deg,
                                      2 * kPi * 530 / p.wavelength_nm),
                1e-12);
  }
}

TEST(Jones, CircularTrainGivesTheSlowAxisSign) {
  // A quarter-wave retarder with its slow axis at 30 deg: brightest at theta = phi + 45.
  JonesTrainParams p;
  p.retardance_nm = 546.0 / 4;
  p.slow_axis_deg = 30;
  p.polarizer_deg = 75;
  EXPECT_NEAR(jonesTrainIntensity(p), 1.0, 1e-12);
  p.polarizer_deg = 165;
  EXPECT_NEAR(jonesTrainIntensity(p), 0.0, 1e-12);
}

TEST(Jones, FixedAnalyserSampleTermIsTwoThetaHarmonicWithPhaseFourPhi) {
  // Subtracting the Malus background leaves -sin^2(d/2) sin(2phi) sin(2(theta - phi)), whose
  // 2-theta harmonic is sin^2(d/2)/2 * (cos 2theta - cos(2theta - 4phi)).
  const double delta = 1.1, phi = 23;
  for (double theta = 0; theta < 180; theta += 15) {
    const double sample =
        closedFormFixedAnalyser(theta, delta, phi) - std::pow(std::sin(theta * kPi / 180), 2);
    const double s2 = std::pow(std::sin(delta / 2), 2);
    const double expect =
        0.5 * s2 * (std::cos(2 * theta * kPi / 180) - std::cos((2 * theta - 4 * phi) * kPi / 180));
    EXPECT_NEAR(sample, expect, 1e-12);
  }
}

TEST(Jones, IntensityNeverExceedsInput) {
  Rng rng(5);
  for (int i = 0; i < 2000; ++i) {
    JonesTrainParams p;
    p.train = static_cast<OpticalTrain>(i % 4);
    p.polarizer_deg = rng.uniform(0, 360);
    p.slow_axis_deg = rng.uniform(0, 180);
    p.retardance_nm = rng.uniform(0, 2000);
    p.wavelength_nm = rng.uniform(400, 700);
    p.transmission = rng.uniform(0, 1);
    p.extinction_ratio = rng.uniform(10, 1e5);
    p.qwp_retardance_nm = rng.chance(0.5) ? rng.uniform(100, 160) : 0;
    const double input = 1 + 1 / p.extinction_ratio;  // light leaving the partial polarizer
    EXPECT_LE(jonesTrainIntensity(p), input * p.transmission + 1e-12);
    EXPECT_GE(jonesTrainIntensity(p), 0.0);
  }
}

TEST(FastPath, MatchesJonesEngineForManyAnglesRetardancesAndAxes) {
  Rng rng(99);
  for (int i = 0; i < 4000; ++i) {
    OpticsConfig o;
    o.train = static_cast<OpticalTrain>(i % 4);
    o.extinction_ratio =
        rng.chance(0.3) ? std::numeric_limits<double>::infinity() : rng.logUniform(20, 1e5);
    o.qwp_retardance_nm = rng.chance(0.5) ? 0 : rng.uniform(110, 160);
    o.red_plate_nm = rng.chance(0.5) ? 530 : rng.uniform(500, 560);
    JonesTrainParams p;
    p.train = o.train;
    p.polarizer_deg = rng.uniform(-90, 270);
    p.slow_axis_deg = rng.uniform(0, 180);
    p.retardance_nm = rng.uniform(0, 1200);
    p.wavelength_nm = rng.uniform(420, 680);
    p.transmission = rng.uniform(0.05, 1);
    p.extinction_ratio = o.extinction_ratio;
    p.qwp_retardance_nm = o.qwp_retardance_nm;
    p.red_plate_nm = o.red_plate_nm;
    const double fast = fastIntensity(o, p.polarizer_deg, p.wavelength_nm, p.retardance_nm,
                                      p.slow_axis_deg, p.transmission);
    ASSERT_NEAR(fast, jonesTrainIntensity(p), 1e-12)
        << opticalTrainName(o.train) << " theta " << p.polarizer_deg << " R " << p.retardance_nm
        << " phi " << p.slow_axis_deg;
  }
}

TEST(FastPath, CoverageAverageEqualsAverageOfIntensities) {
  // Why the renderer may blend and blur the Mueller maps: intensity is linear in them.
  OpticsConfig o;
  o.train = OpticalTrain::Compensated;
  const SampleMueller a = sampleMueller(120, 546, 30, 0.9), b = sampleMueller(40, 546, 100, 0.5);
  SampleMueller mix;
  const double w = 0.3;
  mix.t = w * a.t + (1 - w) * b.t;
  mix.m1 = w * a.m1 + (1 - w) * b.m1;
  mix.m2 = w * a.m2 + (1 - w) * b.m2;
  mix.q0 = w * a.q0 + (1 - w) * b.q0;
  mix.q1 = w * a.q1 + (1 - w) * b.q1;
  mix.q2 = w * a.q2 + (1 - w) * b.q2;
  for (double theta = 0; theta < 180; theta += 20) {
    const TrainCoefficients k = trainCoefficients(o, theta, 546);
    EXPECT_NEAR(k.apply(mix), w * k.apply(a) + (1 - w) * k.apply(b), 1e-12);
  }
}

TEST(FastPath, CompensatorColoursFollowMichelLevy) {
  // Slow axis parallel to the plate (45 deg) adds to 530 nm: blue; across subtracts: yellow.
  OpticsConfig o;
  o.train = OpticalTrain::Compensated;
  const double red = 610, blue = 465;
  for (double r : {15.0, 30.0, 150.0, 250.0}) {
    const double par_r = fastIntensity(o, 0, red, r, 45, 1),
                 par_b = fastIntensity(o, 0, blue, r, 45, 1);
    const double per_r = fastIntensity(o, 0, red, r, 135, 1),
                 per_b = fastIntensity(o, 0, blue, r, 135, 1);
    EXPECT_GT(par_b, par_r) << r;
    EXPECT_GT(per_r, per_b) << r;
  }
}

}  // namespace
}  // namespace polscan::twin
