// Crops of each crystal for the HTML report: virtual red-compensator view and retardance.
#pragma once

#include <map>

#include <opencv2/core.hpp>

#include "analysis/retardance_map.hpp"

namespace polscan {

struct CrystalImages {
  cv::Mat compensator;  // CV_8UC3 (B, G, R): the field as seen with a first-order red plate
  cv::Mat retardance;   // CV_8UC3: retardance 0 .. retardance_scale_nm in a colour map
  double retardance_scale_nm = 0.0;  // full scale of the retardance crop
};

// Crystal id (as numbered in the report) -> its images.
using Gallery = std::map<int, CrystalImages>;

// Square crops centred on (cx_px, cy_px) of the map, wide enough for a crystal of length_um
// plus a margin, at least kMinCropPx; pixels outside the field are black. `compensator` is
// analysis::compensatorView(map) (computed once per field by the caller). The retardance crop's
// full scale is twice the crystal's mean retardance (at least kMinScaleNm, at most the map's
// quarter wave), so that weak crystals (CPPD, 10-30 nm) are visible too.
CrystalImages cropCrystal(const analysis::RetardanceMap& map, const cv::Mat& compensator,
                          double cx_px, double cy_px, double length_um, double retardance_nm);

constexpr double kMinScaleNm = 20.0;

constexpr int kMinCropPx = 48;
constexpr int kMaxCropPx = 200;

}  // namespace polscan
