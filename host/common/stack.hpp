// An image stack over polarizer angles: what acquisition produces and analysis consumes.
#pragma once

#include <filesystem>
#include <optional>
#include <vector>

#include <opencv2/core.hpp>

#include "common/optical_train.hpp"

namespace polscan {

// Stage position of the field's centre, slide coordinates in micrometres (x right, y up).
struct StagePosition {
  double x_um = 0.0;
  double y_um = 0.0;
  double z_um = 0.0;
};

struct Stack {
  // One frame per angle, all the same size and type: CV_16UC1 (mono) or CV_16UC3 (B, G, R).
  std::vector<cv::Mat> frames;
  // Polarizer angle of each frame in degrees (the measured angle where known), CCW from +x.
  std::vector<double> angles_deg;
  OpticalTrain train = OpticalTrain::Circular;
  // One wavelength for mono stacks; three (R, G, B order) for RGB stacks.
  std::vector<double> wavelengths_nm{546.0};
  double pixel_um = 0.5;                       // sample-plane pixel size
  double exposure_us = 0.0;                    // per frame
  int bit_depth = 16;                          // significant bits in each 16-bit sample
  std::optional<StagePosition> stage;          // absent: the field is taken to sit at (0, 0)
  std::optional<std::filesystem::path> blank;  // blank stack folder for background correction
  // The instrument calibration (calibration.json) the stack was acquired with; the analysis
  // applies it (dark, polarizer offset, its blank when the stack names none, pixel size).
  std::optional<std::filesystem::path> calibration;
};

}  // namespace polscan
