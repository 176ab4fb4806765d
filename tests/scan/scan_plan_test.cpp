// Scan plan: coverage, serpentine order, backlash approach, stage travel, area and volume.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "scan/scan_plan.hpp"

using namespace polscan;

namespace {
const StageTravel kTravel{{0.0, 75000.0}, {0.0, 25000.0}};

ScanRequest request(double w_mm, double h_mm) {
  ScanRequest r;
  r.x_mm = 1.0;
  r.y_mm = 2.0;
  r.width_mm = w_mm;
  r.height_mm = h_mm;
  r.pixel_um = 0.4;
  r.image_width_px = 1000;  // 400 x 300 um fields
  r.image_height_px = 750;
  r.overlap = 0.1;
  r.backlash_um = 25.0;
  return r;
}

// A lead screw with play: the carriage lags the nut by the backlash after a reversal.
struct BacklashAxis {
  double play;
  double command = 0.0;
  bool last_positive = false;  // unknown after homing: assume the worst
  double carriage() const { return last_positive ? command : command + play; }
  void move(double target) {
    if (target > command) last_positive = true;
    if (target < command) last_positive = false;
    command = target;
  }
};
}  // namespace

TEST(ScanPlan, FieldsCoverTheRegionWithTheAskedOverlap) {
  const ScanPlan p = planScan(request(2.0, 1.0), kTravel);
  EXPECT_DOUBLE_EQ(p.field_width_um, 400.0);
  EXPECT_DOUBLE_EQ(p.pitch_x_um, 360.0);
  EXPECT_DOUBLE_EQ(p.pitch_y_um, 270.0);
  // 2000 um needs 400 + 4 x 360 = 1840 < 2000 -> 6 columns; 1000 um: 300 + 3 x 270 -> 4 rows.
  EXPECT_EQ(p.cols, 6);
  EXPECT_EQ(p.rows, 4);
  ASSERT_EQ(p.tiles.size(), 24u);
  double left = 1e9, right = -1e9, bottom = 1e9, top = -1e9;
  for (const Tile& t : p.tiles) {
    left = std::min(left, t.x_um - 200.0);
    right = std::max(right, t.x_um + 200.0);
    bottom = std::min(bottom, t.y_um - 150.0);
    top = std::max(top, t.y_um + 150.0);
  }
  EXPECT_LE(left, 1000.0);
  EXPECT_GE(right, 3000.0);
  EXPECT_LE(bottom, 2000.0);
  EXPECT_GE(top, 3000.0);
  // Centred on the region.
  EXPECT_NEAR(0.5 * (left + right), 2000.0, 1e-9);
  EXPECT_NEAR(0.5 * (bottom + top), 2500.0, 1e-9);
}

TEST(ScanPlan, SerpentineOrderNeighboursAreOnePitchApart) {
  const ScanPlan p = planScan(request(2.0, 1.0), kTravel);
  std::map<std::pair<int, int>, int> seen;
  for (std::size_t i = 0; i < p.tiles.size(); ++i) {
    const Tile& t = p.tiles[i];
    EXPECT_EQ(t.index, static_cast<int>(i));
    EXPECT_EQ(t.col, t.row % 2 == 0 ? static_cast<int>(i) % p.cols
                                    : p.cols - 1 - static_cast<int>(i) % p.cols);
    EXPECT_TRUE(seen.emplace(std::pair{t.row, t.col}, t.index).second) << "tile twice";
    if (i > 0) {
      const Tile& prev = p.tiles[i - 1];
      const double step = std::hypot(t.x_um - prev.x_um, t.y_um - prev.y_um);
      EXPECT_NEAR(step, t.row == prev.row ? p.pitch_x_um : p.pitch_y_um, 1e-9) << i;
    }
  }
}

TEST(ScanPlan, EveryTileIsReachedFromTheSameSideDespiteBacklash) {
  const ScanPlan p = planScan(request(2.0, 1.0), kTravel);
  BacklashAxis x{p.request.backlash_um}, y{p.request.backlash_um};
  x.command = 40000.0;  // after homing somewhere far
  y.command = 100.0;
  std::optional<Tile> from;
  for (const Tile& t : p.tiles) {
    for (const StageMove& m : p.approach(from, t)) (m.axis == 'x' ? x : y).move(m.target_um);
    EXPECT_DOUBLE_EQ(x.carriage(), t.x_um) << "tile " << t.index;
    EXPECT_DOUBLE_EQ(y.carriage(), t.y_um) << "tile " << t.index;
    from = t;
  }
}

TEST(ScanPlan, NoOvershootWhenMovingForward) {
  const ScanPlan p = planScan(request(2.0, 1.0), kTravel);
  const auto moves = p.approach(p.tiles[0], p.tiles[1]);  // +x along row 0
  ASSERT_EQ(moves.size(), 1u);
  EXPECT_EQ(moves[0], (StageMove{'x', p.tiles[1].x_um}));
  const auto back = p.approach(p.tiles[p.cols], p.tiles[p.cols + 1]);  // -x along row 1
  ASSERT_EQ(back.size(), 2u);
  EXPECT_DOUBLE_EQ(back[0].target_um, p.tiles[p.cols + 1].x_um - 25.0);
}

TEST(ScanPlan, ARegionOutsideTheStageNamesTheAxis) {
  ScanRequest r = request(2.0, 1.0);
  r.y_mm = 24.5;
  try {
    planScan(r, kTravel);
    FAIL() << "no error";
  } catch (const ScanPlanError& e) {
    EXPECT_NE(std::string(e.what()).find("Y stage"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("25000.0"), std::string::npos) << e.what();
  }
  r = request(2.0, 1.0);
  r.x_mm = 0.0;  // first centre at 80 um: fine; but the backlash run-up needs 25 um below it
  r.width_mm = 0.1;
  r.backlash_um = 200.0;
  try {
    planScan(r, kTravel);
    FAIL() << "no error";
  } catch (const ScanPlanError& e) {
    EXPECT_NE(std::string(e.what()).find("X stage"), std::string::npos) << e.what();
  }
}

TEST(ScanPlan, BadValuesAreRefusedWithTheirName) {
  ScanRequest r = request(2.0, 1.0);
  r.overlap = 0.7;
  EXPECT_THROW(planScan(r, kTravel), ScanPlanError);
  r = request(0.0, 1.0);
  try {
    planScan(r, kTravel);
    FAIL();
  } catch (const ScanPlanError& e) {
    EXPECT_NE(std::string(e.what()).find("region width"), std::string::npos);
  }
  EXPECT_THROW(pixelSizeUm(8.0, 0.0), ScanPlanError);
  EXPECT_DOUBLE_EQ(pixelSizeUm(8.0, 20.0), 0.4);
}

TEST(ScanPlan, AreaCountsOverlapsOnceAndGivesTheVolume) {
  const ScanPlan p = planScan(request(2.0, 1.0), kTravel);
  std::vector<int> all;
  for (const Tile& t : p.tiles) all.push_back(t.index);
  EXPECT_NEAR(p.scannedAreaUm2(all), p.scannedAreaUm2(), 1e-6);
  EXPECT_NEAR(p.scannedAreaUm2(), (400.0 + 5 * 360.0) * (300.0 + 3 * 270.0), 1e-6);
  // Two neighbours share a 40 um strip.
  EXPECT_NEAR(p.scannedAreaUm2({0, 1}), 2 * 400.0 * 300.0 - 40.0 * 300.0, 1e-6);
  EXPECT_NEAR(p.scannedAreaUm2({}), 0.0, 1e-12);
  // 1 mm^2 x 20 um = 0.02 mm^3 = 0.02 uL.
  EXPECT_NEAR(p.volumeUl(1e6), 0.02, 1e-12);
}
