// Stack validation, the parallel row-band reconstruction, blank correction and the noise floor.
#include "analysis/reconstruction.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numbers>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "analysis/analysis_error.hpp"
#include "analysis/fast_math.hpp"
#include "analysis/harmonic_fit.hpp"
#include "analysis/reconstruction_detail.hpp"

namespace polscan::analysis {

namespace {

using detail::sizeText;
using detail::streamFence;
using detail::streamRow;
using detail::typeText;

int harmonicFor(polscan::OpticalTrain train) {
  switch (train) {
    case polscan::OpticalTrain::Circular:
      return 2;
    case polscan::OpticalTrain::Crossed:
      return 4;
    case polscan::OpticalTrain::FixedAnalyser:
      return 2;
    default:
      throw AnalysisError(
          std::string("optical train '") + std::string(polscan::opticalTrainName(train)) +
          "' is not supported by this path (circular, crossed, fixed-analyser mono)");
  }
}

// Per-band scratch rows: the fit writes coefficients here, the finishing step turns them into the
// map. Allocated once per band so the working set beyond the outputs is a few rows.
struct RowScratch {
  RowScratch() = default;
  explicit RowScratch(int width)
      : a0(width),
        a1(width),
        a2(width),
        rss(width),
        b1(width),
        b2(width),
        bi0(width),
        ret(width),
        axis(width),
        inten(width),
        unc(width),
        max_value(width),
        sat(width),
        fold(width) {}
  std::vector<float> a0, a1, a2, rss, b1, b2, bi0;
  std::vector<float> ret, axis, inten, unc;  // the finished row before it is streamed out
  std::vector<std::uint16_t> max_value, raw_max;
  std::vector<std::vector<std::uint16_t>> dark_rows;  // one per frame: rows minus the dark
  std::vector<std::uint8_t> sat, fold, amb;
  std::vector<float> ones = std::vector<float>(a0.size(), 1.0f);
};

// One scratch set per worker thread, kept across bands and fields: a fresh ~100 KB set per
// 8-row band made glibc grow and trim its heap, i.e. tens of MB of page faults per 2048 field.
RowScratch& threadScratch(int width) {
  thread_local RowScratch s;
  if (static_cast<int>(s.a0.size()) != width) s = RowScratch(width);
  return s;
}

struct FinishParams {
  float lambda_over_2pi;  // nm per radian of phase retardance
  float cap_nm;           // largest uncertainty reported (the fold makes larger values meaningless)
  float inv_dof;          // 1/(N-3), 0 when N == 3 (no residual degrees of freedom)
  float c00, c01, c02, c11, c12, c22;  // (A^T A)^-1
  float fold_s;
  float blank_mean_i0;
  float i0_ref;           // crossed only
  float blind_sin2;       // fixed-analyser only: sin^2(2 x blind angle)
  const float* inv_gain;  // flat-field row (1 / gain); a row of ones without a flat
  std::uint16_t saturation;
  bool blank;
};

// Pixels finished per chunk (see the main pass): 256 16-bit pixels are 8 cache lines per frame.
constexpr int kFinishChunk = 256;

// Asks for columns [begin, end) of row `r` of every frame to be brought into L2 ahead of the fit.
void prefetchFrameColumns(const polscan::Stack& s, int r, int begin, int end) {
  constexpr int kLine = 64;
  for (const cv::Mat& f : s.frames) {
    const char* row = f.ptr<char>(r);
    const int from = begin * static_cast<int>(sizeof(std::uint16_t));
    const int to = end * static_cast<int>(sizeof(std::uint16_t));
    for (int b = from; b < to; b += kLine) __builtin_prefetch(row + b, 0, 2);
  }
}

// The camera's dark for the mono pass, subtracted row by row as the fit reads the frames (no
// dark-subtracted copy of the stack: that copy cost as much as the reconstruction itself).
struct RowDark {
  cv::Mat dn;                   // CV_16U, the frames' size, whole DN; empty: the uniform offset
  std::uint16_t offset_dn = 0;  // ReconstructionOptions::dark_offset_dn in whole DN
};

// rows[k] <- row r of frame k minus the dark, saturating at 0, in s.dark_rows; s.raw_max <- the
// raw rows' maximum (saturation is judged on the raw DN: the camera clipped there).
POLSCAN_ANALYSIS_HOT void darkSubtractedRows(const polscan::Stack& st, int r, const RowDark& dark,
                                             RowScratch& s, const std::uint16_t** rows) {
  const int width = st.frames.front().cols;
  const std::size_t n = st.frames.size();
  if (s.dark_rows.size() < n) s.dark_rows.resize(n);
  s.raw_max.assign(static_cast<std::size_t>(width), 0);
  std::uint16_t* __restrict mx = s.raw_max.data();
  for (std::size_t k = 0; k < n; ++k) {
    s.dark_rows[k].resize(static_cast<std::size_t>(width));
    const std::uint16_t* __restrict src = st.frames[k].ptr<std::uint16_t>(r);
    std::uint16_t* __restrict dst = s.dark_rows[k].data();
    if (dark.dn.empty()) {
      const std::uint16_t off = dark.offset_dn;
      for (int c = 0; c < width; ++c) {
        dst[c] = static_cast<std::uint16_t>(src[c] > off ? src[c] - off : 0);
        mx[c] = mx[c] > src[c] ? mx[c] : src[c];
      }
    } else {
      const std::uint16_t* __restrict d = dark.dn.ptr<std::uint16_t>(r);
      for (int c = 0; c < width; ++c) {
        dst[c] = static_cast<std::uint16_t>(src[c] > d[c] ? src[c] - d[c] : 0);
        mx[c] = mx[c] > src[c] ? mx[c] : src[c];
      }
    }
    rows[k] = dst;
  }
}

// Circular train: a0 = I0/2, a1 = -a0 s sin 2phi, a2 = a0 s cos 2phi with s = sin(delta).
// kUncertainty: the per-pixel 1-sigma costs a third of the arithmetic and a fifth of the output
// bytes; the analysis does not use it, so it is opt-in. This finishing step, not the memory
// traffic, sets the pass's speed (ReconstructReuse at 2048 drops to the plain read's time without
// it), so divisions are counted: without a blank, delta = atan2(|a|, sqrt(a0^2 - |a|^2)) and
// phi = atan2(-a1, a2) / 2 need no normalisation by a0, and the two atan2 share one division and
// one square root.
template <bool kUncertainty, bool kBlank>
POLSCAN_ANALYSIS_HOT void finishCircularRow(const RowScratch& in, const FinishParams& p, int begin,
                                            int end, float* __restrict ret, float* __restrict axis,
                                            float* __restrict inten, float* __restrict unc,
                                            std::uint8_t* __restrict sat,
                                            std::uint8_t* __restrict fold) {
  constexpr float kRadToHalfDeg = 90.0f / std::numbers::pi_v<float>;
  const float* __restrict a0 = in.a0.data();
  const float* __restrict a1 = in.a1.data();
  const float* __restrict a2 = in.a2.data();
  const float* __restrict rss = in.rss.data();
  const float* __restrict b1 = in.b1.data();
  const float* __restrict b2 = in.b2.data();
  const float* __restrict bi0 = in.bi0.data();
  const std::uint16_t* __restrict mx = in.max_value.data();
  const float* __restrict gain = p.inv_gain;
  const float fold2 = p.fold_s * p.fold_s;
  for (int c = begin; c < end; ++c) {
    const float m = a0[c] > 1e-3f ? a0[c] : 1e-3f;
    // Harmonics in intensity units (h = m d): without a blank they are a1 and a2 themselves.
    // With one, the blank's Stokes-like terms are subtracted in normalised-harmonic space
    // (PolScope), which removes optics strain and polarizer wobble independent of the local
    // brightness.
    float h1 = a1[c], h2 = a2[c];
    if constexpr (kBlank) {
      h1 -= m * b1[c];
      h2 -= m * b2[c];
    }
    const float h2sum = h1 * h1 + h2 * h2;
    const float m2 = m * m;
    // (m cos(delta))^2; 0 when |h| >= m (noise past the top of the curve reads as a quarter
    // wave).
    const float cos_m2 = m2 - h2sum;
    // First order only: sin(delta) rises to 1 at a quarter wave (lambda/4, 137 nm at 546 nm) and
    // falls again beyond, so a 200 nm crystal reads ~73 nm. Pixels near the top are flagged
    // at_fold.
    float delta = 0.0f, two_phi = 0.0f;
    fastmath::atan2SquaredPair(h2sum, cos_m2 > 0.0f ? cos_m2 : 0.0f, -h1, h2, delta, two_phi);
    ret[c] = delta * p.lambda_over_2pi;
    float phi = two_phi * kRadToHalfDeg;
    phi = phi < 0.0f ? phi + 180.0f : phi;
    axis[c] = phi >= 180.0f ? phi - 180.0f : phi;
    float flat = gain[c];
    if constexpr (kBlank) {
      const float bi = bi0[c] > 1e-3f ? bi0[c] : 1e-3f;
      flat *= p.blank_mean_i0 / bi;
    }
    inten[c] = 2.0f * m * flat;
    sat[c] = static_cast<std::uint8_t>(sat[c] | (mx[c] >= p.saturation ? 255 : 0));
    fold[c] = h2sum >= fold2 * m2 ? 255 : 0;
    if constexpr (!kUncertainty) continue;
    // Linear propagation of the residual variance through s = |a12/a0 - b|: gradient (times a0)
    // g = (-(u.n), u1, u2) with u the unit direction of the corrected harmonics.
    const float inv = 1.0f / m;
    const float n1 = a1[c] * inv, n2 = a2[c] * inv;
    const float d1 = h1 * inv, d2 = h2 * inv;
    const float s = std::sqrt(h2sum) * inv;
    const float sc = s < 1.0f ? s : 1.0f;
    const float has_dir = s > 1e-6f ? 1.0f : 0.0f;
    const float is = has_dir / (s > 1e-6f ? s : 1.0f);
    const float u1 = has_dir > 0.0f ? d1 * is : 0.70710678f;
    const float u2 = has_dir > 0.0f ? d2 * is : 0.70710678f;
    const float g0 = -(u1 * n1 + u2 * n2);
    const float q = g0 * g0 * p.c00 + u1 * u1 * p.c11 + u2 * u2 * p.c22 +
                    2.0f * (g0 * u1 * p.c01 + g0 * u2 * p.c02 + u1 * u2 * p.c12);
    const float var_s = rss[c] * p.inv_dof * q * inv * inv;
    const float cos2 = 1.0f - sc * sc;
    const float cosd = std::sqrt(cos2 > 1e-4f ? cos2 : 1e-4f);
    const float sigma = std::sqrt(var_s > 0.0f ? var_s : 0.0f) / cosd * p.lambda_over_2pi;
    unc[c] = sigma < p.cap_nm ? sigma : p.cap_nm;
  }
}

// Crossed train: I = K/2 (1 - cos 4(theta - phi)), K = I0 sin^2(delta/2), so a1 = -K/2 cos 4phi,
// a2 = -K/2 sin 4phi. The amplitude (not a0, which also holds extinction leakage) gives K.
template <bool kUncertainty>
POLSCAN_ANALYSIS_HOT void finishCrossedRow(const RowScratch& in, const FinishParams& p, int begin,
                                           int end, float* __restrict ret, float* __restrict axis,
                                           float* __restrict inten, float* __restrict unc,
                                           std::uint8_t* __restrict sat,
                                           std::uint8_t* __restrict fold) {
  constexpr float kRadToQuarterDeg = 45.0f / std::numbers::pi_v<float>;
  const float* __restrict gain = p.inv_gain;
  const float bmask = p.blank ? 1.0f : 0.0f;
  for (int c = begin; c < end; ++c) {
    // The flat-field makes the open intensity a per-pixel map: I0_ref x gain.
    const float inv_ref = gain[c] / p.i0_ref;
    const float d1 = in.a1[c] - bmask * in.b1[c], d2 = in.a2[c] - bmask * in.b2[c];
    const float amp = std::sqrt(d1 * d1 + d2 * d2);
    float qv = 2.0f * amp * inv_ref;  // sin^2(delta/2)
    qv = qv < 1.0f ? qv : 1.0f;
    const float sh = std::sqrt(qv);
    // First order up to a half wave here (sin^2(delta/2) peaks at delta = pi).
    ret[c] = 2.0f * fastmath::asinUnit(sh) * p.lambda_over_2pi;
    float phi = fastmath::atan2f(-d2, -d1) * kRadToQuarterDeg;
    phi = phi < 0.0f ? phi + 90.0f : phi;
    axis[c] = phi >= 90.0f ? phi - 90.0f : phi;
    inten[c] = 1.0f / inv_ref;
    sat[c] = static_cast<std::uint8_t>(sat[c] | (in.max_value[c] >= p.saturation ? 255 : 0));
    fold[c] = sh >= p.fold_s ? 255 : 0;
    if constexpr (!kUncertainty) continue;
    // var(amp) = sigma^2 u^T C u (u the amplitude direction); dR/dq = lambda/(2 pi) / sqrt(q(1-q)).
    const float has_dir = amp > 1e-6f ? 1.0f : 0.0f;
    const float u1 = has_dir > 0.0f ? d1 / (amp > 1e-6f ? amp : 1.0f) : 0.70710678f;
    const float u2 = has_dir > 0.0f ? d2 / (amp > 1e-6f ? amp : 1.0f) : 0.70710678f;
    const float var_a =
        in.rss[c] * p.inv_dof * (u1 * u1 * p.c11 + u2 * u2 * p.c22 + 2.0f * u1 * u2 * p.c12);
    const float sq = 2.0f * std::sqrt(var_a > 0.0f ? var_a : 0.0f) * inv_ref;
    const float den2 = qv * (1.0f - qv);
    const float sigma = sq / std::sqrt(den2 > 1e-4f ? den2 : 1e-4f) * p.lambda_over_2pi;
    unc[c] = sigma < p.cap_nm ? sigma : p.cap_nm;
  }
}

// Fixed analyser at 90 deg (only the polarizer turns): with the optics.hpp quantities,
// I/I0 = 1/2 [T - cos 2theta (T - q0 + q1) - sin 2theta q2], q0 = T Q, q1 = T Q cos 4phi,
// q2 = T Q sin 4phi, Q = sin^2(delta/2). So a0 = I0 T / 2 and the sample moves the normalised
// harmonics off the Malus background (-1, 0) by u = 1 + a1/a0 = 2 Q sin^2 2phi and
// v = -a2/a0 = 2 Q sin 2phi cos 2phi: Q = (u^2 + v^2) / (2u), 2phi = atan2(u, v) in [0, 180]
// (phi modulo 90). A slow axis along the polarizer or analyser axis (sin 2phi = 0) is invisible.
template <bool kUncertainty>
POLSCAN_ANALYSIS_HOT void finishFixedRow(const RowScratch& in, const FinishParams& p, int begin,
                                         int end, float* __restrict ret, float* __restrict axis,
                                         float* __restrict inten, float* __restrict unc,
                                         std::uint8_t* __restrict sat,
                                         std::uint8_t* __restrict fold,
                                         std::uint8_t* __restrict amb) {
  constexpr float kRadToHalfDeg = 90.0f / std::numbers::pi_v<float>;
  const float* __restrict gain = p.inv_gain;
  const float bmask = p.blank ? 1.0f : 0.0f;
  for (int c = begin; c < end; ++c) {
    const float m = in.a0[c] > 1e-3f ? in.a0[c] : 1e-3f;
    const float inv = 1.0f / m;
    const float n1 = in.a1[c] * inv, n2 = in.a2[c] * inv;
    // With a blank, its own offset from the ideal background (polarizer zero error, strain) goes.
    const float u = bmask > 0.0f ? n1 - in.b1[c] : 1.0f + n1;
    const float v = -(n2 - bmask * in.b2[c]);
    const float r2 = u * u + v * v;
    const float r = std::sqrt(r2);
    // Near the blind orientations u -> 0 and Q = r^2 / 2u only amplifies noise: cap the divisor.
    const float floor = r * p.blind_sin2;
    const float den = u > floor ? u : floor;
    float q = r2 / (2.0f * (den > 1e-12f ? den : 1e-12f));
    q = q < 1.0f ? q : 1.0f;
    const float sh = std::sqrt(q);
    ret[c] = 2.0f * fastmath::asinUnit(sh) * p.lambda_over_2pi;
    float phi = fastmath::atan2f(u, v) * kRadToHalfDeg;
    phi = phi < 0.0f ? phi + 90.0f : phi;
    axis[c] = phi >= 90.0f ? phi - 90.0f : phi;
    const float flat =
        (bmask > 0.0f ? p.blank_mean_i0 / (in.bi0[c] > 1e-3f ? in.bi0[c] : 1e-3f) : 1.0f) * gain[c];
    inten[c] = 2.0f * m * flat;
    sat[c] = static_cast<std::uint8_t>(sat[c] | (in.max_value[c] >= p.saturation ? 255 : 0));
    fold[c] = sh >= p.fold_s ? 255 : 0;
    amb[c] = u < floor ? 255 : 0;
    if constexpr (!kUncertainty) continue;
    // dQ/du = 1/2 - v^2 / (2 u^2), dQ/dv = v / u; u and v each carry var(a1 or a2) / a0^2.
    const float iu = 1.0f / (den > 1e-6f ? den : 1e-6f);
    const float gu = 0.5f - 0.5f * v * v * iu * iu, gv = v * iu;
    const float var_n = in.rss[c] * p.inv_dof * 0.5f * (p.c11 + p.c22) * inv * inv;
    const float var_q = var_n * (gu * gu + gv * gv);
    const float dq = q * (1.0f - q);
    const float sigma = std::sqrt(var_q > 0.0f ? var_q : 0.0f) /
                        std::sqrt(dq > 1e-4f ? dq : 1e-4f) * p.lambda_over_2pi;
    unc[c] = sigma < p.cap_nm ? sigma : p.cap_nm;
  }
}

FinishParams makeParams(const HarmonicFit& fit, const polscan::Stack& stack, bool half_wave) {
  FinishParams p{};
  const double lambda = stack.wavelengths_nm.front();
  p.lambda_over_2pi = static_cast<float>(lambda / (2.0 * std::numbers::pi));
  p.cap_nm = static_cast<float>(half_wave ? lambda / 2.0 : lambda / 4.0);
  const int dof = fit.frameCount() - 3;
  p.inv_dof = dof > 0 ? 1.0f / static_cast<float>(dof) : 0.0f;
  const cv::Matx33d& c = fit.covariance();
  p.c00 = static_cast<float>(c(0, 0));
  p.c01 = static_cast<float>(c(0, 1));
  p.c02 = static_cast<float>(c(0, 2));
  p.c11 = static_cast<float>(c(1, 1));
  p.c12 = static_cast<float>(c(1, 2));
  p.c22 = static_cast<float>(c(2, 2));
  p.saturation = static_cast<std::uint16_t>((1u << stack.bit_depth) - 1u);
  return p;
}

// Rows per parallel stripe: large enough to amortise the scratch set-up, small enough to balance.
int stripeCount(int rows) {
  return std::max(1, std::min(rows / 8, 256));
}

}  // namespace

void validateStack(const polscan::Stack& stack, const char* what) {
  const std::string w(what);
  if (stack.frames.empty()) throw AnalysisError(w + ": no frames");
  if (stack.frames.size() != stack.angles_deg.size()) {
    throw AnalysisError(w + ": " + std::to_string(stack.frames.size()) + " frames but " +
                        std::to_string(stack.angles_deg.size()) + " angles (one angle per frame)");
  }
  const cv::Mat& f0 = stack.frames.front();
  for (std::size_t k = 0; k < stack.frames.size(); ++k) {
    const cv::Mat& f = stack.frames[k];
    std::ostringstream frame;
    frame << w << ": frame " << k << " (" << stack.angles_deg[k] << " deg)";
    if (f.empty()) throw AnalysisError(frame.str() + " is empty");
    if (f.type() != CV_16UC1 && f.type() != CV_16UC3) {
      throw AnalysisError(frame.str() + " is " + typeText(f.type()) +
                          ", expected 16-bit mono (CV_16UC1) or RGB (CV_16UC3)");
    }
    if (f.type() != f0.type()) {
      throw AnalysisError(frame.str() + " is " + typeText(f.type()) + " but frame 0 is " +
                          typeText(f0.type()));
    }
    if (f.size() != f0.size()) {
      throw AnalysisError(frame.str() + " is " + sizeText(f) + " but frame 0 is " + sizeText(f0));
    }
  }
  const bool rgb = f0.type() == CV_16UC3;
  if (rgb && stack.wavelengths_nm.size() != 3) {
    throw AnalysisError(w +
                        ": RGB frames (CV_16UC3) need three wavelengths (R, G, B) in "
                        "wavelengths_nm, got " +
                        std::to_string(stack.wavelengths_nm.size()));
  }
  if (stack.wavelengths_nm.empty()) {
    throw AnalysisError(w + ": no valid wavelength (wavelengths_nm must hold a positive value)");
  }
  for (std::size_t k = 0; k < (rgb ? 3u : 1u); ++k) {
    const double l = stack.wavelengths_nm[k];
    if (!std::isfinite(l) || l <= 0.0) {
      throw AnalysisError(w + ": no valid wavelength (wavelengths_nm[" + std::to_string(k) +
                          "] = " + std::to_string(l) + ", must be a positive value)");
    }
  }
  if (stack.bit_depth < 1 || stack.bit_depth > 16) {
    throw AnalysisError(w + ": bit_depth " + std::to_string(stack.bit_depth) + " outside 1..16");
  }
  if (!(stack.pixel_um > 0.0) || !std::isfinite(stack.pixel_um)) {
    throw AnalysisError(w + ": pixel_um must be positive (got " + std::to_string(stack.pixel_um) +
                        ")");
  }
}

RetardanceMap reconstruct(const polscan::Stack& stack, const polscan::Stack* blank) {
  return reconstruct(stack, blank, ReconstructionOptions{});
}

RetardanceMap reconstruct(const polscan::Stack& stack, const polscan::Stack* blank,
                          const ReconstructionOptions& options) {
  RetardanceMap map;
  reconstructInto(stack, blank, options, map);
  return map;
}

namespace detail {

cv::Mat inverseFlatGain(const cv::Mat& flat, cv::Size size, int channels) {
  if (flat.empty()) return {};
  const int depth = flat.depth();
  if ((depth != CV_16U && depth != CV_32F) ||
      (flat.channels() != 1 && flat.channels() != channels)) {
    throw AnalysisError("flat_field: is " + typeText(flat.type()) +
                        ", expected CV_16U or CV_32F with 1" +
                        (channels == 3 ? std::string(" or 3 channels") : std::string(" channel")));
  }
  if (flat.size() != size) {
    throw AnalysisError("flat_field: is " + sizeText(flat) + " but the stack's frames are " +
                        std::to_string(size.width) + "x" + std::to_string(size.height));
  }
  cv::Mat gain;
  flat.convertTo(gain, CV_32F);
  if (gain.channels() != channels) {
    std::vector<cv::Mat> same(static_cast<std::size_t>(channels), gain);
    cv::merge(same, gain);
  }
  // Float flats may hold NaN/inf or non-positive gains: name the first such pixel.
  for (int r = 0; r < gain.rows; ++r) {
    const float* g = gain.ptr<float>(r);
    for (int i = 0; i < gain.cols * channels; ++i) {
      if (!std::isfinite(g[i]) || !(g[i] > 0.0f)) {
        std::ostringstream msg;
        msg << "flat_field: pixel (x " << i / channels << ", y " << r << ") channel "
            << i % channels << " is " << g[i] << " (gains must be finite and positive)";
        throw AnalysisError(msg.str());
      }
    }
  }
  const cv::Scalar mean = cv::mean(gain);
  std::vector<cv::Mat> planes;
  cv::split(gain, planes);
  for (int ch = 0; ch < channels; ++ch) {
    cv::divide(mean[ch], planes[static_cast<std::size_t>(ch)],
               planes[static_cast<std::size_t>(ch)]);
  }
  cv::Mat inv;
  cv::merge(planes, inv);
  return inv.reshape(1, size.height);  // one float per sample, interleaved like the frames
}

cv::Mat darkInWholeDn(const ReconstructionOptions& options, const cv::Mat& f0, const char* what) {
  const int channels = f0.channels();
  cv::Mat dark;
  if (!options.dark_frame.empty()) {
    const cv::Mat& d = options.dark_frame;
    if ((d.depth() != CV_16U && d.depth() != CV_32F) ||
        (d.channels() != 1 && d.channels() != channels)) {
      throw AnalysisError(
          "dark_frame: is " + typeText(d.type()) + ", expected CV_16U or CV_32F with 1" +
          (channels == 3 ? std::string(" or 3 channels") : std::string(" channel")));
    }
    if (d.size() != f0.size()) {
      throw AnalysisError("dark_frame: is " + sizeText(d) + " but the " + what + "'s frames are " +
                          sizeText(f0));
    }
    // Whole DN: the frames are integers and the result is rounded to one anyway, and a 16-bit
    // saturating subtraction is a fast vector pass (the mixed-type one converts every sample).
    thread_local cv::Mat dark16;
    d.convertTo(dark16, CV_16U);
    dark = dark16;
    if (dark.channels() != channels) {
      std::vector<cv::Mat> same(static_cast<std::size_t>(channels), dark);
      cv::merge(same, dark);
    }
  }
  return dark;
}

polscan::Stack applyCameraCalibration(const polscan::Stack& stack,
                                      const ReconstructionOptions& options, const char* what,
                                      std::vector<cv::Mat>& buffers) {
  polscan::Stack out = stack;
  for (double& a : out.angles_deg) a += options.polarizer_offset_deg;
  const cv::Mat dark = darkInWholeDn(options, stack.frames.front(), what);
  if (dark.empty() && options.dark_offset_dn == 0.0) return out;
  buffers.resize(out.frames.size());
  for (std::size_t k = 0; k < out.frames.size(); ++k) {
    // Into the reused buffer (no fresh pages per field); CV_16U saturates below 0 to 0.
    cv::Mat& d = buffers[k];
    if (dark.empty()) {
      cv::subtract(out.frames[k], cv::Scalar::all(detail::darkOffsetInWholeDn(options)), d);
    } else {
      cv::subtract(out.frames[k], dark, d);
    }
    out.frames[k] = d;
  }
  return out;
}

void markRawSaturation(const polscan::Stack& stack, cv::Mat& saturated) {
  const auto ceiling = static_cast<double>((1u << stack.bit_depth) - 1u);
  cv::Mat hot;
  for (const cv::Mat& f : stack.frames) {
    cv::compare(f.reshape(1), ceiling, hot, cv::CMP_GE);
    hot = hot.reshape(f.channels());
    if (f.channels() > 1) {
      cv::Mat any;
      cv::reduce(hot.reshape(1, f.rows * f.cols), any, 1, cv::REDUCE_MAX);
      hot = any.reshape(1, f.rows);
    }
    cv::bitwise_or(saturated, hot, saturated);
  }
}

void countSaturatedFrames(const polscan::Stack& stack, RetardanceMap& map) {
  map.saturated_frames.clear();
  if (cv::countNonZero(map.saturated) == 0) return;  // the usual case costs one pass over a mask
  const auto ceiling = static_cast<double>((1u << stack.bit_depth) - 1u);
  for (std::size_t k = 0; k < stack.frames.size(); ++k) {
    cv::Mat hot;
    cv::compare(stack.frames[k].reshape(1), ceiling, hot, cv::CMP_GE);
    const int n = cv::countNonZero(hot);
    if (n > 0) map.saturated_frames.push_back({static_cast<int>(k), stack.angles_deg[k], n});
  }
}

}  // namespace detail

std::string describeSaturation(const RetardanceMap& map) {
  if (map.saturated_frames.empty()) return {};
  std::ostringstream msg;
  msg << "saturated pixels:";
  for (std::size_t i = 0; i < map.saturated_frames.size(); ++i) {
    const SaturatedFrame& f = map.saturated_frames[i];
    msg << (i ? "," : "") << " frame " << f.frame << " (" << f.angle_deg << " deg) " << f.pixels
        << " px";
  }
  return msg.str();
}

namespace {
// dark: subtracted row by row from the frames of both stacks (mono trains only); null: none.
void reconstructUncalibratedInto(const polscan::Stack& stack, const polscan::Stack* blank,
                                 const ReconstructionOptions& options, RetardanceMap& map,
                                 const RowDark* dark = nullptr);
}  // namespace

void reconstructInto(const polscan::Stack& stack, const polscan::Stack* blank,
                     const ReconstructionOptions& options, RetardanceMap& map) {
  const bool dark = !options.dark_frame.empty() || options.dark_offset_dn != 0.0;
  if (!dark && options.polarizer_offset_deg == 0.0) {
    reconstructUncalibratedInto(stack, blank, options, map);
    return;
  }
  validateStack(stack, "stack");
  if (blank != nullptr) validateStack(*blank, "blank");
  const cv::Mat& f0 = stack.frames.front();
  if (f0.channels() == 1 && stack.train != polscan::OpticalTrain::Compensated) {
    // Mono trains: the offset turns the angles, the dark is subtracted inside the pass, and the
    // saturation is judged on the raw frames there.
    polscan::Stack turned = stack;
    for (double& a : turned.angles_deg) a += options.polarizer_offset_deg;
    std::optional<polscan::Stack> turned_blank;
    if (blank != nullptr) {
      turned_blank = *blank;
      for (double& a : turned_blank->angles_deg) a += options.polarizer_offset_deg;
    }
    RowDark row_dark;
    row_dark.dn = detail::darkInWholeDn(options, f0, "stack");
    row_dark.offset_dn = detail::darkOffsetInWholeDn(options);
    reconstructUncalibratedInto(turned, turned_blank ? &*turned_blank : nullptr, options, map,
                                dark ? &row_dark : nullptr);
    return;
  }
  // Per-thread buffers for the corrected frames, kept between fields like the map's.
  thread_local std::vector<cv::Mat> stack_buffers, blank_buffers;
  const polscan::Stack corrected =
      detail::applyCameraCalibration(stack, options, "stack", stack_buffers);
  std::optional<polscan::Stack> corrected_blank;
  if (blank != nullptr) {
    corrected_blank = detail::applyCameraCalibration(*blank, options, "blank", blank_buffers);
  }
  reconstructUncalibratedInto(corrected, corrected_blank ? &*corrected_blank : nullptr, options,
                              map);
  if (!dark) return;
  // The dark-subtracted frames no longer reach full scale where the camera clipped: judge
  // saturation on the raw DN.
  const int before = cv::countNonZero(map.saturated);
  detail::markRawSaturation(stack, map.saturated);
  if (blank != nullptr) detail::markRawSaturation(*blank, map.saturated);
  if (cv::countNonZero(map.saturated) != before) {
    map.noise_floor_nm = estimateNoiseFloor(map.retardance_nm, map.saturated);
    if (stack.angles_deg.size() == 3 && !map.uncertainty_nm.empty()) {
      map.uncertainty_nm.setTo(map.noise_floor_nm);
    }
  }
  detail::countSaturatedFrames(stack, map);
}

namespace {
void reconstructUncalibratedInto(const polscan::Stack& stack, const polscan::Stack* blank,
                                 const ReconstructionOptions& options, RetardanceMap& map,
                                 const RowDark* dark) {
  validateStack(stack, "stack");
  const cv::Size size = stack.frames.front().size();
  const int channels = stack.frames.front().channels();
  if (blank != nullptr) {
    validateStack(*blank, "blank");
    if (blank->train != stack.train) {
      throw AnalysisError(std::string("blank: optical train '") +
                          std::string(polscan::opticalTrainName(blank->train)) +
                          "' differs from the stack's '" +
                          std::string(polscan::opticalTrainName(stack.train)) + "'");
    }
    if (blank->frames.front().size() != size) {
      throw AnalysisError("blank: frame 0 is " + sizeText(blank->frames.front()) +
                          " but the stack's frames are " + sizeText(stack.frames.front()));
    }
    if (blank->frames.front().type() != stack.frames.front().type()) {
      throw AnalysisError("blank: frame 0 is " + typeText(blank->frames.front().type()) +
                          " but the stack's frames are " + typeText(stack.frames.front().type()));
    }
  }
  const cv::Mat inv_gain = detail::inverseFlatGain(options.flat_field, size, channels);
  const bool compensated = stack.train == polscan::OpticalTrain::Compensated;
  if (channels == 3 || compensated) {
    if (compensated) {
      if (!(options.compensator_nm > 0.0)) {
        throw AnalysisError(
            "compensated train: compensator_nm must be positive (the red plate's "
            "retardance, 530 nm for a first-order red plate)");
      }
      detail::reconstructCompensatedInto(stack, blank, options, inv_gain, map);
    } else {
      detail::reconstructRgbInto(stack, blank, options, inv_gain, map);
    }
    map.noise_floor_nm = estimateNoiseFloor(map.retardance_nm, map.saturated);
    if (stack.angles_deg.size() == 3 && !map.uncertainty_nm.empty()) {
      map.uncertainty_nm.setTo(map.noise_floor_nm);
    }
    detail::countSaturatedFrames(stack, map);
    return;
  }
  const int harmonic = harmonicFor(stack.train);
  const bool crossed = stack.train == polscan::OpticalTrain::Crossed;
  const bool fixed = stack.train == polscan::OpticalTrain::FixedAnalyser;
  if (crossed && !(options.crossed_reference_i0 > 0.0)) {
    throw AnalysisError(
        "crossed train: the open-polarizer intensity is unknown (set "
        "ReconstructionOptions::crossed_reference_i0): crossed polarizers measure only "
        "I0 sin^2(delta/2)");
  }
  const HarmonicFit fit(stack.angles_deg, harmonic);
  const int width = size.width;

  map.pixel_um = stack.pixel_um;
  map.background_corrected = false;
  map.wavelength_nm = stack.wavelengths_nm.front();
  map.quarter_wave_nm = map.wavelength_nm / 4.0;
  map.max_retardance_nm = (crossed || fixed) ? map.wavelength_nm / 2.0 : map.quarter_wave_nm;
  map.channels = 1;
  map.axis_modulo_90 = crossed || fixed;
  map.retardance_nm.create(size, CV_32F);
  map.slow_axis_deg.create(size, CV_32F);
  map.intensity.create(size, CV_32F);
  // The blank's second harmonic is parked in the uncertainty plane, so a blank brings it along.
  const bool uncertainty = options.per_pixel_uncertainty || blank != nullptr;
  if (uncertainty) {
    map.uncertainty_nm.create(size, CV_32F);
  } else {
    map.uncertainty_nm.release();
  }
  map.saturated.create(size, CV_8U);
  map.at_fold.create(size, CV_8U);
  if (fixed) {
    map.ambiguous.create(size, CV_8U);
  } else {
    map.ambiguous.release();
  }

  FinishParams params = makeParams(fit, stack, crossed || fixed);
  params.fold_s = static_cast<float>(options.fold_sin_delta);
  params.i0_ref = static_cast<float>(options.crossed_reference_i0);
  const double blind = std::sin(2.0 * options.fixed_analyser_blind_deg * std::numbers::pi / 180.0);
  params.blind_sin2 = static_cast<float>(blind);

  if (blank != nullptr) {
    const HarmonicFit blank_fit(blank->angles_deg, harmonic);
    const auto blank_sat = static_cast<std::uint16_t>((1u << blank->bit_depth) - 1u);
    // The blank's harmonics are parked in the output planes the sample pass overwrites pixel by
    // pixel (b1 -> slow_axis, b2 -> uncertainty, I0 -> intensity): no extra full-size buffers.
    cv::parallel_for_(
        cv::Range(0, size.height),
        [&](const cv::Range& range) {
          RowScratch& s = threadScratch(width);
          std::vector<const std::uint16_t*> rows(blank->frames.size());
          for (int r = range.start; r < range.end; ++r) {
            if (dark != nullptr) {
              darkSubtractedRows(*blank, r, *dark, s, rows.data());
            } else {
              for (std::size_t k = 0; k < rows.size(); ++k) {
                rows[k] = blank->frames[k].ptr<std::uint16_t>(r);
              }
            }
            blank_fit.fitRow(rows.data(), width, s.a0.data(), s.a1.data(), s.a2.data(),
                             s.rss.data(), s.max_value.data());
            if (dark != nullptr) std::copy(s.raw_max.begin(), s.raw_max.end(), s.max_value.begin());
            float* b1 = map.slow_axis_deg.ptr<float>(r);
            float* b2 = map.uncertainty_nm.ptr<float>(r);
            float* bi0 = map.intensity.ptr<float>(r);
            std::uint8_t* sat = map.saturated.ptr<std::uint8_t>(r);
            for (int c = 0; c < width; ++c) {
              const float m = s.a0[c] > 1e-3f ? s.a0[c] : 1e-3f;
              // Circular, fixed: normalised harmonics. Crossed: absolute (the blank is dark there).
              const float norm = crossed ? 1.0f : 1.0f / m;
              b1[c] = s.a1[c] * norm;
              b2[c] = s.a2[c] * norm;
              bi0[c] = 2.0f * m;
              sat[c] = s.max_value[c] >= blank_sat ? 255 : 0;
            }
          }
        },
        stripeCount(size.height));
    params.blank = true;
    params.blank_mean_i0 = static_cast<float>(cv::mean(map.intensity)[0]);
    map.background_corrected = true;
  }

  cv::parallel_for_(
      cv::Range(0, size.height),
      [&](const cv::Range& range) {
        RowScratch& s = threadScratch(width);
        FinishParams rp = params;
        std::vector<const std::uint16_t*> rows(stack.frames.size());
        for (int r = range.start; r < range.end; ++r) {
          if (dark != nullptr) {
            darkSubtractedRows(stack, r, *dark, s, rows.data());
          } else {
            for (std::size_t k = 0; k < rows.size(); ++k) {
              rows[k] = stack.frames[k].ptr<std::uint16_t>(r);
            }
          }
          fit.fitRow(rows.data(), width, s.a0.data(), s.a1.data(), s.a2.data(),
                     uncertainty ? s.rss.data() : nullptr, s.max_value.data());
          if (dark != nullptr) std::copy(s.raw_max.begin(), s.raw_max.end(), s.max_value.begin());
          float* ret = map.retardance_nm.ptr<float>(r);
          float* axis = map.slow_axis_deg.ptr<float>(r);
          float* inten = map.intensity.ptr<float>(r);
          float* unc = uncertainty ? map.uncertainty_nm.ptr<float>(r) : nullptr;
          std::uint8_t* sat = map.saturated.ptr<std::uint8_t>(r);
          std::uint8_t* fold = map.at_fold.ptr<std::uint8_t>(r);
          // Always a readable row: a guarded load (pointer or null) blocks vectorisation.
          rp.inv_gain = inv_gain.empty() ? s.ones.data() : inv_gain.ptr<float>(r);
          if (params.blank) {
            std::copy(axis, axis + width, s.b1.begin());
            std::copy(unc, unc + width, s.b2.begin());
            std::copy(inten, inten + width, s.bi0.begin());
            std::copy(sat, sat + width, s.sat.begin());
          } else {
            std::fill(s.sat.begin(), s.sat.end(), std::uint8_t{0});
          }
          if (fixed) s.amb.resize(static_cast<std::size_t>(width));
          auto finish = [&](int begin, int end) {
            auto run = [&](auto row_fn) {
              row_fn(s, rp, begin, end, s.ret.data(), s.axis.data(), s.inten.data(), s.unc.data(),
                     s.sat.data(), s.fold.data());
            };
            if (fixed) {
              auto fixed_fn = uncertainty ? finishFixedRow<true> : finishFixedRow<false>;
              fixed_fn(s, rp, begin, end, s.ret.data(), s.axis.data(), s.inten.data(), s.unc.data(),
                       s.sat.data(), s.fold.data(), s.amb.data());
            } else if (crossed) {
              uncertainty ? run(finishCrossedRow<true>) : run(finishCrossedRow<false>);
            } else if (params.blank) {
              uncertainty ? run(finishCircularRow<true, true>)
                          : run(finishCircularRow<false, true>);
            } else {
              uncertainty ? run(finishCircularRow<true, false>)
                          : run(finishCircularRow<false, false>);
            }
          };
          // The finishing arithmetic, not the memory, sets this pass's pace, and the fit reads
          // its frames only after it. So it runs in chunks, each preceded by a prefetch of the
          // same columns of the band's next row in every frame: those reads overlap the
          // arithmetic (at 2048 px a frame row is a 4 KB page, where the hardware prefetcher
          // stops).
          const bool next_row = r + 1 < range.end;
          for (int c0 = 0; c0 < width; c0 += kFinishChunk) {
            const int c1 = std::min(width, c0 + kFinishChunk);
            if (next_row) prefetchFrameColumns(stack, r + 1, c0, c1);
            finish(c0, c1);
          }
          if (fixed) {
            streamRow(map.ambiguous.ptr<std::uint8_t>(r), s.amb.data(),
                      static_cast<std::size_t>(width));
          }
          const std::size_t fbytes = sizeof(float) * static_cast<std::size_t>(width);
          streamRow(ret, s.ret.data(), fbytes);
          streamRow(axis, s.axis.data(), fbytes);
          streamRow(inten, s.inten.data(), fbytes);
          if (uncertainty) streamRow(unc, s.unc.data(), fbytes);
          streamRow(sat, s.sat.data(), static_cast<std::size_t>(width));
          streamRow(fold, s.fold.data(), static_cast<std::size_t>(width));
        }
        streamFence();
      },
      stripeCount(size.height));

  map.noise_floor_nm = estimateNoiseFloor(map.retardance_nm, map.saturated);
  if (fit.frameCount() == 3 && uncertainty) {
    // Three angles determine the model exactly: no residual, so the per-pixel uncertainty falls
    // back to the field's background noise (a lower bound away from the fold).
    map.uncertainty_nm.setTo(map.noise_floor_nm);
  }
  detail::countSaturatedFrames(stack, map);
}
}  // namespace

double estimateNoiseFloor(const cv::Mat& retardance_nm, const cv::Mat& saturated) {
  CV_Assert(retardance_nm.type() == CV_32F);
  // A sparse grid is plenty for two order statistics and keeps this off the time budget.
  const int step = std::max(1, std::min(retardance_nm.rows, retardance_nm.cols) / 256);
  std::vector<float> v;
  v.reserve(static_cast<std::size_t>(retardance_nm.rows / step + 1) *
            static_cast<std::size_t>(retardance_nm.cols / step + 1));
  for (int r = 0; r < retardance_nm.rows; r += step) {
    const float* p = retardance_nm.ptr<float>(r);
    const std::uint8_t* s = saturated.empty() ? nullptr : saturated.ptr<std::uint8_t>(r);
    for (int c = 0; c < retardance_nm.cols; c += step) {
      if ((s == nullptr || s[c] == 0) && std::isfinite(p[c])) v.push_back(p[c]);
    }
  }
  if (v.empty()) return 0.0;
  auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  const float median = *mid;
  for (float& x : v) x = std::fabs(x - median);
  std::nth_element(v.begin(), mid, v.end());
  return static_cast<double>(median) + 1.4826 * static_cast<double>(*mid);
}

}  // namespace polscan::analysis
