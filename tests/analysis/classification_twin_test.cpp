// Identification of single strong crystals rendered by the optical twin (circular train, mono
// and RGB): the minority sign of whewellite, short MSU needles, folded lens cores against flat
// plates, strong crystals read with their real retardance from three wavelengths.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "analysis/field_analysis.hpp"
#include "hardware/twin/field_renderer.hpp"
#include "tests/support/twin_stack.hpp"

namespace polscan::analysis {
namespace {

// One crystal at the centre of a 128 x 96 px field (0.4 um/px), 8 polarizer angles, with the
// twin's shot/read noise; slow axis along (positive) or across (negative) the long axis.
FieldResult analyseOne(CrystalClass cls, twin::Shape shape, double length_um, double width_um,
                       double retardance_nm, double long_axis_deg, bool positive,
                       double absorption = 0.0, std::vector<double> wavelengths_nm = {546.0}) {
  twin::Slide slide;
  slide.seed = 11;
  twin::CrystalSpec c;
  c.cls = cls;
  c.shape = shape;
  c.length_um = length_um;
  c.width_um = width_um;
  c.thickness_um = 1.0;
  c.birefringence = retardance_nm / 1000.0;
  c.long_axis_deg = long_axis_deg;
  c.slow_axis_deg = std::fmod(long_axis_deg + (positive ? 0.0 : 90.0), 180.0);
  c.absorption = absorption;
  slide.objects.push_back(c);
  twin::OpticsConfig optics;
  optics.vignetting = 0.0;
  optics.wavelengths_nm = std::move(wavelengths_nm);
  return analyzeField(::polscan::testing::renderTwinStack(
      slide, optics, ::polscan::testing::eightAnglesDeg(), 128, 96));
}

std::string describe(const FieldResult& r) {
  std::string s;
  for (std::size_t i = 0; i < r.crystals.size(); ++i) {
    const auto& f = r.features[i];
    s += std::string(crystalClassName(r.classifications[i].best)) + " conf " +
         std::to_string(r.crystals[i].confidence) + " L " + std::to_string(f.length_um) + " W " +
         std::to_string(f.width_um) + " mean " + std::to_string(f.mean_retardance_nm) + " fold " +
         std::to_string(f.fold_fraction) + " centre " + std::to_string(f.centre_peak) + " elong " +
         std::string(elongationName(f.elongation)) + "\n";
  }
  return s;
}

struct Ovoid {
  double length_um, width_um, retardance_nm, long_axis_deg;
};

// Whewellite is "mostly" positive, not always: an ovoid whose slow axis lies across it is still
// calcium oxalate monohydrate (strong, 3-20 um, no needle), not uric acid or a cholesterol plate.
// The retardances span the second quarter wave (the centre folds under its rim: no flat plate)
// up to the half wave.
TEST(ClassificationTwin, NegativeWhewelliteOvoidIsCalciumOxalateMonohydrate) {
  for (const Ovoid& o : {Ovoid{19.0, 12.0, 175.0, 40.0}, Ovoid{18.0, 12.0, 240.0, 120.0},
                         Ovoid{14.0, 9.0, 260.0, 50.0}, Ovoid{9.0, 6.0, 165.0, 10.0}}) {
    const FieldResult r = analyseOne(CrystalClass::CaOxMonohydrate, twin::Shape::Ovoid, o.length_um,
                                     o.width_um, o.retardance_nm, o.long_axis_deg, false);
    ASSERT_EQ(r.crystals.size(), 1u) << describe(r);
    // The premise: the sign is observed, and it is the minority one.
    EXPECT_EQ(r.crystals[0].elongation, Elongation::Negative) << describe(r);
    EXPECT_EQ(r.crystals[0].cls, CrystalClass::CaOxMonohydrate)
        << o.length_um << " um, " << o.retardance_nm << " nm: " << describe(r);
  }
}

// The usual (positive) whewellite stays what it was.
TEST(ClassificationTwin, PositiveWhewelliteOvoidIsCalciumOxalateMonohydrate) {
  const FieldResult r =
      analyseOne(CrystalClass::CaOxMonohydrate, twin::Shape::Ovoid, 14.0, 9.0, 200.0, 70.0, true);
  ASSERT_EQ(r.crystals.size(), 1u) << describe(r);
  EXPECT_EQ(r.crystals[0].elongation, Elongation::Positive) << describe(r);
  EXPECT_EQ(r.crystals[0].cls, CrystalClass::CaOxMonohydrate) << describe(r);
}

// A short MSU needle (3-4 um, 0.6-0.8 um wide) reads ~1 um wide and only ~2.5:1 through the
// optics: narrow at the resolution and negative, it is MSU, not a small whewellite ovoid.
struct Needle {
  double length_um, width_um, long_axis_deg;
};

TEST(ClassificationTwin, ShortNegativeNeedleIsMsu) {
  for (const Needle& n : {Needle{2.5, 0.6, 15.0}, Needle{2.5, 0.6, 60.0}, Needle{4.0, 1.0, 60.0},
                          Needle{3.5, 0.7, 100.0}}) {
    // MSU birefringence ~0.29 over a thickness of ~0.9 x the width.
    const FieldResult r = analyseOne(CrystalClass::MSU, twin::Shape::Needle, n.length_um,
                                     n.width_um, 260.0 * n.width_um, n.long_axis_deg, false);
    ASSERT_EQ(r.crystals.size(), 1u) << describe(r);
    EXPECT_LT(r.features[0].aspect, 4.0) << "premise: blur keeps the aspect under 4\n"
                                         << describe(r);
    EXPECT_EQ(r.classifications[0].best, CrystalClass::MSU)
        << n.length_um << " x " << n.width_um << " um at " << n.long_axis_deg
        << " deg: " << describe(r);
  }
}

// A cholesterol plate is flat: its core reads like its rim, and it stays cholesterol.
TEST(ClassificationTwin, FlatPlateIsStillCholesterol) {
  const FieldResult r = analyseOne(CrystalClass::Cholesterol, twin::Shape::NotchedPlate, 30.0, 22.0,
                                   40.0, 30.0, true);
  ASSERT_EQ(r.crystals.size(), 1u) << describe(r);
  EXPECT_NEAR(r.features[0].centre_peak, 1.0, 0.1) << describe(r);
  EXPECT_EQ(r.crystals[0].cls, CrystalClass::Cholesterol) << describe(r);
}

// ---- RGB (610/545/465 nm): the real retardance -------------------------------------------

const std::vector<double> kThreeColoursNm{610.0, 545.0, 465.0};

// A brown uric-acid plate of even thickness at a full wave of the mono LED (546 nm): sin(delta) ~ 0
// at 546 nm, so the mono stack sees a weakly birefringent absorbing particle (pigmented debris
// looks the same) and cannot name it; the RGB channels read its real retardance and name it.
TEST(ClassificationTwin, UricAcidPlateAtAFullWaveIsNamedWithRgbNotMono) {
  const FieldResult mono =
      analyseOne(CrystalClass::UricAcid, twin::Shape::Rhomboid, 24.0, 14.0, 546.0, 30.0, true, 0.2);
  for (std::size_t i = 0; i < mono.crystals.size(); ++i) {
    EXPECT_NE(mono.crystals[i].cls, CrystalClass::UricAcid) << describe(mono);
    EXPECT_LT(mono.features[i].mean_retardance_nm, 20.0) << "premise: blind at 546 nm\n"
                                                         << describe(mono);
  }
  const FieldResult rgb = analyseOne(CrystalClass::UricAcid, twin::Shape::Rhomboid, 24.0, 14.0,
                                     546.0, 30.0, true, 0.2, kThreeColoursNm);
  ASSERT_EQ(rgb.crystals.size(), 1u) << describe(rgb);
  EXPECT_TRUE(rgb.features[0].real_retardance);
  EXPECT_EQ(rgb.features[0].fold_fraction, 0.0);
  EXPECT_NEAR(rgb.features[0].mean_retardance_nm, 546.0, 30.0) << describe(rgb);
  EXPECT_EQ(rgb.crystals[0].cls, CrystalClass::UricAcid) << describe(rgb);
}

// An MSU needle past the fold (0.9 um x 0.29 = 260 nm): mono reads it folded under 137 nm and
// needs its fold pixels to call it strong; RGB reads the real retardance (no fold pixels) and the
// strength comes from there. Negative, so MSU either way.
TEST(ClassificationTwin, MsuNeedlePastTheFoldGetsItsStrengthFromTheRealRetardance) {
  const FieldResult mono =
      analyseOne(CrystalClass::MSU, twin::Shape::Needle, 14.0, 0.9, 260.0, 60.0, false);
  ASSERT_EQ(mono.crystals.size(), 1u) << describe(mono);
  EXPECT_LT(mono.features[0].peak_retardance_nm, 137.0) << describe(mono);
  const FieldResult rgb = analyseOne(CrystalClass::MSU, twin::Shape::Needle, 14.0, 0.9, 260.0, 60.0,
                                     false, 0.0, kThreeColoursNm);
  ASSERT_EQ(rgb.crystals.size(), 1u) << describe(rgb);
  EXPECT_EQ(rgb.features[0].fold_fraction, 0.0) << describe(rgb);
  // The needle's core reads its real retardance (blur spreads the edges lower).
  EXPECT_GT(rgb.features[0].peak_retardance_nm, 200.0) << describe(rgb);
  EXPECT_EQ(rgb.crystals[0].elongation, Elongation::Negative) << describe(rgb);
  EXPECT_EQ(rgb.crystals[0].cls, CrystalClass::MSU) << describe(rgb);
}

// Weak crystals stay weak with RGB: a CPPD rod (positive, ~20 nm) is CPPD in both modes.
TEST(ClassificationTwin, WeakCppdRodIsCppdWithRgbToo) {
  for (const auto& wl : {std::vector<double>{546.0}, kThreeColoursNm}) {
    const FieldResult r =
        analyseOne(CrystalClass::CPPD, twin::Shape::Rod, 9.0, 2.5, 20.0, 30.0, true, 0.0, wl);
    ASSERT_EQ(r.crystals.size(), 1u) << describe(r);
    EXPECT_NEAR(r.features[0].mean_retardance_nm, 20.0, 8.0) << describe(r);
    EXPECT_EQ(r.crystals[0].cls, CrystalClass::CPPD)
        << wl.size() << " wavelengths: " << describe(r);
  }
}

// A colourless crystal class is named for the clear crystal and not for the same outline when it
// dims the light by `absorption` (its measured contrast under -contrast_limit), RGB and mono alike.
void expectNamedOnlyWhenClear(CrystalClass cls, twin::Shape shape, double length_um,
                              double width_um, double retardance_nm, double axis_deg,
                              double absorption, double contrast_limit) {
  for (const auto& wl : {std::vector<double>{546.0}, kThreeColoursNm}) {
    const FieldResult clear =
        analyseOne(cls, shape, length_um, width_um, retardance_nm, axis_deg, true, 0.0, wl);
    ASSERT_EQ(clear.crystals.size(), 1u) << describe(clear);
    EXPECT_EQ(clear.crystals[0].cls, cls) << describe(clear);
    const FieldResult brown =
        analyseOne(cls, shape, length_um, width_um, retardance_nm, axis_deg, true, absorption, wl);
    ASSERT_EQ(brown.crystals.size(), 1u) << describe(brown);
    EXPECT_LT(brown.features[0].intensity_contrast, -contrast_limit) << describe(brown);
    EXPECT_NE(brown.crystals[0].cls, cls) << describe(brown);
  }
}

// Cholesterol plates are colourless and transparent: a weak plate that dims the light by ~6 %
// (pigmented debris: a few nm of retardance, absorbing) is not claimed as cholesterol, while the
// clear plate of the same outline is.
TEST(ClassificationTwin, AbsorbingWeakPlateIsNotClaimedAsCholesterol) {
  expectNamedOnlyWhenClear(CrystalClass::Cholesterol, twin::Shape::NotchedPlate, 20.0, 16.0, 12.0,
                           30.0, 0.06, 0.035);
}

// Whewellite is colourless: a strong ovoid that dims the light like yellow-brown uric acid (9 %)
// is not claimed as calcium oxalate monohydrate (review), while the clear one is.
TEST(ClassificationTwin, AbsorbingOvoidIsNotClaimedAsWhewellite) {
  expectNamedOnlyWhenClear(CrystalClass::CaOxMonohydrate, twin::Shape::Ovoid, 12.0, 8.0, 220.0,
                           70.0, 0.09, 0.07);
}

}  // namespace
}  // namespace polscan::analysis
