// Which calibration a scan and its resume analyse with (scan.json "acquisition.calibration").
#include "scan/scan_calibration.hpp"

#include <stdexcept>
#include <string>

namespace polscan {

namespace fs = std::filesystem;

void recordScanCalibration(ScanAcquisition& acquisition,
                           const std::optional<calibration::AnalysisCalibration>& cal) {
  acquisition.calibration = cal ? cal->file.string() : std::string();
  acquisition.calibration_created = cal ? cal->figures.created : std::string();
}

std::optional<calibration::AnalysisCalibration> calibrationForResume(
    const ScanAcquisition& started, std::optional<calibration::AnalysisCalibration> given,
    const fs::path& dir) {
  if (started.calibration.empty()) {
    if (given) {
      throw std::runtime_error("the scan in " + dir.string() +
                               " was started without a calibration and its tiles so far were "
                               "analysed without one: resume it without a calibration, or start "
                               "a new scan with " +
                               given->file.string());
    }
    return given;
  }
  const auto describe = [](const std::string& file, const std::string& created) {
    return file + " (created " + (created.empty() ? "?" : created) + ")";
  };
  std::optional<calibration::AnalysisCalibration> cal = std::move(given);
  if (!cal) {
    try {
      cal = calibration::loadAnalysisCalibration(started.calibration);
    } catch (const std::exception& e) {
      throw std::runtime_error("the scan in " + dir.string() + " was started with calibration " +
                               describe(started.calibration, started.calibration_created) +
                               ", which cannot be read now: " + e.what() +
                               " (offer it again from where it is now if it moved)");
    }
  }
  if (cal->figures.created != started.calibration_created) {
    throw std::runtime_error(
        "the scan in " + dir.string() + " was started with calibration " +
        describe(started.calibration, started.calibration_created) + ", not " +
        describe(cal->file.string(), cal->figures.created) +
        ": its remaining tiles would be analysed differently; resume with the calibration it was "
        "started with, or start a new scan");
  }
  return cal;
}

void applyScanCalibration(ScanOptions& options,
                          const std::optional<calibration::AnalysisCalibration>& cal,
                          const Camera& camera) {
  if (!cal) return;
  const CameraFormat f = camera.format();
  calibration::checkCalibrationFits(*cal, cv::Size(f.width, f.height), f.bit_depth,
                                    "the camera (" + camera.describe() + ")");
  options.reconstruction = cal->reconstruction;
  options.blank = cal->blank;
}

}  // namespace polscan
