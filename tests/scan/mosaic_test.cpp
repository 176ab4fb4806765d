// Mosaic: thumbnails land at their stage positions (y up), crystals are marked where they are.
#include <gtest/gtest.h>

#include "scan/mosaic.hpp"

using namespace polscan;

namespace {
ScanPlan twoByTwo() {
  ScanRequest r;
  r.x_mm = 1.0;
  r.y_mm = 1.0;
  r.width_mm = 0.7;
  r.height_mm = 0.5;
  r.pixel_um = 1.0;
  r.image_width_px = 400;  // 400 x 300 um fields
  r.image_height_px = 300;
  r.overlap = 0.1;
  return planScan(r, StageTravel{{0, 75000}, {0, 25000}});
}

cv::Mat solid(const cv::Size& s, cv::Scalar c) {
  return cv::Mat(s, CV_8UC3, c);
}
}  // namespace

TEST(Mosaic, ThumbnailShowsRetardanceInYellowOnGrey) {
  analysis::RetardanceMap m;
  m.pixel_um = 0.5;
  m.quarter_wave_nm = 136.5;
  m.intensity = cv::Mat(200, 300, CV_32F, cv::Scalar(1000.0f));
  m.retardance_nm = cv::Mat::zeros(200, 300, CV_32F);
  m.retardance_nm(cv::Rect(200, 20, 40, 40)).setTo(100.0f);  // a crystal up right
  const cv::Mat t = tileThumbnail(m, 2.0);                   // 4x smaller
  ASSERT_EQ(t.size(), cv::Size(75, 50));
  const cv::Vec3b bg = t.at<cv::Vec3b>(40, 10);
  const cv::Vec3b xtal = t.at<cv::Vec3b>(10, 55);
  EXPECT_EQ(bg[0], bg[1]);  // grey
  EXPECT_EQ(bg[1], bg[2]);
  EXPECT_EQ(xtal[0], bg[0]);        // blue unchanged
  EXPECT_GT(xtal[1], bg[1] + 100);  // green and red up: yellow
  EXPECT_GT(xtal[2], bg[2] + 100);
}

TEST(Mosaic, TilesSitAtTheirStagePositionsWithYUpAndCrystalsAreMarked) {
  const ScanPlan p = twoByTwo();
  ASSERT_EQ(p.cols, 2);
  ASSERT_EQ(p.rows, 2);
  const double s = 4.0;  // um per mosaic pixel
  const cv::Size thumb(100, 75);
  std::vector<std::pair<Tile, cv::Mat>> thumbs;
  for (const Tile& t : p.tiles) {
    // Colour codes the tile: blue = column, green = row.
    thumbs.emplace_back(t, solid(thumb, cv::Scalar(60 + 120 * t.col, 60 + 120 * t.row, 0)));
  }
  CrystalRecord c;
  c.cls = CrystalClass::CPPD;
  c.x_um = p.tiles[0].x_um;  // centre of the lower-left tile
  c.y_um = p.tiles[0].y_um;
  c.length_um = 40.0;
  const cv::Mat m = composeMosaic(p, s, thumbs, {c});
  // 400 + 360 = 760 um wide, 300 + 270 = 570 um high.
  EXPECT_EQ(m.cols, 190);
  EXPECT_EQ(m.rows, 143);
  const cv::Vec3b lower_left = m.at<cv::Vec3b>(m.rows - 5, 5);
  const cv::Vec3b upper_right = m.at<cv::Vec3b>(5, m.cols - 5);
  EXPECT_EQ(lower_left[0], 60);  // column 0
  EXPECT_EQ(lower_left[1], 60);  // row 0 is at the bottom: y up
  EXPECT_EQ(upper_right[0], 180);
  EXPECT_EQ(upper_right[1], 180);
  // The crystal's circle (radius 40/2/4 + 2 = 7 px) around the lower-left tile's centre, in
  // CPPD's colour; the centre itself is not painted.
  const int cx = 50, cy = m.rows - 1 - 37;
  bool ring = false;
  for (int dx = -9; dx <= 9; ++dx) {
    const cv::Vec3b v = m.at<cv::Vec3b>(cy, cx + dx);
    ring = ring || (v[0] > 150 && v[1] > 100 && v[2] == 0 && std::abs(dx) >= 5);
  }
  EXPECT_TRUE(ring);
  EXPECT_EQ(m.at<cv::Vec3b>(cy, cx)[0], 60);
}
