// What `polscan analyze` and `polscan demo` write after the analysis: report.json, crystals.csv,
// report.html, and a row in the sample history.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "app/analysis_job.hpp"
#include "io/ome_tiff.hpp"
#include "io/report.hpp"

namespace polscan {

struct ReportOutputOptions {
  std::string sample_id;
  std::string sample_type;  // synovial-fluid / urine
  std::string operator_name;
  double chamber_depth_um = 0.0;  // 0: unknown (no per-microlitre concentrations)
  bool html = true;
  std::string history_db;  // empty: defaultHistoryDb()

  // Registers --sample-id, --sample-type, --operator and --history-db on cmd.
  void addSampleOptionsTo(CLI::App& cmd);
  // The sample options plus --chamber-depth-um and --html/--no-html.
  void addTo(CLI::App& cmd);
};

struct ReportOutputs {
  std::filesystem::path report_json, crystals_csv, html;  // html empty when not written
  std::optional<std::int64_t> history_row;                // set when a history row was added
};

// Fills the report's sample data from the options, then writes report.json, crystals.csv and
// (unless --no-html) report.html into out; with --sample-id, adds a row to the history.
// mosaic: shown with marks in the HTML (default: the builder's overview of the fields).
ReportOutputs writeReportOutputs(Report& report, const ReportBuilder& builder,
                                 const ReportOutputOptions& options,
                                 const std::filesystem::path& out,
                                 const std::filesystem::path& data_path,
                                 const std::optional<MosaicImage>& mosaic,
                                 const std::string& instrument);

// Prints where everything went.
void printReportOutputs(const ReportOutputs& written, const ReportOutputOptions& options,
                        std::ostream& out);

}  // namespace polscan
