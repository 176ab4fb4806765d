// The RGB circular path: one harmonic fit over the interleaved B, G, R samples, per-channel blank
// correction and flat-field, then the three channels' sines unwrapped into one retardance.
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "analysis/analysis_error.hpp"
#include "analysis/harmonic_fit.hpp"
#include "analysis/reconstruction_detail.hpp"
#include "analysis/wavelength_unwrap.hpp"

namespace polscan::analysis::detail {

namespace {

struct RgbScratch {
  std::vector<float> a0, a1, a2, rss;  // interleaved like the frames (3 per pixel, B, G, R)
  std::vector<std::uint16_t> max_value;
  std::array<std::vector<float>, 3> x, y;  // per wavelength (R, G, B), planar
  std::vector<float> var_s, ret, axis, inten, unc;
  std::vector<float> zeros, ones;  // stand-ins for the blank and flat rows when there are none
  std::vector<std::uint8_t> sat, amb;
  void resize(int width) {
    const auto w = static_cast<std::size_t>(width);
    for (auto* v : {&a0, &a1, &a2, &rss}) v->resize(3 * w);
    max_value.resize(3 * w);
    for (int k = 0; k < 3; ++k) {
      x[k].resize(w);
      y[k].resize(w);
    }
    for (auto* v : {&var_s, &ret, &axis, &inten, &unc}) v->resize(w);
    rss.assign(3 * w, 0.0f);  // read (times 0) when no uncertainty is wanted
    zeros.assign(9 * w, 0.0f);
    ones.assign(3 * w, 1.0f);
    sat.resize(w);
    amb.resize(w);
  }
};

RgbScratch& rgbScratch(int width) {
  thread_local RgbScratch s;
  if (s.ret.size() != static_cast<std::size_t>(width)) s.resize(width);
  return s;
}

struct RgbParams {
  float inv_dof;                       // 1/(N-3), 0 with three angles
  float c00, c_harm;                   // (A^T A)^-1: I0 term and the mean of the two harmonic terms
  std::array<float, 3> blank_mean_i0;  // per wavelength (R, G, B)
  std::uint16_t saturation;
  bool blank, flat, uncertainty;
};

struct ChannelOut {
  float* __restrict x;
  float* __restrict y;
};

// One channel's sample of one pixel: corrected harmonics out, I0 and variance summed.
[[gnu::always_inline]] inline void channelSample(float a0, float a1, float a2, float rss, float b1,
                                                 float b2, float bi0, float gain_inv, float bmask,
                                                 float umask, float mean_i0, float inv_dof,
                                                 float c_harm, float c00, float& x, float& y,
                                                 float& i0_sum, float& var_sum) {
  const float m = a0 > 1e-3f ? a0 : 1e-3f;
  const float inv = 1.0f / m;
  const float d1 = a1 * inv - bmask * b1;
  const float d2 = a2 * inv - bmask * b2;
  const float bi = bi0 > 1e-3f ? bi0 : 1e-3f;
  const float ratio = bmask > 0.0f ? mean_i0 / bi : 1.0f;
  i0_sum += (2.0f / 3.0f) * m * ratio * gain_inv;
  // a1 = -a0 s sin 2phi, a2 = a0 s cos 2phi.
  x = d2;
  y = -d1;
  const float s2 = d1 * d1 + d2 * d2;
  // var(s) for equally spaced angles (c11 = c22, c12 = c0j = 0; close otherwise).
  var_sum += umask * (1.0f / 3.0f) * rss * inv_dof * (c_harm + s2 * c00) * inv * inv;
}

// Per pixel and channel: normalised, blank-corrected harmonics turned to (x, y) =
// sin(delta) (cos 2phi, sin 2phi), the mean I0 over channels, saturation and the pooled variance
// of one channel's sine. All three channels in one branch-free body (constant offsets into the
// interleaved samples) so the loop vectorises; blank_row ([b1 | b2 | I0], each 3 x width like
// the frames) and inv_gain always point at readable rows (zeros / ones when unused).
POLSCAN_ANALYSIS_HOT void prepareRgbRow(
    const float* __restrict a0, const float* __restrict a1, const float* __restrict a2,
    const float* __restrict rss, const std::uint16_t* __restrict mx,
    const float* __restrict blank_row, const float* __restrict inv_gain, const RgbParams& p,
    int width, float* __restrict xr, float* __restrict yr, float* __restrict xg,
    float* __restrict yg, float* __restrict xb, float* __restrict yb, float* __restrict inten,
    float* __restrict var_s, std::uint8_t* __restrict sat) {
  const float bmask = p.blank ? 1.0f : 0.0f;
  const float umask = p.uncertainty ? 1.0f : 0.0f;
  const float inv_dof = p.inv_dof, c_harm = p.c_harm, c00 = p.c00;
  const float mr = p.blank_mean_i0[0], mg = p.blank_mean_i0[1], mb = p.blank_mean_i0[2];
  const std::uint16_t ceiling = p.saturation;
  const float* __restrict b1 = blank_row;
  const float* __restrict b2 = blank_row + 3 * width;
  const float* __restrict bi = blank_row + 6 * width;
  for (int c = 0; c < width; ++c) {
    const int i = 3 * c;  // B, G, R
    float i0 = 0.0f, var = 0.0f;
    channelSample(a0[i], a1[i], a2[i], rss[i], b1[i], b2[i], bi[i], inv_gain[i], bmask, umask, mb,
                  inv_dof, c_harm, c00, xb[c], yb[c], i0, var);
    channelSample(a0[i + 1], a1[i + 1], a2[i + 1], rss[i + 1], b1[i + 1], b2[i + 1], bi[i + 1],
                  inv_gain[i + 1], bmask, umask, mg, inv_dof, c_harm, c00, xg[c], yg[c], i0, var);
    channelSample(a0[i + 2], a1[i + 2], a2[i + 2], rss[i + 2], b1[i + 2], b2[i + 2], bi[i + 2],
                  inv_gain[i + 2], bmask, umask, mr, inv_dof, c_harm, c00, xr[c], yr[c], i0, var);
    inten[c] = i0;
    var_s[c] = var;
    const std::uint16_t m01 = mx[i] > mx[i + 1] ? mx[i] : mx[i + 1];
    const std::uint16_t hottest = m01 > mx[i + 2] ? m01 : mx[i + 2];
    sat[c] = hottest >= ceiling ? 255 : sat[c];
  }
}

}  // namespace

void reconstructRgbInto(const polscan::Stack& stack, const polscan::Stack* blank,
                        const ReconstructionOptions& options, const cv::Mat& inv_gain,
                        RetardanceMap& map) {
  if (stack.train != polscan::OpticalTrain::Circular) {
    throw AnalysisError(
        std::string("RGB stack with the '") + std::string(polscan::opticalTrainName(stack.train)) +
        "' train: RGB stacks are supported with the circular and compensated trains");
  }
  const HarmonicFit fit(stack.angles_deg, 2);
  const std::array<double, 3> wl{stack.wavelengths_nm[0], stack.wavelengths_nm[1],
                                 stack.wavelengths_nm[2]};
  const WavelengthUnwrapper unwrap(wl, options.rgb);
  const cv::Size size = stack.frames.front().size();
  const int width = size.width;
  const bool uncertainty = options.per_pixel_uncertainty || blank != nullptr;

  map.pixel_um = stack.pixel_um;
  map.background_corrected = false;
  map.wavelength_nm = wl[1];
  map.quarter_wave_nm = wl[1] / 4.0;
  map.max_retardance_nm = unwrap.maxRetardanceNm();
  map.channels = 3;
  map.axis_modulo_90 = false;
  map.retardance_nm.create(size, CV_32F);
  map.slow_axis_deg.create(size, CV_32F);
  map.intensity.create(size, CV_32F);
  if (uncertainty) {
    map.uncertainty_nm.create(size, CV_32F);
  } else {
    map.uncertainty_nm.release();
  }
  map.saturated.create(size, CV_8U);
  map.at_fold.create(size, CV_8U);
  map.ambiguous.create(size, CV_8U);

  RgbParams p{};
  const int dof = fit.frameCount() - 3;
  p.inv_dof = dof > 0 ? 1.0f / static_cast<float>(dof) : 0.0f;
  p.c00 = static_cast<float>(fit.covariance()(0, 0));
  p.c_harm = static_cast<float>(0.5 * (fit.covariance()(1, 1) + fit.covariance()(2, 2)));
  p.saturation = static_cast<std::uint16_t>((1u << stack.bit_depth) - 1u);
  p.flat = !inv_gain.empty();
  p.uncertainty = uncertainty;

  // The blank's normalised harmonics and I0 per sample: rows of [b1 | b2 | I0], 3 x width each.
  cv::Mat blank_h;
  if (blank != nullptr) {
    const HarmonicFit blank_fit(blank->angles_deg, 2);
    const auto blank_sat = static_cast<std::uint16_t>((1u << blank->bit_depth) - 1u);
    blank_h.create(size.height, 9 * width, CV_32F);
    map.saturated.setTo(0);
    cv::parallel_for_(
        cv::Range(0, size.height),
        [&](const cv::Range& range) {
          RgbScratch& s = rgbScratch(width);
          std::vector<const std::uint16_t*> rows(blank->frames.size());
          for (int r = range.start; r < range.end; ++r) {
            for (std::size_t k = 0; k < rows.size(); ++k)
              rows[k] = blank->frames[k].ptr<std::uint16_t>(r);
            blank_fit.fitRow(rows.data(), 3 * width, s.a0.data(), s.a1.data(), s.a2.data(), nullptr,
                             s.max_value.data());
            float* out = blank_h.ptr<float>(r);
            std::uint8_t* sat = map.saturated.ptr<std::uint8_t>(r);
            for (int i = 0; i < 3 * width; ++i) {
              const float m = s.a0[i] > 1e-3f ? s.a0[i] : 1e-3f;
              out[i] = s.a1[i] / m;
              out[3 * width + i] = s.a2[i] / m;
              out[6 * width + i] = 2.0f * m;
              if (s.max_value[i] >= blank_sat) sat[i / 3] = 255;
            }
          }
        },
        std::max(1, std::min(size.height / 8, 256)));
    // Mean I0 per channel: the blank's samples cycle B, G, R along each row.
    std::array<double, 3> sum{0, 0, 0};
    for (int r = 0; r < size.height; ++r) {
      const float* b = blank_h.ptr<float>(r);
      for (int c = 0; c < width; ++c) {
        for (int ch = 0; ch < 3; ++ch) sum[ch] += b[6 * width + 3 * c + ch];
      }
    }
    const double n = static_cast<double>(size.area());
    for (int w = 0; w < 3; ++w) p.blank_mean_i0[w] = static_cast<float>(sum[2 - w] / n);
    p.blank = true;
    map.background_corrected = true;
  }

  cv::parallel_for_(
      cv::Range(0, size.height),
      [&](const cv::Range& range) {
        RgbScratch& s = rgbScratch(width);
        std::vector<const std::uint16_t*> rows(stack.frames.size());
        for (int r = range.start; r < range.end; ++r) {
          for (std::size_t k = 0; k < rows.size(); ++k) {
            rows[k] = stack.frames[k].ptr<std::uint16_t>(r);
          }
          fit.fitRow(rows.data(), 3 * width, s.a0.data(), s.a1.data(), s.a2.data(),
                     uncertainty ? s.rss.data() : nullptr, s.max_value.data());
          std::uint8_t* sat = map.saturated.ptr<std::uint8_t>(r);
          if (p.blank) {
            std::copy(sat, sat + width, s.sat.begin());
          } else {
            std::fill(s.sat.begin(), s.sat.end(), std::uint8_t{0});
          }
          prepareRgbRow(s.a0.data(), s.a1.data(), s.a2.data(), s.rss.data(), s.max_value.data(),
                        p.blank ? blank_h.ptr<float>(r) : s.zeros.data(),
                        p.flat ? inv_gain.ptr<float>(r) : s.ones.data(), p, width, s.x[0].data(),
                        s.y[0].data(), s.x[1].data(), s.y[1].data(), s.x[2].data(), s.y[2].data(),
                        s.inten.data(), s.var_s.data(), s.sat.data());
          const float* xs[3] = {s.x[0].data(), s.x[1].data(), s.x[2].data()};
          const float* ys[3] = {s.y[0].data(), s.y[1].data(), s.y[2].data()};
          unwrap.solveRow(xs, ys, uncertainty ? s.var_s.data() : nullptr, width, s.ret.data(),
                          s.axis.data(), uncertainty ? s.unc.data() : nullptr, s.amb.data());
          const std::size_t fbytes = sizeof(float) * static_cast<std::size_t>(width);
          streamRow(map.retardance_nm.ptr<float>(r), s.ret.data(), fbytes);
          streamRow(map.slow_axis_deg.ptr<float>(r), s.axis.data(), fbytes);
          streamRow(map.intensity.ptr<float>(r), s.inten.data(), fbytes);
          if (uncertainty) streamRow(map.uncertainty_nm.ptr<float>(r), s.unc.data(), fbytes);
          const auto bytes = static_cast<std::size_t>(width);
          streamRow(sat, s.sat.data(), bytes);
          streamRow(map.at_fold.ptr<std::uint8_t>(r), s.amb.data(), bytes);
          streamRow(map.ambiguous.ptr<std::uint8_t>(r), s.amb.data(), bytes);
        }
        streamFence();
      },
      std::max(1, std::min(size.height / 8, 256)));
}

}  // namespace polscan::analysis::detail
