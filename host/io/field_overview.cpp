// Overview mosaic: fields reduced and pasted by stage position at the coarsest field scale.
#include "io/field_overview.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <opencv2/imgproc.hpp>

namespace polscan {

double unionArea(const std::vector<cv::Rect2d>& rects) {
  // Coordinate compression: the rectangles' edges cut the plane into cells; a 2-D difference
  // array marks the covered ones in O(n + cells).
  std::vector<double> xs, ys;
  for (const auto& r : rects) {
    if (r.width <= 0 || r.height <= 0) continue;
    xs.insert(xs.end(), {r.x, r.x + r.width});
    ys.insert(ys.end(), {r.y, r.y + r.height});
  }
  if (xs.empty()) return 0.0;
  std::sort(xs.begin(), xs.end());
  xs.erase(std::unique(xs.begin(), xs.end()), xs.end());
  std::sort(ys.begin(), ys.end());
  ys.erase(std::unique(ys.begin(), ys.end()), ys.end());
  const auto index = [](const std::vector<double>& v, double x) {
    return static_cast<int>(std::lower_bound(v.begin(), v.end(), x) - v.begin());
  };
  cv::Mat diff(static_cast<int>(ys.size()), static_cast<int>(xs.size()), CV_32S, cv::Scalar(0));
  for (const auto& r : rects) {
    if (r.width <= 0 || r.height <= 0) continue;
    const int c0 = index(xs, r.x), c1 = index(xs, r.x + r.width);
    const int r0 = index(ys, r.y), r1 = index(ys, r.y + r.height);
    ++diff.at<int>(r0, c0);
    --diff.at<int>(r0, c1);
    --diff.at<int>(r1, c0);
    ++diff.at<int>(r1, c1);
  }
  double area = 0.0;
  for (int r = 0; r + 1 < diff.rows; ++r) {
    for (int c = 0; c + 1 < diff.cols; ++c) {
      if (r > 0) diff.at<int>(r, c) += diff.at<int>(r - 1, c);
      if (c > 0) diff.at<int>(r, c) += diff.at<int>(r, c - 1);
      if (r > 0 && c > 0) diff.at<int>(r, c) -= diff.at<int>(r - 1, c - 1);
      if (diff.at<int>(r, c) > 0) area += (xs[c + 1] - xs[c]) * (ys[r + 1] - ys[r]);
    }
  }
  return area;
}

void FieldOverview::addField(const cv::Mat& intensity, double pixel_um,
                             const StagePosition& centre) {
  if (intensity.empty()) return;
  const double factor = std::max(1.0, static_cast<double>(intensity.cols) / target_px_);
  cv::Mat small;
  cv::resize(intensity, small, cv::Size(), 1.0 / factor, 1.0 / factor, cv::INTER_AREA);
  // Background (the median) at mid-grey: dark particles and bright halos both stay visible.
  std::vector<float> v(small.begin<float>(), small.end<float>());
  std::nth_element(v.begin(), v.begin() + static_cast<long>(v.size() / 2), v.end());
  const double median = v[v.size() / 2] > 0 ? v[v.size() / 2] : 1.0;
  cv::Mat img8;
  small.convertTo(img8, CV_8U, 160.0 / median);
  fields_.push_back({img8, pixel_um * factor, centre});
}

MosaicImage FieldOverview::mosaic() const {
  MosaicImage m;
  if (fields_.empty()) return m;
  double px = 0;
  double x0 = std::numeric_limits<double>::max(), x1 = -x0, y0 = x0, y1 = -x0;
  for (const Field& f : fields_) {
    px = std::max(px, f.pixel_um);
    const double hw = f.image.cols * f.pixel_um / 2, hh = f.image.rows * f.pixel_um / 2;
    x0 = std::min(x0, f.centre.x_um - hw);
    x1 = std::max(x1, f.centre.x_um + hw);
    y0 = std::min(y0, f.centre.y_um - hh);
    y1 = std::max(y1, f.centre.y_um + hh);
  }
  const int w = static_cast<int>(std::ceil((x1 - x0) / px));
  const int h = static_cast<int>(std::ceil((y1 - y0) / px));
  m.image = cv::Mat(h, w, CV_8UC1, cv::Scalar(0));
  m.pixel_um = px;
  m.x_um = (x0 + x1) / 2;
  m.y_um = (y0 + y1) / 2;
  for (const Field& f : fields_) {
    cv::Mat scaled = f.image;
    if (f.pixel_um != px) {
      cv::resize(f.image, scaled, cv::Size(), f.pixel_um / px, f.pixel_um / px, cv::INTER_AREA);
    }
    // Top-left of the field in mosaic pixels (row grows downward, y up).
    const int c = static_cast<int>(std::lround((f.centre.x_um - x0) / px - scaled.cols / 2.0));
    const int r = static_cast<int>(std::lround((y1 - f.centre.y_um) / px - scaled.rows / 2.0));
    const cv::Rect dst = cv::Rect(c, r, scaled.cols, scaled.rows) & cv::Rect(0, 0, w, h);
    if (dst.area() > 0) scaled(dst - cv::Point(c, r)).copyTo(m.image(dst));
  }
  return m;
}

}  // namespace polscan
