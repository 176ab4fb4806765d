// Renders camera frames of a virtual slide through the configured optical train.
#pragma once

#include <array>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <vector>

#include <opencv2/core.hpp>

#include "hardware/twin/optics.hpp"
#include "hardware/twin/slide.hpp"

namespace polscan::twin {

struct FieldRequest {
  double stage_x_um = 0, stage_y_um = 0, z_um = 0;
  double polarizer_deg = 0;
  int width_px = 1024, height_px = 768;
  double pixel_um = 0.4;
  double exposure_us = 10000;
  std::uint64_t frame_seed = 0;  // noise, LED drift and polarizer wobble of this frame
};

// The sample over one field at one focus, as the SampleMueller quantities per pixel (anti-aliased
// coverage and defocus blur included). Everything the angle does not change is here, so a stack
// costs one rasterisation plus a cheap pass per angle.
struct FieldMaps {
  int width = 0, height = 0;
  // maps[w][k]: wavelength w, quantity k in (t, m1, m2, q0, q1, q2), CV_32FC1; left empty
  // when the optical train never uses that quantity.
  std::vector<std::array<cv::Mat, 6>> maps;
};

class FieldRenderer {
 public:
  FieldRenderer(const Slide& slide, OpticsConfig optics);

  // CV_16UC1 for one wavelength, CV_16UC3 (B, G, R) for three; values in [0, 2^bit_depth - 1].
  // Identical slide and request give identical images. Thread-safe.
  cv::Mat render(const FieldRequest& request) const;

  const OpticsConfig& optics() const { return optics_; }
  const Slide& slide() const { return slide_; }

  // The maps of the request's field, from a small cache keyed by stage position, size and z.
  std::shared_ptr<const FieldMaps> fieldMaps(const FieldRequest& request) const;
  // Rasterises without the cache (benchmarks, tests).
  FieldMaps rasterise(const FieldRequest& request) const;

 private:
  struct CacheKey {
    double x, y, z, pixel;
    int w, h;
    bool operator==(const CacheKey&) const = default;
  };

  Slide slide_;
  OpticsConfig optics_;
  std::vector<std::array<bool, 6>> used_;  // per wavelength: quantities the train needs

  mutable std::mutex mutex_;
  mutable std::list<std::pair<CacheKey, std::shared_ptr<const FieldMaps>>> cache_;
};

}  // namespace polscan::twin
