// Per-class log-likelihoods from optics and shape (domain.md table), combined by a softmax.
#include "analysis/classifier.hpp"

#include <algorithm>
#include <cmath>

namespace polscan::analysis {

namespace {

using polscan::CrystalClass;
using polscan::Elongation;

// log of a logistic step: ~0 well on the favoured side, falling linearly (in units of w) beyond.
// Soft steps instead of hard cut-offs because every literature range has exceptions.
double above(double x, double t, double w) {
  return -std::log1p(std::exp(-(x - t) / w));
}
double below(double x, double t, double w) {
  return above(-x, -t, w);
}
double within(double x, double lo, double hi, double w) {
  return above(x, lo, w) + below(x, hi, w);
}
// Sizes span decades: ranges are compared on a log scale (w in natural-log units).
double sizeWithin(double um, double lo, double hi, double w = 0.3) {
  return within(std::log(std::max(um, 1e-3)), std::log(lo), std::log(hi), w);
}

// Elongation evidence from the axis-to-long-axis angle d in [0, 90]: 45 is the undecidable middle.
// Without a defined sign (round or too weak) the term is uninformative (0).
double positiveElongation(const CrystalFeatures& f) {
  return f.elongation == Elongation::None ? 0.0 : above(45.0 - f.axis_to_long_deg, 0.0, 6.0);
}
double negativeElongation(const CrystalFeatures& f) {
  return f.elongation == Elongation::None ? 0.0 : above(f.axis_to_long_deg - 45.0, 0.0, 6.0);
}
// Elongation evidence for a class whose sign is only a habit ("mostly positive"): the observed
// sign is a mixture of the usual and the minority habit, so its log-likelihood ratio against an
// uninformative sign is bounded, log(2 p) for the usual sign and log(2 (1 - p)) for the other,
// instead of growing without limit like the decisive CPPD/MSU terms. With the circular analyser
// at one wavelength the fitted slow axis of any part past a half wave is also turned by 90 deg,
// so a strong crystal's observed sign is less certain still.
double habitualElongation(const CrystalFeatures& f, double p_positive) {
  if (f.elongation == Elongation::None) return 0.0;
  const double looks_positive = std::exp(positiveElongation(f));
  const double looks_negative = std::exp(negativeElongation(f));
  return std::log(2.0 * (p_positive * looks_positive + (1.0 - p_positive) * looks_negative));
}

// Share of whewellite crystals with the slow axis along the long axis: "mostly positive" in the
// literature (domain.md), taken as 4 in 5.
constexpr double kWhewellitePositive = 0.8;

// RGB: most of the region's retardance is not settled by the channels (a rival fits as well, or
// none does: mixed edges, or past the search range). Only strong crystals get there; like the
// fold of one wavelength, the reading is then no measure of the strength.
constexpr double kUnsettledShare = 0.5;

bool unsettled(const CrystalFeatures& f) {
  return f.real_retardance && f.ambiguous_fraction > kUnsettledShare;
}

// Evidence of a strong crystal whose reading is only a bound: fold pixels (mono) or a retardance
// the RGB channels do not settle.
bool readingIsABound(const CrystalFeatures& f) {
  return f.fold_fraction > 0.0 || unsettled(f);
}

double scoreClass(CrystalClass c, const CrystalFeatures& f, double quarter_wave) {
  const double mean = f.mean_retardance_nm, peak = f.peak_retardance_nm;
  const double aspect = f.aspect;
  // Strength on the scale of the quarter wave (137 nm at 546 nm). Mono circular fit: the peak
  // approaches the quarter-wave cap or pixels sit at the fold; weak crystals cannot get there.
  // RGB: the real (unwrapped) retardance, no cap and no fold (MSU 150-300 nm reads 1.1-2.2,
  // whewellite and uric acid more; CPPD and weddellite well under 1); a region the channels do
  // not settle counts as strong as a folded one.
  const bool bound = f.real_retardance ? unsettled(f) : f.fold_fraction > 0.05;
  const double strong = bound ? std::max(peak / quarter_wave, 0.9) : peak / quarter_wave;
  // Absorption of the crystal itself (I0 below the local background): uric acid is yellow-brown,
  // CPPD, calcium oxalate and cholesterol are colourless. Soft: refraction at edges darkens small
  // crystals a little.
  const double absorbing = above(-f.intensity_contrast, 0.07, 0.015);
  const double clear = 0.5 * below(-f.intensity_contrast, 0.07, 0.015);
  switch (c) {
    case CrystalClass::CPPD:
      // Weak (1 um thick x ~0.01-0.03 -> 10-30 nm; < ~40 nm), positive elongation, rhomboids and
      // short rods (aspect ~1.5-6) with blunt ends, 2-20 um long, 1-4 um wide.
      return below(mean, 40.0, 6.0) + below(strong, 0.6, 0.06) + 2.0 * positiveElongation(f) +
             sizeWithin(f.length_um, 2.0, 20.0) + sizeWithin(f.width_um, 0.7, 5.0) +
             within(std::log(aspect), std::log(1.3), std::log(7.0), 0.2) +
             above(f.solidity, 0.8, 0.05) + above(f.rectangularity, 0.55, 0.06) + clear;
    case CrystalClass::MSU:
      // Strong (0.5-1 um thick x ~0.3 -> 150-300 nm, at or past the fold), negative elongation
      // (fast axis along the needle), needles: aspect > ~4, 2-40 um long, ~0.5-2 um wide.
      // A short needle (2-4 um) cannot show aspect 4 through the optics: the blur widens it to
      // ~1-1.3 um and eats its tapered tips. Narrow (at about the resolution) and elongated is
      // the needle shape there.
      {
        const double needle =
            std::max(above(std::log(aspect), std::log(4.0), 0.2),
                     below(f.width_um, 1.4, 0.1) + above(std::log(aspect), std::log(1.5), 0.2));
        return above(strong, 0.55, 0.06) + 2.0 * negativeElongation(f) + needle +
               sizeWithin(f.length_um, 2.0, 40.0) + below(f.width_um, 2.5, 0.4);
      }
    case CrystalClass::CaOxMonohydrate: {
      // Strong (birefringence 0.16, a few hundred nm), ovoids/biconcave discs or dumbbells,
      // 3-20 um; mostly positive along the long axis (a habit, not a rule: bounded evidence).
      const double ovoid =
          below(std::log(aspect), std::log(2.5), 0.2) + below(f.rectangularity, 0.9, 0.04);
      const double dumbbell = below(f.waist, 0.75, 0.06);
      // Not a needle: those habits at >= 3 um and at most ~2.5:1 are >= ~1.2 um wide, where an
      // MSU needle is 0.5-1 um (what tells a short negative needle from a minority-sign ovoid).
      return above(strong, 0.55, 0.06) + std::max(ovoid, dumbbell) +
             sizeWithin(f.length_um, 3.0, 20.0) + above(f.width_um, 1.2, 0.2) +
             habitualElongation(f, kWhewellitePositive) + clear;
    }
    case CrystalClass::CaOxDihydrate: {
      // Weddellite (0.021, near zero looking down c): weak. A tetragonal bipyramid seen as an
      // "envelope": a near-square outline, 5-40 um, thickest at the apex (retardance falls from
      // the centre to the rim) and four triangular facets between the diagonals whose pairs show
      // different retardance or slow axes (the X). A weak envelope's thin rims drop under the
      // threshold, so neither the fill nor the solidity of the outline is required.
      const double facets =
          std::max(above(f.x_pattern, 0.35, 0.08), above(f.facet_contrast, 0.12, 0.04));
      return below(strong, 0.8, 0.06) + below(std::log(f.box_aspect), std::log(1.45), 0.1) +
             sizeWithin(f.length_um, 5.0, 40.0) + 1.5 * facets +
             1.5 * above(f.centre_peak, 1.12, 0.04) + clear;
    }
    case CrystalClass::UricAcid: {
      // Very strong (0.31, several hundred nm): at a single wavelength sin(delta) folds, so a
      // plate of even thickness can read anywhere from 0 to the quarter-wave cap. Two cues
      // survive the fold: pixels at the cap, and the yellow-brown colour (uric acid absorbs
      // where the other crystals are clear). Rhomboid plates/barrels 5-50 um, broad (not
      // needles), convex outlines without a waist (that would be a CaOx dumbbell).
      // RGB: the real retardance shows no fold, and past the quarter wave it does not tell uric
      // acid (0.31) from whewellite (0.16): both reach a few hundred nm. The colour decides,
      // with a strongly birefringent plate (>= half the quarter wave, ~70 nm: >= 0.5 um at
      // 0.15, or a plate the channels do not settle); pigmented debris reads a few nm.
      if (f.real_retardance) {
        const double strength = unsettled(f) ? 0.0 : above(mean, 0.5 * quarter_wave, 8.0);
        return 2.0 * absorbing + strength + sizeWithin(f.length_um, 5.0, 50.0) +
               above(f.width_um, 4.0, 0.8) + below(std::log(aspect), std::log(3.0), 0.2) +
               above(f.solidity, 0.85, 0.04) + above(f.waist, 0.75, 0.06);
      }
      // Mono: fold pixels over much of the plate, or the colour.
      const double strong_plate =
          above(f.fold_fraction, 0.4, 0.08) + above(mean, 0.7 * quarter_wave, 8.0);
      // The colour route needs a clearly birefringent plate: a coloured particle a few nm above
      // the noise (debris) is no evidence of a strong crystal.
      const double coloured_plate = 2.0 * absorbing + above(mean, 8.0, 1.5);
      return std::max(strong_plate, coloured_plate) + sizeWithin(f.length_um, 5.0, 50.0) +
             above(f.width_um, 4.0, 0.8) + below(std::log(aspect), std::log(3.0), 0.2) +
             above(f.solidity, 0.85, 0.04) + above(f.waist, 0.75, 0.06);
    }
    case CrystalClass::Cholesterol:
      // Large, flat, thin rectangular plates (right-angle corners, a notched corner): moderate
      // retardance that is uniform over the plate (no apex, no facets), 10-100 um, box-like.
      // Uniform both ways: a core reading well under its rim is no flat plate but a thick core
      // folded past the quarter wave (a strong lens such as a whewellite ovoid).
      // (RGB: unsettled pixels stand for the fold pixels.)
      return within(mean, 5.0, 0.8 * quarter_wave, 6.0) +
             below(f.real_retardance ? f.ambiguous_fraction : f.fold_fraction, 0.3, 0.08) +
             sizeWithin(f.length_um, 10.0, 100.0) + above(f.width_um, 6.0, 1.5) +
             above(f.box_fill, 0.85, 0.03) + below(std::log(f.box_aspect), std::log(3.0), 0.2) +
             1.5 * within(f.centre_peak, 0.88, 1.12, 0.04) +
             1.5 * below(f.facet_contrast, 0.1, 0.03) + clear;
    default:
      return -1e9;
  }
}

// Cap on the confidence of a CPPD/MSU best guess whose sign of elongation was not observed.
constexpr double kNoSign = 0.5;

bool signSupports(CrystalClass best, Elongation e) {
  if (best == CrystalClass::CPPD) return e == Elongation::Positive;
  if (best == CrystalClass::MSU) return e == Elongation::Negative;
  return true;
}

}  // namespace

Classification classify(const CrystalFeatures& f, const ClassifierOptions& options) {
  Classification out;
  if (!f.birefringent) {
    // Intensity path: a particle with no measurable retardance. Polarized light alone never names
    // apatite: the claim is "non-birefringent particle" (basic calcium phosphate clumps are the
    // clinically relevant ones), and it is made only for what does not look like a cell or a
    // bubble. Leukocytes are round, smooth discs of 7-15 um; bubbles are dark rings with a clear
    // centre; apatite clumps are lumpy, irregular aggregates of 1-65 um.
    const double aspect = std::log(std::max(f.aspect, 1.0));
    const double cell = above(f.ellipse_fit, 0.9, 0.015) + below(aspect, std::log(1.3), 0.08) +
                        sizeWithin(f.length_um, 6.0, 20.0, 0.12) + below(f.hollowness, 0.15, 0.05) +
                        above(-f.intensity_contrast, 0.02, 0.01);
    const double bubble = 2.0 * above(f.hollowness, 0.3, 0.06) + above(f.length_um, 8.0, 2.0);
    const double clump = sizeWithin(f.length_um, 1.0, 65.0) + below(aspect, std::log(2.2), 0.15) +
                         below(f.hollowness, 0.3, 0.06) +
                         std::max(below(f.ellipse_fit, 0.9, 0.015), below(f.length_um, 5.0, 0.8));
    const double t = options.temperature;
    const double top = std::max({cell, bubble, clump});
    const double p_cell = std::exp((cell - top) / t), p_bubble = std::exp((bubble - top) / t);
    const double p_clump = std::exp((clump - top) / t);
    const double p_nb = p_clump / (p_cell + p_bubble + p_clump);
    // Apatite clumps are refractile ("shiny coins"): dense aggregates that scatter a good part of
    // the light, compact and convex. Debris is irregular and often only faintly absorbing. Neither
    // is birefringent, so the report names a non-birefringent particle only when it looks like a
    // clump; what is clearly irregular or faint goes to artefact, the rest to review (alizarin
    // red decides, polarized light cannot).
    const double c = std::abs(f.intensity_contrast);
    const double coin = above(c, options.clump_min_contrast, 0.015) +
                        below(aspect, std::log(options.clump_max_aspect), 0.05) +
                        above(f.solidity, options.clump_min_solidity, 0.01) +
                        above(f.length_um, 1.5, 0.3);
    const bool debris_like = f.solidity < options.debris_max_solidity ||
                             aspect > std::log(options.debris_min_aspect) ||
                             c < options.debris_max_contrast;
    if (p_nb >= 0.5 && !debris_like) {
      out.best = CrystalClass::NonBirefringent;
      out.raw_confidence = std::clamp(p_nb * std::exp(coin), 0.0, 1.0);
      out.confidence = options.calibrate ? defaultCalibration().apply(out.best, out.raw_confidence)
                                         : out.raw_confidence;
    } else {
      out.best = CrystalClass::Artefact;
      out.confidence = p_nb >= 0.5 ? 0.5 + 0.5 * (1.0 - std::exp(coin)) : 1.0 - p_nb;
      // An artefact is not a crystal claim: keep it off the review list unless it is unclear.
      out.confidence = std::max(out.confidence, options.min_confidence);
    }
  } else if (!readingIsABound(f) && f.peak_retardance_nm < options.debris_max_peak_nm &&
             -f.intensity_contrast > options.debris_min_absorption) {
    // Absorbing yet only weakly birefringent: the colourless crystals (CPPD, calcium oxalate,
    // cholesterol) do not absorb, and the one that does (uric acid, birefringence 0.31) is far
    // stronger or shows fold pixels. Pigmented debris, fibres and cells fit; crystals do not.
    out.best = CrystalClass::Artefact;
    out.confidence = options.min_confidence;
  } else if (f.cnr < options.min_cnr) {
    // Too little integrated retardance over the noise to name anything: list for review.
    out.best = CrystalClass::Unknown;
    out.confidence = 0.0;
  } else {
    const double qw = options.wavelength_nm / 4.0;
    double best = -1e300;
    for (std::size_t i = 0; i < kBirefringentClasses.size(); ++i) {
      out.log_likelihood[i] = scoreClass(kBirefringentClasses[i], f, qw);
      if (out.log_likelihood[i] > best) {
        best = out.log_likelihood[i];
        out.best = kBirefringentClasses[i];
      }
    }
    // Softmax with the "other" pseudo-class, shifted by the best score for numerical safety.
    const double t = options.temperature;
    double z = std::exp((options.other_log_score - best) / t);
    for (double ll : out.log_likelihood) z += std::exp((ll - best) / t);
    out.raw_confidence = 1.0 / z;
    out.confidence = options.calibrate ? defaultCalibration().apply(out.best, out.raw_confidence)
                                       : out.raw_confidence;
    // Saturated optics: the fit of those pixels is not trusted, so neither is the class.
    if (f.saturated_fraction > 0.2) out.confidence *= 1.0 - f.saturated_fraction;
    // The sign of elongation is what names CPPD (positive) and MSU (negative) under polarized
    // light; shape and strength alone are shared with debris, fibres and fragments. Without an
    // observed sign of the right kind (round outline, too faint for a stable axis, or the wrong
    // sign) the best guess is kept but not claimed: it goes to review, as a reader would do.
    if (!signSupports(out.best, f.elongation)) out.confidence = std::min(out.confidence, kNoSign);
    // CPPD plates are colourless and thin (~1 um): they refract too little to take a measurable
    // share of the light over their whole area. A weak, positive, yet absorbing particle is as
    // likely pigmented debris or a fibre: review, not a CPPD claim.
    if (out.best == CrystalClass::CPPD && -f.intensity_contrast > options.cppd_max_absorption) {
      out.confidence = std::min(out.confidence, kNoSign);
    }
    // Cholesterol plates are thin, colourless and transparent as well: a weak plate that takes a
    // measurable share of the light is as likely pigmented debris (a few nm of retardance, like
    // a thin cholesterol plate's low end). Seen with RGB, where uric acid (strongly birefringent
    // by its real retardance) no longer takes such debris as its best guess.
    if (out.best == CrystalClass::Cholesterol &&
        -f.intensity_contrast > options.cholesterol_max_absorption) {
      out.confidence = std::min(out.confidence, kNoSign);
    }
    // Whewellite is colourless too. A strongly birefringent plate that absorbs like uric acid
    // but has a whewellite-like outline is one or the other, and colour says uric acid: review,
    // not a calcium oxalate claim. (Seen with RGB, where such plates read a few hundred nm like
    // whewellite instead of folding.) The margin is wide (7 %): thick lenses darken a little by
    // refraction at their rims.
    if (out.best == CrystalClass::CaOxMonohydrate &&
        -f.intensity_contrast > options.whewellite_max_absorption) {
      out.confidence = std::min(out.confidence, kNoSign);
    }
    // Uric acid named from its colour alone: a brown plate whose reading stays under the debris
    // level with no fold pixels is a folded uric-acid plate or pigmented debris, and one
    // wavelength cannot tell which: review.
    if (out.best == CrystalClass::UricAcid && !readingIsABound(f) &&
        f.peak_retardance_nm < options.debris_max_peak_nm) {
      out.confidence = std::min(out.confidence, kNoSign);
    }
  }
  out.confidence = std::clamp(out.confidence, 0.0, 1.0);
  out.needs_review = out.confidence < (out.best == CrystalClass::NonBirefringent
                                           ? options.min_confidence_non_birefringent
                                           : options.min_confidence);
  out.cls = out.needs_review ? CrystalClass::Unknown : out.best;
  return out;
}

}  // namespace polscan::analysis
