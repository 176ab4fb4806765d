// Platt scaling of classifier confidences: the fitted constants and the fit itself.
#include "analysis/confidence_calibration.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace polscan::analysis {

namespace {

using polscan::CrystalClass;

constexpr double kMinSlope = 0.05, kMaxSlope = 10.0;

bool isBirefringentClass(CrystalClass c) {
  return c != CrystalClass::NonBirefringent && c != CrystalClass::Artefact &&
         c != CrystalClass::Unknown;
}

double logit(double p) {
  const double q = std::clamp(p, 1e-6, 1.0 - 1e-6);
  return std::log(q / (1.0 - q));
}

}  // namespace

double ConfidenceCalibration::apply(CrystalClass best, double raw) const {
  const PlattScaling& s = per_class[static_cast<std::size_t>(best)];
  return 1.0 / (1.0 + std::exp(-(s.a * logit(raw) + s.b)));
}

const ConfidenceCalibration& defaultCalibration() {
  // Fitted on eval seed set A (disjoint from the seeds quoted in host/analysis/README.md) with
  //   polscan eval --fit-calibration --slides 6 --fields-per-slide 10 --seed 101
  // which runs the three sample recipes with raw confidences and prints this table.
  // Order: CPPD, MSU, CaOx-monohydrate, CaOx-dihydrate, uric-acid, cholesterol,
  // non-birefringent, artefact, unknown (the last two are never calibrated).
  static const ConfidenceCalibration table = [] {
    ConfidenceCalibration c;
    // BEGIN FITTED TABLE
    c.per_class[0] = {2.7597, 0.6231};  // CPPD: 457 best guesses, 455 right
    c.per_class[1] = {2.7597, 0.6231};  // MSU: 219 best guesses, 217 right
    c.per_class[2] = {2.7597, 0.6231};  // CaOx-monohydrate: 159 best guesses, 156 right
    c.per_class[3] = {2.7597, 0.6231};  // CaOx-dihydrate: 202 best guesses, 200 right
    c.per_class[4] = {2.7597, 0.6231};  // uric-acid: 93 best guesses, 92 right
    c.per_class[5] = {2.7597, 0.6231};  // cholesterol: 30 best guesses, 29 right
    c.per_class[6] = {0.3985, 0.7026};  // non-birefringent: 285 best guesses, 150 right
    // END FITTED TABLE
    return c;
  }();
  return table;
}

PlattScaling fitPlatt(const std::vector<CalibrationSample>& samples) {
  if (samples.empty()) throw std::invalid_argument("fitPlatt: no samples");
  // Prior: a ~ N(1, 1/lambda), b ~ N(0, 1/lambda); Newton on the penalised logistic loss.
  const double lambda = 1.0;
  double a = 1.0, b = 0.0;
  for (int it = 0; it < 200; ++it) {
    double ga = lambda * (a - 1.0), gb = lambda * b;
    double haa = lambda, hab = 0.0, hbb = lambda;
    for (const CalibrationSample& s : samples) {
      const double x = logit(s.raw);
      const double p = 1.0 / (1.0 + std::exp(-(a * x + b)));
      const double r = p - (s.correct ? 1.0 : 0.0);
      const double w = std::max(p * (1.0 - p), 1e-9);
      ga += r * x;
      gb += r;
      haa += w * x * x;
      hab += w * x;
      hbb += w;
    }
    const double det = haa * hbb - hab * hab;
    if (det <= 0) break;
    // Damped: a full Newton step from a flat start can overshoot on a one-sided sample.
    double da = (hbb * ga - hab * gb) / det, db = (haa * gb - hab * ga) / det;
    const double step = std::abs(da) + std::abs(db);
    if (step > 2.0) da *= 2.0 / step, db *= 2.0 / step;
    a -= da;
    b -= db;
    if (std::abs(da) + std::abs(db) < 1e-10) break;
  }
  // A (nearly) separable sample drives the slope to a step; bound it and refit the offset so the
  // map stays a smooth, monotone function of the raw confidence.
  if (a > kMaxSlope || a < kMinSlope) {
    a = std::clamp(a, kMinSlope, kMaxSlope);
    b = 0.0;
    for (int it = 0; it < 200; ++it) {
      double g = lambda * b, h = lambda;
      for (const CalibrationSample& s : samples) {
        const double p = 1.0 / (1.0 + std::exp(-(a * logit(s.raw) + b)));
        g += p - (s.correct ? 1.0 : 0.0);
        h += std::max(p * (1.0 - p), 1e-9);
      }
      const double db = std::clamp(g / h, -2.0, 2.0);
      b -= db;
      if (std::abs(db) < 1e-10) break;
    }
  }
  return {a, b};
}

ConfidenceCalibration fitCalibration(const std::vector<CalibrationSample>& samples,
                                     std::size_t min_per_class, std::size_t min_each) {
  ConfidenceCalibration c;
  // Birefringent classes share one softmax: a class with too few samples or errors of its own
  // takes their pooled fit. The intensity path (non-birefringent) has its own scale.
  std::vector<CalibrationSample> birefringent;
  for (const CalibrationSample& x : samples) {
    if (isBirefringentClass(x.best)) birefringent.push_back(x);
  }
  const PlattScaling all = fitPlatt(birefringent.empty() ? samples : birefringent);
  for (CrystalClass cls : polscan::kAllCrystalClasses) {
    PlattScaling& s = c.per_class[static_cast<std::size_t>(cls)];
    if (cls == CrystalClass::Artefact || cls == CrystalClass::Unknown) continue;
    std::vector<CalibrationSample> own;
    std::size_t right = 0;
    for (const CalibrationSample& x : samples) {
      if (x.best != cls) continue;
      own.push_back(x);
      right += x.correct ? 1 : 0;
    }
    const bool enough =
        own.size() >= min_per_class && right >= min_each && own.size() - right >= min_each;
    s = enough ? fitPlatt(own) : all;
  }
  return c;
}

}  // namespace polscan::analysis
