// Crystal class and calibrated confidence from region features (literature-driven likelihoods).
#pragma once

#include <array>

#include "analysis/confidence_calibration.hpp"
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
  double min_confidence = 0.6;  // below: reported as unknown and listed for review
  // Non-birefringent particles: polarized light cannot identify them, so the report lists one only
  // when it is likely a clump (calibrated >= 0.7 on the twin: ~85 % of them are); the rest go to
  // review with the debris look-alikes (alizarin red decides).
  double min_confidence_non_birefringent = 0.7;
  // Map the raw softmax confidence through defaultCalibration() (false: raw, for fitting it).
  bool calibrate = true;
  double wavelength_nm = 546.0;  // for the quarter-wave cap the strength terms refer to
  // Birefringent claims: integrated retardance over the noise (CrystalFeatures::cnr) below this
  // is not evidence of a crystal (a noise blob integrates to ~sqrt(n) x the floor).
  double min_cnr = 10.0;
  // Absorbing (I0 this much under the background) but with a peak under debris_max_peak_nm and no
  // fold pixels: pigmented debris, not a crystal (colourless crystals do not absorb; uric acid
  // does but is strongly birefringent).
  double debris_min_absorption = 0.085;
  double debris_max_peak_nm = 10.0;
  // CPPD claims need a clear (non-absorbing) particle: I0 more than this under the background ->
  // review (see classifier.cpp).
  double cppd_max_absorption = 0.035;
  // Cholesterol claims likewise: thin, colourless, transparent plates (see classifier.cpp).
  double cholesterol_max_absorption = 0.035;
  // Calcium oxalate monohydrate is colourless: a whewellite best guess that absorbs like the
  // yellow-brown uric acid (the classifier's `absorbing` midpoint, 7 %) goes to review.
  double whewellite_max_absorption = 0.07;
  // Non-birefringent claims need an apatite-like clump: refractile (strong extinction), compact
  // ("coin-like") and convex. Clearly irregular or faint particles are artefacts (debris).
  double clump_min_contrast = 0.2;
  double clump_max_aspect = 1.6;
  double clump_min_solidity = 0.88;
  double debris_max_solidity = 0.85;
  double debris_min_aspect = 2.0;
  double debris_max_contrast = 0.12;
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
  double raw_confidence = 0.0;  // before calibration and the sign/absorption/saturation caps
  bool needs_review = false;
  std::array<double, kBirefringentClasses.size()> log_likelihood{};
};

Classification classify(const CrystalFeatures& f, const ClassifierOptions& options = {});

}  // namespace polscan::analysis
