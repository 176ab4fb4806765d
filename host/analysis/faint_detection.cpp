// Background noise of the retardance vector field and the integrated (matched-filter) test.
#include "analysis/faint_detection.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include <opencv2/imgproc.hpp>

namespace polscan::analysis {

namespace {

constexpr double kFaintRadPerDeg = CV_PI / 180.0;
constexpr double kFaintMadToSigma = 1.4826;  // MAD of a Gaussian -> its sigma
constexpr int kFaintGridSamples = 96;        // sample blocks per field side
constexpr double kFaintBackgroundSigmas = 4.0;

struct NoiseVec {
  double x = 0.0, y = 0.0;
};

NoiseVec noiseVectorAt(const RetardanceMap& map, int r, int c) {
  const double ret = map.retardance_nm.at<float>(r, c);
  const double a = 2.0 * map.slow_axis_deg.at<float>(r, c) * kFaintRadPerDeg;
  return {ret * std::cos(a), ret * std::sin(a)};
}

bool noiseUsable(const RetardanceMap& map, int r, int c) {
  if (!map.saturated.empty() && map.saturated.at<std::uint8_t>(r, c) != 0) return false;
  return std::isfinite(map.retardance_nm.at<float>(r, c)) &&
         std::isfinite(map.slow_axis_deg.at<float>(r, c));
}

double noiseMedian(std::vector<double> v) {
  auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

double noiseMadSigma(const std::vector<double>& v, double centre) {
  std::vector<double> d(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) d[i] = std::abs(v[i] - centre);
  return kFaintMadToSigma * noiseMedian(std::move(d));
}

}  // namespace

BackgroundNoise measureBackgroundNoise(const RetardanceMap& map) {
  BackgroundNoise noise;
  const int rows = map.retardance_nm.rows, cols = map.retardance_nm.cols;
  if (rows < 2 || cols < 2 || map.axis_modulo_90) return noise;
  const int step = std::max(2, std::min(rows, cols) / kFaintGridSamples);
  // Each sample is a 2 x 2 block: (0,0) (0,1) (1,0) (1,1).
  std::vector<std::array<NoiseVec, 4>> blocks;
  std::vector<double> xs, ys;
  for (int r = 0; r + 1 < rows; r += step) {
    for (int c = 0; c + 1 < cols; c += step) {
      if (!noiseUsable(map, r, c) || !noiseUsable(map, r, c + 1) || !noiseUsable(map, r + 1, c) ||
          !noiseUsable(map, r + 1, c + 1)) {
        continue;
      }
      blocks.push_back({noiseVectorAt(map, r, c), noiseVectorAt(map, r, c + 1),
                        noiseVectorAt(map, r + 1, c), noiseVectorAt(map, r + 1, c + 1)});
      for (const NoiseVec& v : blocks.back()) {
        xs.push_back(v.x);
        ys.push_back(v.y);
      }
    }
  }
  if (blocks.size() < 64) return noise;
  noise.offset_x_nm = noiseMedian(xs);
  noise.offset_y_nm = noiseMedian(ys);
  const double sx = noiseMadSigma(xs, noise.offset_x_nm), sy = noiseMadSigma(ys, noise.offset_y_nm);
  noise.sigma_nm = std::sqrt(0.5 * (sx * sx + sy * sy));
  if (!(noise.sigma_nm > 0.0)) return noise;
  // Neighbour correlations over blocks that are background throughout.
  const double lim2 = std::pow(kFaintBackgroundSigmas * noise.sigma_nm, 2);
  double var = 0.0, horizontal = 0.0, vertical = 0.0, diagonal = 0.0;
  int n = 0;
  for (const auto& b : blocks) {
    std::array<NoiseVec, 4> d;
    bool background = true;
    for (int k = 0; k < 4; ++k) {
      d[k] = {b[k].x - noise.offset_x_nm, b[k].y - noise.offset_y_nm};
      background = background && d[k].x * d[k].x + d[k].y * d[k].y <= lim2;
    }
    if (!background) continue;
    auto dot = [&](int i, int j) { return d[i].x * d[j].x + d[i].y * d[j].y; };
    var += dot(0, 0) + dot(1, 1) + dot(2, 2) + dot(3, 3);
    horizontal += dot(0, 1) + dot(2, 3);
    vertical += dot(0, 2) + dot(1, 3);
    diagonal += dot(0, 3) + dot(1, 2);
    ++n;
  }
  if (n < 64 || !(var > 0.0)) return noise;
  // var holds 4 pixels per block, each pair sum 2 pairs per block: rho = 2 * pairs / var.
  const double rho_h = 2.0 * horizontal / var, rho_v = 2.0 * vertical / var;
  const double rho_d = 2.0 * diagonal / var;  // both diagonals, averaged
  // Interior pixel of a compact region: itself plus 2 horizontal, 2 vertical, 4 diagonal
  // neighbours. Negative correlation is not trusted to shrink the bound.
  noise.variance_inflation = std::max(1.0, 1.0 + 2.0 * rho_h + 2.0 * rho_v + 4.0 * rho_d);
  noise.valid = true;
  return noise;
}

double integratedContrastToNoise(const RetardanceMap& map, const cv::Rect& box, const cv::Mat& mask,
                                 double threshold_nm, const BackgroundNoise& noise) {
  if (!noise.valid) return 0.0;
  const cv::Rect image(0, 0, map.retardance_nm.cols, map.retardance_nm.rows);
  const cv::Rect outer = (box - cv::Point(1, 1) + cv::Size(2, 2)) & image;
  cv::Mat core = cv::Mat::zeros(outer.size(), CV_8U);
  mask.copyTo(core(box - outer.tl()));
  cv::Mat support;
  cv::dilate(core, support, cv::getStructuringElement(cv::MORPH_RECT, cv::Size(3, 3)));
  double sx = 0.0, sy = 0.0;
  int n_core = 0, n_ring = 0;
  for (int r = 0; r < outer.height; ++r) {
    const std::uint8_t* in = core.ptr<std::uint8_t>(r);
    const std::uint8_t* sup = support.ptr<std::uint8_t>(r);
    for (int c = 0; c < outer.width; ++c) {
      if (sup[c] == 0 || !noiseUsable(map, outer.y + r, outer.x + c)) continue;
      const NoiseVec v = noiseVectorAt(map, outer.y + r, outer.x + c);
      sx += v.x - noise.offset_x_nm;
      sy += v.y - noise.offset_y_nm;
      if (in[c] != 0) {
        ++n_core;
      } else {
        ++n_ring;
      }
    }
  }
  const double s2 = noise.sigma_nm * noise.sigma_nm;
  const double t = threshold_nm + std::hypot(noise.offset_x_nm, noise.offset_y_nm);
  // Per-component variance: a selected pixel (t^2 + 2 s2) / 2, a ring pixel s2.
  const double var = noise.variance_inflation * (n_core * 0.5 * (t * t + 2.0 * s2) + n_ring * s2);
  return var > 0.0 ? std::hypot(sx, sy) / std::sqrt(var) : 0.0;
}

double integratedDetectionLevel(int candidates, double false_alarms_per_field) {
  const double m = std::max(1, candidates);
  return std::sqrt(2.0 * std::log(m / false_alarms_per_field));
}

}  // namespace polscan::analysis
