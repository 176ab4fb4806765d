// Mosaic: thumbnails pasted at their stage positions (the overlap is simply overwritten).
#include "scan/mosaic.hpp"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

namespace polscan {

cv::Scalar classColour(CrystalClass c) {  // B, G, R
  switch (c) {
    case CrystalClass::CPPD:
      return {255, 160, 0};
    case CrystalClass::MSU:
      return {0, 200, 255};
    case CrystalClass::CaOxMonohydrate:
      return {0, 220, 0};
    case CrystalClass::CaOxDihydrate:
      return {200, 255, 100};
    case CrystalClass::UricAcid:
      return {0, 100, 255};
    case CrystalClass::Cholesterol:
      return {255, 0, 255};
    case CrystalClass::NonBirefringent:
      return {200, 200, 200};
    case CrystalClass::Artefact:
      return {90, 90, 90};
    default:
      return {0, 0, 255};
  }
}

double mosaicScaleUm(const ScanPlan& plan, int max_px) {
  const double w = plan.field_width_um + (plan.cols - 1) * plan.pitch_x_um;
  const double h = plan.field_height_um + (plan.rows - 1) * plan.pitch_y_um;
  return std::max(plan.request.pixel_um, std::max(w, h) / std::max(1, max_px));
}

cv::Mat tileThumbnail(const analysis::RetardanceMap& map, double um_per_px) {
  if (map.intensity.empty()) return {};
  const double f = map.pixel_um / um_per_px;
  const cv::Size size(std::max(1, static_cast<int>(std::lround(map.intensity.cols * f))),
                      std::max(1, static_cast<int>(std::lround(map.intensity.rows * f))));
  cv::Mat i0, ret;
  cv::resize(map.intensity, i0, size, 0, 0, cv::INTER_AREA);
  cv::resize(map.retardance_nm, ret, size, 0, 0, cv::INTER_AREA);
  const double level = std::max(1e-6, cv::mean(i0)[0]);
  cv::Mat grey, glow;
  i0.convertTo(grey, CV_8U, 110.0 / level);
  ret.convertTo(glow, CV_8U, 255.0 / std::max(1.0, 0.5 * map.quarter_wave_nm));
  cv::Mat channels[3] = {grey, grey + glow, grey + glow};  // saturating adds: yellow crystals
  cv::Mat out;
  cv::merge(channels, 3, out);
  return out;
}

cv::Mat composeMosaic(const ScanPlan& plan, double s,
                      const std::vector<std::pair<Tile, cv::Mat>>& thumbnails,
                      const std::vector<CrystalRecord>& crystals) {
  const double w = plan.field_width_um + (plan.cols - 1) * plan.pitch_x_um;
  const double h = plan.field_height_um + (plan.rows - 1) * plan.pitch_y_um;
  const double left = plan.tiles.front().x_um - 0.5 * plan.field_width_um;
  const double bottom = plan.tiles.front().y_um - 0.5 * plan.field_height_um;
  const double top = bottom + h;
  cv::Mat canvas = cv::Mat::zeros(std::max(1, static_cast<int>(std::ceil(h / s))),
                                  std::max(1, static_cast<int>(std::ceil(w / s))), CV_8UC3);
  for (const auto& [tile, thumb] : thumbnails) {
    if (thumb.empty()) continue;
    const int x = static_cast<int>(std::lround((tile.x_um - 0.5 * plan.field_width_um - left) / s));
    const int y =
        static_cast<int>(std::lround((top - (tile.y_um + 0.5 * plan.field_height_um)) / s));
    const cv::Rect dst =
        cv::Rect(x, y, thumb.cols, thumb.rows) & cv::Rect(0, 0, canvas.cols, canvas.rows);
    if (dst.empty()) continue;
    thumb(cv::Rect(dst.x - x, dst.y - y, dst.width, dst.height)).copyTo(canvas(dst));
  }
  for (const CrystalRecord& c : crystals) {
    const cv::Point p(static_cast<int>(std::lround((c.x_um - left) / s)),
                      static_cast<int>(std::lround((top - c.y_um) / s)));
    const int r = std::max(3, static_cast<int>(std::lround(0.5 * c.length_um / s)) + 2);
    cv::circle(canvas, p, r, classColour(c.cls), 1, cv::LINE_AA);
  }
  return canvas;
}

}  // namespace polscan
