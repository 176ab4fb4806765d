// Focus metric (normalised variance of the Laplacian), coarse-to-fine search and a plane map.
#include "scan/focus.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include <opencv2/imgproc.hpp>

namespace polscan {

double focusMetric(const cv::Mat& image) {
  if (image.empty()) throw FocusError("focus metric of an empty image");
  cv::Mat gray;
  if (image.channels() == 3) {
    cv::cvtColor(image, gray, cv::COLOR_BGR2GRAY);
  } else if (image.channels() == 1) {
    gray = image;
  } else {
    throw FocusError("focus metric needs a 1- or 3-channel image");
  }
  cv::Mat f, smooth, lap;
  gray.convertTo(f, CV_32F);
  cv::GaussianBlur(f, smooth, cv::Size(3, 3), 0.0);
  cv::Laplacian(smooth, lap, CV_32F);
  cv::Scalar mean, sd;
  cv::meanStdDev(lap, mean, sd);
  const double level = cv::mean(f)[0];
  if (!(level > 0.0)) return 0.0;  // a black frame has no focus
  return sd[0] * sd[0] / (level * level);
}

FocusResult autofocus(const std::function<double(double)>& measure, double centre_um,
                      const AutofocusOptions& o) {
  if (!(o.coarse_step_um > 0.0) || !(o.fine_step_um > 0.0) || !(o.range_um >= 0.0)) {
    throw FocusError("autofocus needs range >= 0 um and steps > 0 um");
  }
  std::map<double, double> seen;  // z -> metric
  FocusResult r;
  auto at = [&](double z) {
    z = std::clamp(z, o.min_z_um, o.max_z_um);
    const double key = std::round(z * 1000.0) / 1000.0;
    auto it = seen.find(key);
    if (it != seen.end()) return std::pair{key, it->second};
    const double m = measure(key);
    ++r.measurements;
    seen[key] = m;
    return std::pair{key, m};
  };
  double best_z = centre_um, best_m = -1.0;
  const int half = static_cast<int>(std::floor(0.5 * o.range_um / o.coarse_step_um + 1e-9));
  for (int i = -half; i <= half; ++i) {
    const auto [z, m] = at(centre_um + i * o.coarse_step_um);
    if (m > best_m) {
      best_m = m;
      best_z = z;
    }
  }
  double step = o.coarse_step_um;
  while (step > o.fine_step_um * (1.0 + 1e-9)) {
    step = std::max(0.5 * step, o.fine_step_um);
    const double c = best_z;
    for (double z : {c - step, c + step}) {
      const auto [zz, m] = at(z);
      if (m > best_m) {
        best_m = m;
        best_z = zz;
      }
    }
  }
  // Sub-step: the vertex of the parabola through the best point and its two neighbours.
  const auto lo = at(best_z - step), hi = at(best_z + step);
  const double denom = lo.second - 2.0 * best_m + hi.second;
  double z = best_z;
  if (denom < 0.0 && lo.first < best_z && hi.first > best_z) {
    z = best_z + 0.5 * step * (lo.second - hi.second) / denom;
    z = std::clamp(z, best_z - step, best_z + step);
  }
  double worst = best_m;
  for (const auto& [zz, m] : seen) worst = std::min(worst, m);
  r.z_um = z;
  r.metric = best_m;
  r.contrast = worst > 0.0 ? best_m / worst - 1.0 : 0.0;
  return r;
}

void FocusMap::add(const FocusPoint& p) {
  points_.push_back(p);
  fit();
}

void FocusMap::fit() {
  const double n = static_cast<double>(points_.size());
  double mx = 0, my = 0, mz = 0;
  for (const auto& p : points_) {
    mx += p.x_um / n;
    my += p.y_um / n;
    mz += p.z_um / n;
  }
  b_ = c_ = 0.0;
  if (points_.size() >= 3) {
    // Centred coordinates: for collinear points the minimum-norm solution keeps the mean level
    // and tilts only along the line the points span.
    cv::Mat A(static_cast<int>(points_.size()), 2, CV_64F), z(A.rows, 1, CV_64F), sol;
    for (int i = 0; i < A.rows; ++i) {
      A.at<double>(i, 0) = points_[i].x_um - mx;
      A.at<double>(i, 1) = points_[i].y_um - my;
      z.at<double>(i, 0) = points_[i].z_um - mz;
    }
    cv::solve(A, z, sol, cv::DECOMP_SVD);
    b_ = sol.at<double>(0);
    c_ = sol.at<double>(1);
  }
  a_ = mz - b_ * mx - c_ * my;
}

double FocusMap::z(double x_um, double y_um) const {
  if (points_.empty()) throw FocusError("the focus map has no measured point yet");
  return a_ + b_ * x_um + c_ * y_um;
}

void RefocusPolicy::seed(const std::vector<double>& metrics) {
  metrics_.insert(metrics_.end(), metrics.begin(), metrics.end());
}

double RefocusPolicy::typical() const {
  if (metrics_.empty()) return 0.0;
  std::vector<double> m = metrics_;
  std::nth_element(m.begin(), m.begin() + m.size() / 2, m.end());
  return m[m.size() / 2];
}

bool RefocusPolicy::shouldRefocus(double metric) const {
  return armed_ && !metrics_.empty() && metric < drop_ * typical();
}

void RefocusPolicy::record(double metric, std::optional<bool> refocus_found_structure) {
  if (refocus_found_structure) {
    armed_ = *refocus_found_structure;
  } else if (!metrics_.empty() && metric >= drop_ * typical()) {
    armed_ = true;
  }
  metrics_.push_back(metric);
}

std::vector<std::pair<int, int>> focusMapSites(int rows, int cols) {
  std::vector<std::pair<int, int>> sites;
  auto add = [&](int r, int c) {
    if (std::find(sites.begin(), sites.end(), std::pair{r, c}) == sites.end())
      sites.push_back({r, c});
  };
  // A 3 x 3 grid over the scan (corners, edge middles, centre): enough points that one poor
  // autofocus (a field with little structure) does not tilt the plane much.
  for (int r : {0, rows / 2, rows - 1}) {
    for (int c : {0, cols / 2, cols - 1}) add(r, c);
  }
  return sites;
}

}  // namespace polscan
