// The web UI's scan job: the scan loop in a worker thread, a progress snapshot for the pages.
#include "web/scan_job.hpp"

#include <cctype>
#include <ctime>
#include <fstream>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "common/crystal_class.hpp"
#include "history/sample_history.hpp"
#include "io/html_report.hpp"
#include "io/report_csv.hpp"
#include "scan/mosaic.hpp"
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

// The sample data of a web scan, kept beside scan.json so a resumed scan reports it too.
void writeSampleData(const ScanJobSettings& s, const fs::path& dir) {
  const nlohmann::json j = {
      {"sample_id", s.sample_id}, {"sample_type", s.sample_type}, {"operator", s.operator_name}};
  writeFileAtomically(dir / "sample.json", j.dump(2) + "\n");
}

ScanJobSettings readSampleData(const fs::path& dir) {
  ScanJobSettings s;
  std::ifstream in(dir / "sample.json");
  if (!in) return s;  // a scan started from the command line has none
  try {
    const nlohmann::json j = nlohmann::json::parse(in);
    s.sample_id = j.value("sample_id", "");
    s.sample_type = j.value("sample_type", "");
    s.operator_name = j.value("operator", "");
  } catch (const nlohmann::json::exception& e) {
    throw CheckpointError((dir / "sample.json").string() + ": " + e.what());
  }
  return s;
}

// crystals.csv and report.html next to the runner's report.json and mosaic.png (also for a
// stopped scan: what it has so far), and the history row when a scan with a sample id completes.
void writeReportFiles(ScanOutcome& o, const ScanCheckpoint& cp, const ScanJobSettings& s,
                      const fs::path& dir, const fs::path& history_db, int mosaic_max_px) {
  Report& report = o.report;
  report.sample_id = s.sample_id;
  report.sample_type = s.sample_type;
  report.operator_name = s.operator_name;
  report.date = utcNowIso8601();
  report.scanned_area_mm2 = o.area_um2 * 1e-6;
  report.chamber_depth_um = cp.request.chamber_depth_um;
  writeCrystalsCsv(report, dir / "crystals.csv");

  HtmlReportInput in;
  in.report = &report;
  const Gallery gallery;  // the scan keeps thumbnails, not the crops a gallery needs
  in.gallery = &gallery;
  in.instrument = "polscan scan (web UI)";
  const cv::Mat mosaic = cv::imread((dir / "mosaic.png").string(), cv::IMREAD_COLOR);
  if (!mosaic.empty()) {
    const ScanPlan plan = planWithoutTravel(cp.request);
    const double w = plan.field_width_um + (plan.cols - 1) * plan.pitch_x_um;
    const double h = plan.field_height_um + (plan.rows - 1) * plan.pitch_y_um;
    in.mosaic = MosaicImage{mosaic, mosaicScaleUm(plan, mosaic_max_px),
                            plan.tiles.front().x_um - 0.5 * plan.field_width_um + 0.5 * w,
                            plan.tiles.front().y_um - 0.5 * plan.field_height_um + 0.5 * h};
  }
  writeHtmlReport(in, dir / "report.html");

  if (o.complete && !s.sample_id.empty() && !history_db.empty()) {  // a sample counts once
    SampleHistory history(history_db);
    SampleRecord r;
    r.sample_id = s.sample_id;
    r.sample_type = s.sample_type;
    r.date = report.date;
    r.operator_name = s.operator_name;
    r.sample_name = report.sample;
    r.fields = report.fields;
    r.scanned_area_mm2 = report.scanned_area_mm2;
    for (const auto& [cls, n] : countsByClass(report))
      r.counts[std::string(crystalClassName(cls))] = n;
    r.report_path = fs::absolute(dir / "report.json").string();
    r.html_path = fs::absolute(dir / "report.html").string();
    r.data_path = fs::absolute(dir).string();
    history.add(r);
  }
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
                 ScanOptions options)
    : scans_dir_(std::move(scans_dir)),
      opener_(std::move(opener)),
      history_db_(std::move(history_db)),
      options_(std::move(options)) {}

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
  writeSampleData(settings, dir);
  ScanCheckpoint cp;
  cp.request = settings.request;
  cp.acquisition = settings.acquisition;
  cp.acquisition.sample.clear();  // filled from the instrument's slide when it opens
  launch(id, std::move(cp), settings);
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
  launch(scan_id, std::move(cp), readSampleData(dir));
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

void ScanJob::launch(std::string id, ScanCheckpoint cp, ScanJobSettings settings) {
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
  worker_ = std::thread(
      [this, id = std::move(id), cp = std::move(cp), settings = std::move(settings)]() mutable {
        work(id, std::move(cp), settings);
      });
}

void ScanJob::work(const std::string& id, ScanCheckpoint cp, const ScanJobSettings& settings) {
  const fs::path dir = scans_dir_ / id;
  JobState end = JobState::Failed;
  std::string message;
  try {
    const std::unique_ptr<OpenedInstrument> instrument = opener_(cp);
    if (cp.acquisition.sample.empty()) cp.acquisition.sample = instrument->sample();
    ScanRunner runner(instrument->scanInstrument(), dir, options_);
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
    writeReportFiles(outcome, cp, settings, dir, history_db_, options_.mosaic_max_px);
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
