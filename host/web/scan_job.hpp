// One scan at a time for the web UI: runs in a worker thread, reports progress, stops on request,
// resumes an interrupted scan; writes the report files and the history row when it ends.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "calibration/analysis_calibration.hpp"
#include "scan/scan_checkpoint.hpp"
#include "scan/scan_report_files.hpp"
#include "scan/scan_runner.hpp"

namespace polscan::web {

// The request cannot be served in the job's present state (a scan already runs, none to stop).
class JobConflict : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// No scan folder of that id under the scans folder.
class UnknownScan : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The instrument a scan drives, opened for one scan and closed when it ends. The application
// provides it (firmware simulator + virtual camera, or a real link and camera).
class OpenedInstrument {
 public:
  virtual ~OpenedInstrument() = default;
  virtual ScanInstrument scanInstrument() = 0;
  // The sample the slide holds ("synovial-fluid", ...), recorded in a new scan's checkpoint.
  virtual std::string sample() = 0;
};
using InstrumentOpener = std::function<std::unique_ptr<OpenedInstrument>(const ScanCheckpoint&)>;

// What the web form asks for.
struct ScanJobSettings : ScanSample {  // the sample: id, type, operator
  ScanRequest request;                 // pixel_um already set
  ScanAcquisition acquisition;
};

enum class JobState { Idle, Running, Stopping, Finished, Stopped, Failed };
const char* jobStateName(JobState s);

struct JobStatus {
  JobState state = JobState::Idle;
  std::string scan_id;
  int fields_done = 0;  // including fields finished before a resume
  int fields_total = 0;
  std::size_t crystals = 0;     // after the overlap merge
  std::optional<double> eta_s;  // unknown until a field finished in this run
  double elapsed_s = 0.0;       // of this run
  std::string message;          // the error of a failed scan, or what happened
};

// The latest analysed field as PNG with its crystals outlined and labelled.
struct LiveField {
  std::string scan_id;
  int field = -1;
  std::vector<unsigned char> png;
};

class ScanJob {
 public:
  // scans_dir: one folder per scan (its id); history_db: empty = no history rows.
  // calibration: what every new scan is analysed with (`serve --calibration`; recorded in its
  // scan.json); a resumed scan keeps its own (see calibrationForResume).
  ScanJob(std::filesystem::path scans_dir, InstrumentOpener opener,
          std::filesystem::path history_db = {}, ScanOptions options = {},
          std::optional<calibration::AnalysisCalibration> calibration = {});
  ~ScanJob();  // stops a running scan after its field in progress and waits for it
  ScanJob(const ScanJob&) = delete;
  ScanJob& operator=(const ScanJob&) = delete;

  // Starts a new scan in a new folder; returns its id. ScanPlanError for a bad region,
  // JobConflict while another scan runs.
  std::string start(const ScanJobSettings& settings);
  // Asks the running scan to end after the field in progress. JobConflict when none runs.
  void stop();
  // Continues an interrupted scan with the calibration it was started with. UnknownScan,
  // JobConflict (running, already complete, or started with another calibration than this
  // server's).
  void resume(const std::string& scan_id);

  JobStatus status() const;
  std::optional<LiveField> liveField() const;
  // Called (from the worker thread) after every field and when the scan ends.
  void onProgress(std::function<void(const JobStatus&)> observer);
  // Blocks until no scan runs (tests, shutdown).
  void wait();

  const std::filesystem::path& scansDir() const { return scans_dir_; }

 private:
  void launch(std::string id, ScanCheckpoint cp, ScanJobSettings settings,
              std::optional<calibration::AnalysisCalibration> cal);
  void work(const std::string& id, ScanCheckpoint cp, const ScanJobSettings& settings,
            const std::optional<calibration::AnalysisCalibration>& cal);
  void publish();

  std::filesystem::path scans_dir_;
  InstrumentOpener opener_;
  std::filesystem::path history_db_;
  ScanOptions options_;
  std::optional<calibration::AnalysisCalibration> calibration_;

  std::mutex control_;        // one start / stop / resume at a time
  mutable std::mutex mutex_;  // guards the snapshot below
  JobStatus status_;
  std::optional<LiveField> live_;
  std::function<void(const JobStatus&)> observer_;
  std::chrono::steady_clock::time_point started_;
  std::atomic<bool> stop_{false};
  std::thread worker_;
};

// A new scan id from the current UTC time ("scan-20261127-104512"), unique in scans_dir.
std::string newScanId(const std::filesystem::path& scans_dir);
// True for ids made only of letters, digits, '-' and '_' (no path can be smuggled in).
bool validScanId(const std::string& id);

}  // namespace polscan::web
