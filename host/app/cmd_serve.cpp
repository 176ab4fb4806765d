// `polscan serve`: the web UI, served by this process, driving scans on the instrument.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>

#include <spdlog/spdlog.h>

#include "app/commands.hpp"
#include "app/instrument_session.hpp"
#include "app/scan_imaging_options.hpp"
#include "calibration/analysis_calibration.hpp"
#include "hardware/twin/slide.hpp"
#include "history/sample_history.hpp"
#include "scan/scan_report_files.hpp"
#include "web/http_server.hpp"
#include "web/scan_job.hpp"
#include "web/web_api.hpp"

namespace polscan {

namespace fs = std::filesystem;

namespace {

struct ServeOptions {
  std::string bind = "127.0.0.1";
  int port = 8080;
  std::string token;
  std::string scans_dir = "polscan-scans";
  std::string history_db;
  std::string slide;
  std::string calibration;
  ScanImagingOptions imaging;
};

// The server's instrument: opened by the first scan and kept, homed, for the next one (a resumed
// scan does not wait for the instrument to start and home again). Reopened when a scan needs
// other camera settings or the kept session no longer answers. Scans run one at a time.
class InstrumentCache {
 public:
  std::shared_ptr<InstrumentSession> open(const InstrumentOptions& o) {
    const std::lock_guard lock(mutex_);
    if (session_ && sameInstrument(o, options_)) {
      try {
        session_->device().getStatus();
        return session_;
      } catch (const std::exception& e) {
        spdlog::warn("the instrument kept from the last scan does not answer ({}): reopening",
                     e.what());
      }
    }
    session_.reset();  // one simulator / link at a time
    session_ = std::make_shared<InstrumentSession>(o);
    options_ = o;
    return session_;
  }

 private:
  static bool sameInstrument(const InstrumentOptions& a, const InstrumentOptions& b) {
    return a.device == b.device && a.camera_address == b.camera_address &&
           a.camera_trigger == b.camera_trigger && a.slide == b.slide &&
           a.camera.pixel_um == b.camera.pixel_um && a.camera.width == b.camera.width &&
           a.camera.height == b.camera.height;
  }

  std::mutex mutex_;
  std::shared_ptr<InstrumentSession> session_;
  InstrumentOptions options_;
};

// The instrument of one web scan.
class SessionInstrument : public web::OpenedInstrument {
 public:
  explicit SessionInstrument(std::shared_ptr<InstrumentSession> s) : session_(std::move(s)) {}

  ScanInstrument scanInstrument() override {
    return {session_->device(), session_->camera(), [this] { session_->prepareForScan(); }};
  }
  std::string sample() override {
    return session_->hasVirtualCamera() ? session_->virtualCamera().slide().sample : std::string();
  }

 private:
  std::shared_ptr<InstrumentSession> session_;
};

}  // namespace

void addServeCommand(CLI::App& app, GlobalOptions& global) {
  auto opt = std::make_shared<ServeOptions>();
  auto* cmd = app.add_subcommand(
      "serve",
      "Serve the web UI: start / stop / resume a scan with progress and a live view of the "
      "latest field with its crystals outlined, the results with report downloads (HTML, JSON, "
      "CSV) and the sample history. Listens on 127.0.0.1 only unless --bind names another "
      "address, which needs --token (then every request must carry the token). Ctrl-C stops "
      "the server after the field in progress");
  cmd->add_option("--port", opt->port, "TCP port; 0 picks a free port (printed at start)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--bind", opt->bind,
                  "IP address to listen on; anything but loopback (127.0.0.1, ::1) needs --token")
      ->capture_default_str();
  cmd->add_option("--token", opt->token,
                  "Access token: every request must send it (header X-Polscan-Token, "
                  "Authorization: Bearer, or ?token= in the page's address)");
  cmd->add_option("--scans-dir", opt->scans_dir,
                  "Folder of the scans, one subfolder per scan: " + scanFolderSummary(false))
      ->capture_default_str();
  cmd->add_option("--history-db", opt->history_db,
                  "Sample history database (SQLite; default " + defaultHistoryDb().string() +
                      "); scans started with a sample id are recorded in it");
  cmd->add_option("--slide", opt->slide,
                  "Virtual camera's slide (slide.json from `polscan slide make`); default: the "
                  "built-in demo slide");
  cmd->add_option("--calibration", opt->calibration,
                  "Instrument calibration (`polscan calibrate`, NAME or PATH) every scan started "
                  "here is analysed with (recorded in its scan.json; a resumed scan keeps the one "
                  "it was started with, and one started with another is refused)");
  opt->imaging.addTo(*cmd);

  cmd->callback([opt, &global] {
    web::checkBindAddress(opt->bind, opt->token);
    // Read before serving: a bad calibration should show now, not at the first scan.
    std::optional<calibration::AnalysisCalibration> cal;
    if (!opt->calibration.empty()) {
      cal = calibration::loadAnalysisCalibration(calibration::resolveCalibration(opt->calibration));
    }

    web::WebConfig config;
    config.token = opt->token;
    config.history_db = opt->history_db.empty() ? defaultHistoryDb() : fs::path(opt->history_db);
    web::ScanJobSettings& d = config.defaults;
    opt->imaging.applyTo(d.request, d.acquisition, cal ? cal->figures.pixel_um : std::nullopt);
    d.acquisition.slide = opt->slide.empty() ? "" : fs::absolute(opt->slide).string();
    if (!d.acquisition.slide.empty()) twin::loadSlide(d.acquisition.slide);  // fail now, not later

    const std::string device = global.device;
    const std::string camera = global.camera;
    const std::string trigger = global.camera_trigger;
    InstrumentCache instruments;  // outlives the job, whose scans use it
    web::ScanJob job(
        opt->scans_dir,
        [device, camera, trigger, &instruments](const ScanCheckpoint& cp) {
          InstrumentOptions io;
          io.device = device;
          io.camera_address = camera;
          io.camera_trigger = trigger;
          io.slide = cp.acquisition.slide;
          io.camera.pixel_um = cp.request.pixel_um;
          io.camera.width = cp.request.image_width_px;
          io.camera.height = cp.request.image_height_px;
          return std::make_unique<SessionInstrument>(instruments.open(io));
        },
        config.history_db, ScanOptions{}, cal);
    auto print_mutex = std::make_shared<std::mutex>();
    job.onProgress([print_mutex](const web::JobStatus& s) {
      const std::lock_guard lock(*print_mutex);
      std::fprintf(
          stderr, "scan %s  %s  fields %d/%d  crystals %zu  elapsed %.1f s  ETA %s  %s\n",
          s.scan_id.c_str(), web::jobStateName(s.state), s.fields_done, s.fields_total, s.crystals,
          s.elapsed_s,
          s.eta_s ? (std::to_string(static_cast<int>(*s.eta_s + 0.5)) + " s").c_str() : "-",
          s.message.c_str());
    });
    const web::WebApi api(job, config);
    web::HttpServer server(opt->bind, static_cast<unsigned short>(opt->port),
                           [&api](const web::Request& r) { return api.handle(r); });
    std::cout << "polscan web UI on " << server.url() << (opt->token.empty() ? "" : "?token=TOKEN")
              << "  (scans in " << fs::absolute(opt->scans_dir).string() << "; Ctrl-C to stop)"
              << std::endl;
    server.runUntilSignal();
    const web::JobState state = job.status().state;
    if (state == web::JobState::Running || state == web::JobState::Stopping) {
      std::cout << "Stopping the scan after the field in progress..." << std::endl;
    }
  });
}

}  // namespace polscan
