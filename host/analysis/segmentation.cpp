// Noise-adaptive thresholding, clean-up, connected components and optional watershed splitting.
#include "analysis/segmentation.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include <opencv2/imgproc.hpp>

namespace polscan::analysis {

namespace {

bool touchesBorder(const cv::Rect& r, const cv::Size& s) {
  return r.x == 0 || r.y == 0 || r.x + r.width == s.width || r.y + r.height == s.height;
}

// Local I0 background as block medians upsampled bilinearly: medians ignore particles smaller than
// half a block, and the coarse grid keeps this cheap at 2048x2048 (unlike a large median blur).
cv::Mat localBackground(const cv::Mat& intensity, int block) {
  const int gy = std::max(1, (intensity.rows + block - 1) / block);
  const int gx = std::max(1, (intensity.cols + block - 1) / block);
  cv::Mat grid(gy, gx, CV_32F);
  std::vector<float> v;
  for (int by = 0; by < gy; ++by) {
    for (int bx = 0; bx < gx; ++bx) {
      v.clear();
      const int r1 = std::min(intensity.rows, (by + 1) * block);
      const int c1 = std::min(intensity.cols, (bx + 1) * block);
      for (int r = by * block; r < r1; r += 2) {
        const float* p = intensity.ptr<float>(r);
        for (int c = bx * block; c < c1; c += 2) v.push_back(p[c]);
      }
      auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
      std::nth_element(v.begin(), mid, v.end());
      grid.at<float>(by, bx) = *mid;
    }
  }
  cv::Mat bg;
  cv::resize(grid, bg, intensity.size(), 0, 0, cv::INTER_LINEAR);
  return bg;
}

// Splits components whose distance transform has several well-separated maxima (two crystals
// touching at a narrow contact). Cheap: runs only on the component's bounding box.
std::vector<cv::Mat> splitComponent(const cv::Mat& mask) {
  cv::Mat dist;
  cv::distanceTransform(mask, dist, cv::DIST_L2, 3);
  double maxd;
  cv::minMaxLoc(dist, nullptr, &maxd);
  if (maxd < 2.0) return {mask};  // thin needles and small crystals: nothing sensible to split
  cv::Mat peaks = dist > 0.7 * maxd;
  cv::Mat markers;
  const int n = cv::connectedComponents(peaks, markers, 8, CV_32S);
  if (n <= 2) return {mask};
  // Watershed needs a 3-channel image; the inverted distance map makes each peak a basin.
  cv::Mat relief;
  dist.convertTo(relief, CV_8U, -255.0 / maxd, 255.0);
  cv::Mat relief3;
  cv::cvtColor(relief, relief3, cv::COLOR_GRAY2BGR);
  markers.setTo(n, mask == 0);  // background marker keeps the flood inside the component
  cv::watershed(relief3, markers);
  std::vector<cv::Mat> parts;
  for (int i = 1; i < n; ++i) {
    cv::Mat part = (markers == i) & mask;
    if (cv::countNonZero(part) > 0) parts.push_back(part);
  }
  return parts.empty() ? std::vector<cv::Mat>{mask} : parts;
}

// Mean slow axis (deg, axial) and mean retardance of a part, for the split decision.
std::pair<double, double> partOptics(const RetardanceMap& map, const cv::Rect& box,
                                     const cv::Mat& part) {
  double c2 = 0.0, s2 = 0.0, sum = 0.0;
  int n = 0;
  for (int r = 0; r < part.rows; ++r) {
    const std::uint8_t* m = part.ptr<std::uint8_t>(r);
    const float* ret = map.retardance_nm.ptr<float>(box.y + r) + box.x;
    const float* ax = map.slow_axis_deg.ptr<float>(box.y + r) + box.x;
    for (int c = 0; c < part.cols; ++c) {
      if (m[c] == 0) continue;
      const double a = 2.0 * ax[c] * CV_PI / 180.0;
      c2 += ret[c] * std::cos(a);
      s2 += ret[c] * std::sin(a);
      sum += ret[c];
      ++n;
    }
  }
  double axis = 0.5 * std::atan2(s2, c2) * 180.0 / CV_PI;
  if (axis < 0) axis += 180.0;
  return {axis, n > 0 ? sum / n : 0.0};
}

// A geometric split is kept only when the parts are optically distinct: a CaOx dumbbell has a
// waist too, but one crystal keeps one slow axis and one retardance across it.
bool opticallyDistinct(const RetardanceMap& map, const cv::Rect& box,
                       const std::vector<cv::Mat>& parts) {
  std::vector<std::pair<double, double>> optics;
  for (const cv::Mat& p : parts) optics.push_back(partOptics(map, box, p));
  for (std::size_t i = 0; i < optics.size(); ++i) {
    for (std::size_t j = i + 1; j < optics.size(); ++j) {
      double d = std::abs(optics[i].first - optics[j].first);
      d = std::min(d, 180.0 - d);
      const double lo = std::min(optics[i].second, optics[j].second);
      const double hi = std::max(optics[i].second, optics[j].second);
      if (d > 20.0 || hi > 1.5 * std::max(lo, 1e-6)) return true;
    }
  }
  return false;
}

void collect(const RetardanceMap& map, const cv::Mat& mask, const cv::Mat& seed_ok,
             bool birefringent, double min_px, bool split, std::vector<Region>& out) {
  cv::Mat labels, stats, centroids;
  const int n = cv::connectedComponentsWithStats(mask, labels, stats, centroids, 8, CV_32S);
  for (int i = 1; i < n; ++i) {
    const cv::Rect box(stats.at<int>(i, cv::CC_STAT_LEFT), stats.at<int>(i, cv::CC_STAT_TOP),
                       stats.at<int>(i, cv::CC_STAT_WIDTH), stats.at<int>(i, cv::CC_STAT_HEIGHT));
    if (std::max(box.width, box.height) < min_px) continue;
    cv::Mat roi = labels(box) == i;
    if (!seed_ok.empty() && cv::countNonZero(seed_ok(box) & roi) == 0) continue;
    std::vector<cv::Mat> parts{roi};
    if (split) {
      std::vector<cv::Mat> pieces = splitComponent(roi);
      if (pieces.size() > 1 && opticallyDistinct(map, box, pieces)) parts = std::move(pieces);
    }
    for (cv::Mat& p : parts) {
      const cv::Rect inner = cv::boundingRect(p);
      if (std::max(inner.width, inner.height) < min_px) continue;
      Region reg;
      reg.bbox = inner + box.tl();
      reg.mask = p(inner).clone();
      reg.area_px = cv::countNonZero(reg.mask);
      reg.touches_border = touchesBorder(reg.bbox, mask.size());
      reg.birefringent = birefringent;
      out.push_back(std::move(reg));
    }
  }
}

}  // namespace

Segmentation segment(const RetardanceMap& map, const SegmentationOptions& options) {
  Segmentation seg;
  const double min_px = options.min_size_um / map.pixel_um;
  seg.threshold_nm = std::max(options.k_noise * map.noise_floor_nm, options.min_threshold_nm);
  cv::Mat mask = map.retardance_nm > seg.threshold_nm;
  // Only a closing: an opening would erase MSU needles one or two pixels wide. Isolated noise
  // pixels are removed by the seed (hysteresis) test and the minimum size instead.
  const cv::Mat cross = cv::getStructuringElement(cv::MORPH_CROSS, cv::Size(3, 3));
  cv::morphologyEx(mask, mask, cv::MORPH_CLOSE, cross);
  const cv::Mat seeds = map.retardance_nm > seg.threshold_nm * options.seed_factor;
  collect(map, mask, seeds, true, min_px, options.split_touching, seg.regions);

  if (options.detect_non_birefringent && !map.axis_modulo_90) {
    // The crossed train has no per-pixel I0, hence no absorption path there.
    const cv::Mat bg = localBackground(map.intensity, options.background_block_px);
    cv::Mat contrast;
    cv::divide(map.intensity, cv::max(bg, 1e-3), contrast);
    contrast -= 1.0;
    // Contrast noise from a robust spread of the field (most pixels are background).
    const double sigma = estimateContrastNoise(contrast);
    seg.contrast_threshold = std::max(options.min_absorption_contrast, 5.0 * sigma);
    cv::Mat blob = cv::abs(contrast) > seg.contrast_threshold;
    // Scatter halos around birefringent crystals are not separate particles.
    cv::Mat biref;
    cv::dilate(mask, biref, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(7, 7)));
    blob.setTo(0, biref);
    blob.setTo(0, map.saturated);
    cv::morphologyEx(blob, blob, cv::MORPH_OPEN, cross);
    collect(map, blob, cv::Mat(), false, min_px, false, seg.regions);
  }
  return seg;
}

double estimateContrastNoise(const cv::Mat& contrast) {
  const int step = std::max(1, std::min(contrast.rows, contrast.cols) / 128);
  std::vector<float> v;
  for (int r = 0; r < contrast.rows; r += step) {
    const float* p = contrast.ptr<float>(r);
    for (int c = 0; c < contrast.cols; c += step) v.push_back(std::fabs(p[c]));
  }
  if (v.empty()) return 0.0;
  auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return 1.4826 * static_cast<double>(*mid);  // MAD about 0 (contrast is centred by construction)
}

}  // namespace polscan::analysis
