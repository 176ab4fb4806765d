// The scan loop: per tile move, focus, stack; analysis of tile k while tile k+1 is acquired;
// a checkpoint after every finished tile; reconnect and retry on a lost link.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "analysis/field_analysis.hpp"
#include "camera/camera.hpp"
#include "device/device_client.hpp"
#include "io/report.hpp"
#include "scan/focus.hpp"
#include "scan/scan_checkpoint.hpp"
#include "scan/scan_plan.hpp"

namespace polscan {

struct ScanOptions {
  AutofocusOptions focus;
  // Autofocus result kept only when the metric's peak stands this far above its floor
  // (best / worst - 1); below it the field is empty and its "best" z means nothing.
  double focus_min_contrast = 0.1;
  // Refocus (autofocus here, add the point to the map) when a tile's metric falls below this
  // fraction of the focus map's typical metric.
  double refocus_drop = 0.3;
  int link_retries = 3;  // reconnect + retry a tile this often before giving up
  std::chrono::milliseconds reconnect_wait{5000};
  bool save_stacks = false;  // every tile's stack folder under stacks/ (large)
  // Fly-by: the polarizer keeps turning between tiles (continuous fly-by: no back-up, ramp or
  // run-out per stack; the stage moves while it turns). Stopped for stop-and-go and focusing.
  bool continuous = true;
  int mosaic_max_px = 4000;
  // Instrument calibration for the analysis of every tile (calibration/analysis_calibration.hpp):
  // dark frame, polarizer offset, and the blank stack for background correction (none: null).
  analysis::ReconstructionOptions reconstruction;
  std::shared_ptr<const Stack> blank;
};

struct ScanProgress {
  int tiles_done = 0;  // overall, including tiles finished before a resume
  int tiles_total = 0;
  int done_this_run = 0;     // for the rate / ETA
  int remaining = 0;         // when this run started
  std::size_t crystals = 0;  // after the overlap merge
  const Tile* tile = nullptr;
};

struct ScanOutcome {
  int tiles_done = 0, tiles_total = 0;
  bool complete = false;
  Report report;
  double area_um2 = 0, volume_ul = 0;
  int autofocus_runs = 0, link_recoveries = 0;
  int fallbacks = 0;              // tiles retaken stop-and-go after a failed fly-by stack
  bool stopped_mid_tile = false;  // `stop` came during a stack: that tile was discarded
};

// The instrument the loop drives. prepare() brings it to a known state (homed, LED on); it is
// called at the start and again after every reconnect.
struct ScanInstrument {
  DeviceClient& device;
  Camera& camera;
  std::function<void()> prepare;
};

class ScanRunner {
 public:
  // out: the scan folder (scan.json, report.json, mosaic.png, tiles/, stacks/).
  ScanRunner(ScanInstrument instrument, std::filesystem::path out, ScanOptions options = {});

  // Runs the tiles the checkpoint does not hold yet, in plan order; returns when all are done or
  // as soon as `stop` becomes true: a stack in progress is stopped (firmware Abort) and that
  // tile discarded (a resume takes it again); the tile before it is still analysed and kept.
  // Writes scan.json after each tile and report.json + mosaic.png at the end (also when
  // stopped). A fly-by stack that fails (refused, instrument fault, missed trigger, frame count
  // mismatch, camera timeout) is retaken stop-and-go and the tile's `fallback` says why.
  // Throws after writing what it has.
  ScanOutcome run(ScanCheckpoint& checkpoint, const std::atomic<bool>& stop,
                  const std::function<void(const ScanProgress&)>& progress = {});

 private:
  StageTravel travel();
  void moveTo(const ScanPlan& plan, const Tile& tile, double z_um);
  Stack acquireOnce(const ScanCheckpoint& cp, bool fly_by);
  // Moves to the tile and takes its stack; fallback gets the reason when fly-by failed.
  Stack acquireTile(const ScanPlan& plan, const Tile& tile, double z_um, const ScanCheckpoint& cp,
                    std::string& fallback);
  double flyBySpeed(const std::vector<double>& angles);
  void stopSpin();
  double measureFocus(const ScanCheckpoint& cp, double z_um);
  void buildFocusMap(const ScanPlan& plan, ScanCheckpoint& cp);
  std::optional<FocusPoint> focusAt(const ScanPlan& plan, const Tile& tile, ScanCheckpoint& cp);
  template <typename F>
  auto withRecovery(F&& f) -> decltype(f());
  TileResult analyse(const Stack& stack, const Tile& tile, double um_per_px);
  void finish(const ScanPlan& plan, ScanCheckpoint& cp, ScanOutcome& out);

  ScanInstrument inst_;
  std::filesystem::path out_;
  ScanOptions options_;
  analysis::FieldAnalyzer analyzer_;  // used by one analysis at a time (the worker)
  std::optional<Tile> at_;            // where the stage was last approached to (backlash state)
  double z_now_ = -1.0;
  FocusMap map_;
  int autofocus_runs_ = 0;
  int recoveries_ = 0;
  bool spinning_ = false;  // the polarizer may still turn after a continuous fly-by stack
  const std::atomic<bool>* stop_ = nullptr;
  double polarizer_max_deg_s_ = 0.0;  // from Info; 0 = unknown
  bool warned_pace_ = false;
};

// A tile's file name without extension ("tile_0007"): tiles/<name>.png, stacks/<name>/.
std::string tileName(int index);

// report.json of a scan: io/report's schema plus "scan": tiles, area, volume, concentration.
nlohmann::json scanReportJson(const Report& report, const ScanPlan& plan, const ScanCheckpoint& cp,
                              double area_um2, double volume_ul);

}  // namespace polscan
