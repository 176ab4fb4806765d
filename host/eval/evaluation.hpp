// `polscan eval`'s engine: virtual slides -> rendered stacks -> FieldAnalyzer -> scored figures.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "eval/metrics.hpp"

namespace polscan::eval {

struct EvalConfig {
  int slides = 4;
  std::uint64_t seed = 1;
  int fields_per_slide = 10;
  std::string sample = "mixed";  // synovial | urine | mixed
  int width_px = 1024, height_px = 768;
  double pixel_um = 0.4;  // the reference camera behind the 40x objective (as `polscan demo`)
  int angles = 8;         // equally spaced over 180 deg
  double wavelength_nm = 546.0;  // the (mono) LED
  // RGB stacks (white LED, RGB camera): the twin renders these three wavelengths (R, G, B) and
  // the analysis unwraps the real retardance from them. The quarter-wave plate is taken as
  // achromatic (a quarter wave at all three: the optional part in hardware/bom.csv).
  bool rgb = false;
  std::array<double, 3> rgb_wavelengths_nm{610.0, 545.0, 465.0};
  double exposure_us = 10000;
  // Imperfections the analysis must live with (twin::OpticsConfig), per frame or per field.
  double led_drift = 0.01;             // relative per-frame std of the source
  double polarizer_wobble_deg = 0.05;  // per-frame std of the polarizer angle
  double vignetting = 0.15;            // flat-field loss in the corners
  double max_defocus_um = 1.5;         // focus error per field, uniform in +-, within the DOF
  double match_distance_um = 15.0;     // upper bound of the centre distance for a match
  std::string features_csv;     // non-empty: one line per detection (truth, reported, features)
  bool raw_confidence = false;  // uncalibrated classifier confidences (to fit the calibration)
};

struct EvalResult {
  EvalConfig config;
  EvalCounts counts;
  EvalMetrics metrics;
};

// progress(done_fields, total_fields) after each field.
using ProgressFn = std::function<void(int, int)>;

// Throws std::invalid_argument for a bad config (unknown sample, no slides, ...).
EvalResult runEvaluation(const EvalConfig& config, const ProgressFn& progress = {});

// Fits the per-class confidence calibration: runs every sample recipe (synovial, urine, mixed)
// with config's slides/fields/seed and raw confidences, and fits Platt scaling on all best guesses.
struct CalibrationFit {
  analysis::ConfidenceCalibration calibration;
  EvalCounts raw_counts;  // the runs it was fitted on (raw confidences)
};
CalibrationFit fitConfidenceCalibration(const EvalConfig& config, const ProgressFn& progress = {});
// The fitted table as the C++ lines of defaultCalibration() (with per-class sample counts).
std::string formatCalibrationTable(const CalibrationFit& fit);

nlohmann::json toJson(const EvalResult& result);
std::string formatReport(const EvalResult& result);  // the text `polscan eval` prints

}  // namespace polscan::eval
