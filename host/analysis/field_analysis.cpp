// Glue of the analysis pipeline for one field; ids are assigned in detection order from first_id.
#include "analysis/field_analysis.hpp"

#include <algorithm>
#include <cmath>

namespace polscan::analysis {

namespace {
constexpr double kLobeGapFactor = 2.5;        // lobe gap as a multiple of the halo gap
constexpr double kLobeMaxAxisDiffDeg = 15.0;  // slow axes of two lobes of one crystal agree
}  // namespace

bool isHaloFragment(const std::vector<CrystalFeatures>& regions, std::size_t i,
                    double quarter_wave_nm, double gap_um) {
  const CrystalFeatures& f = regions[i];
  if (!f.birefringent) return false;
  for (std::size_t j = 0; j < regions.size(); ++j) {
    const CrystalFeatures& p = regions[j];
    if (j == i || !p.birefringent || p.area_um2 <= f.area_um2) continue;
    // Only strong crystals throw halos and diffraction rings bright enough to segment, and only
    // they are cut into lobes by the fold (sin(delta) -> 0 at a half wave).
    const bool strong = p.fold_fraction > 0.0 || p.peak_retardance_nm >= 0.5 * quarter_wave_nm;
    if (!strong) continue;
    const double d = std::hypot(f.x_um - p.x_um, f.y_um - p.y_um);
    const double gap = d - 0.5 * (f.length_um + p.length_um);
    if (gap <= gap_um) return true;
    // A lobe cut off by the fold is the same crystal: same slow axis (a separate neighbour's is
    // random), and it can lie a little farther out than a halo. Past a half wave sin(delta) turns
    // negative and the circular fit reads the slow axis turned by 90 deg, so a lobe on the other
    // side of the half-wave ring of a strong crystal shows the perpendicular axis: the axes are
    // compared modulo 90 deg (the crossed trains know them only modulo 90 anyway).
    double dslow = std::fmod(std::abs(f.slow_axis_deg - p.slow_axis_deg), 90.0);
    dslow = std::min(dslow, 90.0 - dslow);
    if (gap <= kLobeGapFactor * gap_um && dslow <= kLobeMaxAxisDiffDeg) return true;
  }
  return false;
}

FieldResult analyzeField(const polscan::Stack& stack, const polscan::Stack* blank, int field_index,
                         int first_id) {
  return analyzeField(stack, blank, field_index, first_id, AnalysisOptions{});
}

FieldResult analyzeField(const polscan::Stack& stack, const polscan::Stack* blank, int field_index,
                         int first_id, const AnalysisOptions& options) {
  FieldAnalyzer analyzer(options);
  return analyzer.analyze(stack, blank, field_index, first_id);
}

const FieldResult& FieldAnalyzer::analyze(const polscan::Stack& stack, const polscan::Stack* blank,
                                          int field_index, int first_id) {
  const AnalysisOptions& options = options_;
  FieldResult& result = result_;
  result.crystals.clear();
  result.needs_review.clear();
  result.touching_border.clear();
  result.features.clear();
  result.classifications.clear();
  reconstructInto(stack, blank, options.reconstruction, result.map);
  const Segmentation seg = segment(result.map, options.segmentation, scratch_);
  FeatureContext context;
  context.stage = stack.stage;
  context.threshold_nm = seg.threshold_nm;
  context.noise_floor_nm = result.map.noise_floor_nm;
  ClassifierOptions cls_options = options.classifier;
  cls_options.wavelength_nm = result.map.wavelength_nm;
  std::vector<CrystalFeatures>& measured = measured_;
  measured.clear();
  for (const Region& region : seg.regions)
    measured.push_back(measureRegion(region, result.map, context));
  const std::vector<bool> merged =
      mergeSplitNeedles(measured, result.map.quarter_wave_nm, options.split_needles);
  int id = first_id;
  for (std::size_t i = 0; i < measured.size(); ++i) {
    const CrystalFeatures& f = measured[i];
    if (merged[i]) continue;
    if (isHaloFragment(measured, i, result.map.quarter_wave_nm, options.halo_gap_um)) continue;
    const Classification c = classify(f, cls_options);
    polscan::CrystalRecord rec;
    rec.id = id++;
    rec.cls = c.cls;
    rec.confidence = c.confidence;
    rec.x_um = f.x_um;
    rec.y_um = f.y_um;
    rec.length_um = f.length_um;
    rec.width_um = f.width_um;
    rec.retardance_nm = f.mean_retardance_nm;
    rec.slow_axis_deg = f.slow_axis_deg;
    rec.long_axis_deg = f.long_axis_deg;
    rec.elongation = f.elongation;
    rec.field = field_index;
    // CrystalFeatures::focus is per pixel (gradient over a pixel step): per um for the report.
    if (result.map.pixel_um > 0) rec.focus_per_um = f.focus / result.map.pixel_um;
    if (c.needs_review) result.needs_review.push_back(rec.id);
    if (f.touches_border) result.touching_border.push_back(rec.id);
    result.crystals.push_back(rec);
    result.features.push_back(f);
    result.classifications.push_back(c);
  }
  return result;
}

}  // namespace polscan::analysis
