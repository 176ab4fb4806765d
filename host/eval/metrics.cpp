// Confusion counts and the figures derived from them.
#include "eval/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace polscan::eval {

using polscan::CrystalClass;

int retardanceBin(double nm) {
  int b = 0;
  while (b < static_cast<int>(kRetardanceEdgesNm.size()) && nm >= kRetardanceEdgesNm[b]) ++b;
  return b;
}

bool isBirefringentClass(CrystalClass c) {
  switch (c) {
    case CrystalClass::CPPD:
    case CrystalClass::MSU:
    case CrystalClass::CaOxMonohydrate:
    case CrystalClass::CaOxDihydrate:
    case CrystalClass::UricAcid:
    case CrystalClass::Cholesterol:
      return true;
    default:
      return false;
  }
}

bool isCrystalClaim(CrystalClass c) {
  return c != CrystalClass::Artefact && c != CrystalClass::Unknown;
}

double ratio(std::int64_t num, std::int64_t den) {
  return den > 0 ? static_cast<double>(num) / static_cast<double>(den)
                 : std::numeric_limits<double>::quiet_NaN();
}

double firstOrderReadingNm(double retardance_nm, double wavelength_nm) {
  const double s = std::abs(std::sin(2.0 * std::numbers::pi * retardance_nm / wavelength_nm));
  return wavelength_nm / (2.0 * std::numbers::pi) * std::asin(std::min(s, 1.0));
}

bool readsUnderAtWavelength(double retardance_nm, double wavelength_nm, double reading_nm) {
  return retardance_nm >= reading_nm &&
         firstOrderReadingNm(retardance_nm, wavelength_nm) < reading_nm;
}

void EvalCounts::addField(const std::vector<TruthItem>& truth,
                          const std::vector<CrystalClass>& reported, const MatchResult& match) {
  ++fields;
  for (std::size_t t = 0; t < truth.size(); ++t) {
    const TruthItem& item = truth[t];
    if (!item.scored) continue;
    const int d = match.truth_to_detection[t];
    const int row = static_cast<int>(item.cls);
    const bool found = d >= 0;
    const bool correct = found && reported[d] == item.cls;
    confusion[row][found ? static_cast<int>(reported[d]) : kMissedCol] += 1;
    if (found && item.cls == CrystalClass::Artefact && isCrystalClaim(reported[d])) {
      ++false_crystals;
      false_birefringent += isBirefringentClass(reported[d]) ? 1 : 0;
      false_non_birefringent += reported[d] == CrystalClass::NonBirefringent ? 1 : 0;
    }
    if (!isBirefringentClass(item.cls)) continue;
    auto tally = [&](BinCount& b) {
      ++b.truth;
      b.detected += found ? 1 : 0;
      b.correct += correct ? 1 : 0;
    };
    tally(retardance[retardanceBin(item.retardance_nm)]);
    if (item.cls == CrystalClass::CPPD) tally(cppd_retardance[retardanceBin(item.retardance_nm)]);
    if (item.length_um >= 3.0) tally(birefringent_3um);
    if (item.length_um >= 3.0 && item.blind_at_wavelength) tally(birefringent_3um_blind);
  }
  for (std::size_t d = 0; d < reported.size(); ++d) {
    if (match.detection_to_truth[d] >= 0) continue;  // scored above, or on an unscored object
    confusion[kNoneRow][static_cast<int>(reported[d])] += 1;
    if (isCrystalClaim(reported[d])) ++false_crystals;
    if (isBirefringentClass(reported[d])) ++false_birefringent;
    if (reported[d] == CrystalClass::NonBirefringent) ++false_non_birefringent;
  }
}

void EvalCounts::addConfidences(const std::vector<TruthItem>& truth,
                                const std::vector<CrystalClass>& best,
                                const std::vector<double>& confidence,
                                const std::vector<double>& raw, const MatchResult& match) {
  for (std::size_t d = 0; d < best.size(); ++d) {
    if (!isCrystalClaim(best[d])) continue;
    const int t = match.detection_to_truth[d];
    if (t >= 0 && !truth[t].scored) continue;
    const bool correct = t >= 0 && truth[t].cls == best[d];
    const int b =
        std::clamp(static_cast<int>(confidence[d] * kReliabilityBins), 0, kReliabilityBins - 1);
    reliability[b].n += 1;
    reliability[b].correct += correct ? 1 : 0;
    reliability[b].confidence_sum += confidence[d];
    calibration_samples.push_back({best[d], raw[d], correct});
  }
}

void EvalCounts::merge(const EvalCounts& o) {
  for (int r = 0; r < kTruthRows; ++r) {
    for (int c = 0; c < kReportedCols; ++c) confusion[r][c] += o.confusion[r][c];
  }
  auto add = [](BinCount& a, const BinCount& b) {
    a.truth += b.truth;
    a.detected += b.detected;
    a.correct += b.correct;
  };
  for (int b = 0; b < kRetardanceBins; ++b) {
    add(retardance[b], o.retardance[b]);
    add(cppd_retardance[b], o.cppd_retardance[b]);
  }
  add(birefringent_3um, o.birefringent_3um);
  add(birefringent_3um_blind, o.birefringent_3um_blind);
  for (int b = 0; b < kReliabilityBins; ++b) {
    reliability[b].n += o.reliability[b].n;
    reliability[b].correct += o.reliability[b].correct;
    reliability[b].confidence_sum += o.reliability[b].confidence_sum;
  }
  calibration_samples.insert(calibration_samples.end(), o.calibration_samples.begin(),
                             o.calibration_samples.end());
  false_crystals += o.false_crystals;
  false_birefringent += o.false_birefringent;
  false_non_birefringent += o.false_non_birefringent;
  fields += o.fields;
  seconds += o.seconds;
  analysis_seconds += o.analysis_seconds;
}

EvalMetrics computeMetrics(const EvalCounts& counts) {
  EvalMetrics m;
  for (CrystalClass c : polscan::kAllCrystalClasses) {
    if (c == CrystalClass::Unknown) continue;
    const int i = static_cast<int>(c);
    ClassMetrics cm;
    cm.cls = c;
    for (int col = 0; col < kReportedCols; ++col) cm.truth += counts.confusion[i][col];
    for (int row = 0; row < kTruthRows; ++row) cm.reported += counts.confusion[row][i];
    cm.correct = counts.confusion[i][i];
    cm.sensitivity = ratio(cm.correct, cm.truth);
    cm.precision = ratio(cm.correct, cm.reported);
    m.classes.push_back(cm);
  }
  const BinCount& b = counts.birefringent_3um;
  m.class_accuracy = ratio(b.correct, b.detected);
  m.end_to_end_accuracy = ratio(b.correct, b.truth);
  m.detection_sensitivity = ratio(b.detected, b.truth);
  m.false_crystals_per_100_fields =
      counts.fields > 0 ? 100.0 * static_cast<double>(counts.false_crystals) / counts.fields
                        : std::numeric_limits<double>::quiet_NaN();
  m.false_birefringent_per_100_fields =
      counts.fields > 0 ? 100.0 * static_cast<double>(counts.false_birefringent) / counts.fields
                        : std::numeric_limits<double>::quiet_NaN();
  m.false_non_birefringent_per_100_fields =
      counts.fields > 0 ? 100.0 * static_cast<double>(counts.false_non_birefringent) / counts.fields
                        : std::numeric_limits<double>::quiet_NaN();
  std::int64_t n = 0;
  double gap = 0.0;
  for (const ReliabilityBin& r : counts.reliability) {
    if (r.n == 0) continue;
    n += r.n;
    gap += std::abs(static_cast<double>(r.correct) - r.confidence_sum);  // n_b x |acc_b - conf_b|
  }
  m.expected_calibration_error =
      n > 0 ? gap / static_cast<double>(n) : std::numeric_limits<double>::quiet_NaN();
  m.fields_per_s = counts.seconds > 0 ? counts.fields / counts.seconds : 0.0;
  return m;
}

}  // namespace polscan::eval
