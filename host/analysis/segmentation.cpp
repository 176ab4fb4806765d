// Noise-adaptive thresholding, clean-up, connected components and optional watershed splitting.
#include "analysis/segmentation.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "analysis/faint_detection.hpp"

namespace polscan::analysis {

namespace {

bool touchesBorder(const cv::Rect& r, const cv::Size& s) {
  return r.x == 0 || r.y == 0 || r.x + r.width == s.width || r.y + r.height == s.height;
}

// Local I0 background as a coarse grid of block medians, interpolated bilinearly on the fly:
// medians ignore particles smaller than half a block, and nothing full-size is allocated.
class LocalBackground {
 public:
  LocalBackground(const cv::Mat& intensity, int block)
      : gy_(std::max(1, (intensity.rows + block - 1) / block)),
        gx_(std::max(1, (intensity.cols + block - 1) / block)),
        grid_(gy_, gx_, CV_32F),
        x0_(intensity.cols),
        x1_(intensity.cols),
        wx_(intensity.cols),
        row_(gx_),
        rows_(intensity.rows) {
    std::vector<float> v;
    for (int by = 0; by < gy_; ++by) {
      for (int bx = 0; bx < gx_; ++bx) {
        v.clear();
        const int r1 = std::min(intensity.rows, (by + 1) * block);
        const int c1 = std::min(intensity.cols, (bx + 1) * block);
        // Every 4th pixel each way: 256 samples per 64x64 block pin the median well enough.
        for (int r = by * block; r < r1; r += 4) {
          const float* p = intensity.ptr<float>(r);
          for (int c = bx * block; c < c1; c += 4) v.push_back(p[c]);
        }
        auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
        std::nth_element(v.begin(), mid, v.end());
        grid_.at<float>(by, bx) = std::max(*mid, 1e-3f);
      }
    }
    // Grid cell centres sit at (i + 0.5) * block, as cv::resize's INTER_LINEAR would place them.
    for (int c = 0; c < intensity.cols; ++c) {
      const float f = std::clamp((c + 0.5f) * gx_ / intensity.cols - 0.5f, 0.0f, gx_ - 1.0f);
      x0_[c] = static_cast<int>(f);
      x1_[c] = std::min(x0_[c] + 1, gx_ - 1);
      wx_[c] = f - x0_[c];
    }
  }

  int gridColumns() const { return gx_; }

  // Background of row r into out (width floats); node is a gridColumns()-float work row, so
  // threads can share one LocalBackground.
  void row(int r, float* out, float* node) const {
    const float f = std::clamp((r + 0.5f) * gy_ / rows_ - 0.5f, 0.0f, gy_ - 1.0f);
    const int y0 = static_cast<int>(f), y1 = std::min(y0 + 1, gy_ - 1);
    const float wy = f - y0;
    const float* g0 = grid_.ptr<float>(y0);
    const float* g1 = grid_.ptr<float>(y1);
    for (int i = 0; i < gx_; ++i) node[i] = g0[i] + wy * (g1[i] - g0[i]);
    // x0_ is constant over runs of ~block columns: per run the interpolation is a plain
    // multiply-add the compiler vectorises (a per-pixel gather was the slowest loop here).
    const int w = static_cast<int>(x0_.size());
    for (int c = 0; c < w;) {
      const int i0 = x0_[c], i1 = x1_[c];
      int e = c;
      while (e < w && x0_[e] == i0) ++e;
      const float a = node[i0], d = node[i1] - node[i0];
      const float* __restrict wx = wx_.data();
      for (int k = c; k < e; ++k) out[k] = a + wx[k] * d;
      c = e;
    }
  }
  void row(int r, float* out) { row(r, out, row_.data()); }

 private:
  int gy_, gx_;
  cv::Mat grid_;
  std::vector<int> x0_, x1_;
  std::vector<float> wx_, row_;
  int rows_;
};

// Splits components whose distance transform has several well-separated maxima (two crystals
// touching at a narrow contact). Cheap: runs only on the component's bounding box.
std::vector<cv::Mat> splitComponent(const cv::Mat& mask) {
  // Distances to the outline: the mask is cropped to its bounding box, so it is framed with
  // background first. Without the frame the edges of the crop are not background, and a crystal
  // that fills its box (an envelope, a plate along the image axes) measured its distances from a
  // few empty corner pixels only: peaks in its far corners, and one weddellite cut into slices.
  cv::Mat framed, dist_framed;
  cv::copyMakeBorder(mask, framed, 1, 1, 1, 1, cv::BORDER_CONSTANT, cv::Scalar(0));
  cv::distanceTransform(framed, dist_framed, cv::DIST_L2, 3);
  const cv::Mat dist = dist_framed(cv::Rect(1, 1, mask.cols, mask.rows));
  double maxd;
  cv::minMaxLoc(dist, nullptr, &maxd);
  if (maxd < 2.0) return {mask};  // thin needles and small crystals: nothing sensible to split
  cv::Mat peaks = dist > 0.7 * maxd;
  cv::Mat markers;
  const int n = cv::connectedComponents(peaks, markers, 8, CV_32S);
  if (n <= 2) return {mask};
  // Watershed needs a 3-channel image; the inverted distance map makes each peak a basin.
  cv::Mat relief;
  dist.convertTo(relief, CV_8U, -255.0 / maxd, 255.0);
  cv::Mat relief3;
  cv::cvtColor(relief, relief3, cv::COLOR_GRAY2BGR);
  markers.setTo(n, mask == 0);  // background marker keeps the flood inside the component
  cv::watershed(relief3, markers);
  std::vector<cv::Mat> parts;
  for (int i = 1; i < n; ++i) {
    cv::Mat part = (markers == i) & mask;
    if (cv::countNonZero(part) > 0) parts.push_back(part);
  }
  return parts.empty() ? std::vector<cv::Mat>{mask} : parts;
}

// Mean slow axis (deg, axial) and mean retardance of a part, for the split decision.
std::pair<double, double> partOptics(const RetardanceMap& map, const cv::Rect& box,
                                     const cv::Mat& part) {
  double c2 = 0.0, s2 = 0.0, sum = 0.0;
  int n = 0;
  for (int r = 0; r < part.rows; ++r) {
    const std::uint8_t* m = part.ptr<std::uint8_t>(r);
    const float* ret = map.retardance_nm.ptr<float>(box.y + r) + box.x;
    const float* ax = map.slow_axis_deg.ptr<float>(box.y + r) + box.x;
    for (int c = 0; c < part.cols; ++c) {
      if (m[c] == 0) continue;
      const double a = 2.0 * ax[c] * CV_PI / 180.0;
      c2 += ret[c] * std::cos(a);
      s2 += ret[c] * std::sin(a);
      sum += ret[c];
      ++n;
    }
  }
  double axis = 0.5 * std::atan2(s2, c2) * 180.0 / CV_PI;
  if (axis < 0) axis += 180.0;
  return {axis, n > 0 ? sum / n : 0.0};
}

// A geometric split is kept only when the parts are optically distinct: a CaOx dumbbell has a
// waist too, but one crystal keeps one slow axis and one retardance across it.
bool opticallyDistinct(const RetardanceMap& map, const cv::Rect& box,
                       const std::vector<cv::Mat>& parts) {
  std::vector<std::pair<double, double>> optics;
  for (const cv::Mat& p : parts) optics.push_back(partOptics(map, box, p));
  for (std::size_t i = 0; i < optics.size(); ++i) {
    for (std::size_t j = i + 1; j < optics.size(); ++j) {
      double d = std::abs(optics[i].first - optics[j].first);
      d = std::min(d, 180.0 - d);
      const double lo = std::min(optics[i].second, optics[j].second);
      const double hi = std::max(optics[i].second, optics[j].second);
      if (d > 20.0 || hi > 1.5 * std::max(lo, 1e-6)) return true;
    }
  }
  return false;
}

// A component that missed the seed, kept for the integrated test (box in map pixels).
struct FaintCandidate {
  cv::Rect box;
  cv::Mat mask;
};

// Splits (optionally) and appends one accepted component.
void emitRegion(const RetardanceMap& map, const cv::Rect& box, const cv::Mat& roi,
                bool birefringent, double min_px, bool split, bool faint,
                std::vector<Region>& out) {
  std::vector<cv::Mat> parts{roi};
  if (split) {
    std::vector<cv::Mat> pieces = splitComponent(roi);
    if (pieces.size() > 1 && opticallyDistinct(map, box, pieces)) parts = std::move(pieces);
  }
  for (cv::Mat& p : parts) {
    const cv::Rect inner = cv::boundingRect(p);
    if (std::max(inner.width, inner.height) < min_px) continue;
    Region reg;
    reg.bbox = inner + box.tl();
    reg.mask = p(inner).clone();
    reg.area_px = cv::countNonZero(reg.mask);
    reg.touches_border = touchesBorder(reg.bbox, map.retardance_nm.size());
    reg.birefringent = birefringent;
    reg.faint = faint;
    out.push_back(std::move(reg));
  }
}

// Labels one region of interest (offset: its top-left in the map). seed_nm > 0: a component must
// reach that retardance somewhere (hysteresis), so a patch of noise just over the threshold is not
// a crystal.
// A component whose peak misses the seed is handed to `faint` (when given) for the integrated test.
void collectRoi(const RetardanceMap& map, const cv::Mat& roi_mask, cv::Point offset, double seed_nm,
                bool birefringent, double min_px, bool split, SegmentationScratch& scratch,
                std::vector<Region>& out, std::vector<FaintCandidate>* faint) {
  cv::Mat& labels = scratch.labels;
  cv::Mat& stats = scratch.stats;
  const int n =
      cv::connectedComponentsWithStats(roi_mask, labels, stats, scratch.centroids, 8, CV_32S);
  for (int i = 1; i < n; ++i) {
    const cv::Rect local(stats.at<int>(i, cv::CC_STAT_LEFT), stats.at<int>(i, cv::CC_STAT_TOP),
                         stats.at<int>(i, cv::CC_STAT_WIDTH), stats.at<int>(i, cv::CC_STAT_HEIGHT));
    if (std::max(local.width, local.height) < min_px) continue;
    const cv::Rect box = local + offset;
    cv::Mat roi = labels(local) == i;
    if (seed_nm > 0.0) {
      double peak = 0.0;
      cv::minMaxLoc(map.retardance_nm(box), nullptr, &peak, nullptr, nullptr, roi);
      if (peak < seed_nm) {
        if (faint != nullptr) faint->push_back({box, roi.clone()});
        continue;
      }
    }
    emitRegion(map, box, roi, birefringent, min_px, split, false, out);
  }
}

// True when the masks (boxes in map pixels) come within gap_px of each other.
bool masksNear(const cv::Rect& box_a, const cv::Mat& mask_a, const cv::Rect& box_b,
               const cv::Mat& mask_b, int gap_px) {
  const cv::Rect grown_a = box_a - cv::Point(gap_px, gap_px) + cv::Size(2 * gap_px, 2 * gap_px);
  if ((grown_a & box_b).area() == 0) return false;
  const cv::Rect canvas = grown_a | box_b;
  cv::Mat a = cv::Mat::zeros(canvas.size(), CV_8U), b = cv::Mat::zeros(canvas.size(), CV_8U);
  mask_a.copyTo(a(box_a - canvas.tl()));
  mask_b.copyTo(b(box_b - canvas.tl()));
  cv::dilate(
      a, a, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(2 * gap_px + 1, 2 * gap_px + 1)));
  return cv::countNonZero(a & b) > 0;
}

double axialGapDeg(double a, double b) {
  const double d = std::fmod(std::abs(a - b), 180.0);
  return std::min(d, 180.0 - d);
}

// A faint object near the threshold breaks into fragments where noise dips under it. Fragments
// within gap_px of an accepted region with its slow axis are part of that region (dropped, as
// before); fragments within gap_px of each other with one slow axis are one object: their union,
// closed over the gaps, is tested once.
std::vector<FaintCandidate> groupFaintCandidates(const RetardanceMap& map,
                                                 std::vector<FaintCandidate> faint,
                                                 const std::vector<Region>& accepted, int gap_px) {
  constexpr double kSameAxisDeg = 20.0;  // as opticallyDistinct: one crystal, one slow axis
  std::vector<double> axis(faint.size());
  for (std::size_t i = 0; i < faint.size(); ++i) {
    axis[i] = partOptics(map, faint[i].box, faint[i].mask).first;
  }
  std::vector<bool> absorbed(faint.size(), false);
  for (const Region& reg : accepted) {
    if (!reg.birefringent) continue;
    double reg_axis = -1.0;
    for (std::size_t i = 0; i < faint.size(); ++i) {
      if (absorbed[i] || !masksNear(faint[i].box, faint[i].mask, reg.bbox, reg.mask, gap_px)) {
        continue;
      }
      if (reg_axis < 0.0) reg_axis = partOptics(map, reg.bbox, reg.mask).first;
      if (axialGapDeg(axis[i], reg_axis) <= kSameAxisDeg) absorbed[i] = true;
    }
  }
  std::vector<std::size_t> parent(faint.size());
  for (std::size_t i = 0; i < parent.size(); ++i) parent[i] = i;
  auto root = [&](std::size_t i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
  };
  for (std::size_t i = 0; i < faint.size(); ++i) {
    for (std::size_t j = i + 1; j < faint.size(); ++j) {
      if (absorbed[i] || absorbed[j] || axialGapDeg(axis[i], axis[j]) > kSameAxisDeg) continue;
      if (masksNear(faint[i].box, faint[i].mask, faint[j].box, faint[j].mask, gap_px)) {
        parent[root(j)] = root(i);
      }
    }
  }
  std::vector<FaintCandidate> groups;
  const cv::Rect image(0, 0, map.retardance_nm.cols, map.retardance_nm.rows);
  for (std::size_t g = 0; g < faint.size(); ++g) {
    if (absorbed[g] || root(g) != g) continue;
    cv::Rect box;
    for (std::size_t i = 0; i < faint.size(); ++i) {
      if (!absorbed[i] && root(i) == g) box = box.area() == 0 ? faint[i].box : (box | faint[i].box);
    }
    const cv::Rect canvas =
        (box - cv::Point(gap_px, gap_px) + cv::Size(2 * gap_px, 2 * gap_px)) & image;
    cv::Mat mask = cv::Mat::zeros(canvas.size(), CV_8U);
    int members = 0;
    for (std::size_t i = 0; i < faint.size(); ++i) {
      if (absorbed[i] || root(i) != g) continue;
      cv::Mat dst = mask(faint[i].box - canvas.tl());
      dst.setTo(255, faint[i].mask);
      ++members;
    }
    // Several pieces of one axis within the gap are the noise tops of an object whose level sits
    // at the threshold: present (the test would pass) but with no measured outline, so nothing
    // that could name a crystal. Only a faint object that stands over the threshold in one piece
    // is tested.
    if (members > 1) continue;
    const cv::Rect inner = cv::boundingRect(mask);
    groups.push_back({inner + canvas.tl(), mask(inner).clone()});
  }
  return groups;
}

// Connected components of a mostly empty field without labelling all of it: occupied tiles are
// grouped (8-connected on the tile grid, so a component never straddles two groups) and only each
// group's bounding box is labelled. Labelling the full 2048x2048 frame cost ~10x more.
void collect(const RetardanceMap& map, const cv::Mat& mask, double seed_nm, bool birefringent,
             double min_px, bool split, SegmentationScratch& scratch, std::vector<Region>& out,
             std::vector<FaintCandidate>* faint) {
  constexpr int kTile = 64;
  const int ty = (mask.rows + kTile - 1) / kTile, tx = (mask.cols + kTile - 1) / kTile;
  const cv::Rect image(0, 0, mask.cols, mask.rows);
  cv::Mat occupied(ty, tx, CV_8U);
  for (int y = 0; y < ty; ++y) {
    for (int x = 0; x < tx; ++x) {
      const cv::Rect t = cv::Rect(x * kTile, y * kTile, kTile, kTile) & image;
      occupied.at<std::uint8_t>(y, x) = cv::countNonZero(mask(t)) > 0 ? 255 : 0;
    }
  }
  cv::Mat groups, gstats, gcent;
  const int ng = cv::connectedComponentsWithStats(occupied, groups, gstats, gcent, 8, CV_32S);
  for (int g = 1; g < ng; ++g) {
    const int gx = gstats.at<int>(g, cv::CC_STAT_LEFT), gy = gstats.at<int>(g, cv::CC_STAT_TOP);
    const int gw = gstats.at<int>(g, cv::CC_STAT_WIDTH), gh = gstats.at<int>(g, cv::CC_STAT_HEIGHT);
    const cv::Rect r = cv::Rect(gx * kTile, gy * kTile, gw * kTile, gh * kTile) & image;
    cv::Mat& roi = scratch.group;
    mask(r).copyTo(roi);
    // Another group's tiles can fall inside this bounding box: blank them so nothing is found
    // twice.
    for (int y = gy; y < gy + gh; ++y) {
      for (int x = gx; x < gx + gw; ++x) {
        if (groups.at<int>(y, x) == g) continue;
        const cv::Rect t = (cv::Rect(x * kTile, y * kTile, kTile, kTile) & image) - r.tl();
        roi(t).setTo(0);
      }
    }
    if (birefringent) {
      // One crystal, one region: a strong crystal whose retardance passes a half wave reads ~0
      // on a ring (sin(delta) = 0), which would cut its core from its rim; an isotropic
      // inclusion leaves a hole the same way. Holes are filled (the absorption path keeps them:
      // a bubble's clear centre is what marks it).
      cv::Mat& padded = scratch.padded;
      cv::copyMakeBorder(roi, padded, 1, 1, 1, 1, cv::BORDER_CONSTANT, cv::Scalar(0));
      cv::floodFill(padded, cv::Point(0, 0), cv::Scalar(255));
      roi.setTo(255, padded(cv::Rect(1, 1, roi.cols, roi.rows)) == 0);
    }
    collectRoi(map, roi, r.tl(), seed_nm, birefringent, min_px, split, scratch, out, faint);
  }
}

}  // namespace

Segmentation segment(const RetardanceMap& map, const SegmentationOptions& options) {
  SegmentationScratch scratch;
  return segment(map, options, scratch);
}

Segmentation segment(const RetardanceMap& map, const SegmentationOptions& options,
                     SegmentationScratch& scratch) {
  Segmentation seg;
  const double min_px = options.min_size_um / map.pixel_um;
  seg.threshold_nm = std::max(options.k_noise * map.noise_floor_nm, options.min_threshold_nm);
  cv::Mat& mask = scratch.mask;
  cv::compare(map.retardance_nm, seg.threshold_nm, mask, cv::CMP_GT);
  // Only a closing: an opening would erase MSU needles one or two pixels wide. Isolated noise
  // pixels are removed by the seed (hysteresis) test and the minimum size instead.
  const cv::Mat cross = cv::getStructuringElement(cv::MORPH_CROSS, cv::Size(3, 3));
  cv::morphologyEx(mask, mask, cv::MORPH_CLOSE, cross);
  // The integrated test needs the harmonics to be linear in the noise near zero retardance: the
  // circular and compensated trains (the crossed trains measure sin^2(delta/2)).
  const bool test_faint = options.faint_false_alarms_per_field > 0.0 && !map.axis_modulo_90;
  std::vector<FaintCandidate> faint;
  collect(map, mask, seg.threshold_nm * options.seed_factor, true, min_px, options.split_touching,
          scratch, seg.regions, test_faint ? &faint : nullptr);
  if (!faint.empty()) {
    const int gap_px =
        std::max(1, static_cast<int>(std::lround(options.faint_gap_um / map.pixel_um)));
    const std::vector<FaintCandidate> groups =
        groupFaintCandidates(map, std::move(faint), seg.regions, gap_px);
    if (!groups.empty()) {
      const BackgroundNoise noise = measureBackgroundNoise(map);
      seg.faint_candidates = static_cast<int>(groups.size());
      seg.faint_level =
          integratedDetectionLevel(seg.faint_candidates, options.faint_false_alarms_per_field);
      for (const FaintCandidate& f : groups) {
        const double z = integratedContrastToNoise(map, f.box, f.mask, seg.threshold_nm, noise);
        if (z >= seg.faint_level) {
          emitRegion(map, f.box, f.mask, true, min_px, options.split_touching, true, seg.regions);
        }
      }
    }
  }

  if (options.detect_non_birefringent && !map.axis_modulo_90) {
    // The crossed train has no per-pixel I0, hence no absorption path there.
    LocalBackground bg(map.intensity, options.background_block_px);
    const int w = map.intensity.cols;
    std::vector<float> bg_row(static_cast<std::size_t>(w));
    // Contrast noise from a robust spread over a sparse grid (most pixels are background).
    std::vector<float> samples;
    const int step = std::max(1, std::min(map.intensity.rows, w) / 128);
    for (int r = 0; r < map.intensity.rows; r += step) {
      bg.row(r, bg_row.data());
      const float* in = map.intensity.ptr<float>(r);
      for (int c = 0; c < w; c += step) samples.push_back(std::fabs(in[c] / bg_row[c] - 1.0f));
    }
    double sigma = 0.0;
    if (!samples.empty()) {
      auto mid = samples.begin() + static_cast<std::ptrdiff_t>(samples.size() / 2);
      std::nth_element(samples.begin(), mid, samples.end());
      sigma = 1.4826 * static_cast<double>(*mid);  // MAD about 0: contrast is centred
    }
    seg.contrast_threshold = std::max(options.min_absorption_contrast, 5.0 * sigma);
    // Scatter halos around birefringent crystals are not separate particles.
    // (A square kernel: separable, several times cheaper than a disc at full frame.)
    cv::dilate(mask, scratch.excluded, cv::getStructuringElement(cv::MORPH_RECT, cv::Size(7, 7)));
    cv::Mat& blob = scratch.blob;
    blob.create(map.intensity.size(), CV_8U);
    const float thr = static_cast<float>(seg.contrast_threshold);
    // A full-frame per-pixel pass: split over the worker threads like the reconstruction.
    cv::parallel_for_(
        cv::Range(0, map.intensity.rows),
        [&](const cv::Range& range) {
          std::vector<float> bg_band(static_cast<std::size_t>(w));
          std::vector<float> node(static_cast<std::size_t>(bg.gridColumns()));
          for (int r = range.start; r < range.end; ++r) {
            bg.row(r, bg_band.data(), node.data());
            const float* bgr = bg_band.data();
            const float* in = map.intensity.ptr<float>(r);
            const std::uint8_t* ex = scratch.excluded.ptr<std::uint8_t>(r);
            const std::uint8_t* sat = map.saturated.ptr<std::uint8_t>(r);
            std::uint8_t* out = blob.ptr<std::uint8_t>(r);
            for (int c = 0; c < w; ++c) {
              // |I / bg - 1| > thr without a division per pixel (bg > 0 by construction).
              const std::uint8_t dark_or_bright =
                  std::fabs(in[c] - bgr[c]) > thr * bgr[c] ? 255 : 0;
              out[c] = dark_or_bright & static_cast<std::uint8_t>(~(ex[c] | sat[c]));
            }
          }
        },
        std::max(1, std::min(map.intensity.rows / 16, 128)));
    cv::morphologyEx(blob, blob, cv::MORPH_OPEN, cross);
    collect(map, blob, 0.0, false, min_px, false, scratch, seg.regions, nullptr);
  }
  return seg;
}

}  // namespace polscan::analysis
