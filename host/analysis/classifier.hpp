// Crystal class and calibrated confidence from region features (literature-driven likelihoods).
#pragma once

#include <array>

#include "analysis/crystal_features.hpp"
#include "common/crystal_class.hpp"

namespace polscan::analysis {

struct ClassifierOptions {
  // Softmax temperature on the summed log-likelihoods: the feature terms are not independent
  // (size, aspect and rectangularity all see the same outline), so their sum over-counts evidence;
  // T > 1 spreads the probabilities back out.
  double temperature = 1.5;
  // Log-score of "none of the modelled classes" (artefact, debris, an unusual habit). Its share of
  // the softmax is what keeps a poor fit of every class from being reported with confidence.
  double other_log_score = -7.0;
  double min_confidence = 0.6;   // below: reported as unknown and listed for review
  double wavelength_nm = 546.0;  // for the quarter-wave cap the strength terms refer to
};

// The classes scored from birefringent regions (non-birefringent comes from the intensity path).
inline constexpr std::array<polscan::CrystalClass, 6> kBirefringentClasses = {
    polscan::CrystalClass::CPPD,
    polscan::CrystalClass::MSU,
    polscan::CrystalClass::CaOxMonohydrate,
    polscan::CrystalClass::CaOxDihydrate,
    polscan::CrystalClass::UricAcid,
    polscan::CrystalClass::Cholesterol,
};

struct Classification {
  polscan::CrystalClass cls = polscan::CrystalClass::Unknown;   // Unknown when below threshold
  polscan::CrystalClass best = polscan::CrystalClass::Unknown;  // the most likely class anyway
  double confidence = 0.0;                                      // probability of `best`
  bool needs_review = false;
  std::array<double, kBirefringentClasses.size()> log_likelihood{};
};

Classification classify(const CrystalFeatures& f, const ClassifierOptions& options = {});

}  // namespace polscan::analysis
