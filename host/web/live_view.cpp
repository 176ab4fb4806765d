// Live view drawing: crystal outlines and class labels on a field's thumbnail.
#include "web/live_view.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "common/crystal_class.hpp"
#include "scan/mosaic.hpp"

namespace polscan::web {

cv::Mat drawLiveField(const cv::Mat& thumb, const Tile& tile, double field_w_um, double field_h_um,
                      const std::vector<FieldCrystal>& crystals) {
  if (thumb.empty()) throw std::invalid_argument("live view: the field's thumbnail is empty");
  // Small thumbnails (large scans) are enlarged so that outlines and labels stay readable.
  const double grow = std::max(1.0, 640.0 / thumb.cols);
  cv::Mat view;
  cv::resize(thumb, view, cv::Size(), grow, grow, cv::INTER_LINEAR);
  if (view.channels() == 1) cv::cvtColor(view, view, cv::COLOR_GRAY2BGR);
  const double um_per_px = field_w_um / view.cols;
  const double left = tile.x_um - 0.5 * field_w_um;
  const double top = tile.y_um + 0.5 * field_h_um;  // slide y up, image rows down
  for (const FieldCrystal& fc : crystals) {
    const CrystalRecord& c = fc.record;
    const cv::Point2f centre(static_cast<float>((c.x_um - left) / um_per_px),
                             static_cast<float>((top - c.y_um) / um_per_px));
    const cv::Size2f axes(static_cast<float>(std::max(4.0, c.length_um / um_per_px + 4.0)),
                          static_cast<float>(std::max(4.0, c.width_um / um_per_px + 4.0)));
    // The long axis is measured counter-clockwise with y up; image angles run clockwise.
    const cv::RotatedRect outline(centre, axes, static_cast<float>(-c.long_axis_deg));
    const cv::Scalar colour = classColour(c.cls);
    cv::ellipse(view, outline, colour, 2, cv::LINE_AA);
    const std::string label(crystalClassName(c.cls));
    // Beside the outline, kept inside the image so that a crystal at the edge keeps its label.
    int baseline = 0;
    const cv::Size text = cv::getTextSize(label, cv::FONT_HERSHEY_SIMPLEX, 0.5, 3, &baseline);
    const int x = static_cast<int>(centre.x + 0.35f * axes.width);
    const int y = static_cast<int>(centre.y - 0.35f * axes.width);
    const cv::Point at(std::clamp(x, 0, std::max(0, view.cols - text.width)),
                       std::clamp(y, text.height, std::max(text.height, view.rows - baseline)));
    cv::putText(view, label, at, cv::FONT_HERSHEY_SIMPLEX, 0.5, cv::Scalar(0, 0, 0), 3,
                cv::LINE_AA);
    cv::putText(view, label, at, cv::FONT_HERSHEY_SIMPLEX, 0.5, colour, 1, cv::LINE_AA);
  }
  return view;
}

std::vector<unsigned char> encodePng(const cv::Mat& image) {
  std::vector<unsigned char> png;
  if (image.empty() || !cv::imencode(".png", image, png)) {
    throw std::runtime_error("live view: cannot encode the field image as PNG");
  }
  return png;
}

}  // namespace polscan::web
