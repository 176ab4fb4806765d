// Retardance and slow-axis reconstruction from a polarizer-angle stack (optionally
// blank-corrected).
#pragma once

#include <string>

#include "analysis/retardance_map.hpp"
#include "analysis/wavelength_unwrap.hpp"
#include "common/stack.hpp"

namespace polscan::analysis {

struct ReconstructionOptions {
  // Crossed train only: the open (parallel-polarizer) intensity I0 in counts. Crossed polarizers
  // measure I0 * sin^2(delta/2) and cannot separate the two factors, so it must come from a
  // calibration; 0 means unknown and makes a crossed stack an error.
  double crossed_reference_i0 = 0.0;
  // sin(delta) at or above which a pixel is flagged at the quarter-wave fold
  // (RetardanceMap::at_fold).
  double fold_sin_delta = 0.98;
  // Fill RetardanceMap::uncertainty_nm (per-pixel 1-sigma from the fit residual). Off by default:
  // the analysis does not use it and it costs ~20 % of the reconstruction (a fifth of the bytes
  // written); left empty then (a blank-corrected map always carries it).
  bool per_pixel_uncertainty = false;
  // Flat-field: a frame of the empty field (CV_16U or CV_32F, the stack's size and channel count,
  // or one channel for RGB) or a gain map; only its shape matters (divided by its mean per
  // channel). The intensity is divided by it and, in the crossed train, the reference I0 is
  // multiplied by it per pixel. Empty: none (a blank stack flat-fields on its own).
  cv::Mat flat_field;
  // RGB stacks: the retardance search (range, table step, ambiguity thresholds).
  UnwrapOptions rgb;
  // Fixed-analyser train: pixels whose slow axis lies within this many degrees of the polarizer
  // or analyser axis (0 or 90) are flagged ambiguous: the train does not see a retarder there.
  double fixed_analyser_blind_deg = 5.0;
  // Compensated train: retardance of the first-order red plate (slow axis at 45 deg), nm.
  double compensator_nm = 530.0;
  // Instrument calibration (polscan calibrate), applied to the stack and the blank alike.
  // Dark frame: the camera's per-pixel offset (CV_16U or CV_32F, the frames' size, one channel or
  // theirs), subtracted from every frame before the fit and clamped at 0. Empty: the uniform
  // dark_offset_dn is subtracted instead (0: nothing). Both in whole DN (rounded: the frames are
  // integers). Saturation is still judged on the raw DN. Mono trains subtract it row by row
  // inside the reconstruction pass; RGB and compensated stacks from a corrected copy.
  cv::Mat dark_frame;
  double dark_offset_dn = 0.0;
  // Added to every frame's nominal (index) angle: the polarizer's real transmission axis minus
  // the index position, degrees.
  double polarizer_offset_deg = 0.0;
};

// Checks a stack for the fit (frames, angles, sizes, types, wavelength, bit depth) and throws
// AnalysisError naming the offending frame/angle/size. `what` prefixes the message ("stack").
// Frames are CV_16UC1 (one wavelength) or CV_16UC3 (B, G, R; three wavelengths R, G, B).
void validateStack(const polscan::Stack& stack, const char* what);

// Fits I(theta) = I0/2 (1 + sin(delta) sin(2(theta - phi))) per pixel (circular train; RGB stacks
// per channel, then the retardance that agrees with all three channels), the 4-theta crossed
// model or the fixed-analyser model (Malus background plus the sample's 2-theta term). With a
// blank, its normalised harmonics are subtracted (PolScope-style) and I0 is flat-fielded by the
// blank's I0 (rescaled to the blank's mean so counts stay counts).
RetardanceMap reconstruct(const polscan::Stack& stack, const polscan::Stack* blank = nullptr);
RetardanceMap reconstruct(const polscan::Stack& stack, const polscan::Stack* blank,
                          const ReconstructionOptions& options);

// Same, writing into `map` and reusing its buffers when the size matches: fresh 2048x2048 outputs
// cost ~70 MB of first-touch page faults per field, often more than the fit itself. Buffers are
// overwritten in place, so copies of the previous map's Mats (shallow) see the new data.
void reconstructInto(const polscan::Stack& stack, const polscan::Stack* blank,
                     const ReconstructionOptions& options, RetardanceMap& map);

// Robust scale of the background retardance: median + 1.4826 * MAD over a subsample of the
// unsaturated pixels. Crystals cover a small part of a field, so both statistics ignore them.
double estimateNoiseFloor(const cv::Mat& retardance_nm, const cv::Mat& saturated);

// One line naming every frame (index and angle) with saturated pixels and how many, e.g.
// "saturated pixels: frame 2 (45 deg) 120 px"; empty when none.
std::string describeSaturation(const RetardanceMap& map);

}  // namespace polscan::analysis
