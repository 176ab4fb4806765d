// Scan bench: a 10 x 10 mm slide at 20x. Instrument time comes from the firmware core itself
// (the real motion profiles, trigger schedule and settling) run on simulated mechanics in
// virtual time; host CPU per tile is measured on this machine. Prints fly-by vs stop-and-go,
// stack time vs N camera frame periods, seconds per tile and analysis time / acquisition time.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "analysis/field_analysis.hpp"
#include "hardware/twin/field_renderer.hpp"
#include "hardware/twin/slide.hpp"
#include "scan/focus.hpp"
#include "scan/mosaic.hpp"
#include "scan/overlap_merge.hpp"
#include "scan/scan_plan.hpp"
#include "tests/firmware/bench.hpp"

namespace {

using namespace polscan;
namespace fwt = polscan::fw::test;

// Camera model (an assumption of the bench, printed): 1024 x 768 px, 8 um pixels, 30 frames/s
// at the 10 ms exposure the scan uses.
struct CameraModel {
  int width = 1024, height = 768;
  double sensor_pixel_um = 8.0;
  double fps = 30.0;
  std::uint32_t exposure_us = 10000;
  double framePeriodS() const { return 1.0 / fps; }
};

polscan_wire_HostMessage moveCmd(polscan_wire_Axis axis, double target) {
  auto m = fwt::makeCommand(polscan_wire_HostMessage_move_tag);
  m.command.move.axis = axis;
  m.command.move.target = target;
  return m;
}

// Virtual seconds the firmware takes for a command until every axis is idle again.
double timedUntilIdle(fwt::Bench& b, const polscan_wire_HostMessage& m) {
  const std::uint64_t t0 = b.clock.us;
  const auto r = b.call(m);
  if (r.status != polscan_wire_Status_STATUS_OK) {
    std::fprintf(stderr, "bench_scan: firmware refused a command: %s\n", r.message);
    std::exit(1);
  }
  b.runUntil([&] { return b.idle(); }, 120'000'000);
  return (b.clock.us - t0) * 1e-6;
}

struct StackTiming {
  double command_s = 0;       // AcquireStack sent -> StackDone (incl. run-up, run-out)
  double trigger_span_s = 0;  // first trigger -> last trigger + one frame period (exposure)
};

StackTiming timedStack(fwt::Bench& b, int n, polscan_wire_AcquisitionMode mode,
                       const CameraModel& cam, double speed_deg_s, double offset_deg = 0.0) {
  auto m = fwt::makeCommand(polscan_wire_HostMessage_acquire_stack_tag);
  auto& a = m.command.acquire_stack;
  for (int i = 0; i < n; ++i) a.angles_deg[a.angles_deg_count++] = offset_deg + 180.0 * i / n;
  a.mode = mode;
  a.exposure_us = cam.exposure_us;
  a.speed_deg_s = speed_deg_s;
  a.strobe_led = mode == polscan_wire_AcquisitionMode_ACQUISITION_MODE_FLY_BY;
  const std::uint64_t t0 = b.clock.us;
  const std::uint32_t id = b.send(m);
  b.runUntil([&] { return b.stackDone(id) != nullptr && b.idle(); }, 60'000'000);
  StackTiming t;
  t.command_s = (b.clock.us - t0) * 1e-6;
  const auto trig = b.triggers(id);
  if (static_cast<int>(trig.size()) != n) {
    std::fprintf(stderr, "bench_scan: %zu of %d triggers fired\n", trig.size(), n);
    std::exit(1);
  }
  t.trigger_span_s =
      (trig.back().timestamp_us - trig.front().timestamp_us) * 1e-6 + cam.framePeriodS();
  return t;
}

// Continuous fly-by (the polarizer keeps turning between stacks): `tiles` stacks, each after an
// X step to the next tile made while the polarizer turns, as the scan does. Command -> StackDone
// of each stack; the first one (which starts the spin from rest) is not counted.
struct ContinuousTiming {
  double mean_s = 0, max_s = 0, move_s = 0;
  int stacks = 0;
};

ContinuousTiming timedContinuous(fwt::Bench& b, int n, const CameraModel& cam, double speed_deg_s,
                                 double step_um, int tiles) {
  auto m = fwt::makeCommand(polscan_wire_HostMessage_acquire_stack_tag);
  auto& a = m.command.acquire_stack;
  for (int i = 0; i < n; ++i) a.angles_deg[a.angles_deg_count++] = 180.0 * i / n;
  a.mode = polscan_wire_AcquisitionMode_ACQUISITION_MODE_FLY_BY;
  a.exposure_us = cam.exposure_us;
  a.speed_deg_s = speed_deg_s;
  a.strobe_led = true;
  a.continuous = true;
  ContinuousTiming t;
  double x = 20000.0;  // where moveTimes() left the X stage
  auto stack = [&]() {
    const std::uint64_t t0 = b.clock.us;
    const std::uint32_t id = b.send(m);
    const auto r = b.reply(id);
    if (r.status != polscan_wire_Status_STATUS_OK) {
      std::fprintf(stderr, "bench_scan: continuous stack refused: %s\n", r.message);
      std::exit(1);
    }
    b.runUntil([&] { return b.stackDone(id) != nullptr; }, 10'000'000);
    const auto* done = b.stackDone(id);
    if (done == nullptr || done->status != polscan_wire_Status_STATUS_OK ||
        static_cast<int>(b.triggers(id).size()) != n) {
      std::fprintf(stderr, "bench_scan: continuous stack did not complete\n");
      std::exit(1);
    }
    return (b.clock.us - t0) * 1e-6;
  };
  stack();  // starts the spin
  double sum = 0, moves = 0;
  for (int k = 0; k < tiles; ++k) {
    // Steps of slightly different lengths (as rows and refocus moves are): the polarizer is at
    // a different phase when each stack starts, so the mean and the worst case both show.
    x += step_um + 9.7 * (k % 7);
    const std::uint64_t t0 = b.clock.us;
    const auto r = b.call(moveCmd(polscan_wire_Axis_AXIS_X, x));
    if (r.status != polscan_wire_Status_STATUS_OK) {
      std::fprintf(stderr, "bench_scan: stage move refused while spinning: %s\n", r.message);
      std::exit(1);
    }
    b.runUntil([&] { return !b.inst->axis(polscan_wire_Axis_AXIS_X).busy(); }, 10'000'000);
    moves += (b.clock.us - t0) * 1e-6;
    const double s = stack();
    sum += s;
    t.max_s = std::max(t.max_s, s);
  }
  t.stacks = tiles;
  t.mean_s = sum / tiles;
  t.move_s = moves / tiles;
  timedUntilIdle(b, fwt::makeCommand(polscan_wire_HostMessage_abort_tag));
  return t;
}

struct MoveTimes {
  double step_x = 0, step_x_back = 0, step_y = 0, z_small = 0;
};

MoveTimes moveTimes(fwt::Bench& b, const ScanPlan& plan) {
  // A forward step, a backward step with its backlash overshoot, a row change, a focus nudge.
  MoveTimes t;
  const double x = 20000.0, y = 10000.0;
  timedUntilIdle(b, moveCmd(polscan_wire_Axis_AXIS_X, x));
  timedUntilIdle(b, moveCmd(polscan_wire_Axis_AXIS_Y, y));
  t.step_x = timedUntilIdle(b, moveCmd(polscan_wire_Axis_AXIS_X, x + plan.pitch_x_um));
  t.step_x_back =
      timedUntilIdle(b, moveCmd(polscan_wire_Axis_AXIS_X, x - plan.request.backlash_um)) +
      timedUntilIdle(b, moveCmd(polscan_wire_Axis_AXIS_X, x));
  t.step_y = timedUntilIdle(b, moveCmd(polscan_wire_Axis_AXIS_Y, y + plan.pitch_y_um));
  timedUntilIdle(b, moveCmd(polscan_wire_Axis_AXIS_Z, 100.0));
  t.z_small = timedUntilIdle(b, moveCmd(polscan_wire_Axis_AXIS_Z, 100.5));
  return t;
}

double scanSeconds(const ScanPlan& plan, const MoveTimes& mv, double stack_s) {
  double total = 0;
  std::optional<Tile> from;
  for (const Tile& t : plan.tiles) {
    if (from) {
      if (t.row != from->row) {
        total += mv.step_y;
      } else {
        total += t.col > from->col ? mv.step_x : mv.step_x_back;
      }
    }
    total += mv.z_small + stack_s;  // focus from the map: a sub-micrometre z move per tile
    from = t;
  }
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  int tiles_for_cpu = 12;
  if (argc > 1) tiles_for_cpu = std::max(1, std::atoi(argv[1]));
  const CameraModel cam;
  const int n = 8;

  ScanRequest req;
  req.x_mm = 1.0;
  req.y_mm = 1.0;
  req.width_mm = 10.0;
  req.height_mm = 10.0;
  req.pixel_um = pixelSizeUm(cam.sensor_pixel_um, 20.0);
  req.image_width_px = cam.width;
  req.image_height_px = cam.height;
  const ScanPlan plan = planScan(req, StageTravel{{0, 75000}, {0, 25000}});
  std::printf(
      "10 x 10 mm at 20x (%.2f um/px, %d x %d px fields, %.0f%% overlap): %d x %d = %zu "
      "tiles\n",
      req.pixel_um, cam.width, cam.height, req.overlap * 100, plan.cols, plan.rows,
      plan.tiles.size());
  std::printf(
      "camera model (bench assumption): %.0f frames/s, frame period %.1f ms, exposure "
      "%.1f ms\n\n",
      cam.fps, cam.framePeriodS() * 1e3, cam.exposure_us * 1e-3);

  // ---- instrument time: the firmware core in virtual time ----
  fwt::Bench b;
  for (auto axis : {polscan_wire_Axis_AXIS_POLARIZER, polscan_wire_Axis_AXIS_X,
                    polscan_wire_Axis_AXIS_Y, polscan_wire_Axis_AXIS_Z}) {
    b.home(axis);
  }
  const MoveTimes mv = moveTimes(b, plan);
  const double gap_deg = 180.0 / n;
  // Fly-by paced to the camera: triggers one frame period (plus 2%) apart, within the motor's
  // limit; and the firmware's own choice from the exposure (speed 0).
  const double paced = std::min(gap_deg / (cam.framePeriodS() * 1.02), 720.0);
  const StackTiming fly_paced =
      timedStack(b, n, polscan_wire_AcquisitionMode_ACQUISITION_MODE_FLY_BY, cam, paced);
  // The 2-theta model repeats every 180 deg: the next stack may take its angles in the other
  // half turn, where the polarizer already is (a shorter run back to the run-up start).
  const StackTiming fly_alt =
      timedStack(b, n, polscan_wire_AcquisitionMode_ACQUISITION_MODE_FLY_BY, cam, paced, 180.0);
  const StackTiming fly_auto =
      timedStack(b, n, polscan_wire_AcquisitionMode_ACQUISITION_MODE_FLY_BY, cam, 0.0);
  const StackTiming sag =
      timedStack(b, n, polscan_wire_AcquisitionMode_ACQUISITION_MODE_STOP_AND_GO, cam, 0.0);
  const double n_periods = n * cam.framePeriodS();
  // Continuous fly-by at the paced speed over 24 tiles (X steps between them).
  const ContinuousTiming cont = timedContinuous(b, n, cam, paced, plan.pitch_x_um, 24);

  std::printf(
      "moves (firmware motion profiles): +x step %.1f um %.3f s, -x step with %.0f um "
      "backlash overshoot %.3f s, +y row %.1f um %.3f s, z 0.5 um %.3f s\n",
      plan.pitch_x_um, mv.step_x, req.backlash_um, mv.step_x_back, plan.pitch_y_um, mv.step_y,
      mv.z_small);
  std::printf(
      "%d-angle stack             command->done   triggers+1 frame   / %d frame "
      "periods\n",
      n, n);
  auto row = [&](const char* name, const StackTiming& t) {
    std::printf("  %-24s %10.3f s %14.3f s %12.2f (command) %5.2f (triggers)\n", name, t.command_s,
                t.trigger_span_s, t.command_s / n_periods, t.trigger_span_s / n_periods);
  };
  row("fly-by paced to camera", fly_paced);
  row("fly-by paced, other half", fly_alt);
  row("fly-by firmware default", fly_auto);
  row("stop-and-go", sag);
  std::printf(
      "  %-24s %10.3f s %14s   %12.2f (command, mean of %d; max %.2f) (target <= 1.15: %s)\n",
      "continuous fly-by, paced", cont.mean_s, "", cont.mean_s / n_periods, cont.stacks,
      cont.max_s / n_periods, cont.mean_s / n_periods <= 1.15 ? "met" : "NOT met");
  std::printf(
      "  (continuous: the polarizer keeps turning at %.0f deg/s; the stage's %.1f um step to "
      "the next tile, %.3f s, is made while it turns; a stack waits at most one gap for its "
      "first angle)\n",
      paced, plan.pitch_x_um, cont.move_s);
  std::printf(
      "  (firmware default fly-by fires every %.1f ms: faster than a %.0f frames/s "
      "camera can follow)\n",
      gap_deg / 720.0 * 1e3, cam.fps);
  {
    // The firmware's strobe rule (config.hpp): lit for kStrobeMaxDeg of turn, whole ticks.
    const double sps = std::floor(paced / polscan::fw::config::kPolDegPerStep);
    const double ticks =
        std::floor(polscan::fw::config::kStrobeMaxDeg / polscan::fw::config::kPolDegPerStep *
                   polscan::fw::config::kStepTimerHz / sps);
    std::printf(
        "strobe at the paced speed: LED lit %.0f us per frame = %.2f deg of turn (an "
        "unstrobed %.1f ms exposure would smear over %.1f deg)\n",
        ticks * polscan::fw::config::kUsPerStepTick,
        ticks / polscan::fw::config::kStepTimerHz * sps * polscan::fw::config::kPolDegPerStep,
        cam.exposure_us * 1e-3, cam.exposure_us * 1e-6 * paced);
  }
  std::printf(
      "fly-by vs stop-and-go stack time: continuous %.2fx faster, stop-per-stack fly-by %.2fx "
      "faster\n",
      sag.command_s / cont.mean_s, sag.command_s / fly_paced.command_s);

  const double per_tile_stop_fly = scanSeconds(plan, mv, fly_paced.command_s) / plan.tiles.size();
  const double per_tile_fly = scanSeconds(plan, mv, cont.mean_s) / plan.tiles.size();
  const double per_tile_sag = scanSeconds(plan, mv, sag.command_s) / plan.tiles.size();
  std::printf(
      "seconds per tile incl. move: continuous fly-by %.3f s (target <= 1 s: %s), fly-by "
      "stopping per stack %.3f s, stop-and-go %.3f s (per tile: continuous fly-by %.2fx faster "
      "than stop-and-go)\n",
      per_tile_fly, per_tile_fly <= 1.0 ? "met" : "NOT met", per_tile_stop_fly, per_tile_sag,
      per_tile_sag / per_tile_fly);
  std::printf(
      "whole slide: continuous fly-by %.1f min, stop-and-go %.1f min (plus %d focus-map sites)\n\n",
      per_tile_fly * plan.tiles.size() / 60.0, per_tile_sag * plan.tiles.size() / 60.0,
      static_cast<int>(focusMapSites(plan.rows, plan.cols).size()));

  // ---- host CPU per tile: analysis + thumbnail + focus metric + merge (what runs on the host
  // while the next tile is acquired); the twin renders the frames a real camera would deliver.
  twin::SlideRecipe recipe;
  recipe.per_mm2 = {
      {CrystalClass::CPPD, 20}, {CrystalClass::MSU, 10}, {CrystalClass::CaOxDihydrate, 5}};
  recipe.debris_per_mm2 = 5;
  recipe.cells_per_mm2 = 20;
  const twin::Slide slide = twin::makeSlide(recipe, 11);
  twin::FieldRenderer renderer(slide, twin::OpticsConfig{});
  analysis::FieldAnalyzer analyzer;
  std::vector<FieldCrystal> merged;
  const double um_per_px = mosaicScaleUm(plan);
  double host_s = 0, render_s = 0;
  int crystals = 0;
  for (int k = 0; k < tiles_for_cpu; ++k) {
    // Tiles of the middle rows of the slide (slide coordinates centred on 0).
    const Tile& t = plan.tiles[static_cast<std::size_t>(plan.tiles.size() / 2 + k)];
    Stack s;
    s.pixel_um = req.pixel_um;
    s.bit_depth = 12;
    s.exposure_us = cam.exposure_us;
    s.stage = StagePosition{t.x_um - 6000.0, t.y_um - 6000.0, 0.0};
    const auto r0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
      twin::FieldRequest fr;
      fr.stage_x_um = s.stage->x_um;
      fr.stage_y_um = s.stage->y_um;
      fr.polarizer_deg = 180.0 * i / n;
      fr.width_px = cam.width;
      fr.height_px = cam.height;
      fr.pixel_um = req.pixel_um;
      fr.frame_seed = static_cast<std::uint64_t>(k * 100 + i);
      s.frames.push_back(renderer.render(fr));
      s.angles_deg.push_back(fr.polarizer_deg);
    }
    const auto t0 = std::chrono::steady_clock::now();
    const double metric = focusMetric(s.frames.front());
    const auto& res = analyzer.analyze(s, nullptr, t.index, 1);
    const cv::Mat thumb = tileThumbnail(res.map, um_per_px);
    std::vector<FieldCrystal> field;
    for (const auto& c : res.crystals) field.push_back({c, false, false});
    mergeField(merged, field);
    const auto t1 = std::chrono::steady_clock::now();
    host_s += std::chrono::duration<double>(t1 - t0).count();
    render_s += std::chrono::duration<double>(t0 - r0).count();
    if (!(metric > 0.0) || thumb.empty()) {
      std::fprintf(stderr, "bench_scan: tile %d gave no focus metric or thumbnail\n", t.index);
      return 1;
    }
    crystals += static_cast<int>(res.crystals.size());
  }
  host_s /= tiles_for_cpu;
  render_s /= tiles_for_cpu;
  std::printf(
      "host CPU per tile (%d tiles, %d crystals found): analysis + focus metric + "
      "thumbnail + merge %.1f ms; twin rendering of the 8 frames (the camera's job on "
      "the instrument) %.1f ms\n",
      tiles_for_cpu, crystals, host_s * 1e3, render_s * 1e3);
  std::printf(
      "analysis time / acquisition time per tile: %.3f (fly-by), %.3f (stop-and-go): "
      "host analysis %s\n",
      host_s / per_tile_fly, host_s / per_tile_sag,
      host_s < per_tile_fly ? "keeps up" : "does NOT keep up");
  return 0;
}
