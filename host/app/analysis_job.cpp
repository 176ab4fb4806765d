// findStackFolders and ReportBuilder: glue between stack folders and the analysis library.
#include "app/analysis_job.hpp"

#include <algorithm>
#include <optional>

#include "analysis/compensator_view.hpp"
#include "io/stack_file.hpp"

namespace polscan {

namespace fs = std::filesystem;

std::vector<fs::path> findStackFolders(const fs::path& dir) {
  return findStacks(dir);
}

void ReportBuilder::useCalibration(const fs::path& file) {
  calibration_override_ = fs::absolute(file);
  calibrations_[*calibration_override_] = std::make_shared<const calibration::AnalysisCalibration>(
      calibration::loadAnalysisCalibration(*calibration_override_));
}

void ReportBuilder::addField(const Stack& raw) {
  std::shared_ptr<const Stack> blank;
  if (raw.blank) blank = std::make_shared<const Stack>(readStack(*raw.blank));
  const std::optional<fs::path> cal_file =
      calibration_override_ ? calibration_override_ : raw.calibration;
  const Stack* stack = &raw;
  std::optional<calibration::CalibratedStack> calibrated;
  if (cal_file) {
    auto& cal = calibrations_[fs::absolute(*cal_file)];
    if (!cal) {
      cal = std::make_shared<const calibration::AnalysisCalibration>(
          calibration::loadAnalysisCalibration(*cal_file));
    }
    calibrated = calibration::calibrateStack(*cal, raw, blank, base_reconstruction_);
    stack = &calibrated->stack;
    blank = calibrated->blank;
    analyzer_.setReconstruction(calibrated->reconstruction);
  } else {
    analyzer_.setReconstruction(base_reconstruction_);
  }
  const analysis::FieldResult& result = analyzer_.analyze(*stack, blank.get(), fields_, 1);
  const StagePosition centre = raw.stage.value_or(StagePosition{});
  const double w_um = result.map.retardance_nm.cols * result.map.pixel_um;
  const double h_um = result.map.retardance_nm.rows * result.map.pixel_um;
  field_rects_um_.emplace_back(centre.x_um - w_um / 2, centre.y_um - h_um / 2, w_um, h_um);
  if (collect_images_) {
    overview_.addField(result.map.intensity, result.map.pixel_um, centre);
    if (!result.crystals.empty()) {
      const cv::Mat view = analysis::compensatorView(result.map);
      for (std::size_t i = 0; i < result.crystals.size(); ++i) {
        const CrystalRecord& c = result.crystals[i];
        crops_[{fields_, c.id}] =
            cropCrystal(result.map, view, result.features[i].cx_px, result.features[i].cy_px,
                        c.length_um, c.retardance_nm);
      }
    }
  }
  std::vector<FieldCrystal> field;
  for (const CrystalRecord& c : result.crystals) {
    FieldCrystal fc{c, false, false};
    fc.touches_border = std::find(result.touching_border.begin(), result.touching_border.end(),
                                  c.id) != result.touching_border.end();
    fc.needs_review = std::find(result.needs_review.begin(), result.needs_review.end(), c.id) !=
                      result.needs_review.end();
    field.push_back(fc);
  }
  mergeField(crystals_, field);
  stack_channels_ = withFieldChannels(stack_channels_, result.map.channels);
  ++fields_;
}

Report ReportBuilder::report() const {
  Report r;
  r.sample = sample_;
  r.fields = fields_;
  r.scanned_area_mm2 = unionArea(field_rects_um_) * 1e-6;
  r.stack_channels = stack_channels_;
  for (const FieldCrystal& c : crystals_) {
    r.crystals.push_back(c.record);
    r.crystals.back().id = static_cast<int>(r.crystals.size());
    if (c.needs_review) r.needs_review.push_back(r.crystals.back().id);
  }
  return r;
}

}  // namespace polscan

namespace polscan {

Gallery ReportBuilder::gallery() const {
  Gallery g;
  for (std::size_t i = 0; i < crystals_.size(); ++i) {
    const CrystalRecord& c = crystals_[i].record;  // field and id as seen in its field
    const auto it = crops_.find({c.field, c.id});
    if (it != crops_.end()) g[static_cast<int>(i + 1)] = it->second;  // ids as in report()
  }
  return g;
}

}  // namespace polscan
