// Platt calibration: the fit recovers a known map, pools sparse classes, and the classifier uses
// it.
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "analysis/classifier.hpp"
#include "analysis/confidence_calibration.hpp"

namespace polscan::analysis {
namespace {

using polscan::CrystalClass;

double logit(double p) {
  return std::log(p / (1.0 - p));
}
double sigmoid(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}

// Samples whose observed accuracy at each raw confidence follows sigmoid(a logit(raw) + b)
// exactly (200 per grid point, the right share marked correct).
std::vector<CalibrationSample> samplesFrom(CrystalClass cls, double a, double b) {
  std::vector<CalibrationSample> out;
  for (double raw = 0.05; raw < 0.96; raw += 0.05) {
    const int right = static_cast<int>(std::lround(200 * sigmoid(a * logit(raw) + b)));
    for (int i = 0; i < 200; ++i) out.push_back({cls, raw, i < right});
  }
  return out;
}

TEST(ConfidenceCalibration, FitRecoversAKnownMap) {
  const PlattScaling p = fitPlatt(samplesFrom(CrystalClass::CPPD, 2.0, 0.8));
  EXPECT_NEAR(p.a, 2.0, 0.1);
  EXPECT_NEAR(p.b, 0.8, 0.1);
  const PlattScaling q = fitPlatt(samplesFrom(CrystalClass::CPPD, 0.5, -0.4));
  EXPECT_NEAR(q.a, 0.5, 0.05);
  EXPECT_NEAR(q.b, -0.4, 0.05);
}

TEST(ConfidenceCalibration, IdentityLeavesConfidenceAndSeparableSampleStaysBounded) {
  ConfidenceCalibration id;
  EXPECT_NEAR(id.apply(CrystalClass::MSU, 0.73), 0.73, 1e-9);
  // Right exactly above 0.5, wrong below: the slope is bounded, the map stays monotone.
  std::vector<CalibrationSample> s;
  for (int i = 0; i < 100; ++i) s.push_back({CrystalClass::MSU, 0.01 * i + 0.005, i >= 50});
  const PlattScaling p = fitPlatt(s);
  EXPECT_LE(p.a, 10.0);
  EXPECT_GT(p.a, 1.0);
  ConfidenceCalibration c;
  c.per_class[static_cast<int>(CrystalClass::MSU)] = p;
  EXPECT_LT(c.apply(CrystalClass::MSU, 0.3), 0.1);
  EXPECT_GT(c.apply(CrystalClass::MSU, 0.7), 0.9);
  EXPECT_THROW(fitPlatt({}), std::invalid_argument);
}

TEST(ConfidenceCalibration, SparseClassesTakeThePooledBirefringentFit) {
  std::vector<CalibrationSample> s = samplesFrom(CrystalClass::CPPD, 2.0, 0.8);
  const std::vector<CalibrationSample> nb = samplesFrom(CrystalClass::NonBirefringent, 0.4, 0.7);
  s.insert(s.end(), nb.begin(), nb.end());
  s.push_back({CrystalClass::Cholesterol, 0.9, true});  // one sample: no fit of its own
  const ConfidenceCalibration c = fitCalibration(s);
  const PlattScaling& cppd = c.per_class[static_cast<int>(CrystalClass::CPPD)];
  const PlattScaling& chol = c.per_class[static_cast<int>(CrystalClass::Cholesterol)];
  const PlattScaling& nbp = c.per_class[static_cast<int>(CrystalClass::NonBirefringent)];
  EXPECT_NEAR(cppd.a, 2.0, 0.1);
  EXPECT_NEAR(nbp.a, 0.4, 0.05);
  // Pooled over the birefringent classes (CPPD + the one cholesterol), not over the intensity path.
  EXPECT_NEAR(chol.a, cppd.a, 0.1);
  EXPECT_NEAR(chol.b, cppd.b, 0.1);
  const PlattScaling& art = c.per_class[static_cast<int>(CrystalClass::Artefact)];
  EXPECT_EQ(art.a, 1.0);
  EXPECT_EQ(art.b, 0.0);
}

TEST(ConfidenceCalibration, ClassifierReportsTheCalibratedConfidence) {
  CrystalFeatures f;
  f.length_um = 6;
  f.width_um = 2;
  f.aspect = 3;
  f.mean_retardance_nm = 20;
  f.peak_retardance_nm = 24;
  f.solidity = 0.95;
  f.rectangularity = 0.9;
  f.elongation = polscan::Elongation::Positive;
  f.axis_to_long_deg = 5;
  f.cnr = 200;
  ClassifierOptions raw_options;
  raw_options.calibrate = false;
  const Classification raw = classify(f, raw_options);
  const Classification cal = classify(f);
  EXPECT_EQ(cal.best, CrystalClass::CPPD);
  EXPECT_DOUBLE_EQ(cal.raw_confidence, raw.confidence);
  EXPECT_NEAR(cal.confidence, defaultCalibration().apply(CrystalClass::CPPD, raw.confidence),
              1e-12);
  // The checked-in table is a real fit, not the identity.
  EXPECT_NE(defaultCalibration().per_class[static_cast<int>(CrystalClass::CPPD)].a, 1.0);
}

TEST(ConfidenceCalibration, CalibrationCannotLiftAMissingSignOverTheReviewBar) {
  CrystalFeatures f;
  f.length_um = 6;
  f.width_um = 2;
  f.aspect = 3;
  f.mean_retardance_nm = 20;
  f.peak_retardance_nm = 24;
  f.solidity = 0.95;
  f.rectangularity = 0.9;
  f.axis_to_long_deg = 5;
  f.cnr = 200;
  f.elongation = polscan::Elongation::None;  // round-ish or too faint for a stable axis
  const Classification c = classify(f);
  EXPECT_EQ(c.best, CrystalClass::CPPD);
  EXPECT_EQ(c.cls, CrystalClass::Unknown);
  EXPECT_TRUE(c.needs_review);
  EXPECT_GT(c.raw_confidence, 0.6);  // the likelihoods alone would have claimed it
  f.elongation = polscan::Elongation::Positive;
  EXPECT_EQ(classify(f).cls, CrystalClass::CPPD);
  // The same rod absorbing 6 % of the light: CPPD is colourless, so review.
  f.intensity_contrast = -0.06;
  EXPECT_EQ(classify(f).cls, CrystalClass::Unknown);
  // An MSU-like needle read with a positive sign is not claimed as MSU either.
  CrystalFeatures n;
  n.length_um = 12;
  n.width_um = 0.8;
  n.aspect = 15;
  n.mean_retardance_nm = 110;
  n.peak_retardance_nm = 130;
  n.solidity = 0.95;
  n.rectangularity = 0.8;
  n.axis_to_long_deg = 88;
  n.elongation = polscan::Elongation::Negative;
  n.cnr = 400;
  ASSERT_EQ(classify(n).cls, CrystalClass::MSU);
  n.elongation = polscan::Elongation::None;
  EXPECT_TRUE(classify(n).needs_review);
}

TEST(ConfidenceCalibration, BrownPlateUnderTheDebrisLevelIsNotClaimedAsUricAcid) {
  // A yellow-brown rhomboid plate (I0 20 % under the background) read at 14 nm after the fold.
  CrystalFeatures f;
  f.length_um = 20;
  f.width_um = 12;
  f.aspect = 1.67;
  f.box_aspect = 1.67;
  f.box_fill = 0.7;
  f.solidity = 0.95;
  f.rectangularity = 0.7;
  f.mean_retardance_nm = 12;
  f.peak_retardance_nm = 14;
  f.intensity_contrast = -0.2;
  f.cnr = 300;
  const Classification plate = classify(f);
  ASSERT_EQ(plate.best, CrystalClass::UricAcid);
  EXPECT_EQ(plate.cls, CrystalClass::UricAcid);
  // Peak under the debris level and no fold pixels: folded uric acid or pigmented debris (at 20 %
  // absorption the debris rule names it an artefact; at 7 % it is left to review).
  f.mean_retardance_nm = 7;
  f.peak_retardance_nm = 9;
  EXPECT_EQ(classify(f).cls, CrystalClass::Artefact);
  f.intensity_contrast = -0.07;
  const Classification faint = classify(f);
  EXPECT_EQ(faint.best, CrystalClass::UricAcid);
  EXPECT_TRUE(faint.needs_review);
  // The same faint reading with pixels at the fold is a strong crystal again.
  f.fold_fraction = 0.2;
  EXPECT_FALSE(classify(f).needs_review);
}

}  // namespace
}  // namespace polscan::analysis
