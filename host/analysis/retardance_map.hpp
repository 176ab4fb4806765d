// Per-pixel retardance, slow axis and intensity reconstructed from one polarizer-angle stack.
#pragma once

#include <opencv2/core.hpp>

namespace polscan::analysis {

struct RetardanceMap {
  cv::Mat retardance_nm;  // CV_32F, first-order retardance (see quarter_wave_nm)
  cv::Mat slow_axis_deg;  // CV_32F, [0, 180) (circular) or [0, 90) (crossed: known modulo 90)
  cv::Mat intensity;      // CV_32F, I0 (transmitted, mean level; flat-fielded when a blank is used)
  // CV_32F, per-pixel 1-sigma of retardance from the fit residual; empty unless requested
  // (ReconstructionOptions::per_pixel_uncertainty) or blank-corrected.
  cv::Mat uncertainty_nm;
  cv::Mat saturated;  // CV_8U, 255 where the pixel is saturated in any frame (fit not trusted)
  // CV_8U, 255 where sin(delta) is within a few percent of 1: the true retardance may lie anywhere
  // around the quarter-wave fold (a strong crystal), the reported value is only a lower bound.
  cv::Mat at_fold;
  double noise_floor_nm = 0.0;  // robust scale of the background retardance (median over the field)
  double pixel_um = 0.5;
  double wavelength_nm = 546.0;    // wavelength the retardance was computed for
  double quarter_wave_nm = 136.5;  // largest retardance a single-wavelength fit can report
  bool background_corrected = false;
  bool axis_modulo_90 = false;  // crossed train: the slow axis is only known modulo 90 deg
};

}  // namespace polscan::analysis
