// Coarse table search over retardance and Gauss-Newton refinement of the two best basins.
#include "analysis/wavelength_unwrap.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

#include "analysis/analysis_error.hpp"
#include "analysis/fast_math.hpp"
#include "analysis/harmonic_fit.hpp"  // POLSCAN_ANALYSIS_HOT

namespace polscan::analysis {

WavelengthUnwrapper::WavelengthUnwrapper(const std::array<double, 3>& wavelengths_nm,
                                         const UnwrapOptions& options) {
  for (int w = 0; w < 3; ++w) {
    if (!(wavelengths_nm[w] > 0.0) || !std::isfinite(wavelengths_nm[w])) {
      throw AnalysisError("RGB retardance: wavelength " + std::to_string(w) + " is " +
                          std::to_string(wavelengths_nm[w]) + " nm (must be positive)");
    }
    for (int v = 0; v < w; ++v) {
      if (std::abs(wavelengths_nm[w] - wavelengths_nm[v]) < 1.0) {
        throw AnalysisError("RGB retardance: wavelengths " + std::to_string(v) + " and " +
                            std::to_string(w) + " are equal (" + std::to_string(wavelengths_nm[w]) +
                            " nm): the channels cannot unwrap the fold");
      }
    }
    k_[w] = static_cast<float>(2.0 * std::numbers::pi / wavelengths_nm[w]);
  }
  if (!(options.max_retardance_nm > 0.0) || !(options.step_nm > 0.0) ||
      options.step_nm > options.max_retardance_nm) {
    throw AnalysisError(
        "RGB retardance: max_retardance_nm and step_nm must be positive, step <= max");
  }
  step_ = static_cast<float>(options.step_nm);
  max_nm_ = static_cast<float>(options.max_retardance_nm);
  margin_ = static_cast<float>(options.ambiguity_margin);
  misfit_ = static_cast<float>(options.misfit_limit);
  // A basin of the misfit is about lambda / 4 wide at the shortest wavelength: closer candidates
  // are the same answer seen from two table entries.
  const double shortest = *std::min_element(wavelengths_nm.begin(), wavelengths_nm.end());
  basin_steps_ = std::max(1, static_cast<int>(std::ceil(0.08 * shortest / options.step_nm)));
  const int n = static_cast<int>(std::ceil(options.max_retardance_nm / options.step_nm)) + 1;
  table_.resize(n);
  for (int j = 0; j < n; ++j) {
    const double r = j * options.step_nm;
    double tt = 0.0;
    for (int w = 0; w < 3; ++w) {
      const double s = std::sin(2.0 * std::numbers::pi * r / wavelengths_nm[w]);
      table_[j][w] = static_cast<float>(s);
      tt += s * s;
    }
    table_[j][3] = static_cast<float>(tt);
  }
}

namespace {

struct Refined {
  float r, cost, den;
  bool flipped;
};

// Gauss-Newton on R for sum_w (sign * s_w - sin(k_w R))^2 from a table entry; each step is
// clamped to one table spacing so it stays in the basin the search picked.
[[gnu::always_inline]] inline Refined refine(float r, float sign, const float s[3],
                                             const float k[3], float step) {
  for (int it = 0; it < 3; ++it) {
    float num = 0.0f, den = 0.0f;
    for (int w = 0; w < 3; ++w) {
      float sn, cs;
      fastmath::sinCos(k[w] * r, sn, cs);
      const float jac = k[w] * cs;
      num += jac * (sign * s[w] - sn);
      den += jac * jac;
    }
    float d = num / (den > 1e-9f ? den : 1e-9f);
    d = d > step ? step : (d < -step ? -step : d);
    r += d;
  }
  // A retardance is not negative: sin is odd, so -R is +R seen with the axis turned by 90 deg.
  const bool flipped = r < 0.0f;
  r = flipped ? -r : r;
  const float sg = flipped ? -sign : sign;
  float cost = 0.0f, den = 0.0f;
  for (int w = 0; w < 3; ++w) {
    float sn, cs;
    fastmath::sinCos(k[w] * r, sn, cs);
    const float e = sg * s[w] - sn;
    cost += e * e;
    den += k[w] * k[w] * cs * cs;
  }
  return {r, cost, den, flipped};
}

struct UnwrapScratch {
  std::vector<float> s0, s1, s2, alpha_deg, b1, j1, g1, b2, j2, g2;
  void resize(int width) {
    for (auto* v : {&s0, &s1, &s2, &alpha_deg, &b1, &j1, &g1, &b2, &j2, &g2}) {
      v->resize(static_cast<std::size_t>(width));
    }
  }
};

UnwrapScratch& unwrapScratch(int width) {
  thread_local UnwrapScratch s;
  if (static_cast<int>(s.s0.size()) < width) s.resize(width);
  return s;
}

}  // namespace

POLSCAN_ANALYSIS_HOT void WavelengthUnwrapper::solveRow(const float* const x[3],
                                                        const float* const y[3], const float* var_s,
                                                        int width, float* ret, float* axis,
                                                        float* unc, std::uint8_t* ambiguous) const {
  UnwrapScratch& sc = unwrapScratch(width);
  float* __restrict s0 = sc.s0.data();
  float* __restrict s1 = sc.s1.data();
  float* __restrict s2 = sc.s2.data();
  float* __restrict alpha_deg = sc.alpha_deg.data();
  const float* __restrict x0 = x[0];
  const float* __restrict x1 = x[1];
  const float* __restrict x2 = x[2];
  const float* __restrict y0 = y[0];
  const float* __restrict y1 = y[1];
  const float* __restrict y2 = y[2];
  // 1. The channels' harmonic vectors lie on one line (angle 2 phi) with signed lengths
  //    sin(delta_w): its direction is the principal axis of the three vectors (double-angle form,
  //    so the signs do not cancel), and projecting on it gives the signed sines.
  for (int c = 0; c < width; ++c) {
    const float sxx = x0[c] * x0[c] + x1[c] * x1[c] + x2[c] * x2[c];
    const float syy = y0[c] * y0[c] + y1[c] * y1[c] + y2[c] * y2[c];
    const float sxy = x0[c] * y0[c] + x1[c] * y1[c] + x2[c] * y2[c];
    const float a = sxx - syy, b = 2.0f * sxy;
    const float rr = std::sqrt(a * a + b * b);
    const float has = rr > 1e-12f ? 1.0f : 0.0f;
    const float c2a = has > 0.0f ? a / (rr > 1e-12f ? rr : 1.0f) : 1.0f;
    const float ch = std::sqrt(std::max(0.0f, 0.5f * (1.0f + c2a)));
    const float shm = std::sqrt(std::max(0.0f, 0.5f * (1.0f - c2a)));
    const float sh = b < 0.0f ? -shm : shm;
    s0[c] = x0[c] * ch + y0[c] * sh;
    s1[c] = x1[c] * ch + y1[c] * sh;
    s2[c] = x2[c] * ch + y2[c] * sh;
    // alpha in (-90, 90] deg is the line's angle: 2 phi for a positive sine.
    alpha_deg[c] = fastmath::atan2f(sh, ch) * (180.0f / std::numbers::pi_v<float>);
  }
  // 2. Coarse search: for entry t, the better sign scores |t|^2 - 2 |s.t| (= |s -+ t|^2 - |s|^2).
  //    Keep the best entry and the best one more than a basin away from it (the rival).
  float* __restrict b1 = sc.b1.data();
  float* __restrict j1 = sc.j1.data();
  float* __restrict g1 = sc.g1.data();
  float* __restrict b2 = sc.b2.data();
  float* __restrict j2 = sc.j2.data();
  float* __restrict g2 = sc.g2.data();
  std::fill(b1, b1 + width, 1e30f);
  std::fill(b2, b2 + width, 1e30f);
  std::fill(j1, j1 + width, -1e6f);
  std::fill(j2, j2 + width, -1e6f);
  std::fill(g1, g1 + width, 1.0f);
  std::fill(g2, g2 + width, 1.0f);
  const float basin = static_cast<float>(basin_steps_);
  const int n = static_cast<int>(table_.size());
  for (int j = 0; j < n; ++j) {
    const float t0 = table_[j][0], t1 = table_[j][1], t2 = table_[j][2], tt = table_[j][3];
    const float jf = static_cast<float>(j);
    for (int c = 0; c < width; ++c) {
      const float dot = s0[c] * t0 + s1[c] * t1 + s2[c] * t2;
      const float score = tt - 2.0f * std::fabs(dot);
      const float sign = dot < 0.0f ? -1.0f : 1.0f;
      const bool better = score < b1[c];
      const bool far = jf - j1[c] > basin;
      // New best: the old best becomes the rival if it lies in another basin.
      const bool demote = better && far;
      const bool rival = !better && far && score < b2[c];
      b2[c] = demote ? b1[c] : (rival ? score : b2[c]);
      j2[c] = demote ? j1[c] : (rival ? jf : j2[c]);
      g2[c] = demote ? g1[c] : (rival ? sign : g2[c]);
      b1[c] = better ? score : b1[c];
      j1[c] = better ? jf : j1[c];
      g1[c] = better ? sign : g1[c];
    }
  }
  // 3. Refine both candidates continuously and keep the better; flag near-ties and misfits.
  const float k[3] = {k_[0], k_[1], k_[2]};
  const float step = step_;
  const bool want_unc = unc != nullptr;
  for (int c = 0; c < width; ++c) {
    const float s[3] = {s0[c], s1[c], s2[c]};
    const Refined first = refine(j1[c] * step, g1[c], s, k, step);
    const bool has_rival = j2[c] >= 0.0f;
    const Refined second =
        refine((has_rival ? j2[c] : j1[c]) * step, has_rival ? g2[c] : g1[c], s, k, step);
    const bool swap = has_rival && second.cost < first.cost;
    const Refined& best = swap ? second : first;
    const Refined& other = swap ? first : second;
    const float best_sign = swap ? g2[c] : g1[c];
    const float sign = best.flipped ? -best_sign : best_sign;
    const float gap = std::fabs(other.r - best.r);
    const bool tie = has_rival && other.cost - best.cost < margin_ && gap > basin * step;
    const bool amb = tie || best.cost > misfit_ || best.r > max_nm_;
    ret[c] = best.r;
    float phi = alpha_deg[c] * 0.5f + (sign < 0.0f ? 90.0f : 0.0f);
    phi = phi < 0.0f ? phi + 180.0f : phi;
    axis[c] = phi >= 180.0f ? phi - 180.0f : phi;
    ambiguous[c] = amb ? 255 : 0;
    if (want_unc) {
      const float v = var_s[c] / (best.den > 1e-12f ? best.den : 1e-12f);
      float sigma = std::sqrt(v > 0.0f ? v : 0.0f);
      sigma = tie && gap > sigma ? gap : sigma;
      unc[c] = sigma < max_nm_ ? sigma : max_nm_;
    }
  }
}

}  // namespace polscan::analysis
