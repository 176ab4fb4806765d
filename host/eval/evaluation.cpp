// Renders virtual slides with the twin at equally spaced polarizer angles, analyses each field
// and scores the crystals against the slide's truth.
#include "eval/evaluation.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "analysis/field_analysis.hpp"
#include "common/stack.hpp"
#include "hardware/twin/field_renderer.hpp"
#include "hardware/twin/rng.hpp"
#include "hardware/twin/slide.hpp"

namespace polscan::eval {

namespace {

using polscan::CrystalClass;
using Clock = std::chrono::steady_clock;

// Densities per mm^2, high enough that a field holds ~10-20 objects (statistics per minute of
// evaluation), low enough that most objects stand apart as on a good wet preparation.
twin::SlideRecipe recipeFor(const std::string& sample) {
  twin::SlideRecipe r;
  r.chamber_depth_um = 20;
  if (sample == "synovial") {
    r.sample = "synovial-fluid";
    r.per_mm2 = {{CrystalClass::CPPD, 35},         {CrystalClass::MSU, 18},
                 {CrystalClass::CaOxDihydrate, 3}, {CrystalClass::CaOxMonohydrate, 2},
                 {CrystalClass::Cholesterol, 2},   {CrystalClass::NonBirefringent, 10}};
    r.cells_per_mm2 = 40;
    r.debris_per_mm2 = 10;
    r.bubbles_per_mm2 = 1;
  } else if (sample == "urine") {
    r.sample = "urine";
    r.per_mm2 = {{CrystalClass::CaOxDihydrate, 22},
                 {CrystalClass::CaOxMonohydrate, 14},
                 {CrystalClass::UricAcid, 10},
                 {CrystalClass::Cholesterol, 1},
                 {CrystalClass::NonBirefringent, 6}};
    r.cells_per_mm2 = 20;
    r.debris_per_mm2 = 15;
    r.bubbles_per_mm2 = 1;
  } else if (sample == "mixed") {
    r.sample = "mixed";
    r.per_mm2 = {{CrystalClass::CPPD, 25},           {CrystalClass::MSU, 12},
                 {CrystalClass::CaOxMonohydrate, 8}, {CrystalClass::CaOxDihydrate, 8},
                 {CrystalClass::UricAcid, 6},        {CrystalClass::Cholesterol, 2.5},
                 {CrystalClass::NonBirefringent, 8}};
    r.cells_per_mm2 = 25;
    r.debris_per_mm2 = 10;
    r.bubbles_per_mm2 = 1;
  } else {
    throw std::invalid_argument("eval: unknown sample '" + sample + "' (synovial, urine or mixed)");
  }
  return r;
}

std::string fmtPct(double v) {
  if (std::isnan(v)) return "    -";
  char buf[16];
  std::snprintf(buf, sizeof buf, "%5.1f", 100.0 * v);
  return buf;
}

nlohmann::json num(double v) {
  return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v);
}

const char* kShortNames[kReportedCols] = {"CPPD", "MSU",    "CaOx-m", "CaOx-d", "UA",
                                          "chol", "non-bf", "artef",  "unkn",   "missed"};

std::string binName(int b) {
  char buf[32];
  if (b == 0) {
    std::snprintf(buf, sizeof buf, "< %g nm", kRetardanceEdgesNm[0]);
  } else if (b == kRetardanceBins - 1) {
    std::snprintf(buf, sizeof buf, ">= %g nm", kRetardanceEdgesNm[b - 1]);
  } else {
    std::snprintf(buf, sizeof buf, "%g-%g nm", kRetardanceEdgesNm[b - 1], kRetardanceEdgesNm[b]);
  }
  return buf;
}

}  // namespace

EvalResult runEvaluation(const EvalConfig& config, const ProgressFn& progress) {
  if (config.slides < 1) throw std::invalid_argument("eval: --slides must be >= 1");
  if (config.fields_per_slide < 1) {
    throw std::invalid_argument("eval: --fields-per-slide must be >= 1");
  }
  if (config.angles < 3) throw std::invalid_argument("eval: needs >= 3 polarizer angles");
  const twin::SlideRecipe base = recipeFor(config.sample);

  twin::OpticsConfig optics;
  optics.led_drift = config.led_drift;
  optics.polarizer_wobble_deg = config.polarizer_wobble_deg;
  optics.vignetting = config.vignetting;
  if (config.rgb) {
    optics.wavelengths_nm.assign(config.rgb_wavelengths_nm.begin(),
                                 config.rgb_wavelengths_nm.end());
    // An achromatic quarter-wave plate: a quarter wave at every channel (the reconstruction's
    // model; a zero-order plate for 546 nm is ~0.1 wave off at 465 and 610 nm).
    optics.qwp_retardance_nm = 0.0;
  } else {
    optics.wavelengths_nm = {config.wavelength_nm};
  }

  // Fields on a grid with a gap between them: no object is scored twice, and the slide is only as
  // large as the fields need (objects elsewhere would cost placement time only).
  const double fw = config.width_px * config.pixel_um, fh = config.height_px * config.pixel_um;
  const int cols = static_cast<int>(std::ceil(std::sqrt(config.fields_per_slide)));
  const int rows = (config.fields_per_slide + cols - 1) / cols;
  const double pitch_x = fw + 60.0, pitch_y = fh + 60.0;

  EvalResult result;
  result.config = config;
  const int total = config.slides * config.fields_per_slide;
  int done = 0;
  analysis::AnalysisOptions analysis_options;
  analysis_options.classifier.calibrate = !config.raw_confidence;
  analysis::FieldAnalyzer analyzer(analysis_options);
  std::ofstream csv;
  if (!config.features_csv.empty()) {
    csv.open(config.features_csv);
    if (!csv) throw std::runtime_error("eval: cannot write " + config.features_csv);
    csv << "truth,scored,reported,confidence,length_um,width_um,aspect,box_aspect,box_fill,"
           "solidity,rectangularity,waist,x_pattern,centre_peak,facet_contrast,mean_nm,peak_nm,"
           "fold,axis_to_long,coherence,contrast,ellipse_fit,hollowness,texture,birefringent,"
           "true_retardance_nm,field,x_um,y_um,area_um2,cnr,coherent_nm,coherent_snr,slow_axis_deg,"
           "long_axis_deg,elongation,best,raw_confidence,ambiguous\n";
  }
  for (int s = 0; s < config.slides; ++s) {
    const std::uint64_t slide_seed = twin::combineSeeds(config.seed, static_cast<std::uint64_t>(s));
    twin::SlideRecipe recipe = base;
    recipe.width_mm = (cols * pitch_x + 60.0) / 1000.0;
    recipe.height_mm = (rows * pitch_y + 60.0) / 1000.0;
    const twin::Slide slide = twin::makeSlide(recipe, slide_seed);
    const twin::FieldRenderer renderer(slide, optics);
    twin::Rng rng(twin::combineSeeds(slide_seed, 0xE7A1));
    for (int f = 0; f < config.fields_per_slide; ++f) {
      const auto t0 = Clock::now();
      const double cx = (f % cols - (cols - 1) / 2.0) * pitch_x;
      const double cy = (f / cols - (rows - 1) / 2.0) * pitch_y;
      // Autofocus lands near the chamber floor where crystals sediment, within the depth of field.
      const double z = 1.0 + rng.uniform(-config.max_defocus_um, config.max_defocus_um);
      polscan::Stack stack;
      stack.train = polscan::OpticalTrain::Circular;
      stack.wavelengths_nm = optics.wavelengths_nm;
      stack.pixel_um = config.pixel_um;
      stack.exposure_us = config.exposure_us;
      stack.bit_depth = optics.bit_depth;
      stack.stage = polscan::StagePosition{cx, cy, z};
      for (int a = 0; a < config.angles; ++a) {
        twin::FieldRequest req;
        req.stage_x_um = cx;
        req.stage_y_um = cy;
        req.z_um = z;
        req.polarizer_deg = 180.0 * a / config.angles;
        req.width_px = config.width_px;
        req.height_px = config.height_px;
        req.pixel_um = config.pixel_um;
        req.exposure_us = config.exposure_us;
        req.frame_seed = twin::combineSeeds(slide_seed, static_cast<std::uint64_t>(f * 64 + a));
        stack.frames.push_back(renderer.render(req));
        stack.angles_deg.push_back(req.polarizer_deg);
      }
      const auto t1 = Clock::now();
      const analysis::FieldResult& fr = analyzer.analyze(stack, nullptr, f, 1);
      const auto t2 = Clock::now();

      const twin::FieldWindow window{cx, cy, fw, fh};
      std::vector<TruthPoint> tp;
      std::vector<TruthItem> ti;
      for (const twin::CrystalSpec* o : twin::objectsInField(slide, cx, cy, fw, fh)) {
        const bool scored = twin::objectInsideRect(*o, window);
        const double half = 0.5 * std::max(o->length_um, o->width_um);
        // Cut objects are only matched to keep their visible part from counting as false; their
        // visible centroid can be anywhere within the object.
        const double radius = scored ? std::clamp(half, 4.0, config.match_distance_um)
                                     : 0.5 * std::hypot(o->length_um, o->width_um) + 3.0;
        tp.push_back({o->x_um, o->y_um, radius});
        // With one wavelength, a strong crystal near a multiple of a half wave shows (almost) no
        // birefringence: flagged so the report can say how many errors that physics explains.
        // RGB runs flag the same crystals (blind to the mono LED) to show what the channels see.
        const bool blind = readsUnderAtWavelength(o->retardance_nm(), config.wavelength_nm);
        ti.push_back({o->cls, o->length_um, o->retardance_nm(), scored, blind});
      }
      std::vector<DetectionPoint> dp;
      std::vector<CrystalClass> reported;
      for (const polscan::CrystalRecord& c : fr.crystals) {
        dp.push_back({c.x_um, c.y_um});
        reported.push_back(c.cls);
      }
      const MatchResult match = matchByDistance(tp, dp, std::numeric_limits<double>::infinity());
      result.counts.addField(ti, reported, match);
      std::vector<CrystalClass> best;
      std::vector<double> confidence, raw;
      for (std::size_t d = 0; d < fr.crystals.size(); ++d) {
        best.push_back(fr.classifications[d].best);
        confidence.push_back(fr.crystals[d].confidence);
        raw.push_back(fr.classifications[d].raw_confidence);
      }
      result.counts.addConfidences(ti, best, confidence, raw, match);
      if (csv.is_open()) {
        for (std::size_t d = 0; d < fr.features.size(); ++d) {
          const analysis::CrystalFeatures& x = fr.features[d];
          const int t = match.detection_to_truth[d];
          csv << (t >= 0 ? crystalClassName(ti[t].cls) : "none") << ','
              << (t >= 0 ? ti[t].scored : 1) << ',' << crystalClassName(reported[d]) << ','
              << fr.crystals[d].confidence << ',' << x.length_um << ',' << x.width_um << ','
              << x.aspect << ',' << x.box_aspect << ',' << x.box_fill << ',' << x.solidity << ','
              << x.rectangularity << ',' << x.waist << ',' << x.x_pattern << ',' << x.centre_peak
              << ',' << x.facet_contrast << ',' << x.mean_retardance_nm << ','
              << x.peak_retardance_nm << ',' << x.fold_fraction << ',' << x.axis_to_long_deg << ','
              << x.axis_coherence << ',' << x.intensity_contrast << ',' << x.ellipse_fit << ','
              << x.hollowness << ',' << x.intensity_texture << ',' << x.birefringent << ','
              << (t >= 0 ? ti[t].retardance_nm : 0.0) << ',' << (s * config.fields_per_slide + f)
              << ',' << x.x_um << ',' << x.y_um << ',' << x.area_um2 << ',' << x.cnr << ','
              << x.coherent_nm << ',' << x.coherent_snr << ',' << x.slow_axis_deg << ','
              << x.long_axis_deg << ',' << polscan::elongationName(x.elongation) << ','
              << crystalClassName(fr.classifications[d].best) << ','
              << fr.classifications[d].raw_confidence << ',' << x.ambiguous_fraction << '\n';
        }
      }
      result.counts.seconds += std::chrono::duration<double>(Clock::now() - t0).count();
      result.counts.analysis_seconds += std::chrono::duration<double>(t2 - t1).count();
      ++done;
      if (progress) progress(done, total);
    }
  }
  result.metrics = computeMetrics(result.counts);
  return result;
}

CalibrationFit fitConfidenceCalibration(const EvalConfig& config, const ProgressFn& progress) {
  CalibrationFit fit;
  const std::array<const char*, 3> samples = {"synovial", "urine", "mixed"};
  const int per_run = config.slides * config.fields_per_slide;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    EvalConfig c = config;
    c.sample = samples[i];
    c.raw_confidence = true;
    c.features_csv.clear();
    const EvalResult r = runEvaluation(c, [&](int done, int) {
      if (progress) progress(static_cast<int>(i) * per_run + done, 3 * per_run);
    });
    fit.raw_counts.merge(r.counts);
  }
  if (fit.raw_counts.calibration_samples.empty()) {
    throw std::runtime_error("eval: no crystal best guesses to fit a calibration on");
  }
  fit.calibration = analysis::fitCalibration(fit.raw_counts.calibration_samples);
  return fit;
}

std::string formatCalibrationTable(const CalibrationFit& fit) {
  std::ostringstream o;
  char buf[256];
  for (CrystalClass cls : polscan::kAllCrystalClasses) {
    if (cls == CrystalClass::Artefact || cls == CrystalClass::Unknown) continue;
    std::int64_t n = 0, right = 0;
    for (const analysis::CalibrationSample& x : fit.raw_counts.calibration_samples) {
      if (x.best != cls) continue;
      ++n;
      right += x.correct ? 1 : 0;
    }
    const analysis::PlattScaling& p = fit.calibration.per_class[static_cast<std::size_t>(cls)];
    std::snprintf(buf, sizeof buf,
                  "    c.per_class[%d] = {%.4f, %.4f};  // %s: %lld best guesses, %lld right\n",
                  static_cast<int>(cls), p.a, p.b, std::string(crystalClassName(cls)).c_str(),
                  static_cast<long long>(n), static_cast<long long>(right));
    o << buf;
  }
  return o.str();
}

nlohmann::json toJson(const EvalResult& r) {
  const EvalCounts& c = r.counts;
  const EvalMetrics& m = r.metrics;
  nlohmann::json j;
  j["config"] = {
      {"slides", r.config.slides},
      {"seed", r.config.seed},
      {"fields_per_slide", r.config.fields_per_slide},
      {"sample", r.config.sample},
      {"width_px", r.config.width_px},
      {"height_px", r.config.height_px},
      {"pixel_um", r.config.pixel_um},
      {"angles", r.config.angles},
      {"rgb", r.config.rgb},
      {"wavelengths_nm", r.config.rgb ? std::vector<double>(r.config.rgb_wavelengths_nm.begin(),
                                                            r.config.rgb_wavelengths_nm.end())
                                      : std::vector<double>{r.config.wavelength_nm}}};
  nlohmann::json rows = nlohmann::json::object();
  for (int row = 0; row < kTruthRows; ++row) {
    const std::string name =
        row == kNoneRow ? "none" : std::string(crystalClassName(polscan::kAllCrystalClasses[row]));
    nlohmann::json cols = nlohmann::json::object();
    for (int col = 0; col < kReportedCols; ++col) {
      const std::string cname =
          col == kMissedCol ? "missed"
                            : std::string(crystalClassName(polscan::kAllCrystalClasses[col]));
      cols[cname] = c.confusion[row][col];
    }
    rows[name] = cols;
  }
  j["confusion"] = rows;
  nlohmann::json classes = nlohmann::json::object();
  for (const ClassMetrics& cm : m.classes) {
    classes[std::string(crystalClassName(cm.cls))] = {{"truth", cm.truth},
                                                      {"reported", cm.reported},
                                                      {"correct", cm.correct},
                                                      {"sensitivity", num(cm.sensitivity)},
                                                      {"precision", num(cm.precision)}};
  }
  j["classes"] = classes;
  auto bins = [](const std::array<BinCount, kRetardanceBins>& b) {
    nlohmann::json a = nlohmann::json::array();
    for (int i = 0; i < kRetardanceBins; ++i) {
      a.push_back({{"bin", binName(i)},
                   {"truth", b[i].truth},
                   {"detected", b[i].detected},
                   {"correct", b[i].correct},
                   {"detection_sensitivity", num(ratio(b[i].detected, b[i].truth))},
                   {"class_sensitivity", num(ratio(b[i].correct, b[i].truth))}});
    }
    return a;
  };
  j["retardance_bins"] = bins(c.retardance);
  j["cppd_retardance_bins"] = bins(c.cppd_retardance);
  j["birefringent_3um"] = {{"truth", c.birefringent_3um.truth},
                           {"detected", c.birefringent_3um.detected},
                           {"correct", c.birefringent_3um.correct},
                           {"class_accuracy", num(m.class_accuracy)},
                           {"end_to_end_accuracy", num(m.end_to_end_accuracy)},
                           {"detection_sensitivity", num(m.detection_sensitivity)}};
  {
    const BinCount& bl = c.birefringent_3um_blind;
    j["birefringent_3um_blind_at_wavelength"] = {
        {"reading_under_nm", kBlindReadingNm},
        {"truth", bl.truth},
        {"detected", bl.detected},
        {"correct", bl.correct},
        {"class_accuracy_of_the_rest", num(ratio(c.birefringent_3um.correct - bl.correct,
                                                 c.birefringent_3um.detected - bl.detected))}};
  }
  j["fields"] = c.fields;
  j["false_crystals"] = c.false_crystals;
  j["false_crystals_per_100_fields"] = num(m.false_crystals_per_100_fields);
  j["false_birefringent"] = c.false_birefringent;
  j["false_birefringent_per_100_fields"] = num(m.false_birefringent_per_100_fields);
  j["false_non_birefringent"] = c.false_non_birefringent;
  j["false_non_birefringent_per_100_fields"] = num(m.false_non_birefringent_per_100_fields);
  j["false_crystal_identifications"] = c.false_birefringent;
  j["false_crystal_identifications_per_100_fields"] = num(m.false_birefringent_per_100_fields);
  nlohmann::json rel = nlohmann::json::array();
  for (int b = 0; b < kReliabilityBins; ++b) {
    const ReliabilityBin& x = c.reliability[b];
    rel.push_back({{"from", static_cast<double>(b) / kReliabilityBins},
                   {"to", static_cast<double>(b + 1) / kReliabilityBins},
                   {"n", x.n},
                   {"mean_confidence", num(x.n > 0 ? x.confidence_sum / x.n : std::nan(""))},
                   {"accuracy", num(ratio(x.correct, x.n))}});
  }
  j["reliability"] = rel;
  j["expected_calibration_error"] = num(m.expected_calibration_error);
  j["raw_confidence"] = r.config.raw_confidence;
  j["seconds"] = c.seconds;
  j["analysis_seconds"] = c.analysis_seconds;
  j["fields_per_s"] = m.fields_per_s;
  j["analysis_fields_per_s"] = c.analysis_seconds > 0 ? c.fields / c.analysis_seconds : 0.0;
  return j;
}

std::string formatReport(const EvalResult& r) {
  const EvalCounts& c = r.counts;
  const EvalMetrics& m = r.metrics;
  std::ostringstream o;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "Evaluation: %d slide(s) x %d field(s), sample %s, seed %llu, %dx%d px at %.2f "
                "um/px, %d angles, ",
                r.config.slides, r.config.fields_per_slide, r.config.sample.c_str(),
                static_cast<unsigned long long>(r.config.seed), r.config.width_px,
                r.config.height_px, r.config.pixel_um, r.config.angles);
  o << buf;
  if (r.config.rgb) {
    const auto& w = r.config.rgb_wavelengths_nm;
    std::snprintf(buf, sizeof buf,
                  "RGB %g/%g/%g nm (real retardance unwrapped from the three channels)\n\n", w[0],
                  w[1], w[2]);
  } else {
    std::snprintf(buf, sizeof buf, "mono %g nm\n\n", r.config.wavelength_nm);
  }
  o << buf;
  o << "Confusion matrix (rows: truth, columns: reported; objects cut by a field border not "
       "scored)\n";
  std::snprintf(buf, sizeof buf, "  %-18s", "truth \\ reported");
  o << buf;
  for (const char* n : kShortNames) {
    std::snprintf(buf, sizeof buf, "%7s", n);
    o << buf;
  }
  o << "\n";
  for (int row = 0; row < kTruthRows; ++row) {
    const std::string name = row == kNoneRow
                                 ? "none (false)"
                                 : std::string(crystalClassName(polscan::kAllCrystalClasses[row]));
    std::snprintf(buf, sizeof buf, "  %-18s", name.c_str());
    o << buf;
    for (int col = 0; col < kReportedCols; ++col) {
      std::snprintf(buf, sizeof buf, "%7lld", static_cast<long long>(c.confusion[row][col]));
      o << buf;
    }
    o << "\n";
  }
  o << "\nPer class            truth  reported  correct  sensitivity %  precision %\n";
  for (const ClassMetrics& cm : m.classes) {
    std::snprintf(buf, sizeof buf, "  %-18s %6lld  %8lld  %7lld  %13s  %11s\n",
                  std::string(crystalClassName(cm.cls)).c_str(), static_cast<long long>(cm.truth),
                  static_cast<long long>(cm.reported), static_cast<long long>(cm.correct),
                  fmtPct(cm.sensitivity).c_str(), fmtPct(cm.precision).c_str());
    o << buf;
  }
  o << "\nSensitivity by true retardance (birefringent crystals; detected = found as anything, "
       "class = right class)\n";
  o << "  bin          n  detected %  class %   | CPPD n  detected %  class %\n";
  for (int b = 0; b < kRetardanceBins; ++b) {
    const BinCount& a = c.retardance[b];
    const BinCount& p = c.cppd_retardance[b];
    std::snprintf(
        buf, sizeof buf, "  %-10s %4lld  %10s  %7s   | %6lld  %10s  %7s\n", binName(b).c_str(),
        static_cast<long long>(a.truth), fmtPct(ratio(a.detected, a.truth)).c_str(),
        fmtPct(ratio(a.correct, a.truth)).c_str(), static_cast<long long>(p.truth),
        fmtPct(ratio(p.detected, p.truth)).c_str(), fmtPct(ratio(p.correct, p.truth)).c_str());
    o << buf;
  }
  const BinCount& b3 = c.birefringent_3um;
  std::snprintf(buf, sizeof buf,
                "\nBirefringent crystals >= 3 um: %lld, detected %s %%, class accuracy %s %% of "
                "detected (%s %% of all, missed counted wrong)\n",
                static_cast<long long>(b3.truth), fmtPct(m.detection_sensitivity).c_str(),
                fmtPct(m.class_accuracy).c_str(), fmtPct(m.end_to_end_accuracy).c_str());
  o << buf;
  {
    // The physics of one wavelength, not a change of the figure above: a plate whose retardance
    // is near k x lambda/2 has sin(delta) ~ 0 and shows no birefringence to a mono stack.
    const BinCount& bl = c.birefringent_3um_blind;
    const double lambda = r.config.wavelength_nm;
    if (r.config.rgb) {
      std::snprintf(buf, sizeof buf,
                    "  of them %lld lie within %g nm of a multiple of the half wave at %g nm "
                    "(blind to a mono stack at %g nm; the RGB channels see them): %lld detected, "
                    "%lld right; class accuracy over the rest %s %%\n",
                    static_cast<long long>(bl.truth), kBlindReadingNm, lambda, lambda,
                    static_cast<long long>(bl.detected), static_cast<long long>(bl.correct),
                    fmtPct(ratio(b3.correct - bl.correct, b3.detected - bl.detected)).c_str());
    } else {
      std::snprintf(buf, sizeof buf,
                    "  of them %lld lie within %g nm of a multiple of the half wave (%g nm at %g "
                    "nm): sin(delta) ~ 0, so one wavelength shows them no birefringence (RGB "
                    "would): %lld detected, %lld right; class accuracy over the rest %s %%\n",
                    static_cast<long long>(bl.truth), kBlindReadingNm, lambda / 2.0, lambda,
                    static_cast<long long>(bl.detected), static_cast<long long>(bl.correct),
                    fmtPct(ratio(b3.correct - bl.correct, b3.detected - bl.detected)).c_str());
    }
    o << buf;
  }
  // Two definitions, both printed. A report names a crystal only for the birefringent classes;
  // a non-birefringent particle is reported as a particle whose nature polarized light cannot
  // tell (apatite needs alizarin red), so the current definition counts only false crystal
  // identifications. The old definition also counted non-birefringent particle reports on
  // debris/cells as false crystals.
  std::snprintf(buf, sizeof buf,
                "False crystals (claims on nothing or on an artefact; artefact/unknown are not "
                "claims), %lld fields:\n"
                "  false crystal identifications (birefringent class; current definition, issue "
                "figure): %4lld = %6.2f per 100 fields\n"
                "  non-birefringent particle reports on debris/cells/nothing:                  "
                "    %4lld = %6.2f per 100 fields\n"
                "  old definition (both above):                                                "
                "    %4lld = %6.2f per 100 fields\n",
                static_cast<long long>(c.fields), static_cast<long long>(c.false_birefringent),
                m.false_birefringent_per_100_fields,
                static_cast<long long>(c.false_non_birefringent),
                m.false_non_birefringent_per_100_fields, static_cast<long long>(c.false_crystals),
                m.false_crystals_per_100_fields);
  o << buf;
  o << "  (a non-birefringent report names no crystal: the report says polarized light cannot "
       "identify it and apatite needs alizarin red; on debris it costs a stain, not a "
       "diagnosis)\n";
  o << "\nReliability of the confidence (" << (r.config.raw_confidence ? "raw" : "calibrated")
    << "): best guesses of a crystal class, claimed (>= 0.6) or sent to review\n"
       "  confidence   n  mean conf.  accuracy\n";
  for (int b = 0; b < kReliabilityBins; ++b) {
    const ReliabilityBin& x = c.reliability[b];
    std::snprintf(buf, sizeof buf, "  %.1f-%.1f %6lld  %10s  %8s\n",
                  static_cast<double>(b) / kReliabilityBins,
                  static_cast<double>(b + 1) / kReliabilityBins, static_cast<long long>(x.n),
                  x.n > 0 ? fmtPct(x.confidence_sum / x.n).c_str() : "    -",
                  fmtPct(ratio(x.correct, x.n)).c_str());
    o << buf;
  }
  std::snprintf(buf, sizeof buf, "  expected calibration error: %s %%\n",
                fmtPct(m.expected_calibration_error).c_str());
  o << buf;
  std::snprintf(buf, sizeof buf,
                "Speed: %.2f fields/s overall (render + analysis), %.2f fields/s analysis only "
                "(%.1f ms/field)\n",
                m.fields_per_s, c.analysis_seconds > 0 ? c.fields / c.analysis_seconds : 0.0,
                c.fields > 0 ? 1000.0 * c.analysis_seconds / c.fields : 0.0);
  o << buf;
  return o.str();
}

}  // namespace polscan::eval
