// Per-pixel linear least squares of I(theta) = a0 + a1 cos(m theta) + a2 sin(m theta), any angles.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include <opencv2/core.hpp>

// The hot row loops are compiled twice, for AVX2 and the baseline, and picked at load time by CPU
// feature (GCC ifunc; "arch=haswell" would test the CPU model and miss AMD parts): twice the vector
// width where the CPU has it, still runs everywhere. Put it on definitions only; on a declaration
// other translation units would reference the clones.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__)
#define POLSCAN_ANALYSIS_HOT __attribute__((target_clones("avx2", "default")))
#else
#define POLSCAN_ANALYSIS_HOT
#endif

namespace polscan::analysis {

// The normal equations depend only on the angles, so their pseudo-inverse is computed once here and
// every pixel is then three dot products over the N frames (the hot loop of the reconstruction).
class HarmonicFit {
 public:
  // harmonic m = 2 (circular train) or 4 (crossed train). Throws AnalysisError when the angles
  // cannot determine the three coefficients: fewer than 3, NaN/inf, two angles equal modulo
  // 360/m (the same measurement), or a design matrix too ill-conditioned to trust.
  HarmonicFit(const std::vector<double>& angles_deg, int harmonic);

  int harmonic() const { return harmonic_; }
  int frameCount() const { return static_cast<int>(cos_.size()); }
  // (A^T A)^-1 with A = [1, cos m theta, sin m theta]: the coefficient covariance per unit noise
  // variance, used to propagate the residual into a retardance uncertainty.
  const cv::Matx33d& covariance() const { return cov_; }
  double conditionNumber() const { return condition_; }

  // Fits one image row. rows[k] points at the row of frame k (width samples each). Writes the
  // coefficients, the residual sum of squares (skipped when rss is null) and the per-pixel
  // maximum over frames (saturation).
  // (Multi-versioned at its definition only: see POLSCAN_ANALYSIS_HOT.)
  void fitRow(const std::uint16_t* const* rows, int width, float* a0, float* a1, float* a2,
              float* rss, std::uint16_t* max_value) const;

  // Largest cond(A^T A) accepted; beyond it one noisy frame swings the fit (e.g. 0, 5, 10 deg).
  static constexpr double kMaxCondition = 1.0e4;

 private:
  int harmonic_;
  std::vector<float> cos_, sin_;
  std::array<std::vector<float>, 3> pinv_;  // rows of (A^T A)^-1 A^T, one weight per frame
  cv::Matx33d cov_;
  double condition_ = 1.0;
};

}  // namespace polscan::analysis
