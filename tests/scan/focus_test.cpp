// Focus: metric peaks at best focus, coarse-to-fine search and a focus map on a twin slide whose
// focus plane is tilted (objects sit higher towards +x and +y, as on a slide that is not level).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "hardware/twin/field_renderer.hpp"
#include "scan/focus.hpp"

using namespace polscan;

namespace {
constexpr double kTiltX = 0.012;  // um of focus per um of stage x
constexpr double kTiltY = -0.008;
constexpr double kFloorZ = 30.0;  // best focus at stage (0, 0)

double planeZ(double x, double y) {
  return kFloorZ + kTiltX * x + kTiltY * y;
}

// Each site holds a few crystals and debris, all on the tilted plane.
twin::Slide tiltedSlide(const std::vector<std::pair<double, double>>& sites) {
  twin::Slide s;
  s.seed = 7;
  s.sample = "synovial-fluid";
  int id = 1;
  for (const auto& [x, y] : sites) {
    for (int k = 0; k < 4; ++k) {
      twin::CrystalSpec c;
      c.id = id++;
      c.cls = k % 2 == 0 ? CrystalClass::CPPD : CrystalClass::Artefact;
      c.shape = k % 2 == 0 ? twin::Shape::Rhomboid : twin::Shape::Debris;
      c.x_um = x - 25.0 + 17.0 * k;
      c.y_um = y + (k % 2 == 0 ? 8.0 : -10.0);
      c.length_um = 9.0;
      c.width_um = 3.0;
      c.long_axis_deg = 20.0 + 35.0 * k;
      c.thickness_um = 1.5;
      c.birefringence = k % 2 == 0 ? 0.03 : 0.0;
      c.slow_axis_deg = c.long_axis_deg;
      c.absorption = 0.3;
      c.z_um = planeZ(c.x_um, c.y_um);
      s.objects.push_back(c);
    }
  }
  return s;
}

twin::OpticsConfig optics() {
  twin::OpticsConfig o;
  o.blur_um_per_um = 0.15;  // a 20x objective's shallow depth of field
  return o;
}

struct Scope {
  twin::FieldRenderer renderer;
  int images = 0;
  double measure(double x, double y, double z) {
    twin::FieldRequest r;
    r.stage_x_um = x;
    r.stage_y_um = y;
    r.z_um = z;
    r.polarizer_deg = 0.0;
    r.width_px = 256;
    r.height_px = 192;
    r.pixel_um = 0.4;
    r.frame_seed = static_cast<std::uint64_t>(++images);
    return focusMetric(renderer.render(r));
  }
};

const std::vector<std::pair<double, double>> kSites = {
    {0.0, 0.0}, {1000.0, 0.0}, {0.0, 800.0}, {1000.0, 800.0}, {500.0, 400.0}};
}  // namespace

TEST(Focus, MetricPeaksAtBestFocusAndFallsOffEitherSide) {
  Scope scope{twin::FieldRenderer(tiltedSlide(kSites), optics())};
  const double z0 = planeZ(0, 0);
  const double sharp = scope.measure(0, 0, z0);
  EXPECT_GT(sharp, 1.5 * scope.measure(0, 0, z0 + 10.0));
  EXPECT_GT(sharp, 1.5 * scope.measure(0, 0, z0 - 10.0));
  EXPECT_GT(scope.measure(0, 0, z0 + 4.0), scope.measure(0, 0, z0 + 12.0));
}

TEST(Focus, CoarseToFineFindsTheFocusWithinOneMicrometre) {
  Scope scope{twin::FieldRenderer(tiltedSlide(kSites), optics())};
  AutofocusOptions o;
  o.range_um = 40.0;
  o.coarse_step_um = 8.0;
  o.fine_step_um = 1.0;
  const double truth = planeZ(1000.0, 800.0);
  const FocusResult r =
      autofocus([&](double z) { return scope.measure(1000.0, 800.0, z); }, kFloorZ, o);
  EXPECT_NEAR(r.z_um, truth, 1.0);
  EXPECT_GT(r.contrast, 0.5);
  // Coarse grid (5) plus two per halving (3 halvings) plus the parabola's neighbours, at most.
  EXPECT_LE(r.measurements, 13);
}

TEST(Focus, AnEmptyFieldHasNoContrast) {
  Scope scope{twin::FieldRenderer(tiltedSlide(kSites), optics())};
  const FocusResult r =
      autofocus([&](double z) { return scope.measure(3000.0, 3000.0, z); }, kFloorZ);
  EXPECT_LT(r.contrast, 0.1);  // ScanOptions::focus_min_contrast
}

TEST(Focus, MapFromFewSitesPredictsTheTiltedPlane) {
  Scope scope{twin::FieldRenderer(tiltedSlide(kSites), optics())};
  FocusMap map;
  EXPECT_THROW(map.z(0, 0), FocusError);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto [x, y] = kSites[i];
    const FocusResult r = autofocus([&](double z) { return scope.measure(x, y, z); }, kFloorZ);
    map.add({x, y, r.z_um});
  }
  // The sites not measured: the plane through three points predicts them.
  for (std::size_t i = 3; i < kSites.size(); ++i) {
    const auto [x, y] = kSites[i];
    EXPECT_NEAR(map.z(x, y), planeZ(x, y), 1.5) << "site " << i;
  }
  // And a tile focused at the predicted z is (nearly) as sharp as at the true focus.
  const auto [x, y] = kSites[3];
  EXPECT_GT(scope.measure(x, y, map.z(x, y)), 0.8 * scope.measure(x, y, planeZ(x, y)));
}

TEST(Focus, MapWithOneOrTwoPointsIsFlat) {
  FocusMap map;
  map.add({0, 0, 10.0});
  EXPECT_DOUBLE_EQ(map.z(500, 500), 10.0);
  map.add({100, 0, 12.0});
  EXPECT_DOUBLE_EQ(map.z(500, 500), 11.0);
}

TEST(Focus, MapSitesAreAThreeByThreeGridWithoutRepeats) {
  EXPECT_EQ(focusMapSites(1, 1).size(), 1u);
  EXPECT_EQ(focusMapSites(1, 3).size(), 3u);
  EXPECT_EQ(focusMapSites(2, 2).size(), 4u);
  const auto s = focusMapSites(5, 7);
  ASSERT_EQ(s.size(), 9u);
  EXPECT_NE(std::find(s.begin(), s.end(), std::pair{2, 3}), s.end());  // centre
  EXPECT_NE(std::find(s.begin(), s.end(), std::pair{4, 6}), s.end());  // far corner
  EXPECT_NE(std::find(s.begin(), s.end(), std::pair{0, 3}), s.end());  // bottom middle
}

TEST(Focus, RefocusWhenTheMetricDropsButOnceForARunOfEmptyTiles) {
  RefocusPolicy p(0.3);
  EXPECT_FALSE(p.shouldRefocus(0.0));  // nothing to compare with yet
  for (double m : {1.0, 1.2, 0.9, 1.1}) {
    EXPECT_FALSE(p.shouldRefocus(m));
    p.record(m);
  }
  EXPECT_NEAR(p.typical(), 1.1, 1e-12);
  EXPECT_FALSE(p.shouldRefocus(0.5));
  EXPECT_TRUE(p.shouldRefocus(0.2));
  p.record(0.2, false);  // refocused, nothing there: an empty field
  EXPECT_FALSE(p.shouldRefocus(0.2));
  p.record(0.2);
  p.record(1.0);  // structure again: armed
  EXPECT_TRUE(p.shouldRefocus(0.2));
  p.record(0.25, true);  // refocus found structure: stays armed
  EXPECT_TRUE(p.shouldRefocus(0.1));
  RefocusPolicy resumed(0.3);
  resumed.seed({1.0, 1.0, 1.0});
  EXPECT_TRUE(resumed.shouldRefocus(0.1));
}
