// The live view's overlay: a crystal's outline lands where its slide position is in the field
// (slide y up, image rows down) in its class's colour, and the PNG decodes to the drawn image.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>

#include "scan/mosaic.hpp"
#include "web/live_view.hpp"

using namespace polscan;

namespace {

// True when a pixel within r px of (x, y) has the colour (each channel within 40).
bool colourNear(const cv::Mat& img, int x, int y, int r, const cv::Scalar& c) {
  for (int dy = -r; dy <= r; ++dy) {
    for (int dx = -r; dx <= r; ++dx) {
      const cv::Vec3b p = img.at<cv::Vec3b>(y + dy, x + dx);
      if (std::abs(p[0] - c[0]) < 40 && std::abs(p[1] - c[1]) < 40 && std::abs(p[2] - c[2]) < 40)
        return true;
    }
  }
  return false;
}

TEST(LiveView, OutlinesACrystalAtItsPositionInItsClassColour) {
  const cv::Mat thumb(300, 400, CV_8UC3, cv::Scalar(100, 100, 100));  // 400 x 300 um field
  Tile tile;
  tile.x_um = 1000.0;
  tile.y_um = 2000.0;
  FieldCrystal fc;
  fc.record.cls = CrystalClass::CPPD;
  fc.record.x_um = 900.0;   // 100 um right of the field's left edge (800 um)
  fc.record.y_um = 2100.0;  // 50 um below its top edge (2150 um)
  fc.record.length_um = 40.0;
  fc.record.width_um = 8.0;
  fc.record.long_axis_deg = 0.0;
  const cv::Mat view = web::drawLiveField(thumb, tile, 400.0, 300.0, {fc});
  ASSERT_EQ(view.cols, 640);  // enlarged to 640 px wide: 0.625 um per px
  ASSERT_EQ(view.rows, 480);
  const cv::Scalar cppd = classColour(CrystalClass::CPPD);
  // Centre (160, 80) px; the ellipse (40 / 0.625 + 4 px long) ends 34 px either side along x.
  EXPECT_TRUE(colourNear(view, 160 + 34, 80, 2, cppd));
  EXPECT_TRUE(colourNear(view, 160 - 34, 80, 2, cppd));
  EXPECT_FALSE(colourNear(view, 160, 80, 2, cppd)) << "an outline, not a filled mark";
  EXPECT_FALSE(colourNear(view, 160 + 34, 480 - 80, 4, cppd)) << "slide y must point up";

  const std::vector<unsigned char> png = web::encodePng(view);
  const cv::Mat back = cv::imdecode(png, cv::IMREAD_COLOR);
  ASSERT_EQ(back.size(), view.size());
  EXPECT_EQ(cv::norm(back, view, cv::NORM_INF), 0.0);
}

}  // namespace
