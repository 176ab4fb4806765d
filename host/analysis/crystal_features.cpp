// Measurements of one segmented region on the retardance, slow-axis and intensity maps.
#include "analysis/crystal_features.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <vector>

#include <opencv2/imgproc.hpp>

namespace polscan::analysis {

namespace {

constexpr double kDeg = std::numbers::pi / 180.0;

double axialDiff(double a, double b, double period) {
  double d = std::fmod(std::abs(a - b), period);
  return std::min(d, period - d);
}

double wrap(double a, double period) {
  a = std::fmod(a, period);
  if (a < 0) a += period;
  return a >= period ? 0.0 : a;
}

// Pixel of the region in display coordinates relative to its centroid (y up).
struct Pt {
  double dx, dy;
  float ret, axis;
};

// Sector analysis for bipyramid "envelopes": the four triangular facets between the diagonals
// show slow axes turned by ~90 deg from one facet to the next, with opposite facets alike. The
// sector boundaries are tried at four rotations because the envelope's edges can lie anyhow.
double xPatternScore(const std::vector<Pt>& pts, double axis_period, double min_ret) {
  double best = 0.0;
  for (int rot = 0; rot < 4; ++rot) {
    const double offset = rot * 22.5 * kDeg + 45.0 * kDeg;
    std::array<double, 4> c{}, s{}, w{};
    std::array<int, 4> n{};
    for (const Pt& p : pts) {
      if (p.ret < min_ret) continue;
      double ang = std::atan2(p.dy, p.dx) - offset;
      ang = wrap(ang / kDeg, 360.0);
      const int sector = std::min(3, static_cast<int>(ang / 90.0));
      const double a = (360.0 / axis_period) * p.axis * kDeg;
      c[sector] += p.ret * std::cos(a);
      s[sector] += p.ret * std::sin(a);
      w[sector] += p.ret;
      ++n[sector];
    }
    if (*std::min_element(n.begin(), n.end()) < 3) continue;
    std::array<double, 4> mean{};
    for (int k = 0; k < 4; ++k) {
      mean[k] = wrap(std::atan2(s[k], c[k]) / kDeg * axis_period / 360.0, axis_period);
    }
    const double half = axis_period / 2.0;
    double adj = 0.0, opp = 0.0;
    for (int k = 0; k < 4; ++k) adj += axialDiff(mean[k], mean[(k + 1) % 4], axis_period) / half;
    for (int k = 0; k < 2; ++k) opp += axialDiff(mean[k], mean[k + 2], axis_period) / half;
    best = std::max(best, (adj / 4.0) * (1.0 - opp / 2.0));
  }
  return best;
}

}  // namespace

CrystalFeatures measureRegion(const Region& region, const RetardanceMap& map,
                              const FeatureContext& context) {
  CrystalFeatures f;
  f.birefringent = region.birefringent;
  f.touches_border = region.touches_border;
  const double px = map.pixel_um;
  const cv::Rect& box = region.bbox;
  const double axis_period = map.axis_modulo_90 ? 90.0 : 180.0;

  // Second moments give a long axis that is stable even for small, pixelated regions.
  const cv::Moments mo = cv::moments(region.mask, true);
  const double m00 = std::max(mo.m00, 1.0);
  const double lcx = mo.m10 / m00, lcy = mo.m01 / m00;
  f.cx_px = box.x + lcx;
  f.cy_px = box.y + lcy;
  const double full_w = map.retardance_nm.cols, full_h = map.retardance_nm.rows;
  const double sx = context.stage ? context.stage->x_um : 0.0;
  const double sy = context.stage ? context.stage->y_um : 0.0;
  f.x_um = sx + (f.cx_px - (full_w - 1.0) / 2.0) * px;
  f.y_um = sy - (f.cy_px - (full_h - 1.0) / 2.0) * px;
  // Image moments are in (x right, y down): the angle from them turns clockwise on screen, so the
  // display (y-up, CCW) orientation is its negative.
  const double theta_img = 0.5 * std::atan2(2.0 * mo.mu11, mo.mu20 - mo.mu02);
  f.long_axis_deg = wrap(-theta_img / kDeg, 180.0);
  const double ca = std::cos(f.long_axis_deg * kDeg), sa = std::sin(f.long_axis_deg * kDeg);

  std::vector<Pt> pts;
  pts.reserve(static_cast<std::size_t>(region.area_px));
  double umin = 1e300, umax = -1e300, vmin = 1e300, vmax = -1e300;
  // Retardance statistics, over every pixel and over the trusted ones (not ambiguous).
  struct Optics {
    double sum_r = 0.0, peak = 0.0, c2 = 0.0, s2 = 0.0;
    int n = 0;
    void add(float ret, double a) {
      sum_r += ret;
      peak = std::max(peak, static_cast<double>(ret));
      c2 += ret * std::cos(a);
      s2 += ret * std::sin(a);
      ++n;
    }
  } all, trusted;
  // An RGB map reports the real retardance: its at_fold plane is the ambiguity flag, not a fold.
  f.real_retardance = map.channels == 3;
  const bool use_ambiguous = f.real_retardance && !map.ambiguous.empty();
  double sum_i = 0.0;
  int n = 0, n_fold = 0, n_sat = 0, n_amb = 0;
  for (int r = 0; r < box.height; ++r) {
    const std::uint8_t* m = region.mask.ptr<std::uint8_t>(r);
    const int gr = box.y + r;
    const float* ret = map.retardance_nm.ptr<float>(gr) + box.x;
    const float* ax = map.slow_axis_deg.ptr<float>(gr) + box.x;
    const float* in = map.intensity.ptr<float>(gr) + box.x;
    const std::uint8_t* fold = map.at_fold.empty() || f.real_retardance
                                   ? nullptr
                                   : map.at_fold.ptr<std::uint8_t>(gr) + box.x;
    const std::uint8_t* amb = use_ambiguous ? map.ambiguous.ptr<std::uint8_t>(gr) + box.x : nullptr;
    const std::uint8_t* sat = map.saturated.ptr<std::uint8_t>(gr) + box.x;
    for (int c = 0; c < box.width; ++c) {
      if (m[c] == 0) continue;
      const double dx = c - lcx, dy = -(r - lcy);
      const double u = dx * ca + dy * sa, v = -dx * sa + dy * ca;
      umin = std::min(umin, u);
      umax = std::max(umax, u);
      vmin = std::min(vmin, v);
      vmax = std::max(vmax, v);
      pts.push_back({dx, dy, ret[c], ax[c]});
      // Axial data: average the doubled angle (quadrupled for the crossed train's modulo 90).
      const double a = (360.0 / axis_period) * ax[c] * kDeg;
      all.add(ret[c], a);
      const bool ambiguous = amb != nullptr && amb[c] != 0;
      if (!ambiguous) trusted.add(ret[c], a);
      n_amb += ambiguous ? 1 : 0;
      sum_i += in[c];
      n_fold += (fold != nullptr && fold[c] != 0) ? 1 : 0;
      n_sat += sat[c] != 0 ? 1 : 0;
      ++n;
    }
  }
  n = std::max(n, 1);
  f.ambiguous_fraction = static_cast<double>(n_amb) / n;
  // Ambiguous pixels (the channels fit a rival retardance as well) carry no trusted value: the
  // region's retardance and slow axis come from the rest while those are most of the region (a
  // few trusted pixels among many ambiguous ones are its blurred edge, not the crystal).
  const Optics& o = trusted.n >= 3 && 2 * trusted.n >= all.n ? trusted : all;
  const int n_opt = std::max(o.n, 1);
  const double sum_r = o.sum_r, peak = o.peak, c2 = o.c2, s2 = o.s2;
  // Pixel-centre extents plus one pixel: a 10-pixel rod is 10 pixels long, not 9.
  const double len_px = umax - umin + 1.0, wid_px = vmax - vmin + 1.0;
  f.length_um = len_px * px;
  f.width_um = wid_px * px;
  f.area_um2 = n * px * px;
  f.aspect = len_px / std::max(wid_px, 1.0);
  f.rectangularity = n / (len_px * wid_px);
  f.mean_retardance_nm = sum_r / n_opt;
  f.peak_retardance_nm = peak;
  f.slow_axis_deg = wrap(std::atan2(s2, c2) / kDeg * axis_period / 360.0, axis_period);
  f.axis_coherence = sum_r > 0 ? std::hypot(c2, s2) / sum_r : 0.0;
  f.fold_fraction = static_cast<double>(n_fold) / n;
  {
    const double noise = std::max(context.noise_floor_nm, 1e-3),
                 root_n = std::sqrt(static_cast<double>(n_opt));
    f.cnr = sum_r / (noise * root_n);
    f.coherent_nm = std::hypot(c2, s2) / n_opt;
    f.coherent_snr = f.coherent_nm * root_n / noise;
  }
  f.saturated_fraction = static_cast<double>(n_sat) / n;

  // Local I0 background from a ring just outside the region (within the bounding box + margin).
  {
    const int margin = 4;
    const cv::Rect outer = (box - cv::Point(margin, margin) + cv::Size(2 * margin, 2 * margin)) &
                           cv::Rect(0, 0, map.intensity.cols, map.intensity.rows);
    cv::Mat big = cv::Mat::zeros(outer.size(), CV_8U);
    region.mask.copyTo(big(box - outer.tl()));
    cv::Mat grown;
    cv::dilate(big, grown, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(5, 5)));
    const cv::Mat ring = grown & ~big;
    const double bg = cv::mean(map.intensity(outer), ring)[0];
    f.intensity_contrast = bg > 0 ? (sum_i / n) / bg - 1.0 : 0.0;
    // Texture of the interior (edges excluded: the outline's own contrast is not texture).
    {
      cv::Mat core;
      cv::erode(big, core, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(5, 5)));
      if (bg > 0 && cv::countNonZero(core) >= 8) {
        cv::Scalar mean, sd;
        cv::meanStdDev(map.intensity(outer), mean, sd, core);
        f.intensity_texture = sd[0] / bg;
      }
    }
    // Focus: mean gradient magnitude on the region's edge relative to its level. Retardance for
    // birefringent regions, I0 for the absorption path.
    cv::Mat src = region.birefringent ? map.retardance_nm(outer) : map.intensity(outer);
    cv::Mat gx, gy, mag;
    cv::Sobel(src, gx, CV_32F, 1, 0, 3, 1.0 / 8.0);
    cv::Sobel(src, gy, CV_32F, 0, 1, 3, 1.0 / 8.0);
    cv::magnitude(gx, gy, mag);
    cv::Mat inner;
    cv::erode(big, inner, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(3, 3)));
    const cv::Mat edge = grown & ~inner;
    const double level = region.birefringent ? f.mean_retardance_nm : std::abs(bg - sum_i / n);
    f.focus = level > 0 ? cv::mean(mag, edge)[0] / level : 0.0;
  }

  // Solidity from the outline polygon and its convex hull (both through pixel centres); the same
  // outline gives the minimum-area rectangle and the hole-filled area.
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(region.mask.clone(), contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
  {
    double area = 0.0, hull_area = 0.0;
    for (const auto& ct : contours) {
      std::vector<cv::Point> hull;
      cv::convexHull(ct, hull);
      area += cv::contourArea(ct);
      hull_area += cv::contourArea(hull);
    }
    f.solidity = hull_area > 1.0 ? std::clamp(area / hull_area, 0.0, 1.0) : 1.0;
    cv::Mat filled = cv::Mat::zeros(region.mask.size(), CV_8U);
    cv::drawContours(filled, contours, -1, cv::Scalar(255), cv::FILLED);
    const int n_filled = cv::countNonZero(filled);
    f.hollowness =
        n_filled > 0 ? std::clamp(1.0 - static_cast<double>(n) / n_filled, 0.0, 1.0) : 0.0;
  }

  // Smoothness: overlap with the ellipse of the same second moments (uniform ellipse: variance
  // along a semi-axis a is a^2 / 4).
  {
    const double mu20 = mo.mu20 / m00, mu02 = mo.mu02 / m00, mu11 = mo.mu11 / m00;
    const double tr = 0.5 * (mu20 + mu02);
    const double det = std::sqrt(std::max(0.0, 0.25 * (mu20 - mu02) * (mu20 - mu02) + mu11 * mu11));
    const double ea = 2.0 * std::sqrt(std::max(tr + det, 0.0));
    const double eb = 2.0 * std::sqrt(std::max(tr - det, 0.0));
    cv::Mat ell = cv::Mat::zeros(region.mask.size(), CV_8U);
    cv::ellipse(ell,
                cv::RotatedRect(cv::Point2f(lcx, lcy), cv::Size2f(2 * ea, 2 * eb),
                                static_cast<float>(theta_img / kDeg)),
                cv::Scalar(255), cv::FILLED);
    const int inter = cv::countNonZero(ell & region.mask);
    const int uni = cv::countNonZero(ell | region.mask);
    f.ellipse_fit = uni > 0 ? static_cast<double>(inter) / uni : 1.0;
  }

  // Minimum-area rectangle: box fill, box aspect, and the thickness profile and facets in its
  // frame (mask-local image coordinates, rows down).
  if (!contours.empty()) {
    std::vector<cv::Point> outline;
    for (const auto& ct : contours) outline.insert(outline.end(), ct.begin(), ct.end());
    const cv::RotatedRect rr = cv::minAreaRect(outline);
    // Contours run through pixel centres: one pixel more spans the region.
    const double rw = rr.size.width + 1.0, rh = rr.size.height + 1.0;
    f.box_fill = std::clamp(n / (rw * rh), 0.0, 1.0);
    f.box_aspect = std::max(rw, rh) / std::max(std::min(rw, rh), 1.0);
    const double ra = rr.angle * kDeg, cr = std::cos(ra), sr = std::sin(ra);
    const double half_a = rw / 2.0, half_b = rh / 2.0;
    double core = 0.0, rim = 0.0, pair[2] = {0.0, 0.0};
    int n_core = 0, n_rim = 0, n_pair[2] = {0, 0};
    for (const Pt& p : pts) {
      const double x = lcx + p.dx - rr.center.x, y = lcy - p.dy - rr.center.y;
      const double ru = std::abs(x * cr + y * sr) / half_a;
      const double rv = std::abs(-x * sr + y * cr) / half_b;
      const double rad = std::max(ru, rv);
      if (rad < 0.5) {
        core += p.ret;
        ++n_core;
      } else if (rad < 0.85) {
        rim += p.ret;
        ++n_rim;
      }
      // The centre belongs to every facet and the outermost band is blurred: leave both out.
      if (rad > 0.15 && rad < 0.85) {
        const int k = ru >= rv ? 0 : 1;
        pair[k] += p.ret;
        ++n_pair[k];
      }
    }
    if (n_core >= 4 && n_rim >= 4 && rim > 0.0) {
      f.centre_peak = (core / n_core) / (rim / n_rim);
    }
    if (n_pair[0] >= 4 && n_pair[1] >= 4) {
      const double m0 = pair[0] / n_pair[0], m1 = pair[1] / n_pair[1];
      f.facet_contrast = m0 + m1 > 0.0 ? std::abs(m0 - m1) / (m0 + m1) : 0.0;
    }
  }

  // Width profile along the long axis for the dumbbell waist.
  if (len_px >= 8.0) {
    const int bins = std::max(5, std::min(40, static_cast<int>(len_px)));
    std::vector<double> lo(bins, 1e300), hi(bins, -1e300);
    for (const Pt& p : pts) {
      const double u = p.dx * ca + p.dy * sa, v = -p.dx * sa + p.dy * ca;
      const int b = std::clamp(static_cast<int>((u - umin) / len_px * bins), 0, bins - 1);
      lo[b] = std::min(lo[b], v);
      hi[b] = std::max(hi[b], v);
    }
    auto width = [&](int b) { return hi[b] >= lo[b] ? hi[b] - lo[b] + 1.0 : 0.0; };
    double centre = 1e300, left = 0.0, right = 0.0;
    for (int b = 0; b < bins; ++b) {
      const double t = (b + 0.5) / bins;
      if (t > 0.3 && t < 0.7) centre = std::min(centre, width(b));
      if (t <= 0.3) left = std::max(left, width(b));
      if (t >= 0.7) right = std::max(right, width(b));
    }
    const double ends = std::min(left, right);
    f.waist = ends > 0 && centre < 1e299 ? centre / ends : 1.0;
  }

  if (region.birefringent) {
    f.x_pattern = xPatternScore(pts, axis_period, context.threshold_nm);
    f.axis_to_long_deg = axialDiff(f.slow_axis_deg, f.long_axis_deg, 180.0);
    // The sign needs a long axis (not round), a defined slow axis (coherent, and its mean known to
    // a few degrees: the axis of the vector mean has a standard error of 0.5 / coherent_snr rad)
    // and the full 0-180 azimuth (the crossed train knows it only modulo 90). A slow axis near 45
    // deg to the long axis is no sign at all: within sign_margin_deg of 45 it stays undecided.
    const bool defined = !map.axis_modulo_90 && f.aspect >= context.min_aspect_for_sign &&
                         f.coherent_snr >= context.min_axis_snr && f.axis_coherence >= 0.5 &&
                         std::abs(f.axis_to_long_deg - 45.0) >= context.sign_margin_deg;
    if (defined) {
      f.elongation =
          f.axis_to_long_deg < 45.0 ? polscan::Elongation::Positive : polscan::Elongation::Negative;
    }
  }
  return f;
}

}  // namespace polscan::analysis
