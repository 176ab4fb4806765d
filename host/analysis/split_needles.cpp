// Collinear-piece test and merge of a needle cut in two by the half-wave fold.
#include "analysis/split_needles.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace polscan::analysis {

namespace {

double axialDiffDeg(double a, double b) {
  const double d = std::fmod(std::abs(a - b), 180.0);
  return std::min(d, 180.0 - d);
}

// True when `piece` lies on `body`'s axis as the other end of the same needle.
bool isOtherEnd(const CrystalFeatures& body, const CrystalFeatures& piece, double quarter_wave_nm,
                const SplitNeedleOptions& o) {
  if (!body.birefringent || !piece.birefringent) return false;
  const double min_peak = o.min_peak_of_quarter_wave * quarter_wave_nm;
  if (body.peak_retardance_nm < min_peak || piece.peak_retardance_nm < min_peak) return false;
  if (body.aspect < o.min_aspect || piece.aspect < o.min_aspect) return false;
  if (axialDiffDeg(body.long_axis_deg, piece.long_axis_deg) > o.max_axis_diff_deg) return false;
  if (axialDiffDeg(body.slow_axis_deg, piece.slow_axis_deg) > o.max_axis_diff_deg) return false;
  const double a = body.long_axis_deg * std::numbers::pi / 180.0;
  const double dx = piece.x_um - body.x_um, dy = piece.y_um - body.y_um;
  const double along = std::abs(dx * std::cos(a) + dy * std::sin(a));
  const double across = std::abs(-dx * std::sin(a) + dy * std::cos(a));
  if (across > 0.5 * (body.width_um + piece.width_um) + o.max_offset_um) return false;
  const double gap = along - 0.5 * (body.length_um + piece.length_um);
  const double longest = std::max(body.length_um, piece.length_um);
  return gap <= std::min(o.max_gap_lengths * longest, o.max_gap_um);
}

}  // namespace

std::vector<bool> mergeSplitNeedles(std::vector<CrystalFeatures>& regions, double quarter_wave_nm,
                                    const SplitNeedleOptions& options) {
  std::vector<bool> merged(regions.size(), false);
  for (std::size_t i = 0; i < regions.size(); ++i) {
    if (merged[i]) continue;
    for (std::size_t j = 0; j < regions.size(); ++j) {
      if (j == i || merged[j]) continue;
      CrystalFeatures& body = regions[i];
      const CrystalFeatures& piece = regions[j];
      // The larger piece carries the record (ties: the first found).
      if (piece.area_um2 > body.area_um2 || (piece.area_um2 == body.area_um2 && j < i)) continue;
      if (!isOtherEnd(body, piece, quarter_wave_nm, options)) continue;
      // The far tips along the body's axis span the whole needle.
      const double a = body.long_axis_deg * std::numbers::pi / 180.0;
      const double ux = std::cos(a), uy = std::sin(a);
      const double t = (piece.x_um - body.x_um) * ux + (piece.y_um - body.y_um) * uy;
      const double lo = std::min(-0.5 * body.length_um, t - 0.5 * piece.length_um);
      const double hi = std::max(0.5 * body.length_um, t + 0.5 * piece.length_um);
      const double mid = 0.5 * (lo + hi);
      body.x_um += mid * ux;
      body.y_um += mid * uy;
      body.length_um = hi - lo;
      body.width_um = std::max(body.width_um, piece.width_um);
      body.aspect = body.length_um / std::max(body.width_um, 1e-6);
      body.peak_retardance_nm = std::max(body.peak_retardance_nm, piece.peak_retardance_nm);
      merged[j] = true;
    }
  }
  return merged;
}

}  // namespace polscan::analysis
