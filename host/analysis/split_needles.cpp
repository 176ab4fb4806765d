// Collinear-piece links and the merge of a needle cut into a chain of pieces by the half-wave fold.
#include "analysis/split_needles.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>

namespace polscan::analysis {

namespace {

// Axial difference of two angles in degrees, modulo `period` (180: axes; 90: axes that may have
// turned by 90 deg past the half wave).
double axialDiffDeg(double a, double b, double period = 180.0) {
  const double d = std::fmod(std::abs(a - b), period);
  return std::min(d, period - d);
}

bool isStrong(const CrystalFeatures& f, double quarter_wave_nm, const SplitNeedleOptions& o) {
  return f.peak_retardance_nm >= o.min_peak_of_quarter_wave * quarter_wave_nm;
}

// True when a and b lie on one line as neighbouring pieces of one needle.
bool areLinked(const CrystalFeatures& a, const CrystalFeatures& b, double quarter_wave_nm,
               const SplitNeedleOptions& o) {
  if (!a.birefringent || !b.birefringent) return false;
  if (a.aspect < o.min_aspect || b.aspect < o.min_aspect) return false;
  if (axialDiffDeg(a.long_axis_deg, b.long_axis_deg) > o.max_axis_diff_deg) return false;
  // Both ends of a needle taper through the quarter wave and read one slow axis. A weak middle
  // piece is where the thickness nears the half wave: just under it, sin(delta) > 0 and the same
  // axis; just over it, sin(delta) < 0 and the circular fit reads the axis turned by 90 deg.
  const bool both_strong = isStrong(a, quarter_wave_nm, o) && isStrong(b, quarter_wave_nm, o);
  const double slow_period = both_strong ? 180.0 : 90.0;
  if (axialDiffDeg(a.slow_axis_deg, b.slow_axis_deg, slow_period) > o.max_axis_diff_deg) {
    return false;
  }
  const CrystalFeatures& body = a.length_um >= b.length_um ? a : b;
  const double ang = body.long_axis_deg * std::numbers::pi / 180.0;
  const double dx = b.x_um - a.x_um, dy = b.y_um - a.y_um;
  const double along = std::abs(dx * std::cos(ang) + dy * std::sin(ang));
  const double across = std::abs(-dx * std::sin(ang) + dy * std::cos(ang));
  // On one line: side by side within the half widths, or (short pieces read their long axis to a
  // few degrees only) the line between the centroids runs along both long axes.
  const double link_deg = std::atan2(dy, dx) * 180.0 / std::numbers::pi;
  const bool in_line = axialDiffDeg(link_deg, a.long_axis_deg) <= o.max_axis_diff_deg &&
                       axialDiffDeg(link_deg, b.long_axis_deg) <= o.max_axis_diff_deg;
  if (!in_line && across > 0.5 * (a.width_um + b.width_um) + o.max_offset_um) return false;
  const double gap = along - 0.5 * (a.length_um + b.length_um);
  return gap <= std::min(o.max_gap_lengths * body.length_um, o.max_gap_um);
}

std::size_t findRoot(std::vector<std::size_t>& parent, std::size_t i) {
  while (parent[i] != i) i = parent[i] = parent[parent[i]];
  return i;
}

// Merges one chain (indices into regions) when it is a needle: strong pieces at both ends, every
// piece on the line through them, neighbours within the gap rule, the whole no longer than a
// needle. The carrier is the largest strong piece.
void mergeChain(std::vector<CrystalFeatures>& regions, std::vector<std::size_t> chain,
                double quarter_wave_nm, const SplitNeedleOptions& o, std::vector<bool>& merged) {
  std::vector<std::size_t> strong;
  for (std::size_t i : chain) {
    if (isStrong(regions[i], quarter_wave_nm, o)) strong.push_back(i);
  }
  if (strong.size() < 2) return;
  // The line through the two strong pieces farthest apart.
  std::size_t p = strong[0], q = strong[1];
  double far = -1.0;
  for (std::size_t i : strong) {
    for (std::size_t j : strong) {
      const double d =
          std::hypot(regions[i].x_um - regions[j].x_um, regions[i].y_um - regions[j].y_um);
      if (d > far) far = d, p = i, q = j;
    }
  }
  const double ux0 = regions[q].x_um - regions[p].x_um, uy0 = regions[q].y_um - regions[p].y_um;
  const double ux = ux0 / far, uy = uy0 / far;
  const double line_deg = std::atan2(uy, ux) * 180.0 / std::numbers::pi;
  const CrystalFeatures& origin = regions[p];
  auto along = [&](std::size_t i) {
    return (regions[i].x_um - origin.x_um) * ux + (regions[i].y_um - origin.y_um) * uy;
  };
  std::sort(chain.begin(), chain.end(),
            [&](std::size_t a, std::size_t b) { return along(a) < along(b); });
  // A weak piece outside the strong ends is a separate crystal lined up, not the needle's middle.
  while (!chain.empty() && !isStrong(regions[chain.front()], quarter_wave_nm, o))
    chain.erase(chain.begin());
  while (!chain.empty() && !isStrong(regions[chain.back()], quarter_wave_nm, o)) chain.pop_back();
  if (chain.size() < 2) return;
  std::size_t carrier = chain.front();
  for (std::size_t i : chain) {
    if (isStrong(regions[i], quarter_wave_nm, o) && regions[i].area_um2 > regions[carrier].area_um2)
      carrier = i;
  }
  double lo = 0.0, hi = 0.0, width = 0.0;
  for (std::size_t k = 0; k < chain.size(); ++k) {
    const CrystalFeatures& f = regions[chain[k]];
    const double across = std::abs(-(f.x_um - origin.x_um) * uy + (f.y_um - origin.y_um) * ux);
    if (across > 0.5 * (f.width_um + regions[carrier].width_um) + o.max_offset_um) return;
    if (axialDiffDeg(f.long_axis_deg, line_deg) > o.max_axis_diff_deg) return;
    const double t = along(chain[k]);
    if (k > 0) {
      const CrystalFeatures& prev = regions[chain[k - 1]];
      const double gap = t - along(chain[k - 1]) - 0.5 * (f.length_um + prev.length_um);
      if (gap > std::min(o.max_gap_lengths * std::max(f.length_um, prev.length_um), o.max_gap_um))
        return;
    }
    lo = k == 0 ? t - 0.5 * f.length_um : std::min(lo, t - 0.5 * f.length_um);
    hi = k == 0 ? t + 0.5 * f.length_um : std::max(hi, t + 0.5 * f.length_um);
    width = std::max(width, f.width_um);
  }
  if (hi - lo > o.max_length_um) return;
  CrystalFeatures& body = regions[carrier];
  const double mid = 0.5 * (lo + hi) - along(carrier);
  body.x_um += mid * ux;
  body.y_um += mid * uy;
  body.length_um = hi - lo;
  body.width_um = width;
  body.aspect = body.length_um / std::max(body.width_um, 1e-6);
  for (std::size_t i : chain) {
    body.peak_retardance_nm = std::max(body.peak_retardance_nm, regions[i].peak_retardance_nm);
    if (i != carrier) merged[i] = true;
  }
}

}  // namespace

std::vector<bool> mergeSplitNeedles(std::vector<CrystalFeatures>& regions, double quarter_wave_nm,
                                    const SplitNeedleOptions& options) {
  const std::size_t n = regions.size();
  std::vector<bool> merged(n, false);
  std::vector<std::size_t> parent(n);
  std::iota(parent.begin(), parent.end(), std::size_t{0});
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = i + 1; j < n; ++j) {
      if (areLinked(regions[i], regions[j], quarter_wave_nm, options)) {
        parent[findRoot(parent, j)] = findRoot(parent, i);
      }
    }
  }
  std::vector<std::vector<std::size_t>> chains(n);
  for (std::size_t i = 0; i < n; ++i) chains[findRoot(parent, i)].push_back(i);
  for (std::vector<std::size_t>& chain : chains) {
    if (chain.size() >= 2) mergeChain(regions, chain, quarter_wave_nm, options, merged);
  }
  return merged;
}

}  // namespace polscan::analysis
