// Segmentation on retardance maps written directly (no reconstruction in between).
#include <algorithm>
#include <cmath>
#include <string>

#include <gtest/gtest.h>
#include <opencv2/core.hpp>

#include "analysis/segmentation.hpp"

namespace polscan::analysis {
namespace {

// A quiet 200 x 150 px map (0.5 um pixels): background retardance ~0.3 nm of noise, slow axes
// random, flat intensity.
RetardanceMap quietMap() {
  RetardanceMap m;
  const cv::Size size(200, 150);
  m.retardance_nm.create(size, CV_32F);
  m.slow_axis_deg.create(size, CV_32F);
  cv::RNG rng(5);
  rng.fill(m.retardance_nm, cv::RNG::UNIFORM, 0.0, 0.6);
  rng.fill(m.slow_axis_deg, cv::RNG::UNIFORM, 0.0, 180.0);
  m.intensity = cv::Mat(size, CV_32F, cv::Scalar(30000.0));
  m.saturated = cv::Mat::zeros(size, CV_8U);
  m.at_fold = cv::Mat::zeros(size, CV_8U);
  m.noise_floor_nm = 0.45;
  m.pixel_um = 0.5;
  return m;
}

// An envelope filling the box (x0, y0, w, h): peak_nm at the centre falling to half at the rim,
// the facet pair across the height at 55 %; one slow axis.
void paintEnvelope(RetardanceMap& m, const cv::Rect& box, double peak_nm, double axis_deg) {
  const double a = box.width / 2.0, b = box.height / 2.0;
  for (int r = box.y; r < box.br().y; ++r) {
    for (int c = box.x; c < box.br().x; ++c) {
      const double fu = std::abs(c + 0.5 - box.x - a) / a, fv = std::abs(r + 0.5 - box.y - b) / b;
      const double h = 1.0 - 0.5 * std::max(fu, fv);
      m.retardance_nm.at<float>(r, c) = static_cast<float>(peak_nm * h * (fu >= fv ? 1.0 : 0.55));
      m.slow_axis_deg.at<float>(r, c) = static_cast<float>(axis_deg);
    }
  }
}

TEST(Segmentation, EnvelopeFillingItsBoxIsNotCutIntoSlices) {
  // An envelope along the image axes: its bounding box is all crystal but for part of the top
  // row and the bottom-left corner (chips). Distances to the outline must count the box's edges as
  // outside; when only the chips were "outside", the far corners became separate peaks and the
  // watershed cut the crystal into slices, which its facets' different retardance made look
  // optically distinct.
  RetardanceMap m = quietMap();
  const cv::Rect box(60, 35, 70, 80);
  paintEnvelope(m, box, 36.0, 90.0);
  m.retardance_nm(cv::Rect(111, 35, 19, 1)).setTo(0.0f);
  m.retardance_nm.at<float>(114, 60) = 0.0f;
  const Segmentation seg = segment(m);
  ASSERT_EQ(seg.regions.size(), 1u);
  EXPECT_EQ(seg.regions[0].bbox, box);
  EXPECT_GT(seg.regions[0].area_px, box.area() * 9 / 10);
}

TEST(Segmentation, TwoEnvelopesTouchingAtACornerAreStillSplit) {
  // The split itself still works: two envelopes of different slow axes meeting at a narrow
  // contact are two regions.
  RetardanceMap m = quietMap();
  paintEnvelope(m, cv::Rect(30, 30, 50, 50), 30.0, 20.0);
  paintEnvelope(m, cv::Rect(76, 76, 50, 50), 30.0, 110.0);
  const Segmentation seg = segment(m);
  ASSERT_EQ(seg.regions.size(), 2u);
}

}  // namespace
}  // namespace polscan::analysis
