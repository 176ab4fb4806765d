// Candidate regions: birefringent ones from the retardance map, non-birefringent ones from I0.
#pragma once

#include <vector>

#include <opencv2/core.hpp>

#include "analysis/retardance_map.hpp"

namespace polscan::analysis {

struct SegmentationOptions {
  double k_noise = 3.0;           // retardance threshold = max(k_noise * noise floor, min)
  double min_threshold_nm = 3.0;  // never below this: keeps quiet fields from segmenting noise
  double seed_factor = 1.5;       // a region must reach seed_factor * threshold somewhere ...
  // ... or pass the integrated contrast-to-noise test (faint_detection.hpp) at this expected number
  // of regions from noise alone per field (Bonferroni over the field's candidates); 0: off.
  double faint_false_alarms_per_field = 1e-3;
  // Faint fragments within this gap of each other with one slow axis are the noise tops of one
  // object at the threshold level (not reported); within it of an accepted region, part of it.
  // 2.5 um: the fold-lobe gap (2.5 x AnalysisOptions::halo_gap_um).
  double faint_gap_um = 2.5;
  double min_size_um = 1.5;    // longest extent of a region to be reported
  bool split_touching = true;  // distance-transform + watershed split of merged crystals
  // Non-birefringent path: |I0 / local background - 1| above max(this, k_noise * contrast noise).
  double min_absorption_contrast = 0.06;
  int background_block_px = 64;  // block size of the local I0 background (block medians)
  bool detect_non_birefringent = true;
};

struct Region {
  cv::Rect bbox;  // in map pixels
  cv::Mat mask;   // CV_8U, bbox-sized, 255 inside
  int area_px = 0;
  bool touches_border = false;
  bool birefringent = true;  // false: found in the intensity (absorption) path
  bool faint = false;        // accepted by the integrated test, not by its peak
};

struct Segmentation {
  std::vector<Region> regions;
  double threshold_nm = 0.0;
  double contrast_threshold = 0.0;
  int faint_candidates = 0;  // components above the threshold that missed the seed
  double faint_level = 0.0;  // Z the integrated test asked of them (0: none tested)
};

// Full-size working images, kept between fields so a scan does not pay fresh allocations (and
// their first-touch page faults) for every field.
struct SegmentationScratch {
  cv::Mat mask, excluded, blob, padded, group, labels, stats, centroids;
};

Segmentation segment(const RetardanceMap& map, const SegmentationOptions& options = {});
Segmentation segment(const RetardanceMap& map, const SegmentationOptions& options,
                     SegmentationScratch& scratch);

}  // namespace polscan::analysis
