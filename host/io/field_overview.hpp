// An overview mosaic of the analysed fields (transmitted intensity, reduced scale).
#pragma once

#include <vector>

#include <opencv2/core.hpp>

#include "common/stack.hpp"
#include "io/ome_tiff.hpp"

namespace polscan {

// Area covered by the union of axis-aligned rectangles (overlapping fields counted once), in the
// rectangles' units squared.
double unionArea(const std::vector<cv::Rect2d>& rects);

class FieldOverview {
 public:
  // Fields are reduced to about target_field_px pixels across.
  explicit FieldOverview(int target_field_px = 256) : target_px_(target_field_px) {}

  // intensity: CV_32F transmitted intensity of the field (any scale; normalised by its median);
  // centre: stage position of the field's centre.
  void addField(const cv::Mat& intensity, double pixel_um, const StagePosition& centre);

  bool empty() const { return fields_.empty(); }
  // The fields pasted at their stage positions (later fields on top), CV_8UC1, y up.
  MosaicImage mosaic() const;

 private:
  struct Field {
    cv::Mat image;  // CV_8UC1, reduced
    double pixel_um;
    StagePosition centre;
  };
  int target_px_;
  std::vector<Field> fields_;
};

}  // namespace polscan
