// The instrument calibration a scan's tiles are analysed with, kept across a resume.
#pragma once

#include <filesystem>
#include <optional>

#include "calibration/analysis_calibration.hpp"
#include "scan/scan_checkpoint.hpp"
#include "scan/scan_runner.hpp"

namespace polscan {

// Records in a new scan's settings (scan.json) which calibration its tiles are analysed with:
// the file and its "created" stamp (the measurement), or none.
void recordScanCalibration(ScanAcquisition& acquisition,
                           const std::optional<calibration::AnalysisCalibration>& cal);

// The calibration a resumed scan continues with: the one it was started with, so that every tile
// of one scan is analysed alike. `given` (the one offered now: `scan --calibration`, `serve
// --calibration`) is used when it is that same measurement (a copy elsewhere is fine); without
// it the scan's own file is loaded. Throws std::runtime_error naming the scan folder, both
// calibrations and the way out when they differ, when a calibration is offered for a scan
// started without one, or when the scan's own file cannot be read.
std::optional<calibration::AnalysisCalibration> calibrationForResume(
    const ScanAcquisition& started, std::optional<calibration::AnalysisCalibration> given,
    const std::filesystem::path& dir);

// The runner's reconstruction settings and blank from a calibration (none: left as they are),
// after checking that it fits the camera's frames (CalibrationError naming both otherwise).
void applyScanCalibration(ScanOptions& options,
                          const std::optional<calibration::AnalysisCalibration>& cal,
                          const Camera& camera);

}  // namespace polscan
