// Multi-wavelength (RGB) retardance: the retardance whose sin(2 pi R / lambda) at three wavelengths
// matches the signed sines measured in the three channels, past the single-wavelength fold.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace polscan::analysis {

struct UnwrapOptions {
  // Largest retardance searched. Uric-acid plates (birefringence 0.31, a few um thick) reach
  // ~1000 nm. With 610/545/465 nm channels every retardance up to 1000 nm stays distinct from
  // any other more than a basin away, sign of the axis included (closest pair 88 / 382 nm:
  // 0.017 in summed squared sines, ~3x ambiguity_margin); from ~1060 nm on rivals appear (791 /
  // 1064 nm: 0.002).
  double max_retardance_nm = 1000.0;
  // Spacing of the coarse table; each candidate is then refined continuously (Gauss-Newton).
  double step_nm = 10.0;
  // A pixel is ambiguous when a second candidate, more than a basin away, fits within this much
  // of the best (sum over channels of squared sine differences), or when the best fit misses by
  // more than misfit_limit (edges mixing two retarders, a retardance past the range).
  double ambiguity_margin = 0.006;
  double misfit_limit = 0.04;
};

// Solves one row at a time; the table depends only on the wavelengths and is built once.
class WavelengthUnwrapper {
 public:
  // wavelengths_nm in any order (R, G, B for stacks); all must be distinct and positive.
  WavelengthUnwrapper(const std::array<double, 3>& wavelengths_nm, const UnwrapOptions& options);

  // x[w], y[w]: channel w's harmonics oriented so that (x, y) = sin(delta_w) (cos 2phi, sin 2phi)
  // (blank-corrected, normalised by I0). var_s: per-pixel variance of one channel's sine (null:
  // no uncertainty wanted, unc is then not written). Writes retardance (nm), slow axis ([0, 180)
  // deg), the 1-sigma uncertainty (nm; raised to the distance to the rival candidate where
  // ambiguous) and the ambiguity flag (255 / 0).
  // (Multi-versioned at its definition: see POLSCAN_ANALYSIS_HOT.)
  void solveRow(const float* const x[3], const float* const y[3], const float* var_s, int width,
                float* ret, float* axis, float* unc, std::uint8_t* ambiguous) const;

  double maxRetardanceNm() const { return max_nm_; }

 private:
  void searchTable(const float* s0, const float* s1, const float* s2, int width, float* j1,
                   float* j2) const;
  void refineRow(const float* s0, const float* s1, const float* s2, const float* alpha_deg,
                 const float* j1, float* j2, const float* var_s, int width, float* ret, float* axis,
                 float* unc, std::uint8_t* ambiguous) const;

  std::array<float, 3> k_{};                 // 2 pi / lambda, rad per nm
  std::vector<std::array<float, 4>> table_;  // sin(k_w R_j) for w = 0..2, then |t|^2
  float step_ = 6.0f, max_nm_ = 800.0f;
  float margin_ = 0.006f, misfit_ = 0.04f;
  int basin_steps_ = 6;      // candidates closer than this many steps lie in the same basin
  float weak_limit_ = 0.0f;  // 8 pixels whose sines all stay below this search only...
  int weak_entries_ = 0;     // ...this many table entries (0 limit: always the whole table)
};

}  // namespace polscan::analysis
