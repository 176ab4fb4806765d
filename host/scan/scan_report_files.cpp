// crystals.csv, report.html, sample.json and the history row of a scan.
#include "scan/scan_report_files.hpp"

#include <fstream>

#include <nlohmann/json.hpp>

#include "history/report_record.hpp"
#include "history/sample_history.hpp"
#include "io/html_report.hpp"
#include "io/ome_tiff.hpp"
#include "io/report.hpp"
#include "io/report_csv.hpp"

namespace polscan {

namespace fs = std::filesystem;

const std::vector<ScanFolderEntry>& scanFolderEntries() {
  static const std::vector<ScanFolderEntry> entries = {
      {"scan.json", "checkpoint", false},
      {"report.json", "", false},
      {"mosaic.png", "", false},
      {"mosaic.ome.tif", "the mosaic with its scale", false},
      {"crystals.csv", "", false},
      {"report.html", "", false},
      {"sample.json", "the sample, for --resume", false},
      {"tiles/", "thumbnails", false},
      {"stacks/", "with --save-stacks", true},
  };
  return entries;
}

std::string scanFolderSummary(bool with_stacks) {
  std::string s;
  for (const ScanFolderEntry& e : scanFolderEntries()) {
    if (e.save_stacks_only && !with_stacks) continue;
    if (!s.empty()) s += ", ";
    s += e.name;
    if (!e.note.empty()) s += " (" + e.note + ")";
  }
  return s;
}

void writeScanSample(const ScanSample& s, const fs::path& dir) {
  const nlohmann::json j = {{"sample_id", s.sample_id},
                            {"sample_type", s.sample_type},
                            {"operator", s.operator_name},
                            {"history_db", s.history_db}};
  writeFileAtomically(dir / "sample.json", j.dump(2) + "\n");
}

ScanSample readScanSample(const fs::path& dir) {
  ScanSample s;
  std::ifstream in(dir / "sample.json");
  if (!in) return s;
  try {
    const nlohmann::json j = nlohmann::json::parse(in);
    s.sample_id = j.value("sample_id", "");
    s.sample_type = j.value("sample_type", "");
    s.operator_name = j.value("operator", "");
    s.history_db = j.value("history_db", "");
  } catch (const nlohmann::json::exception& e) {
    throw CheckpointError((dir / "sample.json").string() + ": " + e.what());
  }
  return s;
}

ScanReportFiles writeScanReportFiles(ScanOutcome& o, const ScanCheckpoint& cp, const ScanSample& s,
                                     const fs::path& dir, const fs::path& history_db,
                                     const std::string& instrument) {
  Report& report = o.report;
  report.sample_id = s.sample_id;
  report.sample_type = s.sample_type;
  report.operator_name = s.operator_name;
  report.date = utcNowIso8601();
  report.scanned_area_mm2 = o.area_um2 * 1e-6;
  report.chamber_depth_um = cp.request.chamber_depth_um;

  // report.json (the runner's, with the scan's own fields) gains the same sample data.
  const fs::path report_json = dir / "report.json";
  std::ifstream in_json(report_json);
  if (!in_json) throw CheckpointError("cannot read " + report_json.string());
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in_json);
  } catch (const nlohmann::json::exception& e) {
    throw CheckpointError(report_json.string() + ": " + e.what());
  }
  const nlohmann::json sample_fields = reportToJson(report);
  for (const char* key : {"sample_id", "sample_type", "operator", "date", "scanned_area_mm2",
                          "chamber_depth_um", "stack_channels", "notes"}) {
    if (sample_fields.contains(key)) j[key] = sample_fields[key];
  }
  writeFileAtomically(report_json, j.dump(2) + "\n");

  ScanReportFiles written;
  written.crystals_csv = dir / "crystals.csv";
  writeCrystalsCsv(report, written.crystals_csv);

  HtmlReportInput in;
  in.report = &report;
  const Gallery gallery;  // the scan keeps thumbnails, not the crops a gallery needs
  in.gallery = &gallery;
  in.instrument = instrument;
  const fs::path mosaic = dir / "mosaic.ome.tif";
  if (fs::exists(mosaic)) in.mosaic = readOmeTiffMosaic(mosaic);
  written.html = dir / "report.html";
  writeHtmlReport(in, written.html);

  if (o.complete && !s.sample_id.empty() && !history_db.empty()) {  // a sample counts once
    SampleHistory history(history_db);
    written.history_row = history.add(sampleRecordOf(report, report_json, written.html, dir));
  }
  return written;
}

}  // namespace polscan
