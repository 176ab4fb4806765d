// Twin frames for camera tests: a small field with one birefringent crystal at given angles.
#pragma once

#include <vector>

#include <opencv2/core.hpp>

#include "hardware/twin/field_renderer.hpp"
#include "hardware/twin/slide.hpp"

namespace polscan::camtest {

// 12-bit mono frames (CV_16UC1) of one crystal, rendered at each polarizer angle.
inline std::vector<cv::Mat> twinFrames(const std::vector<double>& angles_deg, int w = 96,
                                       int h = 64) {
  twin::Slide slide;
  slide.seed = 11;
  slide.sample = "camera-test";
  twin::CrystalSpec c;
  c.shape = twin::Shape::Rod;
  c.length_um = 14;
  c.width_um = 5;
  c.long_axis_deg = 30;
  c.slow_axis_deg = 30;
  c.thickness_um = 1;
  c.birefringence = 0.05;
  slide.objects.push_back(c);
  twin::OpticsConfig optics;
  optics.vignetting = 0;
  twin::FieldRenderer renderer(slide, optics);
  std::vector<cv::Mat> frames;
  for (std::size_t i = 0; i < angles_deg.size(); ++i) {
    twin::FieldRequest r;
    r.width_px = w;
    r.height_px = h;
    r.pixel_um = 0.4;
    r.polarizer_deg = angles_deg[i];
    r.frame_seed = i;
    frames.push_back(renderer.render(r));
  }
  return frames;
}

// 8-bit version (what a UVC camera delivers): the 12-bit counts shifted down by 4 bits.
inline cv::Mat to8bit(const cv::Mat& frame16) {
  cv::Mat out;
  frame16.convertTo(out, CV_8U, 1.0 / 16.0);
  return out;
}

}  // namespace polscan::camtest
