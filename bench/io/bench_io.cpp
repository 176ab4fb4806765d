// Benchmarks of the lab outputs: OME-TIFF stack write/read and the stack folder (16-bit PNG)
// write, each reported against writing / reading the same bytes as one raw file (fwrite/fread),
// measured in this run; and the HTML report against PNG-encoding the same crops alone.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <vector>

#include <benchmark/benchmark.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "io/html_report.hpp"
#include "io/ome_tiff.hpp"
#include "io/stack_folder.hpp"

namespace polscan {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

fs::path benchDir() {
  static const fs::path d = [] {
    const fs::path p =
        fs::temp_directory_path() / ("polscan_bench_io_" + std::to_string(::getpid()));
    fs::create_directories(p);
    return p;
  }();
  return d;
}

// An 8-angle 16-bit stack of n x (3n/4) px with noise, so no codec gets it for free.
Stack benchStack(int n) {
  Stack s;
  cv::RNG rng(7);
  for (int i = 0; i < 8; ++i) {
    cv::Mat f(n * 3 / 4, n, CV_16UC1);
    rng.fill(f, cv::RNG::NORMAL, 2000, 40);
    s.frames.push_back(f);
    s.angles_deg.push_back(22.5 * i);
  }
  s.pixel_um = 0.4;
  s.exposure_us = 10000;
  s.bit_depth = 12;
  return s;
}

template <typename F>
double medianNs(F&& f, int runs = 7) {
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = Clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::nano>(Clock::now() - t0).count());
  }
  std::nth_element(t.begin(), t.begin() + runs / 2, t.end());
  return t[runs / 2];
}

// Raw write of the stack's bytes into one file, then fsync-free close: the floor for any format.
void rawWrite(const Stack& s, const fs::path& f) {
  FILE* out = std::fopen(f.c_str(), "wb");
  for (const cv::Mat& m : s.frames) std::fwrite(m.data, 1, m.total() * m.elemSize(), out);
  std::fclose(out);
}

// Raw read into freshly allocated frames, as any reader returning a new stack must do.
void rawRead(Stack& s, const fs::path& f) {
  FILE* in = std::fopen(f.c_str(), "rb");
  for (cv::Mat& m : s.frames) {
    m = cv::Mat(m.size(), m.type());
    if (std::fread(m.data, 1, m.total() * m.elemSize(), in) != m.total() * m.elemSize()) break;
  }
  std::fclose(in);
}

void ratio(benchmark::State& state, double total_ns, double baseline_ns, const char* name) {
  const double per_iter = total_ns / static_cast<double>(state.iterations());
  state.counters["ms"] = per_iter * 1e-6;
  state.counters[std::string("baseline_") + name + "_ms"] = baseline_ns * 1e-6;
  state.counters[std::string("x_") + name] = per_iter / baseline_ns;
}

void BM_OmeTiffWrite(benchmark::State& state) {
  const Stack s = benchStack(static_cast<int>(state.range(0)));
  const fs::path raw = benchDir() / "raw.bin", f = benchDir() / "w.ome.tif";
  const double base = medianNs([&] { rawWrite(s, raw); });
  double total = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    writeOmeTiffStack(s, f);
    total += std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
  }
  ratio(state, total, base, "raw_write");
}

void BM_OmeTiffRead(benchmark::State& state) {
  Stack s = benchStack(static_cast<int>(state.range(0)));
  const fs::path raw = benchDir() / "raw.bin", f = benchDir() / "r.ome.tif";
  rawWrite(s, raw);
  writeOmeTiffStack(s, f);
  const double base = medianNs([&] { rawRead(s, raw); });
  double total = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    const Stack r = readOmeTiffStack(f);
    benchmark::DoNotOptimize(r.frames.back().data);
    total += std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
    if (cv::norm(r.frames[3], s.frames[3], cv::NORM_INF) != 0) state.SkipWithError("mismatch");
  }
  ratio(state, total, base, "raw_read");
}

// The stack folder (16-bit PNG per angle), for comparison with OME-TIFF on the same baseline.
void BM_StackFolderWrite(benchmark::State& state) {
  const Stack s = benchStack(static_cast<int>(state.range(0)));
  const fs::path raw = benchDir() / "raw.bin", d = benchDir() / "folder";
  const double base = medianNs([&] { rawWrite(s, raw); });
  double total = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    writeStackFolder(s, d);
    total += std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
  }
  ratio(state, total, base, "raw_write");
}

// HTML report of n crystals (two 96 x 96 crops each) against PNG-encoding the crops alone.
void BM_HtmlReport(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  Report r;
  r.sample = "bench";
  r.fields = 10;
  r.scanned_area_mm2 = 1.0;
  Gallery g;
  cv::RNG rng(3);
  for (int i = 1; i <= n; ++i) {
    CrystalRecord c;
    c.id = i;
    c.cls = CrystalClass::CPPD;
    c.retardance_nm = rng.uniform(5.0, 120.0);
    r.crystals.push_back(c);
    CrystalImages im;
    im.compensator = cv::Mat(96, 96, CV_8UC3);
    im.retardance = cv::Mat(96, 96, CV_8UC3);
    rng.fill(im.compensator, cv::RNG::UNIFORM, 0, 255);
    rng.fill(im.retardance, cv::RNG::UNIFORM, 0, 255);
    g[i] = im;
  }
  const double base = medianNs([&] {
    std::vector<unsigned char> png;
    for (const auto& [id, im] : g) {
      cv::imencode(".png", im.compensator, png);
      cv::imencode(".png", im.retardance, png);
    }
  });
  HtmlReportInput in;
  in.report = &r;
  in.gallery = &g;
  double total = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    const std::string html = htmlReport(in);
    benchmark::DoNotOptimize(html.data());
    total += std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
  }
  ratio(state, total, base, "png_encode");
}

BENCHMARK(BM_OmeTiffWrite)->Arg(1024)->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_OmeTiffRead)->Arg(1024)->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_StackFolderWrite)->Arg(1024)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_HtmlReport)->Arg(20)->Arg(200)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace polscan

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::filesystem::remove_all(polscan::benchDir());
  return 0;
}
