// Per-pixel retardance, slow axis and intensity reconstructed from one polarizer-angle stack.
#pragma once

#include <vector>

#include <opencv2/core.hpp>

namespace polscan::analysis {

// A frame of the stack that holds saturated pixels (RetardanceMap::saturated_frames).
struct SaturatedFrame {
  int frame = 0;
  double angle_deg = 0.0;
  int pixels = 0;
};

struct RetardanceMap {
  // CV_32F. Mono: first order (see quarter_wave_nm). RGB: up to max_retardance_nm.
  cv::Mat retardance_nm;
  cv::Mat slow_axis_deg;  // CV_32F, [0, 180) (circular) or [0, 90) (crossed: known modulo 90)
  cv::Mat intensity;      // CV_32F, I0 (transmitted, mean level; flat-fielded when a blank is used)
  // CV_32F, per-pixel 1-sigma of retardance from the fit residual; empty unless requested
  // (ReconstructionOptions::per_pixel_uncertainty) or blank-corrected.
  cv::Mat uncertainty_nm;
  cv::Mat saturated;  // CV_8U, 255 where the pixel is saturated in any frame (fit not trusted)
  // CV_8U, 255 where sin(delta) is within a few percent of 1: the true retardance may lie anywhere
  // around the quarter-wave fold (a strong crystal), the reported value is only a lower bound.
  // RGB stacks: the same pixels as `ambiguous` (the channels do not settle the retardance).
  cv::Mat at_fold;
  // CV_8U, 255 where the retardance is not determined: RGB, a rival retardance fits the three
  // channels almost as well (or none fits); fixed-analyser, the slow axis lies near the polarizer
  // or analyser axis where the train is blind. Empty for the circular mono and crossed trains.
  cv::Mat ambiguous;
  // Frames with saturated pixels (index, angle, count); filled only when `saturated` has any.
  std::vector<SaturatedFrame> saturated_frames;
  double noise_floor_nm = 0.0;  // robust scale of the background retardance (median over the field)
  double pixel_um = 0.5;
  double wavelength_nm = 546.0;      // wavelength the retardance was computed for
  double quarter_wave_nm = 136.5;    // quarter wave at wavelength_nm (green for RGB): the mono fold
  double max_retardance_nm = 136.5;  // largest retardance the fit can report (RGB: search range)
  int channels = 1;                  // 3 for RGB stacks
  bool background_corrected = false;
  // Crossed and fixed-analyser trains: the slow axis is only known modulo 90 deg (reported in
  // [0, 90)); no sign of elongation without a compensator or a circular analyser.
  bool axis_modulo_90 = false;
};

}  // namespace polscan::analysis
