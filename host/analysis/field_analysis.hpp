// One field end to end: reconstruction, segmentation, features, classification -> crystal records.
#pragma once

#include <utility>
#include <vector>

#include "analysis/classifier.hpp"
#include "analysis/crystal_features.hpp"
#include "analysis/reconstruction.hpp"
#include "analysis/retardance_map.hpp"
#include "analysis/segmentation.hpp"
#include "analysis/split_needles.hpp"
#include "common/crystal.hpp"
#include "common/stack.hpp"

namespace polscan::analysis {

struct FieldResult {
  std::vector<polscan::CrystalRecord> crystals;
  std::vector<int> needs_review;     // ids with low confidence (reported as unknown)
  std::vector<int> touching_border;  // ids cut by the field edge: a later de-dup step may merge
  std::vector<CrystalFeatures> features;        // parallel to crystals
  std::vector<Classification> classifications;  // parallel to crystals (best guess, raw conf.)
  RetardanceMap map;
};

struct AnalysisOptions {
  ReconstructionOptions reconstruction;
  SegmentationOptions segmentation;
  ClassifierOptions classifier;
  // A birefringent region closer than this gap (um, outline to outline estimated from the
  // centroids and lengths) to a larger strong crystal is its halo, diffraction ring or a lobe cut
  // off by the fold: part of that crystal, not a crystal of its own.
  double halo_gap_um = 1.0;
  SplitNeedleOptions split_needles;  // the two ends of a needle cut by the half-wave fold
};

// True when regions[i] is a halo/fragment of a larger strong birefringent region (see
// AnalysisOptions::halo_gap_um).
bool isHaloFragment(const std::vector<CrystalFeatures>& regions, std::size_t i,
                    double quarter_wave_nm, double gap_um);

FieldResult analyzeField(const polscan::Stack& stack, const polscan::Stack* blank = nullptr,
                         int field_index = 0, int first_id = 1);
FieldResult analyzeField(const polscan::Stack& stack, const polscan::Stack* blank, int field_index,
                         int first_id, const AnalysisOptions& options);

// For scans: keeps the map and the segmentation's working images between fields of one size, so
// each field costs the computation only, not ~100 MB of fresh allocations and their page faults.
// One analyzer per thread; the returned result is overwritten by the next call.
class FieldAnalyzer {
 public:
  explicit FieldAnalyzer(AnalysisOptions options = {}) : options_(std::move(options)) {}
  const FieldResult& analyze(const polscan::Stack& stack, const polscan::Stack* blank = nullptr,
                             int field_index = 0, int first_id = 1);
  // Per-stack reconstruction settings (an instrument calibration); the buffers are kept.
  void setReconstruction(const ReconstructionOptions& r) { options_.reconstruction = r; }
  const AnalysisOptions& options() const { return options_; }

 private:
  AnalysisOptions options_;
  FieldResult result_;
  SegmentationScratch scratch_;
  std::vector<CrystalFeatures> measured_;
};

}  // namespace polscan::analysis
