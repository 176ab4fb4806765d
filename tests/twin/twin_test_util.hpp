// Helpers shared by the twin's tests: noise-free optics, one-object slides, fits and masks.
#pragma once

#include <cmath>
#include <numbers>
#include <vector>

#include <opencv2/core.hpp>

#include "hardware/twin/field_renderer.hpp"
#include "hardware/twin/slide.hpp"

namespace polscan::twin::testing {

constexpr double kDeg = std::numbers::pi / 180.0;

// Ideal camera: no noise, no flat-field falloff, 16 bits so quantisation is negligible.
inline OpticsConfig idealOptics(polscan::OpticalTrain train) {
  OpticsConfig o;
  o.train = train;
  o.shot_noise = false;
  o.read_noise_e = 0;
  o.bit_depth = 16;
  o.vignetting = 0;
  return o;
}

inline Slide slideWith(std::vector<CrystalSpec> objects) {
  Slide s;
  s.seed = 7;
  s.sample = "test";
  s.objects = std::move(objects);
  return s;
}

// DN of I0 (the polarised light leaving the polarizer) for an ideal camera.
inline double i0Dn(const OpticsConfig& o) {
  return o.led_level * o.full_well_e * (std::ldexp(1.0, o.bit_depth) - 1.0) / o.full_well_e;
}

inline double mean16(const cv::Mat& img, int channel = 0) {
  return cv::mean(img)[channel];
}

// Pixels of a field that fall inside the object's oriented box scaled by `scale` (+ pad_um).
inline cv::Mat objectMask(const CrystalSpec& o, const FieldRequest& req, double scale,
                          double pad_um = 0.0) {
  cv::Mat mask(req.height_px, req.width_px, CV_8U, cv::Scalar(0));
  const double ca = std::cos(o.long_axis_deg * kDeg), sa = std::sin(o.long_axis_deg * kDeg);
  for (int r = 0; r < req.height_px; ++r) {
    for (int c = 0; c < req.width_px; ++c) {
      const double x = req.stage_x_um + (c - (req.width_px - 1) / 2.0) * req.pixel_um;
      const double y = req.stage_y_um - (r - (req.height_px - 1) / 2.0) * req.pixel_um;
      const double dx = x - o.x_um, dy = y - o.y_um;
      const double u = dx * ca + dy * sa, v = -dx * sa + dy * ca;
      if (std::abs(u) <= scale * o.length_um / 2 + pad_um &&
          std::abs(v) <= scale * o.width_um / 2 + pad_um) {
        mask.at<std::uint8_t>(r, c) = 1;
      }
    }
  }
  return mask;
}

// Slow axis from a circular-train stack over equally spaced angles: the 2-theta harmonic of
// I = I0/2 (1 + sin(d) sin(2(theta - phi))) summed over the masked pixels.
inline double fitSlowAxisDeg(const std::vector<cv::Mat>& frames, const std::vector<double>& angles,
                             const cv::Mat& mask, double* amplitude = nullptr) {
  double a = 0, b = 0;
  int n = 0;
  for (int r = 0; r < mask.rows; ++r) {
    for (int c = 0; c < mask.cols; ++c) {
      if (!mask.at<std::uint8_t>(r, c)) continue;
      double ca = 0, sb = 0;
      for (std::size_t i = 0; i < frames.size(); ++i) {
        const double v = frames[i].at<std::uint16_t>(r, c);
        ca += v * std::cos(2 * angles[i] * kDeg);
        sb += v * std::sin(2 * angles[i] * kDeg);
      }
      a += 2.0 * ca / frames.size();
      b += 2.0 * sb / frames.size();
      ++n;
    }
  }
  if (amplitude) *amplitude = n ? std::hypot(a, b) / n : 0.0;
  double phi = 0.5 * std::atan2(-a, b) / kDeg;
  if (phi < 0) phi += 180;
  return phi;
}

inline double axisDiffDeg(double a, double b) {
  double d = std::fmod(std::abs(a - b), 180.0);
  return std::min(d, 180.0 - d);
}

}  // namespace polscan::twin::testing
