// Michel-Levy colours as the eye sees them: a per-nm table of sRGB colours, looked up per pixel.
#include "analysis/compensator_view.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <vector>

namespace polscan::analysis {

namespace {

constexpr int kTableMaxNm = 1600;  // covers plate + crystal up to well past second order

// CIE 1931 2-degree colour-matching functions as sums of piecewise Gaussians (Wyman, Sloan and
// Shirley, JCGT 2(2), 2013: "multi-lobe" fit, within a few percent of the tabulated functions).
double lobe(double lambda, double mu, double sigma_below, double sigma_above) {
  const double z = (lambda - mu) / (lambda < mu ? sigma_below : sigma_above);
  return std::exp(-0.5 * z * z);
}
cv::Vec3d cieXyz(double lambda) {
  return {1.056 * lobe(lambda, 599.8, 37.9, 31.0) + 0.362 * lobe(lambda, 442.0, 16.0, 26.7) -
              0.065 * lobe(lambda, 501.1, 20.4, 26.2),
          0.821 * lobe(lambda, 568.8, 46.9, 40.5) + 0.286 * lobe(lambda, 530.9, 16.3, 31.1),
          1.217 * lobe(lambda, 437.0, 11.8, 36.0) + 0.681 * lobe(lambda, 459.0, 26.0, 13.8)};
}
// XYZ to linear sRGB (IEC 61966-2-1), as B, G, R.
cv::Vec3d linearBgr(const cv::Vec3d& xyz) {
  const double r = 3.2406 * xyz[0] - 1.5372 * xyz[1] - 0.4986 * xyz[2];
  const double g = -0.9689 * xyz[0] + 1.8758 * xyz[1] + 0.0415 * xyz[2];
  const double b = 0.0557 * xyz[0] - 0.2040 * xyz[1] + 1.0570 * xyz[2];
  return {b, g, r};
}

// Between crossed polarizers a retarder at 45 deg transmits sin^2(pi R / lambda) of a white
// (equal-energy) light. Its colour: the transmitted spectrum through the eye's colour-matching
// functions, in linear sRGB scaled so the lamp seen through parallel polarizers (all of it) is
// white. Out-of-gamut negatives clip to 0.
const std::vector<cv::Vec3f>& michelLevyTable() {
  static const std::vector<cv::Vec3f> table = [] {
    cv::Vec3d white(0, 0, 0);
    for (double lambda = 380.0; lambda <= 780.0; lambda += 2.0) white += linearBgr(cieXyz(lambda));
    std::vector<cv::Vec3f> t(kTableMaxNm + 1);
    for (int r = 0; r <= kTableMaxNm; ++r) {
      cv::Vec3d sum(0, 0, 0);
      for (double lambda = 380.0; lambda <= 780.0; lambda += 2.0) {
        const double s = std::sin(std::numbers::pi * r / lambda);
        sum += s * s * linearBgr(cieXyz(lambda));
      }
      for (int ch = 0; ch < 3; ++ch)
        t[r][ch] = static_cast<float>(std::max(0.0, sum[ch] / white[ch]));
    }
    return t;
  }();
  return table;
}

// Linear [0, 1] to 8-bit sRGB (the display's transfer curve), 4096 steps.
constexpr int kEncodeSteps = 4096;
const std::array<std::uint8_t, kEncodeSteps + 1>& srgbEncode() {
  static const auto lut = [] {
    std::array<std::uint8_t, kEncodeSteps + 1> e{};
    for (int i = 0; i <= kEncodeSteps; ++i) {
      const double c = static_cast<double>(i) / kEncodeSteps;
      const double v = c <= 0.0031308 ? 12.92 * c : 1.055 * std::pow(c, 1.0 / 2.4) - 0.055;
      e[i] = cv::saturate_cast<std::uint8_t>(255.0 * v);
    }
    return e;
  }();
  return lut;
}

cv::Vec3b colourFor(double total_nm, double gain) {
  const auto& t = michelLevyTable();
  const auto& encode = srgbEncode();
  const int i = std::clamp(static_cast<int>(std::lround(total_nm)), 0, kTableMaxNm);
  cv::Vec3b out;
  for (int ch = 0; ch < 3; ++ch) {
    const double linear = std::clamp(gain * t[i][ch], 0.0, 1.0);
    out[ch] = encode[static_cast<std::size_t>(std::lround(linear * kEncodeSteps))];
  }
  return out;
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
