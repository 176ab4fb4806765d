// A stored calibration turned into what the analysis applies: the one loader behind
// `analyze --calibration`, `scan --calibration` and `acquire --calibration`.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <opencv2/core.hpp>

#include "analysis/reconstruction.hpp"
#include "calibration/instrument_calibration.hpp"
#include "common/stack.hpp"

namespace polscan::calibration {

struct AnalysisCalibration {
  InstrumentCalibration figures;
  std::filesystem::path file;  // absolute path of calibration.json
  // dark_frame, dark_offset_dn and polarizer_offset_deg set; the rest at their defaults.
  analysis::ReconstructionOptions reconstruction;
  cv::Mat flat;                        // CV_32F, mean 1 (flat.tif)
  std::shared_ptr<const Stack> blank;  // the calibration's blank: index angles, raw DN
  cv::Size image_size;                 // the frames it was measured on
  int bit_depth = 0;
};

// NAME|PATH as the CLI takes it: an existing file, a folder holding calibration.json, or anything
// with a '/' or ending in .json is a path; otherwise an instrument name, looked up with
// defaultCalibrationPath() ($POLSCAN_CALIBRATION_DIR/NAME or ~/.config/polscan/instruments/NAME).
std::filesystem::path resolveCalibration(const std::string& name_or_path);

// Reads calibration.json with its dark frame, flat field and blank stack. Throws CalibrationError
// naming the file that is missing or malformed.
AnalysisCalibration loadAnalysisCalibration(const std::filesystem::path& file);

// Refuses (CalibrationError naming both) frames of another size or bit depth than the
// calibration's: a dark frame or blank from another binning, ROI or camera mode would be wrong.
void checkCalibrationFits(const AnalysisCalibration& cal, cv::Size frame_size, int bit_depth,
                          const std::string& what);
void checkCalibrationFits(const AnalysisCalibration& cal, const Stack& stack);

// What the analysis of one stack uses: the stack with the calibration's pixel size (when it was
// measured), the reconstruction options (dark, polarizer offset; the flat field only when no blank
// is used, since a blank flat-fields on its own) and the blank: the stack's own when it names one,
// else the calibration's. Checks the stack fits first.
struct CalibratedStack {
  Stack stack;
  analysis::ReconstructionOptions reconstruction;
  std::shared_ptr<const Stack> blank;
};
CalibratedStack calibrateStack(const AnalysisCalibration& cal, const Stack& stack,
                               std::shared_ptr<const Stack> own_blank,
                               analysis::ReconstructionOptions base = {});

// What acquire records: the calibration's file (applied when the stack is analysed) and its
// pixel size. Frames and angles stay as recorded.
void linkCalibration(const AnalysisCalibration& cal, Stack& stack);

}  // namespace polscan::calibration
