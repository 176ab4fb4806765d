// Crystal crops: the compensator view as the eye would see it, retardance scaled per crystal.
#include "io/crystal_gallery.hpp"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

namespace polscan {

namespace {
cv::Mat cropPadded(const cv::Mat& img, const cv::Rect& want) {
  cv::Mat out(want.size(), img.type(), cv::Scalar::all(0));
  const cv::Rect inside = want & cv::Rect(0, 0, img.cols, img.rows);
  if (inside.area() > 0) img(inside).copyTo(out(inside - want.tl()));
  return out;
}
}  // namespace

CrystalImages cropCrystal(const analysis::RetardanceMap& map, const cv::Mat& compensator,
                          double cx_px, double cy_px, double length_um, double retardance_nm) {
  const double px = map.pixel_um > 0 ? map.pixel_um : 1.0;
  const int side =
      std::clamp(static_cast<int>(std::ceil(1.5 * length_um / px)) + 16, kMinCropPx, kMaxCropPx);
  const cv::Rect box(static_cast<int>(std::lround(cx_px)) - side / 2,
                     static_cast<int>(std::lround(cy_px)) - side / 2, side, side);
  CrystalImages out;
  out.compensator = cropPadded(compensator, box);
  const double quarter_wave = map.quarter_wave_nm > 0 ? map.quarter_wave_nm : 136.5;
  out.retardance_scale_nm = std::clamp(2.0 * retardance_nm, kMinScaleNm, quarter_wave);
  cv::Mat r8;
  cropPadded(map.retardance_nm, box).convertTo(r8, CV_8U, 255.0 / out.retardance_scale_nm);
  cv::applyColorMap(r8, out.retardance, cv::COLORMAP_INFERNO);
  return out;
}

}  // namespace polscan
