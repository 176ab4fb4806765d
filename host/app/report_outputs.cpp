// Writes the report files and the history row; the history comes last so a database problem
// never costs the report files (the error still names the database).
#include "app/report_outputs.hpp"

#include <ostream>

#include "history/report_record.hpp"
#include "history/sample_history.hpp"
#include "io/html_report.hpp"
#include "io/report_csv.hpp"

namespace polscan {

namespace fs = std::filesystem;

void ReportOutputOptions::addSampleOptionsTo(CLI::App& cmd) {
  cmd.add_option("--sample-id", sample_id,
                 "The lab's sample identifier; when given, the sample is recorded in the history "
                 "(see `polscan history`)");
  cmd.add_option("--sample-type", sample_type, "Sample type: synovial-fluid or urine")
      ->check(CLI::IsMember({"synovial-fluid", "urine"}));
  cmd.add_option("--operator", operator_name, "Who ran the sample (for the report and history)");
  cmd.add_option("--history-db", history_db,
                 "Sample history database (SQLite; default " + defaultHistoryDb().string() + ")");
}

void ReportOutputOptions::addTo(CLI::App& cmd) {
  addSampleOptionsTo(cmd);
  cmd.add_option("--chamber-depth-um", chamber_depth_um,
                 "Depth of the counting chamber in micrometres: gives concentrations per "
                 "microlitre (default: unknown, per mm2 only)")
      ->check(CLI::NonNegativeNumber);
  cmd.add_flag("--html,!--no-html", html,
               "Write report.html, a self-contained HTML report (default: on)");
}

ReportOutputs writeReportOutputs(Report& report, const ReportBuilder& builder,
                                 const ReportOutputOptions& o, const fs::path& out,
                                 const fs::path& data_path,
                                 const std::optional<MosaicImage>& mosaic,
                                 const std::string& instrument) {
  report.sample_id = o.sample_id;
  report.sample_type = o.sample_type;
  report.operator_name = o.operator_name;
  if (o.chamber_depth_um > 0) report.chamber_depth_um = o.chamber_depth_um;
  if (report.date.empty()) report.date = utcNowIso8601();

  ReportOutputs w;
  w.report_json = out / "report.json";
  writeReport(report, w.report_json);
  w.crystals_csv = out / "crystals.csv";
  writeCrystalsCsv(report, w.crystals_csv);
  if (o.html) {
    const Gallery gallery = builder.gallery();
    HtmlReportInput in;
    in.report = &report;
    in.gallery = &gallery;
    in.instrument = instrument;
    if (mosaic) {
      in.mosaic = mosaic;
    } else if (!builder.overview().empty()) {
      in.mosaic = builder.overview().mosaic();
    }
    w.html = out / "report.html";
    writeHtmlReport(in, w.html);
  }
  if (!o.sample_id.empty()) {
    SampleHistory history(o.history_db.empty() ? defaultHistoryDb() : fs::path(o.history_db));
    w.history_row = history.add(sampleRecordOf(report, w.report_json, w.html, data_path));
  }
  return w;
}

void printReportOutputs(const ReportOutputs& w, const ReportOutputOptions& o, std::ostream& out) {
  out << "Report written to " << w.report_json.string() << "\n";
  out << "Crystal table written to " << w.crystals_csv.string() << "\n";
  if (!w.html.empty()) out << "HTML report written to " << w.html.string() << "\n";
  if (w.history_row) {
    out << "Recorded sample " << o.sample_id << " in the history "
        << (o.history_db.empty() ? defaultHistoryDb().string() : o.history_db) << "\n";
  }
}

}  // namespace polscan
