// Analyses stack folders into one report (shared by `polscan analyze` and `polscan demo`).
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "analysis/field_analysis.hpp"
#include "calibration/analysis_calibration.hpp"
#include "common/stack.hpp"
#include "io/crystal_gallery.hpp"
#include "io/field_overview.hpp"
#include "io/report.hpp"
#include "scan/overlap_merge.hpp"

namespace polscan {

// Finds stacks: dir itself if it is an OME-TIFF file or holds stack.json, else the stack
// folders and .ome.tif files inside it (sorted); see io/stack_file.hpp.
std::vector<std::filesystem::path> findStackFolders(const std::filesystem::path& dir);

// Analyses each stack (with its blank, if the stack names one, and its instrument calibration,
// if it names one or useCalibration() set one), counts crystals on field overlaps once, and
// numbers them 1..n in order of first sighting.
class ReportBuilder {
 public:
  explicit ReportBuilder(std::string sample) : sample_(std::move(sample)) {}
  void addField(const Stack& stack);
  Report report() const;
  // Every stack is analysed with this calibration (calibration.json), in place of the one it
  // names, if any. Loaded once.
  void useCalibration(const std::filesystem::path& file);
  std::size_t crystalCount() const { return crystals_.size(); }

  // Keep crops of each crystal and an overview of the fields for the HTML report (costs a
  // compensator view per field). Off by default.
  void collectImages(bool on) { collect_images_ = on; }
  // Crops by the crystal ids of report(); empty unless collectImages(true).
  Gallery gallery() const;
  const FieldOverview& overview() const { return overview_; }

 private:
  std::string sample_;
  analysis::FieldAnalyzer analyzer_;  // keeps its buffers between fields of one size
  const analysis::ReconstructionOptions base_reconstruction_ = analyzer_.options().reconstruction;
  std::optional<std::filesystem::path> calibration_override_;
  std::map<std::filesystem::path, std::shared_ptr<const calibration::AnalysisCalibration>>
      calibrations_;  // by absolute path, loaded once
  int fields_ = 0;
  int stack_channels_ = 0;  // Report::stack_channels of the fields so far
  std::vector<FieldCrystal> crystals_;
  std::vector<cv::Rect2d> field_rects_um_;  // footprint of each field on the slide
  bool collect_images_ = false;
  std::map<std::pair<int, int>, CrystalImages> crops_;  // (field, id within field) -> crops
  FieldOverview overview_;
};

}  // namespace polscan
