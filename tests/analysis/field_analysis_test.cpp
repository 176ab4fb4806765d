// Segmentation, features, classification and the compensator view on painted synthetic fields.
#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "analysis/classifier.hpp"
#include "analysis/compensator_view.hpp"
#include "analysis/field_analysis.hpp"
#include "synthetic_scene.hpp"

namespace polscan::analysis {
namespace {

using testing::PaintedShape;
using testing::SceneSpec;
using Kind = PaintedShape::Kind;

double axialDiffDeg(double a, double b) {
  double d = std::fmod(std::abs(a - b), 180.0);
  return std::min(d, 180.0 - d);
}

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
         std::to_string(f.hollowness) + "\n";
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
void paintClump(SceneSpec& s, double cx, double cy) {
  s.shapes.push_back(shape(Kind::Ellipse, cx, cy, 14, 12, 0, 0, 0, 0.62));
  s.shapes.push_back(shape(Kind::Ellipse, cx + 7, cy - 4, 9, 8, 30, 0, 0, 0.7));
  s.shapes.push_back(shape(Kind::Ellipse, cx - 6, cy + 6, 8, 7, 100, 0, 0, 0.66));
  s.shapes.push_back(shape(Kind::Ellipse, cx - 5, cy - 7, 7, 6, 60, 0, 0, 0.72));
  s.shapes.push_back(shape(Kind::Ellipse, cx + 6, cy + 7, 6, 6, 0, 0, 0, 0.68));
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
  const Classification o = classify(odd);
  EXPECT_EQ(o.cls, CrystalClass::Unknown);
  EXPECT_TRUE(o.needs_review);
}

TEST(CompensatorView, ParallelSlowAxisIsBlueCrossedIsYellow) {
  const cv::Vec3b blue = compensatorColour(100.0, 45.0);  // B, G, R
  const cv::Vec3b yellow = compensatorColour(100.0, 135.0);
  EXPECT_GT(blue[0], blue[1]);
  EXPECT_GT(blue[0], blue[2]);
  EXPECT_GT(yellow[2], yellow[0]);
  EXPECT_GT(yellow[1], yellow[0]);
  // Background (no retardance) is first-order red/magenta: red and blue above green.
  const cv::Vec3b bg = compensatorColour(0.0, 0.0);
  EXPECT_GT(bg[2], bg[1]);
  EXPECT_GT(bg[0], bg[1]);
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
