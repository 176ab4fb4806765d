// Segmentation, features, classification and the compensator view on painted synthetic fields.
#include <cmath>
#include <string>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include "analysis/classifier.hpp"
#include "analysis/compensator_view.hpp"
#include "analysis/field_analysis.hpp"
#include "synthetic_scene.hpp"
#include "tests/support/axial_angle.hpp"

namespace polscan::analysis {
namespace {

using testing::PaintedShape;
using testing::SceneSpec;
using Kind = PaintedShape::Kind;

using ::polscan::testing::axialDiffDeg;

SceneSpec field(int w = 160, int h = 120) {
  SceneSpec s;
  s.width = w;
  s.height = h;
  s.noise_sigma = 40.0;  // ~0.5 nm of background retardance noise at I0 = 30000
  s.seed = 7;
  return s;
}

PaintedShape shape(Kind kind, double cx, double cy, double len, double wid, double orient,
                   double ret, double axis, double transmission = 1.0) {
  return PaintedShape{kind, cx, cy, len, wid, orient, ret, axis, transmission};
}

std::string describe(const FieldResult& r) {
  std::string s;
  for (std::size_t i = 0; i < r.crystals.size(); ++i) {
    const auto& c = r.crystals[i];
    const auto& f = r.features[i];
    s += std::string(crystalClassName(c.cls)) + " conf " + std::to_string(c.confidence) + " R " +
         std::to_string(c.retardance_nm) + " L " + std::to_string(c.length_um) + " W " +
         std::to_string(c.width_um) + " long " + std::to_string(c.long_axis_deg) + " slow " +
         std::to_string(c.slow_axis_deg) + " elong " + std::string(elongationName(c.elongation)) +
         " aspect " + std::to_string(f.aspect) + " rect " + std::to_string(f.rectangularity) +
         " waist " + std::to_string(f.waist) + " x " + std::to_string(f.x_pattern) + " peak " +
         std::to_string(f.centre_peak) + " facets " + std::to_string(f.facet_contrast) + " fill " +
         std::to_string(f.box_fill) + " ell " + std::to_string(f.ellipse_fit) + " hollow " +
         std::to_string(f.hollowness) + " solid " + std::to_string(f.solidity) + " contrast " +
         std::to_string(f.intensity_contrast) + " cnr " + std::to_string(f.cnr) + "\n";
  }
  return s;
}

TEST(FieldAnalysis, WeakPositiveRodIsCppdPositive) {
  SceneSpec s = field();
  // 8 x 2.5 um rod, 20 nm, slow axis along its long axis (30 deg).
  s.shapes.push_back(shape(Kind::Rectangle, 80, 60, 16, 5, 30, 20, 30));
  const FieldResult r = analyzeField(testing::renderStack(s));
  ASSERT_EQ(r.crystals.size(), 1u) << describe(r);
  const auto& c = r.crystals[0];
  EXPECT_EQ(c.cls, CrystalClass::CPPD) << describe(r);
  EXPECT_EQ(c.elongation, Elongation::Positive) << describe(r);
  EXPECT_GE(c.confidence, 0.6);
  EXPECT_NEAR(c.retardance_nm, 20.0, 1.5);
  EXPECT_NEAR(c.length_um, 8.0, 1.0);
  EXPECT_NEAR(c.width_um, 2.5, 0.8);
  EXPECT_TRUE(r.needs_review.empty());
}

TEST(FieldAnalysis, FocusDropsWhenTheFieldIsBlurred) {
  SceneSpec s = field();
  s.shapes.push_back(shape(Kind::Rectangle, 80, 60, 24, 10, 0, 40, 0));
  const polscan::Stack sharp = testing::renderStack(s);
  polscan::Stack blurred = sharp;
  // Defocus as a Gaussian PSF of ~1 um (2.5 px) applied to every polarizer frame.
  for (cv::Mat& frame : blurred.frames) {
    cv::Mat out;
    cv::GaussianBlur(frame, out, cv::Size(0, 0), 2.5);
    frame = out;
  }
  const FieldResult a = analyzeField(sharp), b = analyzeField(blurred);
  ASSERT_EQ(a.features.size(), 1u) << describe(a);
  ASSERT_EQ(b.features.size(), 1u) << describe(b);
  EXPECT_GT(a.features[0].focus, 0.2);
  EXPECT_LT(b.features[0].focus, 0.7 * a.features[0].focus)
      << "sharp " << a.features[0].focus << " blurred " << b.features[0].focus;
  // The report carries it per micrometre (the scene's pixels are 0.5 um).
  ASSERT_TRUE(a.crystals[0].focus_per_um.has_value());
  ASSERT_TRUE(b.crystals[0].focus_per_um.has_value());
  EXPECT_NEAR(*a.crystals[0].focus_per_um, a.features[0].focus / 0.5, 1e-9);
  EXPECT_LT(*b.crystals[0].focus_per_um, 0.7 * *a.crystals[0].focus_per_um);
}

TEST(FieldAnalysis, StrongNegativeNeedleIsMsuNegative) {
  SceneSpec s = field();
  // 15 x 1.5 um needle at 120 deg, slow axis across it (30 deg): fast axis along the needle.
  s.shapes.push_back(shape(Kind::Rectangle, 80, 60, 30, 3, 120, 120, 30));
  const FieldResult r = analyzeField(testing::renderStack(s));
  ASSERT_EQ(r.crystals.size(), 1u) << describe(r);
  EXPECT_EQ(r.crystals[0].cls, CrystalClass::MSU) << describe(r);
  EXPECT_EQ(r.crystals[0].elongation, Elongation::Negative) << describe(r);
  EXPECT_LT(axialDiffDeg(r.crystals[0].long_axis_deg, 120.0), 3.0);
}

TEST(FieldAnalysis, SwappingTheSlowAxisFlipsCppdAndMsu) {
  // The same weak rod with its slow axis across is not CPPD (negative elongation).
  SceneSpec s = field();
  s.shapes.push_back(shape(Kind::Rectangle, 80, 60, 16, 5, 30, 20, 120));
  const FieldResult r = analyzeField(testing::renderStack(s));
  ASSERT_EQ(r.crystals.size(), 1u);
  EXPECT_EQ(r.crystals[0].elongation, Elongation::Negative);
  EXPECT_NE(r.crystals[0].cls, CrystalClass::CPPD) << describe(r);
}

TEST(FieldAnalysis, CountsAndSlideCentresWithStageOffsetAndYUp) {
  SceneSpec s = field(200, 150);
  s.stage = StagePosition{1000.0, -500.0, 0.0};
  s.pixel_um = 0.5;
  struct Truth {
    double cx, cy;
  };
  const std::vector<Truth> truth{{30, 25}, {150, 40}, {100, 120}, {60, 100}};
  for (const Truth& t : truth)
    s.shapes.push_back(shape(Kind::Rectangle, t.cx, t.cy, 14, 5, 0, 20, 0));
  const FieldResult r = analyzeField(testing::renderStack(s), nullptr, 4, 100);
  ASSERT_EQ(r.crystals.size(), truth.size()) << describe(r);
  for (const Truth& t : truth) {
    const double x = 1000.0 + (t.cx - (200 - 1) / 2.0) * 0.5;
    const double y = -500.0 - (t.cy - (150 - 1) / 2.0) * 0.5;
    bool found = false;
    for (const auto& c : r.crystals) {
      if (std::hypot(c.x_um - x, c.y_um - y) < 0.3) found = true;
    }
    EXPECT_TRUE(found) << "no crystal at (" << x << ", " << y << ")\n" << describe(r);
  }
  // The top-left crystal (small row) must be above (larger y) the bottom one.
  for (const auto& c : r.crystals) {
    EXPECT_EQ(c.field, 4);
    EXPECT_GE(c.id, 100);
    EXPECT_LT(c.id, 104);
  }
}

TEST(FieldAnalysis, LongAxisIsCounterClockwiseWithYUp) {
  for (const double orient : {30.0, 150.0, 75.0}) {
    SceneSpec s = field();
    s.shapes.push_back(shape(Kind::Rectangle, 80, 60, 24, 5, orient, 20, orient));
    const FieldResult r = analyzeField(testing::renderStack(s));
    ASSERT_EQ(r.crystals.size(), 1u);
    EXPECT_LT(axialDiffDeg(r.crystals[0].long_axis_deg, orient), 3.0)
        << "painted at " << orient << " got " << r.crystals[0].long_axis_deg;
    EXPECT_LT(axialDiffDeg(r.crystals[0].slow_axis_deg, orient), 1.0);
  }
}

TEST(FieldAnalysis, QuietFieldHasNoCrystals) {
  SceneSpec s = field(256, 256);
  s.noise_sigma = 60.0;
  const FieldResult r = analyzeField(testing::renderStack(s));
  EXPECT_TRUE(r.crystals.empty()) << describe(r);
  EXPECT_GT(r.map.noise_floor_nm, 0.0);
}

TEST(FieldAnalysis, TooSmallRegionsAreDropped) {
  SceneSpec s = field();
  // Centres on half pixels so a painted length of n covers exactly n pixels.
  s.shapes.push_back(shape(Kind::Rectangle, 40.5, 40.5, 2, 2, 0, 30, 0));   // 1 um: dropped
  s.shapes.push_back(shape(Kind::Rectangle, 100.5, 60.5, 8, 3, 0, 30, 0));  // 4 um: kept
  const FieldResult r = analyzeField(testing::renderStack(s));
  ASSERT_EQ(r.crystals.size(), 1u) << describe(r);
  EXPECT_NEAR(r.crystals[0].length_um, 4.0, 0.6);
}

TEST(FieldAnalysis, BorderRegionsAreFlagged) {
  SceneSpec s = field();
  s.shapes.push_back(shape(Kind::Rectangle, 2, 60, 16, 5, 0, 20, 0));
  s.shapes.push_back(shape(Kind::Rectangle, 80, 60, 16, 5, 0, 20, 0));
  const FieldResult r = analyzeField(testing::renderStack(s));
  ASSERT_EQ(r.crystals.size(), 2u);
  ASSERT_EQ(r.touching_border.size(), 1u);
  for (const auto& c : r.crystals) {
    EXPECT_EQ(c.id == r.touching_border[0], c.x_um < 0.0);
  }
}

// An apatite-like clump: lumpy (overlapping lobes of different density), no retardance.
// An apatite-like clump: a refractile (~35 % extinction), compact, convex "coin" whose outline is
// knobbly from the aggregated lobes (not a smooth cell disc).
void paintClump(SceneSpec& s, double cx, double cy) {
  s.shapes.push_back(shape(Kind::Ellipse, cx, cy, 14, 12, 0, 0, 0, 0.62));
  s.shapes.push_back(shape(Kind::Ellipse, cx + 4, cy - 2.5, 9, 8, 30, 0, 0, 0.7));
  s.shapes.push_back(shape(Kind::Ellipse, cx - 3.5, cy + 3.5, 8, 7, 100, 0, 0, 0.66));
  s.shapes.push_back(shape(Kind::Ellipse, cx - 3, cy - 4, 7, 6, 60, 0, 0, 0.72));
  s.shapes.push_back(shape(Kind::Ellipse, cx + 3.5, cy + 4, 6, 6, 0, 0, 0, 0.68));
}

TEST(FieldAnalysis, AbsorbingLumpyClumpIsNonBirefringent) {
  SceneSpec s = field(200, 150);
  paintClump(s, 60, 70);
  s.shapes.push_back(shape(Kind::Rectangle, 150, 70, 16, 5, 0, 20, 0));
  const FieldResult r = analyzeField(testing::renderStack(s));
  ASSERT_EQ(r.crystals.size(), 2u) << describe(r);
  int nonbiref = 0;
  for (std::size_t i = 0; i < r.crystals.size(); ++i) {
    if (r.crystals[i].cls == CrystalClass::NonBirefringent) {
      ++nonbiref;
      EXPECT_EQ(r.crystals[i].elongation, Elongation::None);
      EXPECT_LT(r.features[i].intensity_contrast, -0.2);
      EXPECT_LT(r.features[i].ellipse_fit, 0.88) << describe(r);
      EXPECT_NEAR(r.crystals[i].x_um, (60 - 99.5) * 0.5, 1.5);
    }
  }
  EXPECT_EQ(nonbiref, 1) << describe(r);
}

TEST(FieldAnalysis, RoundSmoothCellIsAnArtefactNotACrystal) {
  // A leukocyte: 12 x 11 um smooth disc absorbing ~12 %, a denser nucleus off centre.
  SceneSpec s = field(200, 150);
  s.shapes.push_back(shape(Kind::Ellipse, 100, 75, 24, 22, 10, 0, 0, 0.88));
  s.shapes.push_back(shape(Kind::Ellipse, 97, 73, 10, 9, 0, 0, 0, 0.72));
  const FieldResult r = analyzeField(testing::renderStack(s));
  ASSERT_EQ(r.crystals.size(), 1u) << describe(r);
  EXPECT_EQ(r.crystals[0].cls, CrystalClass::Artefact) << describe(r);
  EXPECT_GT(r.features[0].ellipse_fit, 0.9) << describe(r);
}

TEST(FieldAnalysis, WeakEnvelopeWithFacetsIsCalciumOxalateDihydrate) {
  // 24 x 22 um bipyramid seen as an envelope: 14 nm at the apex, half at the rim, the facet pair
  // across the width at 55 %.
  SceneSpec s = field(200, 150);
  s.shapes.push_back(shape(Kind::Bipyramid, 100, 75, 48, 44, 20, 14, 20));
  const FieldResult r = analyzeField(testing::renderStack(s));
  ASSERT_EQ(r.crystals.size(), 1u) << describe(r);
  EXPECT_EQ(r.crystals[0].cls, CrystalClass::CaOxDihydrate) << describe(r);
  EXPECT_GT(r.features[0].centre_peak, 1.12) << describe(r);
  EXPECT_GT(r.features[0].facet_contrast, 0.12) << describe(r);
}

TEST(FieldAnalysis, FlatNotchedPlateOfTheSameSizeIsCholesterol) {
  // 30 x 22 um plate of uniform 30 nm with a notch cut from one corner.
  SceneSpec s = field(200, 150);
  s.shapes.push_back(shape(Kind::Rectangle, 100, 75, 60, 44, 0, 30, 0));
  s.shapes.push_back(shape(Kind::Rectangle, 126, 57, 10, 10, 0, 0, 0));
  const FieldResult r = analyzeField(testing::renderStack(s));
  ASSERT_EQ(r.crystals.size(), 1u) << describe(r);
  EXPECT_EQ(r.crystals[0].cls, CrystalClass::Cholesterol) << describe(r);
  EXPECT_LT(r.features[0].centre_peak, 1.1) << describe(r);
  EXPECT_LT(r.features[0].facet_contrast, 0.08) << describe(r);
}

TEST(FieldAnalysis, TouchingCrystalsWithDifferentAxesAreSplit) {
  SceneSpec s = field();
  s.shapes.push_back(shape(Kind::Ellipse, 66, 60, 20, 20, 0, 30, 10));
  s.shapes.push_back(shape(Kind::Ellipse, 84, 60, 20, 20, 0, 30, 100));
  const FieldResult r = analyzeField(testing::renderStack(s));
  EXPECT_EQ(r.crystals.size(), 2u) << describe(r);
  AnalysisOptions no_split;
  no_split.segmentation.split_touching = false;
  EXPECT_EQ(analyzeField(testing::renderStack(s), nullptr, 0, 1, no_split).crystals.size(), 1u);
}

TEST(FieldAnalysis, StrongDumbbellIsCalciumOxalateMonohydrate) {
  SceneSpec s = field();
  s.shapes.push_back(shape(Kind::Dumbbell, 80, 60, 28, 12, 20, 120, 20));
  const FieldResult r = analyzeField(testing::renderStack(s));
  ASSERT_EQ(r.crystals.size(), 1u) << describe(r);
  EXPECT_LT(r.features[0].waist, 0.75) << describe(r);
  EXPECT_EQ(r.crystals[0].cls, CrystalClass::CaOxMonohydrate) << describe(r);
}

TEST(FieldAnalysis, LargeStrongPlateIsUricAcidAndLargeModerateRectangleIsCholesterol) {
  SceneSpec s = field(240, 160);
  s.shapes.push_back(shape(Kind::Rectangle, 60, 80, 60, 36, 20, 136, 20));
  s.shapes.push_back(shape(Kind::Rectangle, 170, 80, 80, 50, 0, 40, 0));
  const FieldResult r = analyzeField(testing::renderStack(s));
  ASSERT_EQ(r.crystals.size(), 2u) << describe(r);
  for (const auto& c : r.crystals) {
    EXPECT_EQ(c.cls, c.x_um < 0 ? CrystalClass::UricAcid : CrystalClass::Cholesterol)
        << describe(r);
  }
}

TEST(FieldAnalysis, ReusedAnalyzerMatchesFreshCallsAcrossFieldsAndSizes) {
  SceneSpec a = field();
  a.shapes.push_back(shape(Kind::Rectangle, 80, 60, 16, 5, 30, 20, 30));
  SceneSpec b = field(200, 100);
  b.shapes.push_back(shape(Kind::Rectangle, 50, 50, 30, 3, 120, 120, 30));
  b.shapes.push_back(shape(Kind::Rectangle, 150, 50, 16, 5, 0, 20, 0));
  FieldAnalyzer analyzer;
  for (const SceneSpec* spec : {&a, &b, &a}) {
    const Stack st = testing::renderStack(*spec);
    const FieldResult fresh = analyzeField(st, nullptr, 2, 10);
    const FieldResult& reused = analyzer.analyze(st, nullptr, 2, 10);
    ASSERT_EQ(reused.crystals.size(), fresh.crystals.size());
    ASSERT_EQ(reused.crystals.size(), spec->shapes.size());
    for (std::size_t i = 0; i < fresh.crystals.size(); ++i) {
      EXPECT_EQ(reused.crystals[i].cls, fresh.crystals[i].cls);
      EXPECT_EQ(reused.crystals[i].id, fresh.crystals[i].id);
      EXPECT_DOUBLE_EQ(reused.crystals[i].x_um, fresh.crystals[i].x_um);
    }
    EXPECT_EQ(reused.map.retardance_nm.size(), cv::Size(spec->width, spec->height));
  }
}

TEST(Classifier, ConfidenceIsAProbabilityAndAmbiguousFeaturesGoToReview) {
  CrystalFeatures f;
  f.length_um = 6;
  f.width_um = 2;
  f.aspect = 3;
  f.mean_retardance_nm = 20;
  f.peak_retardance_nm = 24;
  f.solidity = 0.95;
  f.rectangularity = 0.9;
  f.elongation = Elongation::Positive;
  f.axis_to_long_deg = 5;
  f.cnr = 200;  // well above the noise (measureRegion's sum(R) / (floor x sqrt(n)))
  const Classification clear = classify(f);
  EXPECT_EQ(clear.cls, CrystalClass::CPPD);
  EXPECT_GT(clear.confidence, 0.8);
  EXPECT_LE(clear.confidence, 1.0);
  // Slow axis at 45 deg to the long axis: sign undecidable, confidence must drop.
  f.axis_to_long_deg = 45;
  const Classification mid = classify(f);
  EXPECT_LT(mid.confidence, clear.confidence);
  // Features no class explains (a huge, weak, ragged blob) are not claimed.
  CrystalFeatures odd;
  odd.length_um = 300;
  odd.width_um = 20;
  odd.aspect = 15;
  odd.mean_retardance_nm = 60;
  odd.peak_retardance_nm = 80;
  odd.solidity = 0.4;
  odd.rectangularity = 0.3;
  odd.box_aspect = 15;  // what measureRegion reports alongside the moment aspect
  odd.box_fill = 0.3;
  odd.cnr = 500;
  const Classification o = classify(odd);
  EXPECT_EQ(o.cls, CrystalClass::Unknown);
  EXPECT_TRUE(o.needs_review);
}

// A clear weak CPPD rod as measureRegion would describe it.
CrystalFeatures weakRod() {
  CrystalFeatures f;
  f.length_um = 6;
  f.width_um = 2;
  f.aspect = 3;
  f.mean_retardance_nm = 7;
  f.peak_retardance_nm = 8.5;
  f.solidity = 0.95;
  f.rectangularity = 0.9;
  f.elongation = Elongation::Positive;
  f.axis_to_long_deg = 5;
  f.cnr = 60;
  return f;
}

TEST(Classifier, AbsorbingWeaklyBirefringentParticleIsAnArtefactNotACrystal) {
  CrystalFeatures f = weakRod();
  ASSERT_EQ(classify(f).cls, CrystalClass::CPPD);
  // The same retardance on a particle absorbing 15 %: pigmented debris (no colourless crystal
  // absorbs, uric acid would be far stronger).
  f.intensity_contrast = -0.15;
  EXPECT_EQ(classify(f).cls, CrystalClass::Artefact);
  // Strong enough (peak past debris_max_peak_nm) or with fold pixels it stays a crystal reading.
  f.peak_retardance_nm = 40;
  f.mean_retardance_nm = 30;
  EXPECT_NE(classify(f).cls, CrystalClass::Artefact);
  f.peak_retardance_nm = 8.5;
  f.fold_fraction = 0.1;
  EXPECT_NE(classify(f).cls, CrystalClass::Artefact);
}

TEST(Classifier, LowContrastToNoiseIsUnknownForReview) {
  CrystalFeatures f = weakRod();
  f.cnr = 5;  // a few noise blobs' worth of integrated retardance
  const Classification c = classify(f);
  EXPECT_EQ(c.cls, CrystalClass::Unknown);
  EXPECT_TRUE(c.needs_review);
  f.cnr = 15;
  EXPECT_EQ(classify(f).cls, CrystalClass::CPPD);
}

// A non-birefringent particle as measureRegion describes an apatite-like clump.
CrystalFeatures clumpFeatures() {
  CrystalFeatures f;
  f.birefringent = false;
  f.length_um = 9;
  f.width_um = 8;
  f.aspect = 1.12;
  f.solidity = 0.93;
  f.ellipse_fit = 0.8;
  f.intensity_contrast = -0.3;
  return f;
}

TEST(Classifier, NonBirefringentClaimOnlyForRefractileCompactClumps) {
  CrystalFeatures f = clumpFeatures();
  const Classification clump = classify(f);
  EXPECT_EQ(clump.cls, CrystalClass::NonBirefringent);
  EXPECT_GT(clump.confidence, 0.8);
  // Faint (debris-like extinction): artefact.
  f.intensity_contrast = -0.09;
  EXPECT_EQ(classify(f).cls, CrystalClass::Artefact);
  // Irregular (concave or elongated) and not strongly refractile: artefact.
  f = clumpFeatures();
  f.solidity = 0.75;
  EXPECT_EQ(classify(f).cls, CrystalClass::Artefact);
  f = clumpFeatures();
  f.aspect = 2.5;
  EXPECT_EQ(classify(f).cls, CrystalClass::Artefact);
  // In between (moderate extinction): not named, listed for review.
  f = clumpFeatures();
  f.intensity_contrast = -0.16;
  const Classification mid = classify(f);
  EXPECT_EQ(mid.cls, CrystalClass::Unknown);
  EXPECT_TRUE(mid.needs_review);
}

TEST(FieldAnalysis, FaintIrregularDebrisIsAnArtefact) {
  SceneSpec s = field(200, 150);
  // Elongated, lumpy, absorbing only ~10 %: two overlapping blobs at an angle.
  s.shapes.push_back(shape(Kind::Ellipse, 90, 75, 24, 8, 20, 0, 0, 0.9));
  s.shapes.push_back(shape(Kind::Ellipse, 104, 66, 14, 6, 110, 0, 0, 0.9));
  const FieldResult r = analyzeField(testing::renderStack(s));
  ASSERT_FALSE(r.crystals.empty());
  for (const auto& c : r.crystals) EXPECT_EQ(c.cls, CrystalClass::Artefact) << describe(r);
}

TEST(FieldAnalysis, HaloFragmentBesideAStrongCrystalIsPartOfIt) {
  SceneSpec s = field(200, 150);
  // A strong CaOx-monohydrate-like ovoid and, 2 px off its tip, a small ring fragment at another
  // axis; far away a small weak CPPD rod that must survive.
  s.shapes.push_back(shape(Kind::Ellipse, 70, 75, 30, 20, 0, 120, 0));
  s.shapes.push_back(shape(Kind::Rectangle, 90, 75, 6, 4, 90, 40, 90));
  s.shapes.push_back(shape(Kind::Rectangle, 160, 75, 12, 4, 0, 15, 0));
  const FieldResult r = analyzeField(testing::renderStack(s));
  ASSERT_EQ(r.crystals.size(), 2u) << describe(r);
  int cppd = 0;
  for (const auto& c : r.crystals) cppd += c.cls == CrystalClass::CPPD ? 1 : 0;
  EXPECT_EQ(cppd, 1) << describe(r);
  // Without the rule the fragment is reported on its own.
  AnalysisOptions options;
  options.halo_gap_um = -1e9;
  const FieldResult raw = analyzeField(testing::renderStack(s), nullptr, 0, 1, options);
  EXPECT_EQ(raw.crystals.size(), 3u) << describe(raw);
}

TEST(FieldAnalysis, HaloRuleNeedsALargerStrongNeighbour) {
  CrystalFeatures parent, frag;
  parent.length_um = 10;
  parent.area_um2 = 60;
  parent.peak_retardance_nm = 120;
  frag.length_um = 2;
  frag.area_um2 = 3;
  frag.peak_retardance_nm = 40;
  frag.x_um = 6.5;
  std::vector<CrystalFeatures> v{parent, frag};
  EXPECT_TRUE(isHaloFragment(v, 1, 136.5, 1.0));
  EXPECT_FALSE(isHaloFragment(v, 0, 136.5, 1.0));  // the parent itself stays
  v[0].peak_retardance_nm = 20;                    // a weak neighbour throws no halo
  EXPECT_FALSE(isHaloFragment(v, 1, 136.5, 1.0));
  v[0].peak_retardance_nm = 120;
  v[1].x_um = 12;  // clear of the parent's outline
  EXPECT_FALSE(isHaloFragment(v, 1, 136.5, 1.0));
}

TEST(FieldAnalysis, FoldLobeWithTheParentsSlowAxisIsPartOfIt) {
  CrystalFeatures parent, lobe;
  parent.length_um = 10;
  parent.area_um2 = 60;
  parent.peak_retardance_nm = 136;
  parent.fold_fraction = 0.05;
  parent.slow_axis_deg = 20;
  lobe.length_um = 4;
  lobe.area_um2 = 10;
  lobe.peak_retardance_nm = 70;
  lobe.x_um = 9.0;  // 2 um beyond the parent's outline: farther than a halo
  lobe.slow_axis_deg = 27;
  std::vector<CrystalFeatures> v{parent, lobe};
  EXPECT_TRUE(isHaloFragment(v, 1, 136.5, 1.0));
  v[1].slow_axis_deg = 80;  // another crystal's axis: reported on its own
  EXPECT_FALSE(isHaloFragment(v, 1, 136.5, 1.0));
  v[1].slow_axis_deg = 20;
  v[1].x_um = 11.0;  // 4 um out: too far for a lobe
  EXPECT_FALSE(isHaloFragment(v, 1, 136.5, 1.0));
}

// Past a half wave sin(delta) < 0 and the circular fit reads the slow axis turned by 90 deg: a
// lobe of a strong crystal beyond its half-wave ring shows the perpendicular axis and is still
// part of it; an axis 45 deg off (neither the same nor the flipped one) is another crystal.
TEST(FieldAnalysis, FoldLobePastTheHalfWaveWithThePerpendicularAxisIsPartOfIt) {
  CrystalFeatures parent, lobe;
  parent.length_um = 10;
  parent.area_um2 = 60;
  parent.peak_retardance_nm = 136;
  parent.fold_fraction = 0.05;
  parent.slow_axis_deg = 20;
  lobe.length_um = 4;
  lobe.area_um2 = 10;
  lobe.peak_retardance_nm = 70;
  lobe.x_um = 9.0;  // 2 um beyond the parent's outline: farther than a halo
  lobe.slow_axis_deg = 112;
  std::vector<CrystalFeatures> v{parent, lobe};
  EXPECT_TRUE(isHaloFragment(v, 1, 136.5, 1.0));
  v[1].slow_axis_deg = 65;
  EXPECT_FALSE(isHaloFragment(v, 1, 136.5, 1.0));
  v[1].slow_axis_deg = 112;
  v[0].peak_retardance_nm = 40;  // a weak parent has no half wave to pass
  v[0].fold_fraction = 0.0;
  EXPECT_FALSE(isHaloFragment(v, 1, 136.5, 1.0));
}

TEST(CompensatorView, ParallelSlowAxisIsBlueCrossedIsYellow) {
  const cv::Vec3b blue = compensatorColour(100.0, 45.0);  // B, G, R
  const cv::Vec3b yellow = compensatorColour(100.0, 135.0);
  EXPECT_GT(blue[0], blue[1]);
  EXPECT_GT(blue[0], blue[2]);
  EXPECT_GT(yellow[2], yellow[0]);
  EXPECT_GT(yellow[1], yellow[0]);
  // Background (no retardance) is first-order red/magenta as the eye sees it: red and blue both
  // bright (over half scale), green far below either.
  const cv::Vec3b bg = compensatorColour(0.0, 0.0);
  EXPECT_GT(bg[2], 110);
  EXPECT_GT(bg[0], 110);
  EXPECT_LT(bg[1], bg[2] / 3);
  EXPECT_LT(bg[1], bg[0] / 3);
  // Michel-Levy order: a CPPD-like 20 nm along the plate turns the tint blue-violet (blue now
  // clearly above red), a strong MSU-like 120 nm across it yellow (red and green high, blue low).
  const cv::Vec3b weak_add = compensatorColour(20.0, 45.0);
  EXPECT_GT(weak_add[0], weak_add[2] + 30);
  const cv::Vec3b strong_sub = compensatorColour(120.0, 135.0);
  EXPECT_GT(strong_sub[2], 180);
  EXPECT_GT(strong_sub[1], 120);
  EXPECT_LT(strong_sub[0], 60);
}

TEST(CompensatorView, PositiveCrystalsAlong45AreBlueAlong135Yellow) {
  SceneSpec s = field();
  s.noise_sigma = 0;
  s.shapes.push_back(shape(Kind::Rectangle, 50, 60, 30, 6, 45, 100, 45));     // positive, 45
  s.shapes.push_back(shape(Kind::Rectangle, 110, 60, 30, 6, 135, 100, 135));  // positive, 135
  const FieldResult r = analyzeField(testing::renderStack(s));
  const cv::Mat view = compensatorView(r.map);
  ASSERT_EQ(view.type(), CV_8UC3);
  const cv::Vec3b a = view.at<cv::Vec3b>(60, 50), b = view.at<cv::Vec3b>(60, 110);
  EXPECT_GT(a[0], a[2]) << "45 deg crystal should be blue";
  EXPECT_GT(a[0], a[1]);
  EXPECT_GT(b[2], b[0]) << "135 deg crystal should be yellow";
  EXPECT_GT(b[1], b[0]);
}

}  // namespace
}  // namespace polscan::analysis
