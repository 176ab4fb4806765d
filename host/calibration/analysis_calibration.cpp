// Calibration loader: calibration.json + dark.tif + flat.tif + blank/ into ReconstructionOptions.
#include "calibration/analysis_calibration.hpp"

#include <opencv2/imgcodecs.hpp>

#include "calibration/calibration_error.hpp"
#include "io/stack_folder.hpp"

namespace polscan::calibration {

namespace fs = std::filesystem;

namespace {
cv::Mat readImage(const fs::path& file, const char* what) {
  cv::Mat m = cv::imread(file.string(), cv::IMREAD_UNCHANGED);
  if (m.empty()) {
    throw CalibrationError(file.string() + ": the calibration's " + what +
                           " is missing or unreadable (run `polscan calibrate` again)");
  }
  m.convertTo(m, CV_32F);
  return m;
}

std::string frameText(cv::Size size, int bit_depth) {
  return std::to_string(size.width) + "x" + std::to_string(size.height) + " px, " +
         std::to_string(bit_depth) + "-bit";
}
}  // namespace

fs::path resolveCalibration(const std::string& name_or_path) {
  if (name_or_path.empty()) throw CalibrationError("--calibration: empty name or path");
  const fs::path p = name_or_path;
  if (fs::is_directory(p)) return p / "calibration.json";
  if (fs::exists(p) || name_or_path.find('/') != std::string::npos || p.extension() == ".json") {
    return p;
  }
  return defaultCalibrationPath(name_or_path);
}

AnalysisCalibration loadAnalysisCalibration(const fs::path& file) {
  AnalysisCalibration c;
  c.file = fs::absolute(file);
  c.figures = loadCalibration(c.file);
  const InstrumentCalibration& f = c.figures;
  const cv::Mat dark = readImage(f.folder / f.dark_file, "dark frame");
  c.flat = readImage(f.folder / f.flat_file, "flat field");
  Stack blank;
  try {
    blank = readStackFolder(f.blankPath());
  } catch (const std::exception& e) {
    throw CalibrationError(f.blankPath().string() + ": the calibration's blank stack: " + e.what());
  }
  // Version 1 stored its blank on the real polarizer axes; the offset is added at analysis now.
  if (f.version < 2) {
    for (double& a : blank.angles_deg) a -= f.polarizer_offset_deg;
  }
  c.image_size = f.image_width_px > 0 ? cv::Size(f.image_width_px, f.image_height_px) : dark.size();
  c.bit_depth = f.bit_depth > 0 ? f.bit_depth : blank.bit_depth;
  const auto fits = [&](const cv::Mat& m, const std::string& what) {
    if (m.size() != c.image_size) {
      throw CalibrationError(
          c.file.string() + ": its " + what + " is " + std::to_string(m.cols) + "x" +
          std::to_string(m.rows) + " px but the calibration was measured on " +
          std::to_string(c.image_size.width) + "x" + std::to_string(c.image_size.height) + " px");
    }
  };
  fits(dark, "dark frame");
  fits(c.flat, "flat field");
  if (blank.frames.empty()) throw CalibrationError(f.blankPath().string() + ": no frames");
  fits(blank.frames.front(), "blank stack");
  c.reconstruction.dark_frame = dark;
  c.reconstruction.dark_offset_dn = f.dark_offset_dn;
  c.reconstruction.polarizer_offset_deg = f.polarizer_offset_deg;
  c.blank = std::make_shared<const Stack>(std::move(blank));
  return c;
}

void checkCalibrationFits(const AnalysisCalibration& cal, cv::Size frame_size, int bit_depth,
                          const std::string& what) {
  if (frame_size != cal.image_size || bit_depth != cal.bit_depth) {
    throw CalibrationError("calibration " + cal.file.string() + " was measured on " +
                           frameText(cal.image_size, cal.bit_depth) + " frames but " + what +
                           " has " + frameText(frame_size, bit_depth) +
                           " frames: calibrate this camera mode (size, binning, bit depth) or "
                           "choose its calibration");
  }
}

void checkCalibrationFits(const AnalysisCalibration& cal, const Stack& stack) {
  if (stack.frames.empty()) throw CalibrationError("the stack has no frames to calibrate");
  checkCalibrationFits(cal, stack.frames.front().size(), stack.bit_depth, "the stack");
}

CalibratedStack calibrateStack(const AnalysisCalibration& cal, const Stack& stack,
                               std::shared_ptr<const Stack> own_blank,
                               analysis::ReconstructionOptions base) {
  checkCalibrationFits(cal, stack);
  CalibratedStack out{stack, std::move(base), own_blank ? std::move(own_blank) : cal.blank};
  if (cal.figures.pixel_um) out.stack.pixel_um = *cal.figures.pixel_um;
  out.reconstruction.dark_frame = cal.reconstruction.dark_frame;
  out.reconstruction.dark_offset_dn = cal.reconstruction.dark_offset_dn;
  out.reconstruction.polarizer_offset_deg = cal.reconstruction.polarizer_offset_deg;
  if (!out.blank) out.reconstruction.flat_field = cal.flat;
  return out;
}

void linkCalibration(const AnalysisCalibration& cal, Stack& stack) {
  stack.calibration = cal.file;
  if (cal.figures.pixel_um) stack.pixel_um = *cal.figures.pixel_um;
}

}  // namespace polscan::calibration
