// The live view: the latest analysed field with each crystal outlined and labelled by class.
#pragma once

#include <vector>

#include <opencv2/core.hpp>

#include "scan/overlap_merge.hpp"
#include "scan/scan_plan.hpp"

namespace polscan::web {

// thumb: the field's thumbnail (tiles/<name>.png, CV_8UC3) covering field_w_um x field_h_um
// centred on the tile's stage position; crystals in slide coordinates (y up). Each crystal gets
// an ellipse of its length x width along its long axis in its class's colour and its class name.
cv::Mat drawLiveField(const cv::Mat& thumb, const Tile& tile, double field_w_um, double field_h_um,
                      const std::vector<FieldCrystal>& crystals);

// PNG bytes of an image; throws std::runtime_error when OpenCV cannot encode it.
std::vector<unsigned char> encodePng(const cv::Mat& image);

}  // namespace polscan::web
