// `polscan scan`: a region of the slide, tile by tile, to counts per microlitre and a mosaic.
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>

#include "app/commands.hpp"
#include "app/instrument_session.hpp"
#include "app/progress.hpp"
#include "app/report_outputs.hpp"
#include "app/scan_imaging_options.hpp"
#include "calibration/analysis_calibration.hpp"
#include "hardware/twin/slide.hpp"
#include "history/sample_history.hpp"
#include "scan/scan_calibration.hpp"
#include "scan/scan_report_files.hpp"
#include "scan/scan_runner.hpp"

namespace polscan {

namespace fs = std::filesystem;

namespace {

// Set by SIGINT: the scan stops at once (a stack in progress is aborted and its tile discarded).
// Lock-free, so safe in a handler.
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void onInterrupt(int) {
  g_stop.store(true);
  ::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the program at once
}

struct ScanCliOptions {
  std::string out = "scan-out";
  std::string resume;
  ScanRequest request;  // region, overlap, backlash
  ScanImagingOptions imaging;
  bool no_autofocus = false;
  double focus_z_um = 0.0;
  std::string slide;
  std::string calibration;
  bool save_stacks = false;
  bool no_continuous = false;
  ReportOutputOptions sample;  // --sample-id, --sample-type, --operator, --history-db
};

void printOutcome(const ScanOutcome& o, const fs::path& out, const ScanReportFiles& files) {
  std::cout << "\n";
  printReportTable(o.report, std::cout);
  std::cout << std::fixed << std::setprecision(3) << "\nScanned " << o.tiles_done << " of "
            << o.tiles_total << " tiles, " << o.area_um2 * 1e-6
            << " mm^2 x chamber depth = " << std::setprecision(5) << o.volume_ul
            << " uL; autofocus runs " << o.autofocus_runs << ", link recoveries "
            << o.link_recoveries << "\n";
  if (o.fallbacks > 0) {
    std::cout << o.fallbacks << " tile(s) retaken stop-and-go after a failed fly-by stack "
              << "(scan.json: tiles[].fallback)\n";
  }
  std::map<CrystalClass, int> counts;
  for (const auto& c : o.report.crystals) ++counts[c.cls];
  for (const auto& [cls, n] : counts) {
    std::cout << "  " << std::left << std::setw(18) << crystalClassName(cls) << std::right
              << std::setw(5) << n << "   " << std::setprecision(1)
              << (o.volume_ul > 0 ? n / o.volume_ul : 0.0) << " per uL\n";
  }
  std::cout << "Report: " << (out / "report.json").string() << ", " << files.crystals_csv.string()
            << ", " << files.html.string() << "\nMosaic: " << (out / "mosaic.png").string() << ", "
            << (out / "mosaic.ome.tif").string() << " (OME-TIFF with its pixel size)\n";
  if (files.history_row) {
    std::cout << "Sample history: row " << *files.history_row << " (see `polscan history`)\n";
  }
  if (!o.complete) {
    std::cout << "Scan not complete: continue it with `polscan scan --resume " << out.string()
              << "`\n";
  }
}

}  // namespace

void addScanCommand(CLI::App& app, GlobalOptions& global) {
  auto opt = std::make_shared<ScanCliOptions>();
  auto* cmd = app.add_subcommand(
      "scan",
      "Scan a region of the slide tile by tile: fly-by stack per tile, analysis while the next "
      "tile is acquired, crystals on overlaps counted once, counts per uL, a mosaic with crystal "
      "marks. A checkpoint after every tile: Ctrl-C stops at once (the tile in progress is "
      "discarded) and `--resume DIR` continues an interrupted scan. A failed fly-by stack is "
      "retaken stop-and-go");
  cmd->add_option("--out", opt->out, "Scan folder: " + scanFolderSummary(true))
      ->capture_default_str();
  cmd->add_option("--resume", opt->resume,
                  "Continue the scan in this folder with its plan, settings and calibration; "
                  "sample options given again replace the stored ones, the rest are ignored");
  cmd->add_option("--x-mm", opt->request.x_mm, "Region's left edge, stage x in mm")
      ->capture_default_str();
  cmd->add_option("--y-mm", opt->request.y_mm, "Region's bottom edge, stage y in mm")
      ->capture_default_str();
  cmd->add_option("--width-mm", opt->request.width_mm, "Region width in mm")->capture_default_str();
  cmd->add_option("--height-mm", opt->request.height_mm, "Region height in mm")
      ->capture_default_str();
  cmd->add_option("--overlap", opt->request.overlap,
                  "Fraction of a field shared with each neighbour, 0-0.5")
      ->capture_default_str();
  cmd->add_option("--backlash-um", opt->request.backlash_um,
                  "Stage backlash in um: every tile is approached from -x / -y by at least this")
      ->capture_default_str();
  opt->imaging.addTo(*cmd);
  cmd->add_flag("--no-autofocus", opt->no_autofocus,
                "No autofocus or focus map: every tile at --focus-z-um");
  cmd->add_option("--focus-z-um", opt->focus_z_um,
                  "Focus in um: centre of the first autofocus search, or the fixed focus")
      ->capture_default_str();
  cmd->add_option("--slide", opt->slide,
                  "Virtual camera's slide (slide.json from `polscan slide make`); default: the "
                  "built-in demo slide");
  cmd->add_flag("--no-continuous", opt->no_continuous,
                "Fly-by: stop the polarizer after every stack (back-up, ramp and run-out per "
                "tile) instead of keeping it turning between tiles");
  opt->sample.addSampleOptionsTo(*cmd);
  cmd->add_option("--calibration", opt->calibration,
                  "Instrument calibration (`polscan calibrate`): NAME or PATH as for `analyze`; "
                  "every tile is analysed with its dark frame, polarizer offset (deg) and blank, "
                  "and its pixel size (um/px) is used unless --pixel-um is given. Kept in "
                  "scan.json: --resume analyses the remaining tiles with the same one (another "
                  "one is refused)");
  cmd->add_flag("--save-stacks", opt->save_stacks,
                "Also keep every tile's stack folder under stacks/ (about 12 MB per tile)");

  cmd->callback([opt, &global] {
    // Read before moving anything: a bad calibration should not cost a scan.
    std::optional<calibration::AnalysisCalibration> cal;
    if (!opt->calibration.empty()) {
      cal = calibration::loadAnalysisCalibration(calibration::resolveCalibration(opt->calibration));
    }
    ScanCheckpoint cp;
    fs::path out;
    if (!opt->resume.empty()) {
      out = opt->resume;
      cp = readCheckpoint(out / "scan.json");
      if (cp.complete) {
        std::cout << "The scan in " << out.string() << " is complete; nothing to resume.\n";
        return;
      }
      cal = calibrationForResume(cp.acquisition, std::move(cal), out);
      std::cout << "Resuming " << out.string() << ": " << cp.tiles.size() << " tiles already done"
                << (cal ? ", calibration " + cal->file.string() : std::string()) << "\n";
    } else {
      out = opt->out;
      if (fs::exists(out / "scan.json")) {
        throw std::runtime_error(out.string() +
                                 " already holds a scan: use --resume to continue it or "
                                 "choose another --out");
      }
      cp.request = opt->request;
      opt->imaging.applyTo(cp.request, cp.acquisition, cal ? cal->figures.pixel_um : std::nullopt);
      cp.acquisition.autofocus = !opt->no_autofocus;
      cp.acquisition.focus_z_um = opt->focus_z_um;
      cp.acquisition.slide = opt->slide.empty() ? "" : fs::absolute(opt->slide).string();
      recordScanCalibration(cp.acquisition, cal);
      // Errors in the region show before anything moves.
      planScan(cp.request, StageTravel{{-1e12, 1e12}, {-1e12, 1e12}});
      std::error_code ec;
      fs::create_directories(out, ec);
      if (ec) {
        throw std::runtime_error("cannot create the scan folder " + out.string() + ": " +
                                 ec.message());
      }
    }

    // The sample: kept in sample.json once the first tile is saved; a resume reads it, and
    // options given again replace what it says.
    ScanSample sample = opt->resume.empty() ? ScanSample{} : readScanSample(out);
    if (!opt->sample.sample_id.empty()) sample.sample_id = opt->sample.sample_id;
    if (!opt->sample.sample_type.empty()) sample.sample_type = opt->sample.sample_type;
    if (!opt->sample.operator_name.empty()) sample.operator_name = opt->sample.operator_name;
    if (!opt->sample.history_db.empty()) {
      sample.history_db = fs::absolute(opt->sample.history_db).string();
    }
    bool sample_saved = false;

    InstrumentOptions io;
    io.device = global.device;
    io.slide = cp.acquisition.slide;
    io.camera.pixel_um = cp.request.pixel_um;
    io.camera.width = cp.request.image_width_px;
    io.camera.height = cp.request.image_height_px;
    InstrumentSession session(io);
    if (opt->resume.empty()) cp.acquisition.sample = session.virtualCamera().slide().sample;

    ScanOptions so;
    so.save_stacks = opt->save_stacks;
    so.continuous = !opt->no_continuous;
    try {
      applyScanCalibration(so, cal, session.camera());
    } catch (...) {
      std::error_code ec;
      if (opt->resume.empty()) fs::remove(out, ec);  // still empty: leave no folder behind
      throw;
    }
    ScanRunner runner(
        {session.device(), session.camera(), [&session] { session.prepareForScan(); }}, out, so);
    g_stop.store(false);
    struct sigaction sa {};
    sa.sa_handler = onInterrupt;
    sigemptyset(&sa.sa_mask);
    struct sigaction previous {};
    ::sigaction(SIGINT, &sa, &previous);
    std::unique_ptr<Progress> progress;
    ScanOutcome outcome;
    try {
      outcome = runner.run(cp, g_stop, [&](const ScanProgress& p) {
        if (!sample_saved && fs::exists(out / "scan.json")) {  // the folder now holds a scan
          writeScanSample(sample, out);
          sample_saved = true;
        }
        if (!progress) progress = std::make_unique<Progress>("scan", p.remaining);
        std::ostringstream d;
        d << "tiles " << p.tiles_done << "/" << p.tiles_total << ", " << p.crystals
          << " crystals so far";
        progress->update(p.done_this_run, d.str());
      });
    } catch (...) {
      ::sigaction(SIGINT, &previous, nullptr);
      if (fs::exists(out / "scan.json")) {
        std::cerr << "polscan: the scan stopped on an error; everything finished is in "
                  << out.string() << " (continue with `polscan scan --resume " << out.string()
                  << "`)\n";
      } else if (opt->resume.empty()) {
        std::error_code ec;
        fs::remove(out, ec);  // refused before anything was written: leave no empty folder
      }
      throw;
    }
    ::sigaction(SIGINT, &previous, nullptr);
    if (g_stop.load()) {
      std::cout << "\nStopped by Ctrl-C"
                << (outcome.stopped_mid_tile ? ": the tile in progress was discarded (taken again "
                                               "on --resume).\n"
                                             : " between tiles.\n");
    }
    const ScanReportFiles files = writeScanReportFiles(
        outcome, cp, sample, out,
        sample.history_db.empty() ? defaultHistoryDb() : fs::path(sample.history_db),
        "polscan scan");
    printOutcome(outcome, out, files);
  });
}

}  // namespace polscan
