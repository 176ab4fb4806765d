// Stack validation, the parallel row-band reconstruction, blank correction and the noise floor.
#include "analysis/reconstruction.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numbers>
#include <sstream>
#include <string>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "analysis/analysis_error.hpp"
#include "analysis/fast_math.hpp"
#include "analysis/harmonic_fit.hpp"

namespace polscan::analysis {

namespace {

std::string sizeText(const cv::Mat& m) {
  return std::to_string(m.cols) + "x" + std::to_string(m.rows);
}

std::string typeText(int type) {
  // typeToString would do but its spelling differs between OpenCV versions; keep ours stable.
  static const char* depths[] = {"8U", "8S", "16U", "16S", "32S", "32F", "64F", "16F"};
  return std::string("CV_") + depths[CV_MAT_DEPTH(type)] + "C" + std::to_string(CV_MAT_CN(type));
}

int harmonicFor(polscan::OpticalTrain train) {
  switch (train) {
    case polscan::OpticalTrain::Circular:
      return 2;
    case polscan::OpticalTrain::Crossed:
      return 4;
    default:
      throw AnalysisError(
          std::string("optical train '") + std::string(polscan::opticalTrainName(train)) +
          "' is not supported yet by the reconstruction (circular and crossed are)");
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
  std::vector<std::uint16_t> max_value;
  std::vector<std::uint8_t> sat, fold;
};

// One scratch set per worker thread, kept across bands and fields: a fresh ~100 KB set per
// 8-row band made glibc grow and trim its heap, i.e. tens of MB of page faults per 2048 field.
RowScratch& threadScratch(int width) {
  thread_local RowScratch s;
  if (static_cast<int>(s.a0.size()) != width) s = RowScratch(width);
  return s;
}

// Copies a finished row to its output with non-temporal stores. The outputs are write-only in this
// pass and ordinary stores would first read every destination line (read-for-ownership): a third
// more memory traffic on a pass that is memory-bound at 2048x2048. Callers fence (streamFence).
void streamRow(void* dst, const void* src, std::size_t bytes) {
#if defined(__SSE2__)
  auto* d = static_cast<char*>(dst);
  const auto* s = static_cast<const char*>(src);
  const std::size_t head =
      std::min(bytes, (16 - (reinterpret_cast<std::uintptr_t>(d) & 15u)) & 15u);
  std::memcpy(d, s, head);
  d += head;
  s += head;
  bytes -= head;
  for (; bytes >= 16; bytes -= 16, d += 16, s += 16) {
    _mm_stream_si128(reinterpret_cast<__m128i*>(d),
                     _mm_loadu_si128(reinterpret_cast<const __m128i*>(s)));
  }
  std::memcpy(d, s, bytes);
#else
  std::memcpy(dst, src, bytes);
#endif
}

// Streaming stores are weakly ordered: make them visible before the band reports completion.
void streamFence() {
#if defined(__SSE2__)
  _mm_sfence();
#endif
}

struct FinishParams {
  float lambda_over_2pi;  // nm per radian of phase retardance
  float cap_nm;           // largest uncertainty reported (the fold makes larger values meaningless)
  float inv_dof;          // 1/(N-3), 0 when N == 3 (no residual degrees of freedom)
  float c00, c01, c02, c11, c12, c22;  // (A^T A)^-1
  float fold_s;
  float blank_mean_i0;
  float i0_ref;  // crossed only
  std::uint16_t saturation;
  bool blank;
};

std::vector<const std::uint16_t*> rowPointers(const polscan::Stack& s, int r) {
  std::vector<const std::uint16_t*> rows(s.frames.size());
  for (std::size_t k = 0; k < s.frames.size(); ++k) rows[k] = s.frames[k].ptr<std::uint16_t>(r);
  return rows;
}

// Circular train: a0 = I0/2, a1 = -a0 s sin 2phi, a2 = a0 s cos 2phi with s = sin(delta).
// kUncertainty: the per-pixel 1-sigma costs a third of the arithmetic and a fifth of the output
// bytes of this memory-bound pass; the analysis does not use it, so it is opt-in.
template <bool kUncertainty>
POLSCAN_ANALYSIS_HOT void finishCircularRow(const RowScratch& in, const FinishParams& p, int width,
                                            float* __restrict ret, float* __restrict axis,
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
  const float bmask = p.blank ? 1.0f : 0.0f;
  for (int c = 0; c < width; ++c) {
    const float m = a0[c] > 1e-3f ? a0[c] : 1e-3f;
    const float inv = 1.0f / m;
    const float n1 = a1[c] * inv, n2 = a2[c] * inv;
    // Blank correction in normalised-harmonic space (PolScope): subtracting the blank's Stokes-like
    // terms removes optics strain and polarizer wobble independent of the local brightness.
    const float d1 = n1 - bmask * b1[c], d2 = n2 - bmask * b2[c];
    const float s2 = d1 * d1 + d2 * d2;
    const float s = std::sqrt(s2);
    const float sc = s < 1.0f ? s : 1.0f;
    // First order only: sin(delta) rises to 1 at a quarter wave (lambda/4, 137 nm at 546 nm) and
    // falls again beyond, so a 200 nm crystal reads ~73 nm. Pixels near the top are flagged
    // at_fold.
    ret[c] = fastmath::asinUnit(sc) * p.lambda_over_2pi;
    float phi = fastmath::atan2f(-d1, d2) * kRadToHalfDeg;
    phi = phi < 0.0f ? phi + 180.0f : phi;
    axis[c] = phi >= 180.0f ? phi - 180.0f : phi;
    const float bi = bi0[c] > 1e-3f ? bi0[c] : 1e-3f;
    const float ratio = p.blank_mean_i0 / bi;
    const float flat = bmask > 0.0f ? ratio : 1.0f;
    inten[c] = 2.0f * m * flat;
    sat[c] = static_cast<std::uint8_t>(sat[c] | (mx[c] >= p.saturation ? 255 : 0));
    fold[c] = s >= p.fold_s ? 255 : 0;
    if constexpr (!kUncertainty) continue;
    // Linear propagation of the residual variance through s = |a12/a0 - b|: gradient (times a0)
    // g = (-(u.n), u1, u2) with u the unit direction of the corrected harmonics.
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
POLSCAN_ANALYSIS_HOT void finishCrossedRow(const RowScratch& in, const FinishParams& p, int width,
                                           float* __restrict ret, float* __restrict axis,
                                           float* __restrict inten, float* __restrict unc,
                                           std::uint8_t* __restrict sat,
                                           std::uint8_t* __restrict fold) {
  constexpr float kRadToQuarterDeg = 45.0f / std::numbers::pi_v<float>;
  const float bmask = p.blank ? 1.0f : 0.0f;
  const float inv_ref = 1.0f / p.i0_ref;
  for (int c = 0; c < width; ++c) {
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
    inten[c] = p.i0_ref;
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

FinishParams makeParams(const HarmonicFit& fit, const polscan::Stack& stack, bool crossed) {
  FinishParams p{};
  const double lambda = stack.wavelengths_nm.front();
  p.lambda_over_2pi = static_cast<float>(lambda / (2.0 * std::numbers::pi));
  p.cap_nm = static_cast<float>(crossed ? lambda / 2.0 : lambda / 4.0);
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
    const std::string frame = w + ": frame " + std::to_string(k);
    if (f.empty()) throw AnalysisError(frame + " is empty");
    if (f.type() == CV_16UC3) {
      throw AnalysisError(frame + " is RGB (CV_16UC3): the RGB path is not supported yet");
    }
    if (f.type() != CV_16UC1) {
      throw AnalysisError(frame + " is " + typeText(f.type()) +
                          ", expected 16-bit mono (CV_16UC1)");
    }
    if (f.size() != f0.size()) {
      throw AnalysisError(frame + " is " + sizeText(f) + " but frame 0 is " + sizeText(f0));
    }
  }
  if (stack.wavelengths_nm.empty() || !std::isfinite(stack.wavelengths_nm.front()) ||
      stack.wavelengths_nm.front() <= 0.0) {
    throw AnalysisError(w + ": no valid wavelength (wavelengths_nm must hold a positive value)");
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

void reconstructInto(const polscan::Stack& stack, const polscan::Stack* blank,
                     const ReconstructionOptions& options, RetardanceMap& map) {
  validateStack(stack, "stack");
  const int harmonic = harmonicFor(stack.train);
  const bool crossed = harmonic == 4;
  if (crossed && !(options.crossed_reference_i0 > 0.0)) {
    throw AnalysisError(
        "crossed train: the open-polarizer intensity is unknown (set "
        "ReconstructionOptions::crossed_reference_i0): crossed polarizers measure only "
        "I0 sin^2(delta/2)");
  }
  const HarmonicFit fit(stack.angles_deg, harmonic);
  const cv::Size size = stack.frames.front().size();
  const int width = size.width;

  map.pixel_um = stack.pixel_um;
  map.background_corrected = false;
  map.wavelength_nm = stack.wavelengths_nm.front();
  map.quarter_wave_nm = map.wavelength_nm / 4.0;
  map.axis_modulo_90 = crossed;
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

  FinishParams params = makeParams(fit, stack, crossed);
  params.fold_s = static_cast<float>(options.fold_sin_delta);
  params.i0_ref = static_cast<float>(options.crossed_reference_i0);

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
    const HarmonicFit blank_fit(blank->angles_deg, harmonic);
    const auto blank_sat = static_cast<std::uint16_t>((1u << blank->bit_depth) - 1u);
    // The blank's harmonics are parked in the output planes the sample pass overwrites pixel by
    // pixel (b1 -> slow_axis, b2 -> uncertainty, I0 -> intensity): no extra full-size buffers.
    cv::parallel_for_(
        cv::Range(0, size.height),
        [&](const cv::Range& range) {
          RowScratch& s = threadScratch(width);
          for (int r = range.start; r < range.end; ++r) {
            const auto rows = rowPointers(*blank, r);
            blank_fit.fitRow(rows.data(), width, s.a0.data(), s.a1.data(), s.a2.data(),
                             s.rss.data(), s.max_value.data());
            float* b1 = map.slow_axis_deg.ptr<float>(r);
            float* b2 = map.uncertainty_nm.ptr<float>(r);
            float* bi0 = map.intensity.ptr<float>(r);
            std::uint8_t* sat = map.saturated.ptr<std::uint8_t>(r);
            for (int c = 0; c < width; ++c) {
              const float m = s.a0[c] > 1e-3f ? s.a0[c] : 1e-3f;
              // Circular: normalised harmonics. Crossed: absolute (the blank is dark there).
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
        std::vector<const std::uint16_t*> rows(stack.frames.size());
        for (int r = range.start; r < range.end; ++r) {
          for (std::size_t k = 0; k < rows.size(); ++k) {
            rows[k] = stack.frames[k].ptr<std::uint16_t>(r);
          }
          fit.fitRow(rows.data(), width, s.a0.data(), s.a1.data(), s.a2.data(),
                     uncertainty ? s.rss.data() : nullptr, s.max_value.data());
          float* ret = map.retardance_nm.ptr<float>(r);
          float* axis = map.slow_axis_deg.ptr<float>(r);
          float* inten = map.intensity.ptr<float>(r);
          float* unc = uncertainty ? map.uncertainty_nm.ptr<float>(r) : nullptr;
          std::uint8_t* sat = map.saturated.ptr<std::uint8_t>(r);
          std::uint8_t* fold = map.at_fold.ptr<std::uint8_t>(r);
          if (params.blank) {
            std::copy(axis, axis + width, s.b1.begin());
            std::copy(unc, unc + width, s.b2.begin());
            std::copy(inten, inten + width, s.bi0.begin());
            std::copy(sat, sat + width, s.sat.begin());
          } else {
            std::fill(s.sat.begin(), s.sat.end(), std::uint8_t{0});
          }
          auto finish = [&](auto row_fn) {
            row_fn(s, params, width, s.ret.data(), s.axis.data(), s.inten.data(), s.unc.data(),
                   s.sat.data(), s.fold.data());
          };
          if (crossed) {
            uncertainty ? finish(finishCrossedRow<true>) : finish(finishCrossedRow<false>);
          } else {
            uncertainty ? finish(finishCircularRow<true>) : finish(finishCircularRow<false>);
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
}

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
