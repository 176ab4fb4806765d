// calibrate(): every measurement, the spec check, and the stored calibration.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "calibration/calibration_measurements.hpp"
#include "calibration/instrument_calibration.hpp"
#include "common/stack.hpp"

namespace polscan::calibration {

struct StageMovePair {
  cv::Mat before, after;  // the same textured area before and after the stage move
  double move_x_um = 0, move_y_um = 0;
};

struct MicrometerImage {
  cv::Mat image;         // a stage micrometer's ruling, in focus
  double pitch_um = 10;  // its ruling pitch
};

struct CalibrationInputs {
  std::string instrument = "default";
  Stack dark;         // LED off: >= 2 frames
  Stack malus;        // quarter-wave plate swung out, >= 3 angles over a half turn
  Stack blank;        // empty area, standard train, >= 3 angles
  Stack blank_again;  // a second blank stack at the same angles (noise floor)
  std::optional<StageMovePair> stage_move;
  std::optional<MicrometerImage> micrometer;  // preferred for the pixel size when both are given
};

// The limits a usable instrument meets; each refusal names what to adjust.
struct CalibrationLimits {
  double min_extinction_ratio = 100;
  double max_polarizer_offset_deg = 10;
  double max_qwp_axis_error_deg = 5;
  double max_noise_floor_nm = 3;
  double max_residual_background_nm = 1;
  double max_vignetting = 0.5;
  double max_dark_fraction = 0.25;  // dark offset as a fraction of full scale
  double max_camera_rotation_deg = 2;
  double min_correlation_response = 0.05;
  double max_pixel_size_disagreement = 0.02;  // micrometer vs stage move, relative
};

// Measures everything (see calibration_measurements.hpp), checks it against the limits and
// returns the calibration, or throws CalibrationRefused listing every out-of-spec figure.
InstrumentCalibration measureCalibration(const CalibrationInputs& in,
                                         const CalibrationLimits& limits = {});

// measureCalibration, then writes calibration.json, dark.tif, flat.tif and the blank stack
// folder next to `file`. Nothing is written when it is refused.
InstrumentCalibration calibrate(const CalibrationInputs& in, const std::filesystem::path& file,
                                const CalibrationLimits& limits = {});

// One line per figure with units, for the terminal.
std::vector<std::string> describeCalibration(const InstrumentCalibration& cal);

}  // namespace polscan::calibration
