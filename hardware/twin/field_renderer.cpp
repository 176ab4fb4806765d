// Field rasterisation (anti-aliased shapes, defocus blur, vignetting) and per-angle rendering
// (closed-form intensity, drift, wobble, shot/read noise, quantisation, saturation).
#include "hardware/twin/field_renderer.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <new>
#include <numbers>
#include <stdexcept>

#include <opencv2/core/utility.hpp>
#if defined(__linux__)
#include <sys/mman.h>
#endif
#include <opencv2/imgproc.hpp>

#include "hardware/twin/rng.hpp"
#include "hardware/twin/shapes.hpp"

namespace polscan::twin {
namespace {

constexpr std::size_t kCacheEntries = 4;
constexpr int kGaussBits = 12;
constexpr int kGaussSize = 1 << kGaussBits;

// Quantiles of the standard normal, for a fast table-driven Gaussian (tails end at ~3.5 sigma,
// which is harmless for camera noise). Scaled so the interpolated variable has unit variance.
const std::array<float, kGaussSize + 1>& gaussTable() {
  static const std::array<float, kGaussSize + 1> table = [] {
    std::array<double, kGaussSize + 1> t{};
    for (int i = 0; i <= kGaussSize; ++i) {
      const double p = (i + 0.5) / (kGaussSize + 1);
      double lo = -10, hi = 10;
      for (int it = 0; it < 80; ++it) {
        const double mid = 0.5 * (lo + hi);
        (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p ? lo : hi) = mid;
      }
      t[i] = 0.5 * (lo + hi);
    }
    double var = 0;  // of a uniform mix of linear interpolations between neighbours
    for (int i = 0; i < kGaussSize; ++i) {
      var += (t[i] * t[i] + t[i] * t[i + 1] + t[i + 1] * t[i + 1]) / 3.0;
    }
    var /= kGaussSize;
    std::array<float, kGaussSize + 1> out{};
    for (int i = 0; i <= kGaussSize; ++i) out[i] = static_cast<float>(t[i] / std::sqrt(var));
    return out;
  }();
  return table;
}

// Fresh 4 KiB pages cost ~12 us each to fault in on the VMs we run on (50 ms for one 16 MB map),
// more than rendering itself; field maps and frames are large and short-lived, so they come from
// 2 MiB-aligned mappings marked for transparent huge pages (a few faults per map).
class HugePageAllocator : public cv::MatAllocator {
 public:
  cv::UMatData* allocate(int dims, const int* sizes, int type, void* data0, size_t* step,
                         cv::AccessFlag, cv::UMatUsageFlags) const override {
    size_t total = CV_ELEM_SIZE(type);
    for (int i = dims - 1; i >= 0; --i) {
      if (step) {
        if (data0 && step[i] != kAutoStep) {
          total = step[i];
        } else {
          step[i] = total;
        }
      }
      total *= sizes[i];
    }
    auto* u = new cv::UMatData(this);
    u->size = total;
    if (data0) {
      u->data = u->origdata = static_cast<uchar*>(data0);
      u->flags |= cv::UMatData::USER_ALLOCATED;
    } else if (total >= kHuge) {
      u->origdata = static_cast<uchar*>(mapHuge(total, &u->data));
    } else {
      u->data = u->origdata = static_cast<uchar*>(cv::fastMalloc(total));
    }
    return u;
  }
  bool allocate(cv::UMatData* u, cv::AccessFlag, cv::UMatUsageFlags) const override {
    return u != nullptr;
  }
  void deallocate(cv::UMatData* u) const override {
    if (!u) return;
    if (!(u->flags & cv::UMatData::USER_ALLOCATED)) {
      if (u->size >= kHuge) {
        unmapHuge(u->origdata, u->size);
      } else {
        cv::fastFree(u->origdata);
      }
    }
    delete u;
  }

 private:
  static constexpr size_t kHuge = 2u << 20;
  static constexpr size_t kAutoStep = 0x7fffffff;  // CV_AUTOSTEP of the C API

  static void* mapHuge(size_t size, uchar** aligned) {
#if defined(__linux__)
    void* raw =
        mmap(nullptr, size + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) throw std::bad_alloc();
    const auto base = reinterpret_cast<std::uintptr_t>(raw);
    *aligned = reinterpret_cast<uchar*>((base + kHuge - 1) & ~std::uintptr_t{kHuge - 1});
    madvise(*aligned, size, MADV_HUGEPAGE);  // a hint: harmless where unsupported
    return raw;
#else
    *aligned = static_cast<uchar*>(cv::fastMalloc(size));
    return *aligned;
#endif
  }
  static void unmapHuge(void* raw, size_t size) {
#if defined(__linux__)
    munmap(raw, size + kHuge);
#else
    cv::fastFree(raw);
#endif
  }
};

// Never destroyed: Mats handed to callers may outlive any static.
cv::MatAllocator* hugePageAllocator() {
  static auto* allocator = new HugePageAllocator();
  return allocator;
}

cv::Mat largeMat(int rows, int cols, int type) {
  cv::Mat m;
  m.allocator = hugePageAllocator();
  m.create(rows, cols, type);
  return m;
}

// Per-row generator: SplitMix64 is one add and two multiplies per 64 bits.
struct RowRng {
  std::uint64_t state;
  std::uint64_t next() {
    state += 0x9E3779B97F4A7C15ull;
    std::uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Standard normal from 32 random bits: 12 pick the quantile cell, 16 interpolate in it.
  static float gauss(std::uint32_t bits, const float* table) {
    const std::uint32_t idx = bits >> (32 - kGaussBits);
    const float frac = static_cast<float>((bits >> 4) & 0xFFFF) * (1.0f / 65536.0f);
    return table[idx] + frac * (table[idx + 1] - table[idx]);
  }
};

}  // namespace

FieldRenderer::FieldRenderer(const Slide& slide, OpticsConfig optics)
    : slide_(slide), optics_(std::move(optics)) {
  if (optics_.wavelengths_nm.size() != 1 && optics_.wavelengths_nm.size() != 3) {
    throw std::invalid_argument("OpticsConfig: wavelengths_nm must hold 1 or 3 values");
  }
  for (double w : optics_.wavelengths_nm) {
    if (!(w > 0)) throw std::invalid_argument("OpticsConfig: wavelengths must be > 0 nm");
  }
  if (optics_.bit_depth < 1 || optics_.bit_depth > 16) {
    throw std::invalid_argument("OpticsConfig: bit_depth must be in [1, 16]");
  }
  if (!(optics_.full_well_e > 0)) throw std::invalid_argument("OpticsConfig: full_well_e <= 0");
  // A quantity is needed if its coefficient is not identically zero: the coefficients are
  // trigonometric polynomials in 2*theta of degree 2, so 8 angles reveal any that is not.
  for (double w : optics_.wavelengths_nm) {
    std::array<bool, 6> used{};
    for (int i = 0; i < 8; ++i) {
      const TrainCoefficients k = trainCoefficients(optics_, i * 22.5 + 3.0, w);
      const double c[6] = {k.t, k.m1, k.m2, k.q0, k.q1, k.q2};
      for (int q = 0; q < 6; ++q) used[q] = used[q] || std::abs(c[q]) > 1e-12;
    }
    used[0] = true;
    used_.push_back(used);
  }
}

FieldMaps FieldRenderer::rasterise(const FieldRequest& req) const {
  if (req.width_px <= 0 || req.height_px <= 0 || !(req.pixel_um > 0)) {
    throw std::invalid_argument("FieldRequest: size and pixel_um must be > 0");
  }
  const int W = req.width_px, H = req.height_px;
  const double p = req.pixel_um;
  const double cx0 = (W - 1) / 2.0, cy0 = (H - 1) / 2.0;
  const std::size_t nw = optics_.wavelengths_nm.size();

  FieldMaps fm;
  fm.width = W;
  fm.height = H;
  fm.maps.resize(nw);
  for (std::size_t w = 0; w < nw; ++w) {
    for (int q = 0; q < 6; ++q) {
      if (used_[w][q]) {
        fm.maps[w][q] = largeMat(H, W, CV_32F);
        fm.maps[w][q].setTo(cv::Scalar(q == 0 ? 1.0 : 0.0));
      }
    }
  }

  for (const CrystalSpec& o : slide_.objects) {
    const double defocus = std::abs(req.z_um - (optics_.focus_z_um + o.z_um));
    const double sigma_px = optics_.blur_um_per_um * defocus / p;
    const int margin = static_cast<int>(std::ceil(3.0 * sigma_px)) + 2;
    const FieldWindow reach{req.stage_x_um, req.stage_y_um, (W + 2.0 * margin) * p,
                            (H + 2.0 * margin) * p};
    if (!objectIntersectsRect(o, reach)) continue;

    const ShapeModel model(o);
    const double rad = model.boundingRadius() / p;
    const double ox = (o.x_um - req.stage_x_um) / p + cx0, oy = (req.stage_y_um - o.y_um) / p + cy0;
    const int c0 = std::max(static_cast<int>(std::floor(ox - rad)) - margin, -margin);
    const int c1 = std::min(static_cast<int>(std::ceil(ox + rad)) + margin, W - 1 + margin);
    const int r0 = std::max(static_cast<int>(std::floor(oy - rad)) - margin, -margin);
    const int r1 = std::min(static_cast<int>(std::ceil(oy + rad)) + margin, H - 1 + margin);
    if (c0 > c1 || r0 > r1) continue;
    const int pw = c1 - c0 + 1, ph = r1 - r0 + 1;

    // Coverage and premultiplied quantities of this object alone, then blurred by its own
    // defocus and laid over what is below ("over" compositing keeps every pixel physical).
    cv::Mat alpha(ph, pw, CV_32F, cv::Scalar(0));
    std::vector<std::array<cv::Mat, 6>> pre(nw);
    for (std::size_t w = 0; w < nw; ++w) {
      for (int q = 0; q < 6; ++q) {
        if (used_[w][q]) pre[w][q] = cv::Mat(ph, pw, CV_32F, cv::Scalar(0));
      }
    }
    const double ca = std::cos(o.long_axis_deg * std::numbers::pi / 180),
                 sa = std::sin(o.long_axis_deg * std::numbers::pi / 180);
    const double half_l = o.length_um / 2 + p, half_w = o.width_um / 2 + p;
    for (int r = 0; r < ph; ++r) {
      const double dy = (cy0 - (r + r0)) * p + req.stage_y_um - o.y_um;
      float* arow = alpha.ptr<float>(r);
      for (int c = 0; c < pw; ++c) {
        const double dx = ((c + c0) - cx0) * p + req.stage_x_um - o.x_um;
        const double u = dx * ca + dy * sa, v = -dx * sa + dy * ca;
        if (std::abs(u) > half_l || std::abs(v) > half_w) continue;
        const ShapePoint sp = model.at(u, v);
        const double a = std::clamp(0.5 - sp.sd_um / p, 0.0, 1.0);
        if (a <= 0) continue;
        arow[c] = static_cast<float>(a);
        for (std::size_t w = 0; w < nw; ++w) {
          const SampleMueller sm = sampleMueller(sp.retardance_nm, optics_.wavelengths_nm[w],
                                                 o.slow_axis_deg, sp.transmission);
          const double vals[6] = {sm.t, sm.m1, sm.m2, sm.q0, sm.q1, sm.q2};
          for (int q = 0; q < 6; ++q) {
            if (used_[w][q]) pre[w][q].ptr<float>(r)[c] = static_cast<float>(a * vals[q]);
          }
        }
      }
    }
    if (sigma_px > 0.05) {
      auto blur = [&](cv::Mat& m) {
        cv::GaussianBlur(m, m, cv::Size(0, 0), sigma_px, sigma_px, cv::BORDER_CONSTANT);
      };
      blur(alpha);
      for (auto& per_w : pre) {
        for (cv::Mat& m : per_w) {
          if (!m.empty()) blur(m);
        }
      }
    }
    const int rr0 = std::max(r0, 0), rr1 = std::min(r1, H - 1);
    const int cc0 = std::max(c0, 0), cc1 = std::min(c1, W - 1);
    for (int r = rr0; r <= rr1; ++r) {
      const float* arow = alpha.ptr<float>(r - r0) + (cc0 - c0);
      for (std::size_t w = 0; w < nw; ++w) {
        for (int q = 0; q < 6; ++q) {
          if (!used_[w][q]) continue;
          float* dst = fm.maps[w][q].ptr<float>(r) + cc0;
          const float* src = pre[w][q].ptr<float>(r - r0) + (cc0 - c0);
          for (int c = 0; c <= cc1 - cc0; ++c) dst[c] = dst[c] * (1.0f - arow[c]) + src[c];
        }
      }
    }
  }

  return fm;
}

std::shared_ptr<const FieldMaps> FieldRenderer::fieldMaps(const FieldRequest& req) const {
  const CacheKey key{req.stage_x_um, req.stage_y_um, req.z_um,
                     req.pixel_um,   req.width_px,   req.height_px};
  {
    std::lock_guard lock(mutex_);
    for (auto it = cache_.begin(); it != cache_.end(); ++it) {
      if (it->first == key) {
        cache_.splice(cache_.begin(), cache_, it);  // most recently used first
        return cache_.front().second;
      }
    }
  }
  // Rasterise outside the lock: two threads may both build the same field, which is harmless
  // (identical results) and cheaper than serialising all rendering.
  auto maps = std::make_shared<const FieldMaps>(rasterise(req));
  std::lock_guard lock(mutex_);
  cache_.emplace_front(key, maps);
  while (cache_.size() > kCacheEntries) cache_.pop_back();
  return maps;
}

cv::Mat FieldRenderer::render(const FieldRequest& req) const {
  const std::shared_ptr<const FieldMaps> fm = fieldMaps(req);
  const int W = fm->width, H = fm->height;
  const int nw = static_cast<int>(optics_.wavelengths_nm.size());

  // Frame-level disturbances, drawn in a fixed order so every seed gives the same frame.
  const std::uint64_t frame_seed = combineSeeds(slide_.seed, req.frame_seed);
  Rng frame_rng(frame_seed);
  const double wobble = optics_.polarizer_wobble_deg * frame_rng.normal();
  const double drift = std::max(0.0, 1.0 + optics_.led_drift * frame_rng.normal());
  const double theta = req.polarizer_deg + wobble;
  const double i0_e = optics_.led_level * optics_.full_well_e *
                      (req.exposure_us / optics_.reference_exposure_us) * drift;

  struct Term {
    const cv::Mat* map;
    float coef;
  };
  std::vector<std::vector<Term>> terms(nw);
  for (int w = 0; w < nw; ++w) {
    const TrainCoefficients k = trainCoefficients(optics_, theta, optics_.wavelengths_nm[w]);
    const double c[6] = {k.t, k.m1, k.m2, k.q0, k.q1, k.q2};
    for (int q = 0; q < 6; ++q) {
      if (!fm->maps[w][q].empty() && c[q] != 0.0) {
        terms[w].push_back({&fm->maps[w][q], static_cast<float>(c[q] * i0_e)});
      }
    }
  }

  const double max_dn = std::ldexp(1.0, optics_.bit_depth) - 1.0;
  const float gain = static_cast<float>(max_dn / optics_.full_well_e);
  const float full_well = static_cast<float>(optics_.full_well_e);
  const float read_noise = static_cast<float>(optics_.read_noise_e);
  const bool shot = optics_.shot_noise;
  const float* table = gaussTable().data();
  static const std::array<float, 101> inv_k = [] {
    std::array<float, 101> t{};
    for (int k = 1; k <= 100; ++k) t[k] = 1.0f / static_cast<float>(k);
    return t;
  }();

  cv::Mat out = largeMat(H, W, CV_16UC(nw));
  // Radial flat-field falloff, 1 on the optical axis and 1 - vignetting in the corners; applied
  // here rather than in the maps so rasterisation stays independent of the camera.
  const double cx0 = (W - 1) / 2.0, cy0 = (H - 1) / 2.0;
  const double inv_r2 = 1.0 / (cx0 * cx0 + cy0 * cy0 + 1e-12);
  const float vig = static_cast<float>(optics_.vignetting);
  const float black = static_cast<float>(optics_.black_level_dn);
  std::vector<float> vig_x(W);
  for (int c = 0; c < W; ++c) vig_x[c] = static_cast<float>((c - cx0) * (c - cx0) * inv_r2);
  cv::parallel_for_(
      cv::Range(0, H),
      [&](const cv::Range& rows) {
        std::vector<float> acc(W);
        for (int r = rows.start; r < rows.end; ++r) {
          RowRng rng{combineSeeds(frame_seed, static_cast<std::uint64_t>(r) + 1)};
          std::uint16_t* dst = out.ptr<std::uint16_t>(r);
          const float vig_y = static_cast<float>((r - cy0) * (r - cy0) * inv_r2);
          for (int w = 0; w < nw; ++w) {
            // Expected electrons: a few multiply-adds over the maps (vectorised by the compiler).
            std::fill(acc.begin(), acc.end(), 0.0f);
            for (const Term& t : terms[w]) {
              const float* m = t.map->ptr<float>(r);
              const float k = t.coef;
              for (int c = 0; c < W; ++c) acc[c] += k * m[c];
            }
            if (vig != 0.0f) {
              for (int c = 0; c < W; ++c) acc[c] *= 1.0f - vig * (vig_x[c] + vig_y);
            }
            const int ch = nw == 3 ? 2 - w : 0;  // wavelengths are R, G, B; OpenCV stores B, G, R
            for (int c = 0; c < W; ++c) {
              float e = std::max(acc[c], 0.0f);
              const std::uint64_t bits = rng.next();
              if (shot) {
                if (e >= 20.0f) {
                  e += std::sqrt(e) * RowRng::gauss(static_cast<std::uint32_t>(bits >> 32), table);
                } else if (e > 0.0f) {
                  // Few photons: exact Poisson by inverting its CDF with one uniform.
                  const float u = static_cast<float>(bits >> 40) * 0x1.0p-24f;
                  float p = std::exp(-e), cdf = p;
                  int k = 0;
                  while (u > cdf && k < 100) {
                    ++k;
                    p *= e * inv_k[k];  // a multiply, not a divide, in this hot loop
                    cdf += p;
                  }
                  e = static_cast<float>(k);
                }
              }
              e += read_noise * RowRng::gauss(static_cast<std::uint32_t>(bits), table);
              e = std::clamp(e, 0.0f, full_well);  // saturation of the full well
              const float dn =
                  std::min(std::nearbyint(e * gain + black), static_cast<float>(max_dn));
              dst[c * nw + ch] = static_cast<std::uint16_t>(dn);
            }
          }
        }
      },
      std::max(1, H / 64));
  return out;
}

}  // namespace polscan::twin
