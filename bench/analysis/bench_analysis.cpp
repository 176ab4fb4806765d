// Benchmarks of the analysis library: reconstruction vs a memory-read baseline and a per-pixel
// reference, whole-field analysis, and the reconstruction's peak Mat working memory.
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <numbers>
#include <string>

#include <benchmark/benchmark.h>
#include <opencv2/core.hpp>

#include "analysis/field_analysis.hpp"
#include "analysis/reconstruction.hpp"
#include "hardware/twin/field_renderer.hpp"
#include "tests/analysis/synthetic_scene.hpp"

namespace {

using polscan::Stack;
namespace pa = polscan::analysis;

// A field with a dozen crystals of several kinds, 8 angles, read noise; built once per size.
const Stack& stackOfSize(int n) {
  static std::map<int, Stack> cache;
  auto it = cache.find(n);
  if (it != cache.end()) return it->second;
  pa::testing::SceneSpec s;
  s.width = n;
  s.height = n;
  s.noise_sigma = 40.0;
  using K = pa::testing::PaintedShape::Kind;
  for (int i = 0; i < 12; ++i) {
    const double cx = n * (0.1 + 0.8 * ((i * 37) % 12) / 12.0);
    const double cy = n * (0.1 + 0.8 * ((i * 5) % 12) / 12.0);
    const double orient = 15.0 * i;
    if (i % 3 == 0) s.shapes.push_back({K::Rectangle, cx, cy, 16, 5, orient, 20, orient, 1.0});
    if (i % 3 == 1)
      s.shapes.push_back({K::Rectangle, cx, cy, 30, 3, orient, 120, orient + 90, 1.0});
    if (i % 3 == 2) s.shapes.push_back({K::Ellipse, cx, cy, 16, 14, 0, 0, 0, 0.6});
  }
  return cache.emplace(n, pa::testing::renderStack(s)).first->second;
}

// An RGB (610/545/465 nm) circular-train field from the optical twin with strong and weak
// crystals (20-600 nm), 8 angles; built once per size.
const Stack& rgbStackOfSize(int n, polscan::OpticalTrain train = polscan::OpticalTrain::Circular) {
  static std::map<std::pair<int, polscan::OpticalTrain>, Stack> cache;
  auto it = cache.find({n, train});
  if (it != cache.end()) return it->second;
  polscan::twin::Slide slide;
  slide.seed = 3;
  const double pixel_um = 0.4, half = n * pixel_um / 2.0;
  for (int i = 0; i < 24; ++i) {
    polscan::twin::CrystalSpec o;
    o.shape = i % 2 ? polscan::twin::Shape::Rod : polscan::twin::Shape::Needle;
    o.x_um = -half + n * pixel_um * (0.1 + 0.8 * ((i * 37) % 24) / 24.0);
    o.y_um = -half + n * pixel_um * (0.1 + 0.8 * ((i * 5) % 24) / 24.0);
    o.length_um = 20;
    o.width_um = 4;
    o.long_axis_deg = 7.5 * i;
    o.slow_axis_deg = o.long_axis_deg;
    o.birefringence = (20.0 + 25.0 * i) / 1000.0;
    slide.objects.push_back(o);
  }
  polscan::twin::OpticsConfig optics;
  optics.wavelengths_nm = {610, 545, 465};
  optics.train = train;
  const polscan::twin::FieldRenderer renderer(slide, optics);
  // The compensated train's 4-theta harmonics repeat every 90 deg: spread the angles over 90.
  const double spacing = train == polscan::OpticalTrain::Compensated ? 11.25 : 22.5;
  Stack st;
  st.train = train;
  st.wavelengths_nm = optics.wavelengths_nm;
  st.bit_depth = optics.bit_depth;
  st.pixel_um = pixel_um;
  for (int k = 0; k < 8; ++k) {
    polscan::twin::FieldRequest req;
    req.width_px = n;
    req.height_px = n;
    req.pixel_um = pixel_um;
    req.polarizer_deg = spacing * k;
    req.frame_seed = static_cast<std::uint64_t>(k) + 1;
    st.frames.push_back(renderer.render(req));
    st.angles_deg.push_back(spacing * k);
  }
  return cache.emplace(std::pair{n, train}, std::move(st)).first->second;
}

double stackBytes(const Stack& s) {
  double b = 0;
  for (const auto& f : s.frames) b += static_cast<double>(f.total() * f.elemSize());
  return b;
}

// The straightforward per-pixel fit the fast path must match: normal equations in double built
// and solved (cv::solve) for every pixel, libm trig, Mat::at access, one thread.
pa::RetardanceMap referenceReconstruct(const Stack& st) {
  const int h = st.frames[0].rows, w = st.frames[0].cols, n = static_cast<int>(st.frames.size());
  const double lambda = st.wavelengths_nm[0];
  pa::RetardanceMap m;
  m.retardance_nm.create(h, w, CV_32F);
  m.slow_axis_deg.create(h, w, CV_32F);
  m.intensity.create(h, w, CV_32F);
  m.uncertainty_nm.create(h, w, CV_32F);
  m.saturated = cv::Mat::zeros(h, w, CV_8U);
  for (int r = 0; r < h; ++r) {
    for (int c = 0; c < w; ++c) {
      cv::Matx33d ata = cv::Matx33d::zeros();
      cv::Vec3d atb(0, 0, 0);
      bool sat = false;
      for (int k = 0; k < n; ++k) {
        const double t = 2.0 * st.angles_deg[k] * std::numbers::pi / 180.0;
        const cv::Vec3d row(1.0, std::cos(t), std::sin(t));
        const double v = st.frames[k].at<std::uint16_t>(r, c);
        sat = sat || v >= 65535;
        ata += row * row.t();
        atb += v * row;
      }
      cv::Vec3d a;
      cv::solve(ata, atb, a, cv::DECOMP_CHOLESKY);
      double rss = 0;
      for (int k = 0; k < n; ++k) {
        const double t = 2.0 * st.angles_deg[k] * std::numbers::pi / 180.0;
        const double d =
            st.frames[k].at<std::uint16_t>(r, c) - (a[0] + a[1] * std::cos(t) + a[2] * std::sin(t));
        rss += d * d;
      }
      const double s = std::min(1.0, std::hypot(a[1], a[2]) / a[0]);
      double phi = 0.5 * std::atan2(-a[1], a[2]) * 180.0 / std::numbers::pi;
      if (phi < 0) phi += 180.0;
      m.retardance_nm.at<float>(r, c) =
          static_cast<float>(std::asin(s) * lambda / (2 * std::numbers::pi));
      m.slow_axis_deg.at<float>(r, c) = static_cast<float>(phi);
      m.intensity.at<float>(r, c) = static_cast<float>(2.0 * a[0]);
      m.uncertainty_nm.at<float>(r, c) = static_cast<float>(std::sqrt(rss / (n - 3)));
      m.saturated.at<std::uint8_t>(r, c) = sat ? 255 : 0;
    }
  }
  return m;
}

// Counts bytes of every cv::Mat buffer allocated while installed, tracking the peak.
class CountingAllocator : public cv::MatAllocator {
 public:
  cv::UMatData* allocate(int dims, const int* sizes, int type, void* data, size_t* step,
                         cv::AccessFlag flags, cv::UMatUsageFlags usage) const override {
    cv::UMatData* u = std_->allocate(dims, sizes, type, data, step, flags, usage);
    if (u != nullptr) {
      u->currAllocator = this;
      if (data == nullptr) add(static_cast<long long>(u->size));
    }
    return u;
  }
  bool allocate(cv::UMatData* u, cv::AccessFlag a, cv::UMatUsageFlags f) const override {
    return std_->allocate(u, a, f);
  }
  void deallocate(cv::UMatData* u) const override {
    if (u != nullptr && !(u->flags & cv::UMatData::USER_ALLOCATED))
      add(-static_cast<long long>(u->size));
    std_->deallocate(u);
  }
  void reset() const {
    current_ = 0;
    peak_ = 0;
  }
  long long peak() const { return peak_; }

 private:
  void add(long long d) const {
    const long long now = current_ += d;
    long long p = peak_.load();
    while (now > p && !peak_.compare_exchange_weak(p, now)) {
    }
  }
  cv::MatAllocator* std_ = cv::Mat::getStdAllocator();
  mutable std::atomic<long long> current_{0}, peak_{0};
};

CountingAllocator& counter() {
  static CountingAllocator a;
  return a;
}

// Peak Mat bytes of one call, relative to the stack's own bytes (target <= 2).
template <typename F>
double peakRatio(const Stack& st, F&& f) {
  cv::MatAllocator* previous = cv::Mat::getDefaultAllocator();
  counter().reset();
  cv::Mat::setDefaultAllocator(&counter());
  {
    auto result = f();
    benchmark::DoNotOptimize(result);
  }
  cv::Mat::setDefaultAllocator(previous);
  return static_cast<double>(counter().peak()) / stackBytes(st);
}

// The same bytes read as the reconstruction reads them (rows of every frame, two threads).
void readStack(benchmark::State& state, const Stack& st);

void BM_ReadBaseline(benchmark::State& state) {
  readStack(state, stackOfSize(static_cast<int>(state.range(0))));
}

void BM_ReadBaselineRgb(benchmark::State& state) {
  readStack(state, rgbStackOfSize(static_cast<int>(state.range(0))));
}

void readStack(benchmark::State& state, const Stack& st) {
  for (auto _ : state) {
    // Same bytes, same two threads, same row bands as the reconstruction: a pure memory read.
    std::atomic<std::uint64_t> total{0};
    cv::parallel_for_(
        cv::Range(0, st.frames[0].rows),
        [&](const cv::Range& range) {
          std::uint64_t sum = 0;
          for (int r = range.start; r < range.end; ++r) {
            for (const auto& f : st.frames) {
              const std::uint16_t* p = f.ptr<std::uint16_t>(r);
              std::uint32_t s = 0;
              const int samples = f.cols * f.channels();
              for (int c = 0; c < samples; ++c) s += p[c];
              sum += s;
            }
          }
          total += sum;
        },
        std::max(1, std::min(st.frames[0].rows / 8, 256)));
    benchmark::DoNotOptimize(total.load());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stackBytes(st)));
}

void BM_Reconstruct(benchmark::State& state) {
  const Stack& st = stackOfSize(static_cast<int>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(pa::reconstruct(st));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stackBytes(st)));
  state.counters["peak_mem_x_stack"] = peakRatio(st, [&] { return pa::reconstruct(st); });
}

// The scanning case: one map reused field after field, so no first-touch page faults.
// Reconstruction into one map kept across iterations (as a scan does): the computation and its
// memory traffic only, no fresh allocations. Returns the last map for counters.
pa::RetardanceMap reconstructReusingTheMap(benchmark::State& state, const Stack& st,
                                           const pa::ReconstructionOptions& options) {
  pa::RetardanceMap map;
  pa::reconstructInto(st, nullptr, options, map);
  for (auto _ : state) {
    pa::reconstructInto(st, nullptr, options, map);
    benchmark::DoNotOptimize(map.retardance_nm.data);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stackBytes(st)));
  return map;
}

void BM_ReconstructReuse(benchmark::State& state) {
  reconstructReusingTheMap(state, stackOfSize(static_cast<int>(state.range(0))), {});
}

// With an instrument calibration: a per-pixel dark frame subtracted and the polarizer offset
// added before the fit (a corrected copy of the stack per field), saturation judged on raw DN.
void BM_ReconstructCalibratedReuse(benchmark::State& state) {
  const Stack& st = stackOfSize(static_cast<int>(state.range(0)));
  pa::ReconstructionOptions options;
  options.dark_frame = cv::Mat(st.frames[0].size(), CV_32F, cv::Scalar(20.0));
  options.polarizer_offset_deg = 2.0;
  reconstructReusingTheMap(state, st, options);
}

// RGB: one fit over the interleaved channels plus the three-wavelength retardance search.
void BM_ReconstructRgbReuse(benchmark::State& state) {
  const Stack& st = rgbStackOfSize(static_cast<int>(state.range(0)));
  const pa::RetardanceMap map = reconstructReusingTheMap(state, st, {});
  double hi = 0;
  cv::minMaxLoc(map.retardance_nm, nullptr, &hi);
  state.counters["max_R_nm"] = hi;  // crystals up to 595 nm: far past the 136 nm mono fold
  state.counters["ambiguous_px"] = cv::countNonZero(map.ambiguous);
  state.counters["peak_mem_x_stack"] = peakRatio(st, [&] { return pa::reconstruct(st); });
}

// The same with the search range before uric acid widened it (800 nm, 81 table entries, vs the
// 1000 nm default, 101): the price of the wider range, as a ratio in the same run.
void BM_ReconstructRgbReuseRange800(benchmark::State& state) {
  const Stack& st = rgbStackOfSize(static_cast<int>(state.range(0)));
  pa::ReconstructionOptions options;
  options.rgb.max_retardance_nm = 800.0;
  reconstructReusingTheMap(state, st, options);
}

// Compensated (red plate) RGB: a per-pixel grid search, far from memory speed; per-pixel cost.
void BM_ReconstructCompensated(benchmark::State& state) {
  const Stack& st =
      rgbStackOfSize(static_cast<int>(state.range(0)), polscan::OpticalTrain::Compensated);
  pa::RetardanceMap map;
  for (auto _ : state) {
    pa::reconstructInto(st, nullptr, {}, map);
    benchmark::DoNotOptimize(map.retardance_nm.data);
  }
  state.counters["us_per_px"] = benchmark::Counter(
      static_cast<double>(st.frames[0].total()),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stackBytes(st)));
}

void BM_ReferencePerPixel(benchmark::State& state) {
  const Stack& st = stackOfSize(static_cast<int>(state.range(0)));
  pa::RetardanceMap ref;
  for (auto _ : state) ref = referenceReconstruct(st);
  // Output check: the fast path must agree with the reference (max |dR| over the field).
  const pa::RetardanceMap fast = pa::reconstruct(st);
  double max_dr = 0;
  cv::minMaxLoc(cv::abs(fast.retardance_nm - ref.retardance_nm), nullptr, &max_dr);
  cv::Mat axis_diff = cv::abs(fast.slow_axis_deg - ref.slow_axis_deg);
  axis_diff = cv::min(axis_diff, 180.0 - axis_diff);
  axis_diff.setTo(0, ref.retardance_nm < 1.0);  // the axis of a zero retarder is noise
  double max_da = 0;
  cv::minMaxLoc(axis_diff, nullptr, &max_da);
  state.counters["max_dR_nm"] = max_dr;
  state.counters["max_daxis_deg"] = max_da;
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stackBytes(st)));
}

void BM_AnalyzeField(benchmark::State& state) {
  const Stack& st = stackOfSize(static_cast<int>(state.range(0)));
  std::size_t found = 0;
  for (auto _ : state) {
    const pa::FieldResult r = pa::analyzeField(st);
    found = r.crystals.size();
    benchmark::DoNotOptimize(found);
  }
  state.counters["crystals"] = static_cast<double>(found);  // 12 painted
  state.counters["peak_mem_x_stack"] = peakRatio(st, [&] { return pa::analyzeField(st); });
}

BENCHMARK(BM_ReadBaseline)
    ->Arg(512)
    ->Arg(1024)
    ->Arg(2048)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_Reconstruct)
    ->Arg(512)
    ->Arg(1024)
    ->Arg(2048)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_ReferencePerPixel)
    ->Arg(512)
    ->Arg(1024)
    ->Arg(2048)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1);
void BM_AnalyzeFieldReuse(benchmark::State& state) {
  const Stack& st = stackOfSize(static_cast<int>(state.range(0)));
  pa::FieldAnalyzer analyzer;
  std::size_t found = analyzer.analyze(st).crystals.size();
  for (auto _ : state) {
    found = analyzer.analyze(st).crystals.size();
    benchmark::DoNotOptimize(found);
  }
  state.counters["crystals"] = static_cast<double>(found);
}

// Segmentation alone on a reconstructed map (reused scratch, as in a scan).
void BM_Segment(benchmark::State& state) {
  const Stack& st = stackOfSize(static_cast<int>(state.range(0)));
  const pa::RetardanceMap map = pa::reconstruct(st);
  pa::SegmentationScratch scratch;
  std::size_t n = 0;
  for (auto _ : state) {
    n = pa::segment(map, {}, scratch).regions.size();
    benchmark::DoNotOptimize(n);
  }
  state.counters["regions"] = static_cast<double>(n);
}

BENCHMARK(BM_Segment)->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ReconstructReuse)
    ->Arg(512)
    ->Arg(1024)
    ->Arg(2048)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_AnalyzeFieldReuse)
    ->Arg(512)
    ->Arg(1024)
    ->Arg(2048)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_ReconstructCalibratedReuse)->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ReadBaselineRgb)->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ReconstructRgbReuse)->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ReconstructRgbReuseRange800)->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ReconstructCompensated)->Arg(256)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_AnalyzeField)
    ->Arg(512)
    ->Arg(1024)
    ->Arg(2048)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Console output plus a closing table of the ratios the targets are stated in.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.run_type == Run::RT_Iteration) ms_[r.benchmark_name()] = r.GetAdjustedRealTime();
    }
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\nsummary (8 angles, 16-bit, ms):\n");
    std::printf("(reuse = output buffers reused across fields; fresh = allocated per call)\n");
    std::printf("%5s %7s %9s %9s %9s %9s %9s %10s %10s %12s\n", "size", "read", "rec-reuse",
                "rec-fresh", "reference", "fld-reuse", "fld-fresh", "reuse/read", "fresh/read",
                "ref/rec-reuse");
    for (const char* n : {"512", "1024", "2048"}) {
      const double read = get("BM_ReadBaseline", n), rec = get("BM_Reconstruct", n);
      const double reuse = get("BM_ReconstructReuse", n);
      const double ref = get("BM_ReferencePerPixel", n), fld = get("BM_AnalyzeField", n);
      const double fld_reuse = get("BM_AnalyzeFieldReuse", n);
      std::printf("%5s %7.2f %9.2f %9.2f %9.1f %9.2f %9.2f %10.2f %10.2f %12.1f\n", n, read, reuse,
                  rec, ref, fld_reuse, fld, reuse / read, rec / read, ref / reuse);
    }
    std::printf(
        "targets: reconstruct <= 2x read, reference >= 20x reconstruct, field < 50 ms at 2048\n");
    const double cal = get("BM_ReconstructCalibratedReuse", "2048");
    std::printf("calibrated (dark frame + polarizer offset) 2048: %.2f ms, %.2fx uncalibrated\n",
                cal, cal / get("BM_ReconstructReuse", "2048"));
    const double rgb_read = get("BM_ReadBaselineRgb", "2048");
    const double rgb_rec = get("BM_ReconstructRgbReuse", "2048");
    std::printf(
        "RGB 2048x2048 x 8 (3 x 16-bit): read %.2f ms, reconstruct (reuse) %.2f ms, %.2fx\n",
        rgb_read, rgb_rec, rgb_rec / rgb_read);
    const double rgb_800 = get("BM_ReconstructRgbReuseRange800", "2048");
    std::printf("RGB search to 1000 nm (default) vs 800 nm: %.2f vs %.2f ms, %.2fx\n", rgb_rec,
                rgb_800, rgb_rec / rgb_800);
  }

 private:
  double get(const std::string& b, const char* n) const {
    const auto it = ms_.find(b + "/" + n + "/real_time");
    if (it == ms_.end()) {
      const auto it2 = ms_.find(b + "/" + n + "/iterations:1/real_time");
      return it2 == ms_.end() ? NAN : it2->second;
    }
    return it->second;
  }
  std::map<std::string, double> ms_;
};

}  // namespace

int main(int argc, char** argv) {
  // The instrument PC budget is two cores; POLSCAN_BENCH_THREADS overrides (e.g. 1 to measure one
  // core's work on a machine shared with other jobs).
  const char* threads = std::getenv("POLSCAN_BENCH_THREADS");
  cv::setNumThreads(threads != nullptr ? std::atoi(threads) : 2);
  benchmark::Initialize(&argc, argv);
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
