// Focus: a sharpness metric, coarse-to-fine search over z, and a focus map over the slide.
#pragma once

#include <functional>
#include <optional>
#include <stdexcept>
#include <vector>

#include <opencv2/core.hpp>

namespace polscan {

class FocusError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Variance of the Laplacian of the image (after a light smoothing that keeps shot noise from
// dominating), divided by the squared mean so that the LED level does not change it. Larger is
// sharper. Any single-channel or colour 8/16-bit image.
double focusMetric(const cv::Mat& image);

struct AutofocusOptions {
  double range_um = 40.0;                    // coarse search: centre +- range/2
  double coarse_step_um = 8.0;               // coarse grid spacing
  double fine_step_um = 1.0;                 // the search stops refining at this spacing
  double min_z_um = 0.0, max_z_um = 5000.0;  // focus axis travel
};

struct FocusResult {
  double z_um = 0.0;
  double metric = 0.0;
  int measurements = 0;  // images taken
  // best / worst metric - 1 over the search: near 0 on an empty field, where the metric is noise
  // and the "best" z means nothing.
  double contrast = 0.0;
};

// Coarse grid over [centre - range/2, centre + range/2], then repeated halving of the step around
// the best z (with a parabolic fit through the last three points) until fine_step_um.
// measure(z) moves the focus to z and returns the metric of an image taken there.
FocusResult autofocus(const std::function<double(double z_um)>& measure, double centre_um,
                      const AutofocusOptions& options = {});

struct FocusPoint {
  double x_um = 0, y_um = 0, z_um = 0;
};

// Best focus as a function of stage x, y: a least-squares plane z = a + b x + c y through the
// measured points (a constant with one or two points), so most tiles need no autofocus.
class FocusMap {
 public:
  void add(const FocusPoint& p);
  bool empty() const { return points_.empty(); }
  const std::vector<FocusPoint>& points() const { return points_; }
  // Predicted best focus at (x, y); throws FocusError when the map has no point.
  double z(double x_um, double y_um) const;

 private:
  void fit();
  std::vector<FocusPoint> points_;
  double a_ = 0, b_ = 0, c_ = 0;
};

// When to refocus during a scan: a tile whose metric falls below `drop` x the median metric of
// the tiles taken so far is out of focus (or empty). After a refocus that found no structure
// (an empty field), no further refocus until a tile reaches the threshold again, so a run of
// empty tiles costs one autofocus, not one each.
class RefocusPolicy {
 public:
  explicit RefocusPolicy(double drop = 0.3) : drop_(drop) {}
  // Metrics of tiles already taken (a resumed scan).
  void seed(const std::vector<double>& metrics);
  bool shouldRefocus(double metric) const;
  // Records a tile's metric; refocus_found_structure: nullopt when no refocus was tried.
  void record(double metric, std::optional<bool> refocus_found_structure = std::nullopt);
  double typical() const;  // median of the recorded metrics (0 when none)

 private:
  double drop_;
  std::vector<double> metrics_;
  bool armed_ = true;
};

// Where to measure the map on a grid of tiles: corners, edge middles and centre (fewer on small
// grids), as (row, col) pairs.
std::vector<std::pair<int, int>> focusMapSites(int rows, int cols);

}  // namespace polscan
