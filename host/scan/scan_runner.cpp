// ScanRunner: acquisition on the caller's thread, analysis of the previous tile on a worker.
#include "scan/scan_runner.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <future>
#include <thread>

#include <spdlog/spdlog.h>
#include <opencv2/imgcodecs.hpp>

#include "acquisition/frame_pairing.hpp"
#include "acquisition/stack_acquirer.hpp"
#include "io/ome_tiff.hpp"
#include "io/stack_folder.hpp"
#include "scan/mosaic.hpp"

namespace polscan {

namespace fs = std::filesystem;

std::string tileName(int index) {
  char name[32];
  std::snprintf(name, sizeof(name), "tile_%04d", index);
  return name;
}

namespace {

AxisTravel axisTravel(const wire::Info& info, wire::Axis axis, const char* name) {
  for (const auto& l : info.limits()) {
    if (l.axis() == axis) return {l.min(), l.max()};
  }
  throw ScanPlanError(std::string("the instrument reports no ") + name + " stage axis");
}

}  // namespace

ScanRunner::ScanRunner(ScanInstrument instrument, fs::path out, ScanOptions options)
    : inst_(std::move(instrument)), out_(std::move(out)), options_(options) {
  analyzer_.setReconstruction(options_.reconstruction);
}

StageTravel ScanRunner::travel() {
  const wire::Info info = inst_.device.getInfo();
  for (const auto& l : info.limits()) {
    if (l.axis() == wire::AXIS_POLARIZER) polarizer_max_deg_s_ = l.max_speed();
  }
  return {axisTravel(info, wire::AXIS_X, "X"), axisTravel(info, wire::AXIS_Y, "Y")};
}

// A LinkError (unplug, simulator restart, lost frames) costs a reconnect and a retry of the
// step; the stage's backlash state is unknown afterwards, so the next approach overshoots.
template <typename F>
auto ScanRunner::withRecovery(F&& f) -> decltype(f()) {
  for (int attempt = 0;; ++attempt) {
    try {
      return f();
    } catch (const LinkError& e) {
      if (attempt >= options_.link_retries) throw;
      spdlog::warn("link lost ({}); reconnecting to {} (attempt {} of {})", e.what(),
                   inst_.device.describe(), attempt + 1, options_.link_retries);
      inst_.device.reconnect(options_.reconnect_wait);
      inst_.prepare();
      spinning_ = true;  // unknown after a reconnect: stop it before stop-and-go to be sure
      at_.reset();
      z_now_ = -1.0;
      ++recoveries_;
    }
  }
}

void ScanRunner::moveTo(const ScanPlan& plan, const Tile& tile, double z_um) {
  for (const StageMove& m : plan.approach(at_, tile)) {
    inst_.device.move(m.axis == 'x' ? wire::AXIS_X : wire::AXIS_Y, m.target_um);
  }
  at_ = tile;
  if (std::abs(z_um - z_now_) > 1e-3) {
    inst_.device.move(wire::AXIS_Z, z_um);
    z_now_ = z_um;
  }
}

double ScanRunner::flyBySpeed(const std::vector<double>& angles) {
  const auto period = inst_.camera.framePeriodS();
  const std::optional<double> paced = pacedFlyBySpeedDegS(angles, period);
  if (!paced) return 0.0;  // unknown frame period: the firmware paces from the exposure
  if (polarizer_max_deg_s_ > 0.0 && *paced > polarizer_max_deg_s_) {
    if (!warned_pace_) {
      spdlog::warn(
          "{} runs at {:.1f} ms per frame: pacing fly-by needs {:.0f} deg/s, the "
          "polarizer turns at most {:.0f} deg/s",
          inst_.camera.describe(), *period * 1e3, *paced, polarizer_max_deg_s_);
      warned_pace_ = true;
    }
    return polarizer_max_deg_s_;
  }
  return *paced;
}

void ScanRunner::stopSpin() {
  if (!spinning_) return;
  inst_.device.abort();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    const wire::DeviceStatus s = inst_.device.getStatus();
    bool turning = s.acquiring();
    for (const auto& a : s.axes())
      turning = turning || (a.axis() == wire::AXIS_POLARIZER && a.moving());
    if (!turning) break;
    if (std::chrono::steady_clock::now() > deadline) {
      throw DeviceError(wire::STATUS_BUSY,
                        inst_.device.describe() + ": the polarizer still turns 5 s after Abort");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  spinning_ = false;
}

Stack ScanRunner::acquireOnce(const ScanCheckpoint& cp, bool fly_by) {
  const ScanAcquisition& a = cp.acquisition;
  AcquisitionSettings s;
  s.request.angles_deg = equallySpacedAngles(a.angles);
  s.request.exposure_us = a.exposure_us;
  s.cancel = stop_;
  if (fly_by) {
    s.request.mode = wire::ACQUISITION_MODE_FLY_BY;
    s.request.strobe_led = a.strobe;
    s.request.continuous = options_.continuous;
    s.request.speed_deg_s = flyBySpeed(s.request.angles_deg);
    if (options_.continuous) spinning_ = true;  // from the moment it may have been accepted
  } else {
    stopSpin();
    s.request.mode = wire::ACQUISITION_MODE_STOP_AND_GO;
  }
  return acquireStack(inst_.device, inst_.camera, s);
}

Stack ScanRunner::acquireTile(const ScanPlan& plan, const Tile& tile, double z_um,
                              const ScanCheckpoint& cp, std::string& fallback) {
  fallback.clear();
  if (cp.acquisition.mode == "stop-and-go") {
    moveTo(plan, tile, z_um);
    return acquireOnce(cp, false);
  }
  try {
    // The move is inside: a fault of the spinning polarizer (missed steps seen at its index)
    // may surface while the stage moves to the tile, refusing the move.
    moveTo(plan, tile, z_um);
    return acquireOnce(cp, true);
  } catch (const DeviceError& e) {
    fallback = std::string("fly-by refused or faulted: ") + e.what();
  } catch (const PairingError& e) {
    fallback = std::string("fly-by frames did not match the triggers: ") + e.what();
  } catch (const CameraError& e) {
    fallback = std::string("fly-by frames missing: ") + e.what();
  }
  spdlog::warn("tile {}: {}; taking the tile again stop-and-go", tile.index, fallback);
  // Whatever the failure left behind (a turning polarizer, a safe state, the LED off): stop,
  // clear, home what needs it, light up and approach the tile again.
  spinning_ = true;
  stopSpin();
  inst_.device.clearEvents();
  inst_.prepare();
  at_.reset();
  z_now_ = -1.0;
  moveTo(plan, tile, z_um);
  return acquireOnce(cp, false);
}

double ScanRunner::measureFocus(const ScanCheckpoint& cp, double z_um) {
  stopSpin();
  if (std::abs(z_um - z_now_) > 1e-3) {
    inst_.device.move(wire::AXIS_Z, z_um);
    z_now_ = z_um;
  }
  // One frame at one polarizer angle: crystals and cells both show contrast there.
  AcquisitionSettings s;
  s.request.angles_deg = {0.0};
  s.request.exposure_us = cp.acquisition.exposure_us;
  s.request.mode = wire::ACQUISITION_MODE_STOP_AND_GO;
  s.request.settle_ms = 1;
  s.cancel = stop_;
  const Stack one = acquireStack(inst_.device, inst_.camera, s);
  return focusMetric(one.frames.front());
}

std::optional<FocusPoint> ScanRunner::focusAt(const ScanPlan& plan, const Tile& tile,
                                              ScanCheckpoint& cp) {
  const double centre = map_.empty() ? cp.acquisition.focus_z_um : map_.z(tile.x_um, tile.y_um);
  const FocusResult r = withRecovery([&] {
    moveTo(plan, tile, std::clamp(centre, options_.focus.min_z_um, options_.focus.max_z_um));
    return autofocus([&](double z) { return measureFocus(cp, z); }, centre, options_.focus);
  });
  ++autofocus_runs_;
  spdlog::debug("autofocus at tile {}: z {:.2f} um, contrast {:.2f}, {} images", tile.index, r.z_um,
                r.contrast, r.measurements);
  if (r.contrast < options_.focus_min_contrast) return std::nullopt;
  const FocusPoint p{tile.x_um, tile.y_um, r.z_um};
  map_.add(p);
  cp.focus_points.push_back(p);
  return p;
}

void ScanRunner::buildFocusMap(const ScanPlan& plan, ScanCheckpoint& cp) {
  for (const auto& [row, col] : focusMapSites(plan.rows, plan.cols)) {
    const auto it = std::find_if(plan.tiles.begin(), plan.tiles.end(),
                                 [&](const Tile& t) { return t.row == row && t.col == col; });
    focusAt(plan, *it, cp);
  }
  if (map_.empty()) {
    spdlog::warn("autofocus found no structure at the focus-map sites; scanning at z {} um",
                 cp.acquisition.focus_z_um);
  }
}

TileResult ScanRunner::analyse(const Stack& stack, const Tile& tile, double um_per_px) {
  const analysis::FieldResult& r = analyzer_.analyze(stack, options_.blank.get(), tile.index, 1);
  TileResult t;
  t.index = tile.index;
  t.z_um = stack.stage ? stack.stage->z_um : 0.0;
  t.channels = r.map.channels;
  for (const CrystalRecord& c : r.crystals) {
    FieldCrystal fc{c, false, false};
    fc.touches_border = std::find(r.touching_border.begin(), r.touching_border.end(), c.id) !=
                        r.touching_border.end();
    fc.needs_review =
        std::find(r.needs_review.begin(), r.needs_review.end(), c.id) != r.needs_review.end();
    t.crystals.push_back(fc);
  }
  const cv::Mat thumb = tileThumbnail(r.map, um_per_px);
  const fs::path png = out_ / "tiles" / (tileName(tile.index) + ".png");
  if (!thumb.empty() && !cv::imwrite(png.string(), thumb)) {
    throw CheckpointError("cannot write the tile thumbnail " + png.string());
  }
  return t;
}

ScanOutcome ScanRunner::run(ScanCheckpoint& cp, const std::atomic<bool>& stop,
                            const std::function<void(const ScanProgress&)>& progress) {
  const ScanPlan plan = planScan(cp.request, travel());
  fs::create_directories(out_ / "tiles");
  if (options_.save_stacks) fs::create_directories(out_ / "stacks");
  const fs::path checkpoint_file = out_ / "scan.json";
  writeCheckpoint(cp, checkpoint_file);  // the folder is resumable from the first moment
  const double um_per_px = mosaicScaleUm(plan, options_.mosaic_max_px);

  ScanOutcome out;
  out.tiles_total = static_cast<int>(plan.tiles.size());
  stop_ = &stop;
  for (const FocusPoint& p : cp.focus_points) map_.add(p);
  withRecovery([&] { inst_.prepare(); });
  if (cp.acquisition.autofocus && map_.empty()) {
    try {
      buildFocusMap(plan, cp);
    } catch (const AcquisitionCancelled& e) {
      // A half-built map is not kept: the resume builds it again.
      spdlog::warn("stopped while building the focus map: {}", e.what());
      cp.focus_points.clear();
      map_ = FocusMap{};
      out.stopped_mid_tile = true;
      finish(plan, cp, out);
      return out;
    }
    writeCheckpoint(cp, checkpoint_file);
  }
  RefocusPolicy refocus(options_.refocus_drop);
  {
    std::vector<double> earlier;
    for (const TileResult& t : cp.tiles) earlier.push_back(t.focus_metric);
    refocus.seed(earlier);
  }

  std::vector<FieldCrystal> merged;
  auto mergeDone = [&] {
    merged.clear();
    std::vector<const TileResult*> order;
    for (const TileResult& t : cp.tiles) order.push_back(&t);
    std::sort(order.begin(), order.end(),
              [](const TileResult* a, const TileResult* b) { return a->index < b->index; });
    for (const TileResult* t : order) mergeField(merged, t->crystals);
  };
  mergeDone();

  ScanProgress pr;
  pr.tiles_total = out.tiles_total;
  pr.tiles_done = static_cast<int>(cp.tiles.size());
  pr.remaining = pr.tiles_total - pr.tiles_done;
  pr.crystals = merged.size();

  if (progress) progress(pr);  // 0 done this run: starts the clock of the ETA

  std::future<TileResult> pending;
  const Tile* pending_tile = nullptr;
  // Waits for the worker's tile, records it and writes the checkpoint: only now is it done.
  auto settle = [&] {
    if (!pending.valid()) return;
    TileResult t = pending.get();
    mergeField(merged, t.crystals);
    cp.tiles.push_back(std::move(t));
    writeCheckpoint(cp, checkpoint_file);
    ++pr.tiles_done;
    ++pr.done_this_run;
    pr.crystals = merged.size();
    pr.tile = pending_tile;
    if (progress) progress(pr);
  };

  try {
    try {
      for (const Tile& tile : plan.tiles) {
        if (cp.done(tile.index)) continue;
        if (stop.load()) break;
        double z = map_.empty() ? cp.acquisition.focus_z_um : map_.z(tile.x_um, tile.y_um);
        z = std::clamp(z, options_.focus.min_z_um, options_.focus.max_z_um);
        std::string fallback;
        Stack stack = withRecovery([&] { return acquireTile(plan, tile, z, cp, fallback); });
        double metric = focusMetric(stack.frames.front());
        if (cp.acquisition.autofocus && !map_.empty()) {
          std::optional<bool> found;
          if (refocus.shouldRefocus(metric)) {
            // The metric dropped: refocus here; if that moves the focus by more than the fine
            // step, take the tile again at the new focus.
            const auto p = focusAt(plan, tile, cp);
            found = p.has_value();
            if (p && std::abs(p->z_um - z) > options_.focus.fine_step_um) {
              stack = withRecovery([&] { return acquireTile(plan, tile, p->z_um, cp, fallback); });
              metric = focusMetric(stack.frames.front());
            }
          }
          refocus.record(metric, found);
        }
        if (options_.save_stacks) writeStackFolder(stack, out_ / "stacks" / tileName(tile.index));
        settle();  // tile k-1's analysis ran while tile k was acquired
        pending_tile = &tile;
        pending = std::async(std::launch::async, [this, s = std::move(stack), &tile, um_per_px,
                                                  metric, fallback]() mutable {
          try {
            TileResult t = analyse(s, tile, um_per_px);
            t.focus_metric = metric;
            t.fallback = fallback;
            return t;
          } catch (...) {
            // Nothing acquired is lost: keep the stack of the tile that failed
            // analysis.
            writeStackFolder(s, out_ / "failed" / tileName(tile.index));
            throw;
          }
        });
      }
      settle();
    } catch (const AcquisitionCancelled& e) {
      // Stopped mid-tile: that tile's partial stack is gone; the one before it is kept.
      spdlog::warn("{}", e.what());
      out.stopped_mid_tile = true;
      settle();
    }
    stopSpin();  // the polarizer does not keep turning after the scan
  } catch (...) {
    // Keep what is finished: the pending tile (if its analysis succeeds), report and mosaic.
    try {
      settle();
    } catch (const std::exception& e) {
      spdlog::error("analysis of the last tile failed too: {}", e.what());
    }
    try {
      stopSpin();
    } catch (const std::exception& e) {
      spdlog::error("stopping the polarizer after the error failed too: {}", e.what());
    }
    finish(plan, cp, out);
    throw;
  }
  finish(plan, cp, out);
  return out;
}

void ScanRunner::finish(const ScanPlan& plan, ScanCheckpoint& cp, ScanOutcome& out) {
  std::vector<const TileResult*> order;
  for (const TileResult& t : cp.tiles) order.push_back(&t);
  std::sort(order.begin(), order.end(),
            [](const TileResult* a, const TileResult* b) { return a->index < b->index; });
  std::vector<FieldCrystal> merged;
  std::vector<int> done;
  Report report;
  for (const TileResult* t : order) {
    mergeField(merged, t->crystals);
    done.push_back(t->index);
    report.stack_channels = withFieldChannels(report.stack_channels, t->channels);
  }
  report.sample = cp.acquisition.sample;
  report.fields = static_cast<int>(done.size());
  for (const FieldCrystal& c : merged) {
    report.crystals.push_back(c.record);
    report.crystals.back().id = static_cast<int>(report.crystals.size());
    if (c.needs_review) report.needs_review.push_back(report.crystals.back().id);
  }
  cp.complete = done.size() == plan.tiles.size();
  writeCheckpoint(cp, out_ / "scan.json");

  out.tiles_done = static_cast<int>(done.size());
  out.complete = cp.complete;
  out.area_um2 = plan.scannedAreaUm2(done);
  out.volume_ul = plan.volumeUl(out.area_um2);
  out.autofocus_runs = autofocus_runs_;
  out.link_recoveries = recoveries_;
  out.fallbacks = 0;
  for (const TileResult& t : cp.tiles) out.fallbacks += t.fallback.empty() ? 0 : 1;
  writeFileAtomically(out_ / "report.json",
                      scanReportJson(report, plan, cp, out.area_um2, out.volume_ul).dump(2) + "\n");

  const double s = mosaicScaleUm(plan, options_.mosaic_max_px);
  std::vector<std::pair<Tile, cv::Mat>> thumbs;
  for (int i : done) {
    const fs::path png = out_ / "tiles" / (tileName(i) + ".png");
    thumbs.emplace_back(plan.tiles[static_cast<std::size_t>(i)], cv::imread(png.string()));
  }
  const cv::Mat mosaic = composeMosaic(plan, s, thumbs, report.crystals);
  const fs::path mosaic_file = out_ / "mosaic.png";
  const fs::path tmp = out_ / "mosaic.tmp.png";
  if (!cv::imwrite(tmp.string(), mosaic)) {
    throw CheckpointError("cannot write the mosaic " + mosaic_file.string());
  }
  fs::rename(tmp, mosaic_file);
  // The same mosaic with its scale and place on the slide, for image software (Fiji, QuPath).
  const double w = plan.field_width_um + (plan.cols - 1) * plan.pitch_x_um;
  const double h = plan.field_height_um + (plan.rows - 1) * plan.pitch_y_um;
  OmeInstrument instrument;
  instrument.sample = cp.acquisition.sample;
  writeOmeTiffMosaic(
      MosaicImage{mosaic, s, plan.tiles.front().x_um - 0.5 * plan.field_width_um + 0.5 * w,
                  plan.tiles.front().y_um - 0.5 * plan.field_height_um + 0.5 * h},
      out_ / "mosaic.ome.tif", instrument);
  out.report = std::move(report);
}

nlohmann::json scanReportJson(const Report& report, const ScanPlan& plan, const ScanCheckpoint& cp,
                              double area_um2, double volume_ul) {
  nlohmann::json j = reportToJson(report);
  nlohmann::json per_ul = nlohmann::json::object();
  for (const auto& [name, n] : j["counts"].items()) {
    per_ul[name] = volume_ul > 0.0 ? n.get<int>() / volume_ul : 0.0;
  }
  nlohmann::json focus = nlohmann::json::array();
  for (const auto& p : cp.focus_points) focus.push_back({p.x_um, p.y_um, p.z_um});
  nlohmann::json fallbacks = nlohmann::json::array();
  for (const TileResult& t : cp.tiles) {
    if (!t.fallback.empty()) fallbacks.push_back({{"tile", t.index}, {"reason", t.fallback}});
  }
  j["concentration_per_ul"] = per_ul;
  j["scan"] = {{"tiles_total", plan.tiles.size()},
               {"tiles_done", cp.tiles.size()},
               {"complete", cp.complete},
               {"rows", plan.rows},
               {"cols", plan.cols},
               {"field_um", {plan.field_width_um, plan.field_height_um}},
               {"pitch_um", {plan.pitch_x_um, plan.pitch_y_um}},
               {"overlap", plan.request.overlap},
               {"scanned_area_mm2", area_um2 * 1e-6},
               {"chamber_depth_um", plan.request.chamber_depth_um},
               {"volume_ul", volume_ul},
               {"focus_points_um", focus},
               {"angles", cp.acquisition.angles},
               {"mode", cp.acquisition.mode},
               {"exposure_us", cp.acquisition.exposure_us},
               {"stop_and_go_fallback_tiles", fallbacks}};
  return j;
}

}  // namespace polscan
