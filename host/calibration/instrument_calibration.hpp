// InstrumentCalibration: the figures and reference images of one instrument, stored on disk.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include <opencv2/core.hpp>

namespace polscan::calibration {

struct InstrumentCalibration {
  std::string instrument;  // the name it is stored under
  std::string created;     // ISO 8601 UTC
  double wavelength_nm = 546;
  // Camera: the frames the calibration was measured on (0: unknown, files before version 2).
  int image_width_px = 0, image_height_px = 0;
  int bit_depth = 0;
  double dark_offset_dn = 0;
  double read_noise_dn = 0;
  // Polarization optics.
  double extinction_ratio = 0;
  double polarizer_offset_deg = 0;  // add to index angles to get the real transmission axis
  double qwp_axis_error_deg = 0;
  double background_retardance_nm = 0;  // what the blank shows before correction
  double residual_background_nm = 0;    // coherent retardance left after blank correction
  double noise_floor_nm = 0;            // retardance noise floor on the blank
  // Illumination.
  double vignetting = 0;  // corner falloff of the flat field
  // Geometry (absent when no stage move was measured).
  std::optional<double> pixel_um;
  std::optional<double> camera_rotation_deg;
  std::string pixel_size_source;  // "stage micrometer" or "stage move"; empty without a size
  // Reference images, relative to the calibration file's folder.
  std::string dark_file = "dark.tif";  // CV_32F mean dark frame
  std::string flat_file = "flat.tif";  // CV_32F flat field, mean 1
  std::string blank_dir = "blank";     // the blank stack (stack folder)
  // Version 1 stored the blank on the real polarizer axes (index + offset); version 2 keeps its
  // index angles, like every other stack, and the analysis adds the offset to both.
  int version = 2;

  std::filesystem::path folder;  // set by load/save: where the files are
  std::filesystem::path blankPath() const { return folder / blank_dir; }
};

// Where an instrument's calibration lives: $POLSCAN_CALIBRATION_DIR/<instrument>/ if set, else
// $XDG_CONFIG_HOME/polscan/instruments/<instrument>/ (~/.config/...), file calibration.json.
std::filesystem::path defaultCalibrationPath(const std::string& instrument);

// Writes calibration.json (and nothing else) at `file`; the images are written by calibrate().
void saveCalibration(InstrumentCalibration& cal, const std::filesystem::path& file);
// Throws CalibrationError naming the file and the field when it is missing or malformed.
InstrumentCalibration loadCalibration(const std::filesystem::path& file);

}  // namespace polscan::calibration
