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
  // Weak pixels (most of a field) need not scan the whole table: past cut_nm, one of the three
  // sines always exceeds floor; a pixel whose sines all stay below floor / 2 lies below cut_nm
  // (noise included), so its search stops at a short prefix of the table.
  const double cut_nm = 0.1 * shortest;
  double floor = 1.0;
  for (double r = cut_nm; r <= options.max_retardance_nm; r += 0.25) {
    double m = 0.0;
    for (int w = 0; w < 3; ++w) {
      m = std::max(m, std::abs(std::sin(2.0 * std::numbers::pi * r / wavelengths_nm[w])));
    }
    floor = std::min(floor, m);
  }
  weak_limit_ = floor > 0.2 ? static_cast<float>(floor / 2.0) : 0.0f;
  weak_entries_ = std::min(n, static_cast<int>(std::ceil(1.5 * cut_nm / options.step_nm)) + 2);
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
  float r, cost, den, sign;
};

// One channel's residual and Jacobian at retardance r.
[[gnu::always_inline]] inline void channelTerms(float k, float s, float sign, float r, float& num,
                                                float& den, float& cost) {
  float sn, cs;
  fastmath::sinCos(k * r, sn, cs);
  const float e = sign * s - sn;
  const float jac = k * cs;
  num += jac * e;
  den += jac * jac;
  cost += e * e;
}

// Gauss-Newton on R for sum_w (sign * s_w - sin(k_w R))^2 from a table entry; each step is
// clamped to one table spacing so it stays in the basin the search picked. The sign (which of
// phi and phi + 90 the line direction means) is the one that matches the entry. Written out
// without loops or arrays so the pixel loop around it vectorises.
[[gnu::always_inline]] inline Refined refine(float r, float s0, float s1, float s2, float k0,
                                             float k1, float k2, float step) {
  float sn0, cs0, sn1, cs1, sn2, cs2;
  fastmath::sinCos(k0 * r, sn0, cs0);
  fastmath::sinCos(k1 * r, sn1, cs1);
  fastmath::sinCos(k2 * r, sn2, cs2);
  const float sign = s0 * sn0 + s1 * sn1 + s2 * sn2 < 0.0f ? -1.0f : 1.0f;
  float num = 0.0f, den = 0.0f, cost = 0.0f;
  const float e0 = sign * s0 - sn0, e1 = sign * s1 - sn1, e2 = sign * s2 - sn2;
  const float g0 = k0 * cs0, g1 = k1 * cs1, g2 = k2 * cs2;
  num = g0 * e0 + g1 * e1 + g2 * e2;
  den = g0 * g0 + g1 * g1 + g2 * g2;
#pragma GCC unroll 2
  for (int it = 0; it < 2; ++it) {
    float d = num / (den > 1e-9f ? den : 1e-9f);
    d = d > step ? step : (d < -step ? -step : d);
    r += d;
    num = 0.0f;
    den = 0.0f;
    cost = 0.0f;
    channelTerms(k0, s0, sign, r, num, den, cost);
    channelTerms(k1, s1, sign, r, num, den, cost);
    channelTerms(k2, s2, sign, r, num, den, cost);
  }
  // A retardance is not negative: sin is odd, so -R is +R seen with the axis turned by 90 deg.
  const bool flipped = r < 0.0f;
  return {flipped ? -r : r, cost, den, flipped ? -sign : sign};
}

struct UnwrapScratch {
  std::vector<float> s0, s1, s2, alpha_deg, j1, j2;
  void resize(int width) {
    // Padded to whole 8-lane vectors for the table search.
    const auto n = static_cast<std::size_t>((width + 7) / 8 * 8);
    for (auto* v : {&s0, &s1, &s2, &alpha_deg, &j1, &j2}) v->assign(n, 0.0f);
  }
};

UnwrapScratch& unwrapScratch(int width) {
  thread_local UnwrapScratch s;
  if (s.s0.size() < static_cast<std::size_t>((width + 7) / 8 * 8)) s.resize(width);
  return s;
}

// Step 1 of solveRow (see there); restrict parameters so GCC vectorises without overlap checks.
POLSCAN_ANALYSIS_HOT void signedSines(const float* __restrict x0, const float* __restrict x1,
                                      const float* __restrict x2, const float* __restrict y0,
                                      const float* __restrict y1, const float* __restrict y2,
                                      int width, float* __restrict s0, float* __restrict s1,
                                      float* __restrict s2, float* __restrict alpha_deg) {
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
}

}  // namespace

POLSCAN_ANALYSIS_HOT void WavelengthUnwrapper::searchTable(const float* __restrict s0,
                                                           const float* __restrict s1,
                                                           const float* __restrict s2, int width,
                                                           float* __restrict j1,
                                                           float* __restrict j2) const {
  // 2. Coarse search: for entry t, the better sign scores |t|^2 - 2 |s.t| (= |s -+ t|^2 - |s|^2).
  //    Keep the best entry and the best one more than a basin away from it (the rival). Eight
  //    pixels stay in registers across the whole table (GCC vector extensions; AVX2 or SSE2).
  using v8f = float __attribute__((vector_size(32)));
  using v8i = int __attribute__((vector_size(32)));
  const int n = static_cast<int>(table_.size());
  const float basin = static_cast<float>(basin_steps_);
  const v8i abs_mask = v8i{} + 0x7fffffff;
  for (int c = 0; c < width; c += 8) {
    v8f a, b, d;
    __builtin_memcpy(&a, s0 + c, sizeof a);
    __builtin_memcpy(&b, s1 + c, sizeof b);
    __builtin_memcpy(&d, s2 + c, sizeof d);
    v8f best = v8f{} + 1e30f, rival = v8f{} + 1e30f;
    v8f jbest = v8f{} - 1e6f, jrival = v8f{} - 1e6f;
    float largest = 0.0f;
    for (int l = 0; l < 8; ++l) {
      largest = std::max({largest, std::fabs(a[l]), std::fabs(b[l]), std::fabs(d[l])});
    }
    const int entries = largest < weak_limit_ ? weak_entries_ : n;
    for (int j = 0; j < entries; ++j) {
      const float* t = table_[j].data();
      const v8f dot = a * t[0] + b * t[1] + d * t[2];
      const v8f adot = reinterpret_cast<v8f>(reinterpret_cast<v8i>(dot) & abs_mask);
      const v8f score = t[3] - 2.0f * adot;
      const float jf = static_cast<float>(j);
      const v8i better = score < best;
      const v8i far = (jf - jbest) > basin;
      const v8i demote = better & far;
      const v8i take = ~better & far & (score < rival);
      rival = demote ? best : (take ? score : rival);
      jrival = demote ? jbest : (take ? (v8f{} + jf) : jrival);
      best = better ? score : best;
      jbest = better ? (v8f{} + jf) : jbest;
    }
    __builtin_memcpy(j1 + c, &jbest, sizeof jbest);
    __builtin_memcpy(j2 + c, &jrival, sizeof jrival);
  }
}

POLSCAN_ANALYSIS_HOT void WavelengthUnwrapper::refineRow(
    const float* __restrict s0, const float* __restrict s1, const float* __restrict s2,
    const float* __restrict alpha_deg, const float* __restrict j1, float* __restrict j2,
    const float* __restrict var_s, int width, float* __restrict ret, float* __restrict axis,
    float* __restrict unc, std::uint8_t* __restrict ambiguous) const {
  const float basin = static_cast<float>(basin_steps_);
  // 3. Refine both candidates continuously and keep the better; flag near-ties and misfits.
  const float k0 = k_[0], k1 = k_[1], k2 = k_[2];
  const float step = step_, margin = margin_, misfit = misfit_, max_nm = max_nm_;
  const float same_basin = basin * step;
  const bool want_unc = unc != nullptr;
  const float* __restrict vs = want_unc ? var_s : j1;  // any readable row when unused
  for (int c = 0; c < width; ++c) {
    const Refined a = refine(j1[c] * step, s0[c], s1[c], s2[c], k0, k1, k2, step);
    const bool has_rival = j2[c] >= 0.0f;
    const Refined b =
        refine((has_rival ? j2[c] : j1[c]) * step, s0[c], s1[c], s2[c], k0, k1, k2, step);
    const bool swap = has_rival && b.cost < a.cost;
    const float r = swap ? b.r : a.r, cost = swap ? b.cost : a.cost;
    const float den = swap ? b.den : a.den, sign = swap ? b.sign : a.sign;
    const float other_r = swap ? a.r : b.r, other_cost = swap ? a.cost : b.cost;
    const float gap = std::fabs(other_r - r);
    const bool tie = has_rival && other_cost - cost < margin && gap > same_basin;
    const bool amb = tie || cost > misfit || r > max_nm;
    ret[c] = r;
    float phi = alpha_deg[c] * 0.5f + (sign < 0.0f ? 90.0f : 0.0f);
    phi = phi < 0.0f ? phi + 180.0f : phi;
    axis[c] = phi >= 180.0f ? phi - 180.0f : phi;
    ambiguous[c] = amb ? 255 : 0;
    // Computed either way (cheap, branch-free); stored only when wanted.
    const float v = vs[c] / (den > 1e-12f ? den : 1e-12f);
    float sigma = std::sqrt(v > 0.0f ? v : 0.0f);
    sigma = tie && gap > sigma ? gap : sigma;
    j2[c] = sigma < max_nm ? sigma : max_nm;  // j2 is spent: reuse it as the sigma row
  }
  if (want_unc) std::copy(j2, j2 + width, unc);
}

void WavelengthUnwrapper::solveRow(const float* const x[3], const float* const y[3],
                                   const float* var_s, int width, float* ret, float* axis,
                                   float* unc, std::uint8_t* ambiguous) const {
  UnwrapScratch& sc = unwrapScratch(width);
  // 1. The channels' harmonic vectors lie on one line (angle 2 phi) with signed lengths
  //    sin(delta_w): its direction is the principal axis of the three vectors (double-angle form,
  //    so the signs do not cancel), and projecting on it gives the signed sines.
  signedSines(x[0], x[1], x[2], y[0], y[1], y[2], width, sc.s0.data(), sc.s1.data(), sc.s2.data(),
              sc.alpha_deg.data());
  // 2. Coarse search over the table for the best entry and a rival in another basin.
  searchTable(sc.s0.data(), sc.s1.data(), sc.s2.data(), width, sc.j1.data(), sc.j2.data());
  // 3. Continuous refinement of both, ambiguity and uncertainty.
  refineRow(sc.s0.data(), sc.s1.data(), sc.s2.data(), sc.alpha_deg.data(), sc.j1.data(),
            sc.j2.data(), var_s, width, ret, axis, unc, ambiguous);
}

}  // namespace polscan::analysis
