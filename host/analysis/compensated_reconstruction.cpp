// The compensated train (crossed polarizers rotated together, first-order red plate fixed at
// 45 deg, white light and an RGB camera): per-channel 4-theta harmonics, then the retardance and
// slow axis whose model agrees with every channel, found on a grid and refined locally.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>
#include <vector>

#include "analysis/analysis_error.hpp"
#include "analysis/harmonic_fit.hpp"
#include "analysis/reconstruction_detail.hpp"

namespace polscan::analysis::detail {

namespace {

constexpr double kDeg = std::numbers::pi / 180.0;

// With the quantities of hardware/twin/optics.hpp (Q = (1 - cos d)/2, sd = sin d) and the plate's
// phase G, the fit I = b0 + bc cos 4theta + bs sin 4theta has, in units of I0 T / 4,
//   b0 = (1-cG) + (1+cG) Q + (1-cG) Q cos4phi + sG sd sin2phi
//   bc = (1-cG) - (1-cG) Q - (1+cG) Q cos4phi + sG sd sin2phi
//   bs = -(1+cG) Q sin4phi - sG sd cos2phi.
// The sd terms carry cos/sin 2phi: the plate tells phi from phi + 90 (the sign of elongation).
struct Channel {
  double cg, sg, k;  // cos and sin of the plate's phase, 2 pi / lambda
};

std::array<double, 3> modelOf(const Channel& ch, double q, double sd, double c2, double s2) {
  const double c4 = c2 * c2 - s2 * s2, s4 = 2 * s2 * c2;
  return {(1 - ch.cg) + (1 + ch.cg) * q + (1 - ch.cg) * q * c4 + ch.sg * sd * s2,
          (1 - ch.cg) - (1 - ch.cg) * q - (1 + ch.cg) * q * c4 + ch.sg * sd * s2,
          -(1 + ch.cg) * q * s4 - ch.sg * sd * c2};
}

std::array<double, 3> model(const Channel& ch, double r_nm, double phi_deg) {
  const double d = ch.k * r_nm;
  return modelOf(ch, 0.5 * (1.0 - std::cos(d)), std::sin(d), std::cos(2 * phi_deg * kDeg),
                 std::sin(2 * phi_deg * kDeg));
}

double channelMisfit(const std::array<double, 3>& f, const std::array<double, 3>& b) {
  const double ff = f[0] * f[0] + f[1] * f[1] + f[2] * f[2];
  const double fb = f[0] * b[0] + f[1] * b[1] + f[2] * b[2];
  return 1.0 - fb * fb / std::max(ff, 1e-30);
}

// Misfit of (R, phi) with each channel's own scale (its I0 x transmission) fitted out, so
// absorbing (coloured) crystals and an unknown lamp spectrum need no calibration:
// sum_w (1 - (f.b)^2 / (|f|^2 |b|^2)) over channels, with b already divided by |b|.
double misfit(const std::vector<Channel>& chans, const std::vector<std::array<double, 3>>& b,
              double r_nm, double phi_deg, std::vector<double>* scales = nullptr) {
  double cost = 0.0;
  for (std::size_t w = 0; w < chans.size(); ++w) {
    const auto f = model(chans[w], r_nm, phi_deg);
    cost += channelMisfit(f, b[w]);
    if (scales != nullptr) {
      const double ff = f[0] * f[0] + f[1] * f[1] + f[2] * f[2];
      (*scales)[w] = (f[0] * b[w][0] + f[1] * b[w][1] + f[2] * b[w][2]) / std::max(ff, 1e-30);
    }
  }
  return cost;
}

}  // namespace

void reconstructCompensatedInto(const polscan::Stack& stack, const polscan::Stack* blank,
                                const ReconstructionOptions& options, const cv::Mat& inv_gain,
                                RetardanceMap& map) {
  const HarmonicFit fit(stack.angles_deg, 4);
  const cv::Size size = stack.frames.front().size();
  const int width = size.width;
  const int nch = stack.frames.front().channels();
  std::vector<Channel> chans(static_cast<std::size_t>(nch));
  for (int w = 0; w < nch; ++w) {
    const double lambda = stack.wavelengths_nm[static_cast<std::size_t>(w)];
    const double g = 2 * std::numbers::pi * options.compensator_nm / lambda;
    chans[static_cast<std::size_t>(w)] = {std::cos(g), std::sin(g), 2 * std::numbers::pi / lambda};
  }
  const double max_nm = nch == 3 ? options.rgb.max_retardance_nm : stack.wavelengths_nm[0] / 2.0;
  const double green = nch == 3 ? stack.wavelengths_nm[1] : stack.wavelengths_nm[0];

  map.pixel_um = stack.pixel_um;
  map.wavelength_nm = green;
  map.quarter_wave_nm = green / 4.0;
  map.max_retardance_nm = max_nm;
  map.channels = nch;
  map.axis_modulo_90 = false;
  map.background_corrected = blank != nullptr;
  for (cv::Mat* m : {&map.retardance_nm, &map.slow_axis_deg, &map.intensity, &map.uncertainty_nm}) {
    m->create(size, CV_32F);
  }
  map.saturated.create(size, CV_8U);
  map.at_fold.create(size, CV_8U);
  map.ambiguous.create(size, CV_8U);

  // The blank (no sample: b0 = I0 (1 - cG) / 4 per channel) gives each channel's I0 per pixel,
  // so the intensity reports transmission x I0 flat-fielded like the other trains.
  cv::Mat blank_i0;
  if (blank != nullptr) {
    const HarmonicFit blank_fit(blank->angles_deg, 4);
    blank_i0.create(size.height, width * nch, CV_32F);
    std::vector<float> a0(static_cast<std::size_t>(width * nch)), a1(a0.size()), a2(a0.size());
    std::vector<std::uint16_t> mx(a0.size());
    std::vector<const std::uint16_t*> rows(blank->frames.size());
    for (int r = 0; r < size.height; ++r) {
      for (std::size_t k = 0; k < rows.size(); ++k)
        rows[k] = blank->frames[k].ptr<std::uint16_t>(r);
      blank_fit.fitRow(rows.data(), width * nch, a0.data(), a1.data(), a2.data(), nullptr,
                       mx.data());
      float* out = blank_i0.ptr<float>(r);
      for (int i = 0; i < width * nch; ++i) {
        const int w = nch == 3 ? 2 - i % 3 : 0;
        out[i] = static_cast<float>(4.0 * a0[static_cast<std::size_t>(i)] /
                                    std::max(1e-6, 1.0 - chans[static_cast<std::size_t>(w)].cg));
      }
    }
  }

  // The grid: coarse enough to stay cheap, fine enough that the true minimum's basin is sampled.
  const double r_step = 10.0, phi_step = 5.0;
  const int nr = static_cast<int>(std::ceil(max_nm / r_step)) + 1, nphi = 36;
  const auto saturation = static_cast<std::uint16_t>((1u << stack.bit_depth) - 1u);
  const double margin = options.rgb.ambiguity_margin, limit = options.rgb.misfit_limit;
  const int dof = fit.frameCount() - 3;
  const cv::Matx33d& cov = fit.covariance();
  // Grid tables: (Q, sin d) per retardance and channel, (cos 2phi, sin 2phi) per axis.
  std::vector<std::array<double, 2>> r_table(static_cast<std::size_t>(nr * nch));
  for (int ir = 0; ir < nr; ++ir) {
    for (int w = 0; w < nch; ++w) {
      const double d = chans[static_cast<std::size_t>(w)].k * ir * r_step;
      r_table[static_cast<std::size_t>(ir * nch + w)] = {0.5 * (1.0 - std::cos(d)), std::sin(d)};
    }
  }
  std::vector<std::array<double, 2>> phi_table(nphi);
  for (int ip = 0; ip < nphi; ++ip) {
    phi_table[static_cast<std::size_t>(ip)] = {std::cos(2 * ip * phi_step * kDeg),
                                               std::sin(2 * ip * phi_step * kDeg)};
  }

  cv::parallel_for_(cv::Range(0, size.height), [&](const cv::Range& range) {
    const auto n = static_cast<std::size_t>(width * nch);
    std::vector<float> a0(n), a1(n), a2(n), rss(n);
    std::vector<std::uint16_t> mx(n);
    std::vector<std::array<double, 3>> b(static_cast<std::size_t>(nch));
    std::vector<double> norms(static_cast<std::size_t>(nch)), scales(b.size());
    std::vector<const std::uint16_t*> rows(stack.frames.size());
    for (int r = range.start; r < range.end; ++r) {
      for (std::size_t k = 0; k < rows.size(); ++k) rows[k] = stack.frames[k].ptr<std::uint16_t>(r);
      fit.fitRow(rows.data(), width * nch, a0.data(), a1.data(), a2.data(), rss.data(), mx.data());
      for (int c = 0; c < width; ++c) {
        bool hot = false;
        double var_rel = 0.0;  // mean relative variance of the harmonics (noise / signal)
        for (int w = 0; w < nch; ++w) {
          const std::size_t i = static_cast<std::size_t>(c * nch + (nch == 3 ? 2 - w : 0));
          const std::array<double, 3> v{a0[i], a1[i], a2[i]};
          const double norm = std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
          norms[static_cast<std::size_t>(w)] = norm;
          for (int j = 0; j < 3; ++j)
            b[static_cast<std::size_t>(w)][j] = v[j] / std::max(norm, 1e-9);
          hot = hot || mx[i] >= saturation;
          const double sigma2 = dof > 0 ? rss[i] / dof : 0.0;
          var_rel +=
              sigma2 * (cov(0, 0) + cov(1, 1) + cov(2, 2)) / std::max(norm * norm, 1e-18) / nch;
        }
        // Coarse grid, keeping the best and the best more than 40 nm away (the rival).
        double best = 1e30, rival = 1e30, br = 0, bphi = 0, rr = -1;
        for (int ir = 0; ir < nr; ++ir) {
          const double rv = ir * r_step;
          double row_best = 1e30, row_phi = 0;
          for (int ip = 0; ip < nphi; ++ip) {
            double cost = 0.0;
            for (int w = 0; w < nch; ++w) {
              const auto& qs = r_table[static_cast<std::size_t>(ir * nch + w)];
              const auto& cs = phi_table[static_cast<std::size_t>(ip)];
              cost += channelMisfit(
                  modelOf(chans[static_cast<std::size_t>(w)], qs[0], qs[1], cs[0], cs[1]),
                  b[static_cast<std::size_t>(w)]);
            }
            if (cost < row_best) {
              row_best = cost;
              row_phi = ip * phi_step;
            }
          }
          if (row_best < best) {
            if (std::abs(rv - br) > 40.0) {
              rival = best;
              rr = br;
            }
            best = row_best;
            br = rv;
            bphi = row_phi;
          } else if (row_best < rival && std::abs(rv - br) > 40.0) {
            rival = row_best;
            rr = rv;
          }
        }
        // Local refinement: pattern search halving the steps.
        double sr = r_step / 2, sp = phi_step / 2;
        for (int it = 0; it < 12; ++it) {
          bool moved = false;
          for (const auto& [dr, dp] : {std::pair{sr, 0.0}, {-sr, 0.0}, {0.0, sp}, {0.0, -sp}}) {
            const double rv = std::max(0.0, br + dr), pv = bphi + dp;
            const double cost = misfit(chans, b, rv, pv);
            if (cost < best) {
              best = cost;
              br = rv;
              bphi = pv;
              moved = true;
            }
          }
          if (!moved) {
            sr /= 2;
            sp /= 2;
          }
        }
        misfit(chans, b, br, bphi, &scales);
        // 1-sigma: the misfit's curvature in R against the relative noise of the harmonics.
        const double h = 1.0;
        const double curv = (misfit(chans, b, br + h, bphi) +
                             misfit(chans, b, std::max(0.0, br - h), bphi) - 2 * best) /
                            (h * h);
        double sigma = std::sqrt(std::max(var_rel, 0.0) / std::max(curv / 2.0, 1e-12));
        const bool tie = rr >= 0 && rival - best < margin;
        if (tie) sigma = std::max(sigma, std::abs(rr - br));
        double phi = std::fmod(bphi, 180.0);
        if (phi < 0) phi += 180.0;
        double i0 = 0.0;
        for (int w = 0; w < nch; ++w) {
          const std::size_t i = static_cast<std::size_t>(c * nch + (nch == 3 ? 2 - w : 0));
          // scale x |b| is I0 T / 4; with a blank, T times the blank's mean I0 (flat-field).
          double v = 4.0 * scales[static_cast<std::size_t>(w)] * norms[static_cast<std::size_t>(w)];
          if (!blank_i0.empty()) v /= std::max(1e-6f, blank_i0.ptr<float>(r)[i]);
          if (!inv_gain.empty()) v *= inv_gain.ptr<float>(r)[i];
          i0 += v / nch;
        }
        map.retardance_nm.ptr<float>(r)[c] = static_cast<float>(br);
        map.slow_axis_deg.ptr<float>(r)[c] = static_cast<float>(phi >= 180.0 ? 0.0 : phi);
        map.intensity.ptr<float>(r)[c] = static_cast<float>(i0);
        map.uncertainty_nm.ptr<float>(r)[c] = static_cast<float>(std::min(sigma, max_nm));
        map.saturated.ptr<std::uint8_t>(r)[c] = hot ? 255 : 0;
        const bool amb = tie || best > limit * nch / 3.0 || br > max_nm;
        map.ambiguous.ptr<std::uint8_t>(r)[c] = amb ? 255 : 0;
        map.at_fold.ptr<std::uint8_t>(r)[c] = amb ? 255 : 0;
      }
    }
  });
  if (!blank_i0.empty()) {
    // Transmission x the blank's mean I0, so intensities stay counts.
    const double mean_i0 = cv::mean(blank_i0)[0];
    map.intensity *= mean_i0;
  }
}

}  // namespace polscan::analysis::detail
