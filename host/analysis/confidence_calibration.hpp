// Maps the classifier's raw (softmax) confidence to a calibrated probability, per class.
#pragma once

#include <array>
#include <cstddef>
#include <vector>

#include "common/crystal_class.hpp"

namespace polscan::analysis {

// Platt scaling on the logit: p = 1 / (1 + exp(-(a * logit(raw) + b))). a = 1, b = 0 is identity.
struct PlattScaling {
  double a = 1.0, b = 0.0;
};

struct ConfidenceCalibration {
  std::array<PlattScaling, polscan::kAllCrystalClasses.size()> per_class{};
  double apply(polscan::CrystalClass best, double raw) const;
};

// The fitted table (confidence_calibration.cpp: values, seeds and the command that produced them).
const ConfidenceCalibration& defaultCalibration();

struct CalibrationSample {
  polscan::CrystalClass best = polscan::CrystalClass::Unknown;
  double raw = 0.0;  // raw confidence of `best`
  bool correct = false;
};

// Maximum-likelihood Platt fit (Newton on the logistic loss, a weak prior towards identity so a
// small or one-sided sample cannot run away). Throws std::invalid_argument on no samples.
PlattScaling fitPlatt(const std::vector<CalibrationSample>& samples);

// Per class with at least min_per_class samples and min_each of each outcome; the other classes
// get the fit pooled over the birefringent classes' samples. Slopes are bounded to [0.05, 10].
ConfidenceCalibration fitCalibration(const std::vector<CalibrationSample>& samples,
                                     std::size_t min_per_class = 40, std::size_t min_each = 5);

}  // namespace polscan::analysis
