// planScan: a grid of overlapping fields centred on the region, visited in serpentine order.
#include "scan/scan_plan.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace polscan {

namespace {

void requirePositive(double v, const char* what, const char* unit) {
  if (!(v > 0.0) || !std::isfinite(v)) {
    std::ostringstream s;
    s << what << " must be > 0 " << unit << " (got " << v << ")";
    throw ScanPlanError(s.str());
  }
}

// Number of fields along one axis and the centre of the first, so that the fields' union covers
// [start, start + length] and the grid is centred on it.
std::pair<int, double> gridAxis(double start_um, double length_um, double field_um,
                                double pitch_um) {
  int n = 1;
  if (length_um > field_um)
    n = 1 + static_cast<int>(std::ceil((length_um - field_um) / pitch_um - 1e-9));
  const double span = field_um + (n - 1) * pitch_um;
  return {n, start_um + 0.5 * length_um - 0.5 * span + 0.5 * field_um};
}

void checkTravel(const char* axis, double first_centre, double last_centre, double backlash,
                 const AxisTravel& travel) {
  const double lo = first_centre - backlash;
  if (lo >= travel.min_um - 1e-6 && last_centre <= travel.max_um + 1e-6) return;
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(1);
  s << "the scan region leaves the " << axis << " stage's travel: field centres span "
    << first_centre << ".." << last_centre << " um (approached from " << lo
    << " um for the backlash), but " << axis << " travels " << travel.min_um << ".."
    << travel.max_um << " um";
  throw ScanPlanError(s.str());
}

}  // namespace

double pixelSizeUm(double sensor_pixel_um, double magnification) {
  requirePositive(sensor_pixel_um, "sensor pixel size", "um");
  requirePositive(magnification, "objective magnification", "x");
  return sensor_pixel_um / magnification;
}

ScanPlan planScan(const ScanRequest& r, const StageTravel& travel) {
  requirePositive(r.width_mm, "region width", "mm");
  requirePositive(r.height_mm, "region height", "mm");
  requirePositive(r.pixel_um, "pixel size", "um");
  requirePositive(r.chamber_depth_um, "chamber depth", "um");
  if (r.image_width_px <= 0 || r.image_height_px <= 0) {
    throw ScanPlanError("image size must be > 0 px");
  }
  if (!(r.overlap >= 0.0 && r.overlap < 0.5)) {
    std::ostringstream s;
    s << "overlap must be in [0, 0.5) of a field (got " << r.overlap << ")";
    throw ScanPlanError(s.str());
  }
  if (!(r.backlash_um >= 0.0) || !std::isfinite(r.backlash_um)) {
    throw ScanPlanError("backlash must be >= 0 um");
  }
  if (!std::isfinite(r.x_mm) || !std::isfinite(r.y_mm)) {
    throw ScanPlanError("region corner must be finite (mm)");
  }

  ScanPlan p;
  p.request = r;
  p.field_width_um = r.image_width_px * r.pixel_um;
  p.field_height_um = r.image_height_px * r.pixel_um;
  p.pitch_x_um = p.field_width_um * (1.0 - r.overlap);
  p.pitch_y_um = p.field_height_um * (1.0 - r.overlap);
  const auto [cols, x0] =
      gridAxis(r.x_mm * 1000.0, r.width_mm * 1000.0, p.field_width_um, p.pitch_x_um);
  const auto [rows, y0] =
      gridAxis(r.y_mm * 1000.0, r.height_mm * 1000.0, p.field_height_um, p.pitch_y_um);
  p.cols = cols;
  p.rows = rows;
  checkTravel("X", x0, x0 + (cols - 1) * p.pitch_x_um, r.backlash_um, travel.x);
  checkTravel("Y", y0, y0 + (rows - 1) * p.pitch_y_um, r.backlash_um, travel.y);

  p.tiles.reserve(static_cast<std::size_t>(cols) * rows);
  for (int row = 0; row < rows; ++row) {
    for (int k = 0; k < cols; ++k) {
      const int col = row % 2 == 0 ? k : cols - 1 - k;
      Tile t;
      t.index = static_cast<int>(p.tiles.size());
      t.row = row;
      t.col = col;
      t.x_um = x0 + col * p.pitch_x_um;
      t.y_um = y0 + row * p.pitch_y_um;
      p.tiles.push_back(t);
    }
  }
  return p;
}

double ScanPlan::scannedAreaUm2() const {
  return (field_width_um + (cols - 1) * pitch_x_um) * (field_height_um + (rows - 1) * pitch_y_um);
}

double ScanPlan::scannedAreaUm2(const std::vector<int>& tile_indices) const {
  if (tile_indices.empty()) return 0.0;
  // The fields lie on a grid, so their union is made of the cells between consecutive field
  // edges: mark the cells each field covers and add up the marked ones.
  std::vector<double> xs, ys;
  for (int i : tile_indices) {
    const Tile& t = tiles.at(static_cast<std::size_t>(i));
    xs.push_back(t.x_um - 0.5 * field_width_um);
    xs.push_back(t.x_um + 0.5 * field_width_um);
    ys.push_back(t.y_um - 0.5 * field_height_um);
    ys.push_back(t.y_um + 0.5 * field_height_um);
  }
  auto uniq = [](std::vector<double>& v) {
    std::sort(v.begin(), v.end());
    v.erase(
        std::unique(v.begin(), v.end(), [](double a, double b) { return std::abs(a - b) < 1e-6; }),
        v.end());
  };
  uniq(xs);
  uniq(ys);
  auto cell = [](const std::vector<double>& v, double x) {
    return static_cast<std::size_t>(std::lower_bound(v.begin(), v.end(), x - 1e-6) - v.begin());
  };
  const std::size_t nx = xs.size() - 1, ny = ys.size() - 1;
  std::vector<char> covered(nx * ny, 0);
  for (int i : tile_indices) {
    const Tile& t = tiles.at(static_cast<std::size_t>(i));
    const std::size_t x_lo = cell(xs, t.x_um - 0.5 * field_width_um);
    const std::size_t x_hi = cell(xs, t.x_um + 0.5 * field_width_um);
    const std::size_t y_lo = cell(ys, t.y_um - 0.5 * field_height_um);
    const std::size_t y_hi = cell(ys, t.y_um + 0.5 * field_height_um);
    for (std::size_t y = y_lo; y < y_hi; ++y) {
      for (std::size_t x = x_lo; x < x_hi; ++x) covered[y * nx + x] = 1;
    }
  }
  double area = 0.0;
  for (std::size_t y = 0; y < ny; ++y) {
    for (std::size_t x = 0; x < nx; ++x) {
      if (covered[y * nx + x]) area += (xs[x + 1] - xs[x]) * (ys[y + 1] - ys[y]);
    }
  }
  return area;
}

double ScanPlan::volumeUl(double area_um2) const {
  return area_um2 * request.chamber_depth_um * 1e-9;  // 1 uL = 1 mm^3 = 1e9 um^3
}

std::vector<StageMove> ScanPlan::approach(const std::optional<Tile>& from, const Tile& to) const {
  std::vector<StageMove> moves;
  const double b = request.backlash_um;
  auto axis = [&](char name, std::optional<double> here, double target) {
    if (here && std::abs(*here - target) < 1e-9) return;  // unchanged: still approached from below
    if (!here || target < *here) {  // a reversal (or unknown side) takes up the slack
      if (b > 0.0) moves.push_back({name, target - b});
    }
    moves.push_back({name, target});
  };
  axis('x', from ? std::optional<double>(from->x_um) : std::nullopt, to.x_um);
  axis('y', from ? std::optional<double>(from->y_um) : std::nullopt, to.y_um);
  return moves;
}

}  // namespace polscan
