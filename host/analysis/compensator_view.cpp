// Michel-Levy colours from a small spectral table, looked up per pixel for the compensator view.
#include "analysis/compensator_view.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <vector>

namespace polscan::analysis {

namespace {

constexpr int kTableMaxNm = 1600;  // covers plate + crystal up to well past second order

// Between crossed polarizers a retarder at 45 deg transmits sin^2(pi R / lambda). Integrating that
// over a white LED seen through Gaussian B/G/R camera responses gives the interference colour; one
// entry per nm of total retardance is enough for display.
const std::vector<cv::Vec3f>& michelLevyTable() {
  static const std::vector<cv::Vec3f> table = [] {
    constexpr std::array<double, 3> centre = {455.0, 540.0, 610.0};  // B, G, R
    constexpr std::array<double, 3> sigma = {28.0, 32.0, 30.0};
    std::vector<cv::Vec3f> t(kTableMaxNm + 1);
    for (int r = 0; r <= kTableMaxNm; ++r) {
      for (int ch = 0; ch < 3; ++ch) {
        double num = 0.0, den = 0.0;
        for (double lambda = 400.0; lambda <= 700.0; lambda += 5.0) {
          const double z = (lambda - centre[ch]) / sigma[ch];
          const double w = std::exp(-0.5 * z * z);
          const double s = std::sin(std::numbers::pi * r / lambda);
          num += w * s * s;
          den += w;
        }
        t[r][ch] = static_cast<float>(num / den);
      }
    }
    return t;
  }();
  return table;
}

cv::Vec3b colourFor(double total_nm, double gain) {
  const auto& t = michelLevyTable();
  const int i = std::clamp(static_cast<int>(std::lround(total_nm)), 0, kTableMaxNm);
  const cv::Vec3f& c = t[i];
  return cv::Vec3b(cv::saturate_cast<std::uint8_t>(255.0 * gain * c[0]),
                   cv::saturate_cast<std::uint8_t>(255.0 * gain * c[1]),
                   cv::saturate_cast<std::uint8_t>(255.0 * gain * c[2]));
}

double totalRetardance(double retardance_nm, double slow_axis_deg, const CompensatorOptions& o) {
  const double a = 2.0 * (slow_axis_deg - o.plate_axis_deg) * std::numbers::pi / 180.0;
  return o.plate_nm + retardance_nm * std::cos(a);
}

}  // namespace

cv::Vec3b compensatorColour(double retardance_nm, double slow_axis_deg,
                            const CompensatorOptions& options) {
  return colourFor(totalRetardance(retardance_nm, slow_axis_deg, options), 1.0);
}

cv::Mat compensatorView(const RetardanceMap& map, const CompensatorOptions& options) {
  cv::Mat out(map.retardance_nm.size(), CV_8UC3);
  double ref = 1.0;
  if (options.modulate_by_intensity) {
    ref = cv::mean(map.intensity)[0];
    if (!(ref > 0)) ref = 1.0;
  }
  for (int r = 0; r < out.rows; ++r) {
    const float* ret = map.retardance_nm.ptr<float>(r);
    const float* ax = map.slow_axis_deg.ptr<float>(r);
    const float* in = map.intensity.ptr<float>(r);
    cv::Vec3b* o = out.ptr<cv::Vec3b>(r);
    for (int c = 0; c < out.cols; ++c) {
      const double gain = options.modulate_by_intensity ? std::clamp(in[c] / ref, 0.0, 1.5) : 1.0;
      o[c] = colourFor(totalRetardance(ret[c], ax[c], options), gain);
    }
  }
  return out;
}

}  // namespace polscan::analysis
