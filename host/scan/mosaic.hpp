// The stitched, downsampled mosaic of a scan: one thumbnail per tile, crystal marks on top.
#pragma once

#include <filesystem>
#include <vector>

#include <opencv2/core.hpp>

#include "analysis/retardance_map.hpp"
#include "common/crystal.hpp"
#include "scan/scan_plan.hpp"

namespace polscan {

// The colour (B, G, R) a crystal class is marked with in the mosaic and the live view.
cv::Scalar classColour(CrystalClass c);

// Micrometres per mosaic pixel: the whole scan fits in max_px on its longer side, and never
// finer than the camera's own pixels.
double mosaicScaleUm(const ScanPlan& plan, int max_px = 4000);

// A tile's thumbnail at the mosaic's scale (CV_8UC3): transmitted light in grey with the
// retardance added in yellow, so birefringent crystals stand out as in the eyepiece.
cv::Mat tileThumbnail(const analysis::RetardanceMap& map, double um_per_px);

// Places the thumbnails (tiles without one stay black) and marks every crystal with a circle in
// its class's colour; written as PNG. Slide y points up, image rows down.
cv::Mat composeMosaic(const ScanPlan& plan, double um_per_px,
                      const std::vector<std::pair<Tile, cv::Mat>>& thumbnails,
                      const std::vector<CrystalRecord>& crystals);

}  // namespace polscan
