// Glue of the analysis pipeline for one field; ids are assigned in detection order from first_id.
#include "analysis/field_analysis.hpp"

namespace polscan::analysis {

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
  reconstructInto(stack, blank, options.reconstruction, result.map);
  const Segmentation seg = segment(result.map, options.segmentation, scratch_);
  FeatureContext context;
  context.stage = stack.stage;
  context.threshold_nm = seg.threshold_nm;
  ClassifierOptions cls_options = options.classifier;
  cls_options.wavelength_nm = result.map.wavelength_nm;
  int id = first_id;
  for (const Region& region : seg.regions) {
    const CrystalFeatures f = measureRegion(region, result.map, context);
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
    if (c.needs_review) result.needs_review.push_back(rec.id);
    if (f.touches_border) result.touching_border.push_back(rec.id);
    result.crystals.push_back(rec);
    result.features.push_back(f);
  }
  return result;
}

}  // namespace polscan::analysis
