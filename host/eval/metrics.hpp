// Scoring of matched detections: confusion matrix, per-class and per-retardance figures.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/confidence_calibration.hpp"
#include "common/crystal_class.hpp"
#include "eval/matcher.hpp"

namespace polscan::eval {

// Rows: every truth class except Unknown, then "none" (a detection of nothing in the truth).
// Columns: every reported class (incl. unknown), then "missed".
inline constexpr int kTruthRows = static_cast<int>(polscan::kAllCrystalClasses.size());  // 8 + none
inline constexpr int kNoneRow = kTruthRows - 1;  // Unknown's slot: truth is never "unknown"
inline constexpr int kReportedCols = static_cast<int>(polscan::kAllCrystalClasses.size()) + 1;
inline constexpr int kMissedCol = kReportedCols - 1;

// Retardance bins of the issue (nm): < 5, 5-10, 10-20, 20-50, >= 50.
inline constexpr std::array<double, 4> kRetardanceEdgesNm = {5.0, 10.0, 20.0, 50.0};
inline constexpr int kRetardanceBins = static_cast<int>(kRetardanceEdgesNm.size()) + 1;
int retardanceBin(double nm);

// Birefringent crystal classes (the ones a polarized-light reading names).
bool isBirefringentClass(polscan::CrystalClass c);
// Classes a report claims as a crystal: everything but artefact and unknown.
bool isCrystalClaim(polscan::CrystalClass c);

struct TruthItem {
  polscan::CrystalClass cls = polscan::CrystalClass::Artefact;
  double length_um = 0.0;
  double retardance_nm = 0.0;
  bool scored = true;  // false: cut by the field border; matched or not, it is not counted
  // A strong crystal whose retardance sits near a multiple of half the (single) wavelength:
  // sin(delta) ~ 0, so a one-wavelength stack reads it under the debris level (see
  // readsUnderAtWavelength). Counted in the accuracy as any other, and also on its own.
  bool blind_at_wavelength = false;
};

// First-order reading of a retardance with the circular analyser at one wavelength:
// (lambda / 2 pi) asin|sin(2 pi R / lambda)|, in [0, lambda / 4] nm.
double firstOrderReadingNm(double retardance_nm, double wavelength_nm);
// Retardance at or above reading_nm that nonetheless reads under it at this wavelength, i.e.
// within reading_nm of a multiple of half the wavelength.
inline constexpr double kBlindReadingNm = 10.0;  // the debris level of the classifier
bool readsUnderAtWavelength(double retardance_nm, double wavelength_nm,
                            double reading_nm = kBlindReadingNm);

struct BinCount {
  std::int64_t truth = 0, detected = 0, correct = 0;
};

// Reliability of the confidence: best guesses of a crystal class (claimed or sent to review) in
// bins of their reported confidence, against how often the named class was right.
inline constexpr int kReliabilityBins = 10;
struct ReliabilityBin {
  std::int64_t n = 0, correct = 0;
  double confidence_sum = 0.0;
};

struct EvalCounts {
  std::array<std::array<std::int64_t, kReportedCols>, kTruthRows> confusion{};
  std::array<BinCount, kRetardanceBins> retardance{};       // all birefringent classes
  std::array<BinCount, kRetardanceBins> cppd_retardance{};  // CPPD only (the weak one)
  BinCount birefringent_3um;            // birefringent crystals >= 3 um: the accuracy target's base
  BinCount birefringent_3um_blind;      // of those, blind at the stack's wavelength (TruthItem)
  std::int64_t false_crystals = 0;      // crystal claims on nothing or on an artefact
  std::int64_t false_birefringent = 0;  // of those, claims of a birefringent class (CPPD, MSU..)
  std::int64_t false_non_birefringent = 0;  // of those, "non-birefringent" (apatite-like) claims
  std::array<ReliabilityBin, kReliabilityBins> reliability{};
  std::vector<analysis::CalibrationSample> calibration_samples;  // raw confidences, for fitting
  std::int64_t fields = 0;
  double seconds = 0.0;  // wall time of rendering + analysis (for fields/s)
  double analysis_seconds = 0.0;

  // One field: truth and reported classes, indexed as the match result.
  void addField(const std::vector<TruthItem>& truth,
                const std::vector<polscan::CrystalClass>& reported, const MatchResult& match);
  // One field's best guesses with their reported and raw confidences (indexed as the match
  // result). Guesses of artefact/unknown carry no class claim and are skipped; guesses on an
  // object cut by the border are not scored.
  void addConfidences(const std::vector<TruthItem>& truth,
                      const std::vector<polscan::CrystalClass>& best,
                      const std::vector<double>& confidence, const std::vector<double>& raw,
                      const MatchResult& match);
  void merge(const EvalCounts& other);
};

struct ClassMetrics {
  polscan::CrystalClass cls = polscan::CrystalClass::Unknown;
  std::int64_t truth = 0, reported = 0, correct = 0;
  double sensitivity = 0.0;  // correct / truth (NaN when no truth)
  double precision = 0.0;    // correct / reported as this class (NaN when never reported)
};

struct EvalMetrics {
  std::vector<ClassMetrics> classes;   // every class except Unknown
  double class_accuracy = 0.0;         // birefringent >= 3 um: correct / detected
  double end_to_end_accuracy = 0.0;    // birefringent >= 3 um: correct / all (missed = wrong)
  double detection_sensitivity = 0.0;  // birefringent >= 3 um: detected / all
  double false_crystals_per_100_fields = 0.0;
  double false_birefringent_per_100_fields = 0.0;
  double false_non_birefringent_per_100_fields = 0.0;
  double fields_per_s = 0.0;
  // Expected calibration error over the reliability bins: sum of n_b / N x |accuracy_b -
  // mean confidence_b| (NaN without best guesses).
  double expected_calibration_error = 0.0;
};

EvalMetrics computeMetrics(const EvalCounts& counts);

double ratio(std::int64_t num, std::int64_t den);  // NaN when den == 0

}  // namespace polscan::eval
