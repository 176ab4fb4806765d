// The web UI's scan job: the scan loop in a worker thread, a progress snapshot for the pages.
#include "web/scan_job.hpp"

#include <cctype>
#include <ctime>
#include <fstream>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "scan/mosaic.hpp"
#include "scan/scan_calibration.hpp"
#include "web/live_view.hpp"

namespace polscan::web {

namespace fs = std::filesystem;

namespace {

// The plan as the scan will run it; the stage's travel is checked by the runner itself.
ScanPlan planWithoutTravel(const ScanRequest& r) {
  return planScan(r, StageTravel{{-1e12, 1e12}, {-1e12, 1e12}});
}

bool running(JobState s) {
  return s == JobState::Running || s == JobState::Stopping;
}

}  // namespace

const char* jobStateName(JobState s) {
  switch (s) {
    case JobState::Idle:
      return "idle";
    case JobState::Running:
      return "running";
    case JobState::Stopping:
      return "stopping";
    case JobState::Finished:
      return "finished";
    case JobState::Stopped:
      return "stopped";
    case JobState::Failed:
      return "failed";
  }
  return "unknown";
}

bool validScanId(const std::string& id) {
  if (id.empty() || id.size() > 100) return false;
  for (const char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  }
  return true;
}

std::string newScanId(const fs::path& scans_dir) {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "scan-%Y%m%d-%H%M%S", &utc);
  std::string id = stamp;
  for (int n = 2; fs::exists(scans_dir / id); ++n)
    id = std::string(stamp) + "-" + std::to_string(n);
  return id;
}

ScanJob::ScanJob(fs::path scans_dir, InstrumentOpener opener, fs::path history_db,
                 ScanOptions options, std::optional<calibration::AnalysisCalibration> calibration)
    : scans_dir_(std::move(scans_dir)),
      opener_(std::move(opener)),
      history_db_(std::move(history_db)),
      options_(std::move(options)),
      calibration_(std::move(calibration)) {}

ScanJob::~ScanJob() {
  stop_.store(true);
  if (worker_.joinable()) worker_.join();
}

std::string ScanJob::start(const ScanJobSettings& settings) {
  const std::lock_guard control(control_);
  if (running(status().state)) {
    throw JobConflict("a scan is running (" + status().scan_id + "): stop it first");
  }
  planWithoutTravel(settings.request);  // errors in the region show before anything moves
  std::error_code ec;
  fs::create_directories(scans_dir_, ec);
  const std::string id = newScanId(scans_dir_);
  const fs::path dir = scans_dir_ / id;
  if (ec || !fs::create_directory(dir, ec)) {
    throw std::runtime_error("cannot create the scan folder " + dir.string() + ": " + ec.message());
  }
  writeScanSample(settings, dir);
  ScanCheckpoint cp;
  cp.request = settings.request;
  cp.acquisition = settings.acquisition;
  cp.acquisition.sample.clear();  // filled from the instrument's slide when it opens
  recordScanCalibration(cp.acquisition, calibration_);
  launch(id, std::move(cp), settings, calibration_);
  return id;
}

void ScanJob::resume(const std::string& scan_id) {
  const std::lock_guard control(control_);
  if (running(status().state)) {
    throw JobConflict("a scan is running (" + status().scan_id + "): stop it first");
  }
  const fs::path dir = scans_dir_ / scan_id;
  if (!validScanId(scan_id) || !fs::exists(dir / "scan.json")) {
    throw UnknownScan("no scan \"" + scan_id + "\" in " + scans_dir_.string());
  }
  ScanCheckpoint cp = readCheckpoint(dir / "scan.json");
  if (cp.complete) throw JobConflict("scan " + scan_id + " is complete; nothing to resume");
  std::optional<calibration::AnalysisCalibration> cal;
  try {
    cal = calibrationForResume(cp.acquisition, calibration_, dir);
  } catch (const std::runtime_error& e) {
    throw JobConflict(e.what());
  }
  ScanJobSettings settings;
  static_cast<ScanSample&>(settings) = readScanSample(dir);
  launch(scan_id, std::move(cp), settings, std::move(cal));
}

void ScanJob::stop() {
  const std::lock_guard control(control_);
  {
    const std::lock_guard lock(mutex_);
    if (!running(status_.state)) throw JobConflict("no scan is running");
    status_.state = JobState::Stopping;
    status_.message = "stopping after the field in progress";
  }
  stop_.store(true);
  publish();
}

void ScanJob::launch(std::string id, ScanCheckpoint cp, ScanJobSettings settings,
                     std::optional<calibration::AnalysisCalibration> cal) {
  if (worker_.joinable()) worker_.join();  // the previous scan has ended: only its thread is left
  {
    const std::lock_guard lock(mutex_);
    status_ = JobStatus{};
    status_.state = JobState::Running;
    status_.scan_id = id;
    status_.fields_done = static_cast<int>(cp.tiles.size());
    status_.fields_total = static_cast<int>(planWithoutTravel(cp.request).tiles.size());
    status_.message = cp.tiles.empty() ? "starting" : "resuming";
    started_ = std::chrono::steady_clock::now();
    live_.reset();
  }
  stop_.store(false);
  worker_ =
      std::thread([this, id = std::move(id), cp = std::move(cp), settings = std::move(settings),
                   cal = std::move(cal)]() mutable { work(id, std::move(cp), settings, cal); });
}

void ScanJob::work(const std::string& id, ScanCheckpoint cp, const ScanJobSettings& settings,
                   const std::optional<calibration::AnalysisCalibration>& cal) {
  const fs::path dir = scans_dir_ / id;
  JobState end = JobState::Failed;
  std::string message;
  try {
    const std::unique_ptr<OpenedInstrument> instrument = opener_(cp);
    if (cp.acquisition.sample.empty()) cp.acquisition.sample = instrument->sample();
    ScanInstrument inst = instrument->scanInstrument();
    ScanOptions options = options_;
    applyScanCalibration(options, cal, inst.camera);
    ScanRunner runner(inst, dir, options);
    const double field_w = cp.request.image_width_px * cp.request.pixel_um;
    const double field_h = cp.request.image_height_px * cp.request.pixel_um;
    ScanOutcome outcome = runner.run(cp, stop_, [&](const ScanProgress& p) {
      std::optional<LiveField> live;
      if (p.tile != nullptr && !cp.tiles.empty() && cp.tiles.back().index == p.tile->index) {
        const cv::Mat thumb =
            cv::imread((dir / "tiles" / (tileName(p.tile->index) + ".png")).string());
        if (!thumb.empty()) {
          live = LiveField{
              id, p.tile->index,
              encodePng(drawLiveField(thumb, *p.tile, field_w, field_h, cp.tiles.back().crystals))};
        }
      }
      {
        const std::lock_guard lock(mutex_);
        const double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
        status_.fields_done = p.tiles_done;
        status_.fields_total = p.tiles_total;
        status_.crystals = p.crystals;
        status_.eta_s.reset();
        if (p.done_this_run > 0) {
          status_.eta_s = elapsed / p.done_this_run * (p.remaining - p.done_this_run);
        }
        if (status_.state == JobState::Running) status_.message = "scanning";
        if (live) live_ = std::move(live);
      }
      publish();
    });
    writeScanReportFiles(outcome, cp, settings, dir, history_db_, "polscan scan (web UI)");
    end = outcome.complete ? JobState::Finished : JobState::Stopped;
    message = outcome.complete
                  ? "scan complete"
                  : "stopped after " + std::to_string(outcome.tiles_done) + " of " +
                        std::to_string(outcome.tiles_total) + " fields: resume it to continue";
  } catch (const std::exception& e) {
    message = "scan " + id + " failed: " + e.what();
    spdlog::error("{}", message);
    if (!fs::exists(dir / "scan.json")) {
      // Refused before anything was acquired (no instrument, region out of travel): no folder.
      std::error_code ec;
      fs::remove_all(dir, ec);
      if (ec)
        spdlog::warn("cannot remove the empty scan folder {}: {}", dir.string(), ec.message());
    }
  }
  {
    const std::lock_guard lock(mutex_);
    status_.state = end;
    status_.message = message;
    status_.eta_s.reset();
    status_.elapsed_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  }
  publish();
}

JobStatus ScanJob::status() const {
  const std::lock_guard lock(mutex_);
  JobStatus s = status_;
  if (running(s.state)) {
    s.elapsed_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  }
  return s;
}

std::optional<LiveField> ScanJob::liveField() const {
  const std::lock_guard lock(mutex_);
  return live_;
}

void ScanJob::onProgress(std::function<void(const JobStatus&)> observer) {
  const std::lock_guard lock(mutex_);
  observer_ = std::move(observer);
}

void ScanJob::publish() {
  std::function<void(const JobStatus&)> observer;
  {
    const std::lock_guard lock(mutex_);
    observer = observer_;
  }
  if (observer) observer(status());
}

void ScanJob::wait() {
  const std::lock_guard control(control_);
  if (worker_.joinable()) worker_.join();
}

}  // namespace polscan::web
