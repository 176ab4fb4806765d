// Benchmarks of the optical twin: per-angle rendering and field-map rasterisation, each reported
// against a memory-bandwidth baseline (copying a frame of the same size) measured in this run.
#include <algorithm>
#include <chrono>
#include <vector>

#include <benchmark/benchmark.h>
#include <opencv2/core.hpp>

#include "hardware/twin/field_renderer.hpp"
#include "hardware/twin/slide.hpp"

namespace polscan::twin {
namespace {

using Clock = std::chrono::steady_clock;

// Median time (ns) to copy a 16-bit frame of the given size: what merely writing the output
// costs on this machine.
double copyBaselineNs(int w, int h, int channels) {
  cv::Mat src(h, w, CV_16UC(channels), cv::Scalar::all(1234)), dst;
  src.copyTo(dst);
  std::vector<double> t;
  for (int i = 0; i < 21; ++i) {
    const auto t0 = Clock::now();
    src.copyTo(dst);
    benchmark::DoNotOptimize(dst.data);
    t.push_back(std::chrono::duration<double, std::nano>(Clock::now() - t0).count());
  }
  std::nth_element(t.begin(), t.begin() + 10, t.end());
  return t[10];
}

// A crowded synovial-fluid slide, so the field holds a few hundred objects.
const Slide& benchSlide() {
  static const Slide slide = [] {
    SlideRecipe r;
    r.width_mm = r.height_mm = 1.2;
    r.per_mm2 = {{CrystalClass::CPPD, 150},
                 {CrystalClass::MSU, 150},
                 {CrystalClass::CaOxDihydrate, 30},
                 {CrystalClass::CaOxMonohydrate, 30}};
    r.cells_per_mm2 = 200;
    r.debris_per_mm2 = 60;
    r.bubbles_per_mm2 = 5;
    return makeSlide(r, 2024);
  }();
  return slide;
}

void reportRatio(benchmark::State& state, double total_ns, double baseline_ns) {
  const double per_iter = total_ns / static_cast<double>(state.iterations());
  state.counters["ms"] = per_iter * 1e-6;
  state.counters["baseline_copy_ms"] = baseline_ns * 1e-6;
  state.counters["x_copy"] = per_iter / baseline_ns;
}

void BM_CopyBaseline(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  cv::Mat src(n, n, CV_16UC1, cv::Scalar(1234)), dst;
  src.copyTo(dst);
  for (auto _ : state) {
    src.copyTo(dst);
    benchmark::DoNotOptimize(dst.data);
  }
}
BENCHMARK(BM_CopyBaseline)->Arg(2048)->Unit(benchmark::kMillisecond);

// One angle of a field whose maps are cached (the per-frame cost during a stack).
void BM_RenderOneAngle(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const auto train = static_cast<OpticalTrain>(state.range(1));
  OpticsConfig optics;
  optics.train = train;
  optics.led_drift = 0.005;
  optics.polarizer_wobble_deg = 0.05;
  const FieldRenderer fr(benchSlide(), optics);
  FieldRequest req;
  req.width_px = req.height_px = n;
  benchmark::DoNotOptimize(fr.fieldMaps(req));
  const double baseline = copyBaselineNs(n, n, 1);
  double total = 0;
  for (auto _ : state) {
    req.polarizer_deg += 45;
    ++req.frame_seed;
    const auto t0 = Clock::now();
    cv::Mat img = fr.render(req);
    total += std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
    benchmark::DoNotOptimize(img.data);
  }
  reportRatio(state, total, baseline);
  state.SetLabel(std::string(opticalTrainName(train)) + " mono");
}
BENCHMARK(BM_RenderOneAngle)
    ->Args({2048, static_cast<int>(OpticalTrain::Circular)})
    ->Args({2048, static_cast<int>(OpticalTrain::Crossed)})
    ->Args({1024, static_cast<int>(OpticalTrain::Circular)})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_RenderRgbCompensated(benchmark::State& state) {
  OpticsConfig optics;
  optics.train = OpticalTrain::Compensated;
  optics.wavelengths_nm = {610, 545, 465};
  const FieldRenderer fr(benchSlide(), optics);
  FieldRequest req;  // 1024 x 768
  benchmark::DoNotOptimize(fr.fieldMaps(req));
  const double baseline = copyBaselineNs(req.width_px, req.height_px, 3);
  double total = 0;
  for (auto _ : state) {
    ++req.frame_seed;
    const auto t0 = Clock::now();
    cv::Mat img = fr.render(req);
    total += std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
    benchmark::DoNotOptimize(img.data);
  }
  reportRatio(state, total, baseline);
}
BENCHMARK(BM_RenderRgbCompensated)->Unit(benchmark::kMillisecond)->UseRealTime();

// Rasterising the field maps (once per field and focus): shapes, blur, vignetting.
void BM_RasteriseField(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  OpticsConfig optics;
  optics.focus_z_um = 0;
  const FieldRenderer fr(benchSlide(), optics);
  FieldRequest req;
  req.width_px = req.height_px = n;
  req.z_um = static_cast<double>(state.range(1));
  const double baseline = copyBaselineNs(n, n, 1);
  std::size_t objects =
      objectsInField(benchSlide(), 0, 0, n * req.pixel_um, n * req.pixel_um).size();
  double total = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    FieldMaps maps = fr.rasterise(req);
    total += std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
    benchmark::DoNotOptimize(maps.maps.data());
  }
  reportRatio(state, total, baseline);
  state.counters["objects"] = static_cast<double>(objects);
}
BENCHMARK(BM_RasteriseField)
    ->Args({2048, 0})
    ->Args({2048, 10})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace polscan::twin

BENCHMARK_MAIN();
