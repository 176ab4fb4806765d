// What a finished (or stopped) scan leaves for the lab besides report.json and the mosaic:
// crystals.csv, report.html, the sample data kept beside scan.json, and the sample-history row.
// `polscan scan` and the web UI's scan job both write them through here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "scan/scan_checkpoint.hpp"
#include "scan/scan_runner.hpp"

namespace polscan {

// Who and what the scanned slide is. Kept in DIR/sample.json so that a resumed scan reports it.
struct ScanSample {
  std::string sample_id;    // when set, a completed scan is recorded in the sample history
  std::string sample_type;  // synovial-fluid / urine
  std::string operator_name;
  // The history database the sample goes into (empty: the caller's default). Kept so that
  // `polscan scan --resume` records the sample where the first run was told to.
  std::string history_db;
};

void writeScanSample(const ScanSample& sample, const std::filesystem::path& dir);
// Empty when DIR has no sample.json; CheckpointError naming the file when it is not valid JSON.
ScanSample readScanSample(const std::filesystem::path& dir);

// One thing a scan folder holds: its name (a folder's ends in '/') and, for the help texts, a
// short note (may be empty).
struct ScanFolderEntry {
  std::string name;
  std::string note;
  bool save_stacks_only = false;  // written only with `polscan scan --save-stacks`
};
// Everything the scan runner and writeScanReportFiles put into a scan folder (`polscan scan
// --out`, the web UI's scans), in the order of the README's table.
const std::vector<ScanFolderEntry>& scanFolderEntries();
// The entries as one line for a help text: "scan.json (checkpoint), report.json, ...".
// with_stacks: also name stacks/ (only `polscan scan` has --save-stacks).
std::string scanFolderSummary(bool with_stacks);

struct ScanReportFiles {
  std::filesystem::path crystals_csv, html;
  std::optional<std::int64_t> history_row;  // set when the scan was recorded in the history
};

// Fills the outcome's report with the sample data, date, scanned area and chamber depth (also
// into DIR/report.json, which the runner wrote), then writes DIR/crystals.csv and DIR/report.html
// (with the mosaic from DIR/mosaic.ome.tif when the runner wrote one), also for a stopped scan
// (what it has so far). A complete scan with a sample id is added to the history database (none
// when history_db is empty). instrument: the HTML's "instrument" line.
ScanReportFiles writeScanReportFiles(ScanOutcome& outcome, const ScanCheckpoint& cp,
                                     const ScanSample& sample, const std::filesystem::path& dir,
                                     const std::filesystem::path& history_db,
                                     const std::string& instrument);

}  // namespace polscan
