// Angle validation, pseudo-inverse set-up and the row-wise fitting loop of the harmonic model.
#include "analysis/harmonic_fit.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <sstream>

#include "analysis/analysis_error.hpp"

namespace polscan::analysis {

namespace {

// Two angles closer than this (after reduction modulo the period) are the same measurement.
constexpr double kDuplicateToleranceDeg = 0.01;

}  // namespace

HarmonicFit::HarmonicFit(const std::vector<double>& angles_deg, int harmonic)
    : harmonic_(harmonic) {
  if (harmonic != 2 && harmonic != 4) {
    throw AnalysisError("harmonic fit: unsupported harmonic " + std::to_string(harmonic) +
                        " (2 or 4)");
  }
  const int n = static_cast<int>(angles_deg.size());
  if (n < 3) {
    throw AnalysisError("harmonic fit: " + std::to_string(n) +
                        " angle(s) given, the model needs at least 3 (I0 and two harmonics)");
  }
  const double period = 360.0 / harmonic;
  std::vector<double> reduced(n);
  for (int k = 0; k < n; ++k) {
    if (!std::isfinite(angles_deg[k])) {
      std::ostringstream msg;
      msg << "harmonic fit: angle of frame " << k << " is not finite (" << angles_deg[k] << ")";
      throw AnalysisError(msg.str());
    }
    reduced[k] = std::fmod(std::fmod(angles_deg[k], period) + period, period);
  }
  for (int i = 0; i < n; ++i) {
    for (int j = i + 1; j < n; ++j) {
      double d = std::abs(reduced[i] - reduced[j]);
      d = std::min(d, period - d);
      if (d < kDuplicateToleranceDeg) {
        std::ostringstream msg;
        msg << "harmonic fit: frames " << i << " and " << j << " have the same angle modulo "
            << period << " deg (" << angles_deg[i] << " and " << angles_deg[j]
            << " deg): a duplicate measurement";
        throw AnalysisError(msg.str());
      }
    }
  }

  cos_.resize(n);
  sin_.resize(n);
  cv::Matx33d ata = cv::Matx33d::zeros();
  std::vector<cv::Vec3d> rows(n);
  for (int k = 0; k < n; ++k) {
    const double t = harmonic * angles_deg[k] * std::numbers::pi / 180.0;
    rows[k] = cv::Vec3d(1.0, std::cos(t), std::sin(t));
    cos_[k] = static_cast<float>(rows[k][1]);
    sin_[k] = static_cast<float>(rows[k][2]);
    ata += rows[k] * rows[k].t();
  }
  cv::Matx31d eigenvalues;
  cv::eigen(ata, eigenvalues);
  const double emax = eigenvalues(0), emin = eigenvalues(2);
  condition_ = emin > 0.0 ? emax / emin : std::numeric_limits<double>::infinity();
  if (!(condition_ <= kMaxCondition)) {
    std::ostringstream msg;
    msg << "harmonic fit: the " << n << " angles (";
    for (int k = 0; k < n; ++k) msg << (k ? ", " : "") << angles_deg[k];
    msg << " deg) make the fit ill-conditioned (cond(A^T A) = " << condition_ << " > "
        << kMaxCondition << "): spread them over the " << period << " deg period";
    throw AnalysisError(msg.str());
  }
  cov_ = ata.inv(cv::DECOMP_CHOLESKY);
  for (auto& p : pinv_) p.resize(n);
  for (int k = 0; k < n; ++k) {
    const cv::Vec3d w = cov_ * rows[k];
    for (int j = 0; j < 3; ++j) pinv_[j][k] = static_cast<float>(w[j]);
  }
}

namespace {

// Each pass is a helper with restrict-qualified parameters so GCC knows the frame rows and the
// accumulators never overlap: with restrict only on locals it versioned the loops on a runtime
// overlap check and ran the scalar copy.
[[gnu::always_inline]] inline void accumulateFirst(const std::uint16_t* __restrict p, int width,
                                                   float w0, float w1, float w2,
                                                   float* __restrict a0, float* __restrict a1,
                                                   float* __restrict a2,
                                                   std::uint16_t* __restrict mx) {
  for (int c = 0; c < width; ++c) {
    const float v = static_cast<float>(p[c]);
    a0[c] = w0 * v;
    a1[c] = w1 * v;
    a2[c] = w2 * v;
    mx[c] = p[c];
  }
}

[[gnu::always_inline]] inline void accumulate(const std::uint16_t* __restrict p, int width,
                                              float w0, float w1, float w2, float* __restrict a0,
                                              float* __restrict a1, float* __restrict a2,
                                              std::uint16_t* __restrict mx) {
  for (int c = 0; c < width; ++c) {
    const float v = static_cast<float>(p[c]);
    a0[c] += w0 * v;
    a1[c] += w1 * v;
    a2[c] += w2 * v;
    mx[c] = mx[c] > p[c] ? mx[c] : p[c];
  }
}

// Two frames per pass: half the loads and stores of the accumulators, which bound the fit once
// the frame rows sit in cache.
[[gnu::always_inline]] inline void accumulate2(const std::uint16_t* __restrict p,
                                               const std::uint16_t* __restrict q, int width,
                                               float w0, float w1, float w2, float v0, float v1,
                                               float v2, float* __restrict a0, float* __restrict a1,
                                               float* __restrict a2, std::uint16_t* __restrict mx) {
  for (int c = 0; c < width; ++c) {
    const float x = static_cast<float>(p[c]), y = static_cast<float>(q[c]);
    a0[c] += w0 * x + v0 * y;
    a1[c] += w1 * x + v1 * y;
    a2[c] += w2 * x + v2 * y;
    const std::uint16_t m = p[c] > q[c] ? p[c] : q[c];
    mx[c] = mx[c] > m ? mx[c] : m;
  }
}

[[gnu::always_inline]] inline void accumulateResidual(
    const std::uint16_t* __restrict p, int width, float ck, float sk, const float* __restrict a0,
    const float* __restrict a1, const float* __restrict a2, float* __restrict rss) {
  for (int c = 0; c < width; ++c) {
    const float d = static_cast<float>(p[c]) - (a0[c] + ck * a1[c] + sk * a2[c]);
    rss[c] += d * d;
  }
}

}  // namespace

// Flat loops over contiguous float rows that the compiler vectorises; the frame loop is outside so
// every pass streams one frame row (all N rows of a pixel row stay in L1/L2).
POLSCAN_ANALYSIS_HOT void HarmonicFit::fitRow(const std::uint16_t* const* rows, int width,
                                              float* a0, float* a1, float* a2, float* rss,
                                              std::uint16_t* max_value) const {
  const int n = frameCount();
  accumulateFirst(rows[0], width, pinv_[0][0], pinv_[1][0], pinv_[2][0], a0, a1, a2, max_value);
  int k = 1;
  for (; k + 1 < n; k += 2) {
    accumulate2(rows[k], rows[k + 1], width, pinv_[0][k], pinv_[1][k], pinv_[2][k], pinv_[0][k + 1],
                pinv_[1][k + 1], pinv_[2][k + 1], a0, a1, a2, max_value);
  }
  for (; k < n; ++k) {
    accumulate(rows[k], width, pinv_[0][k], pinv_[1][k], pinv_[2][k], a0, a1, a2, max_value);
  }
  // The residual is summed from the differences rather than as sum(I^2) - a.(A^T I): the latter
  // cancels catastrophically in float at 16-bit intensities.
  if (rss == nullptr) return;  // no uncertainty wanted: skip the second pass over the frames
  std::fill(rss, rss + width, 0.0f);
  for (int k = 0; k < n; ++k) accumulateResidual(rows[k], width, cos_[k], sin_[k], a0, a1, a2, rss);
}

}  // namespace polscan::analysis
