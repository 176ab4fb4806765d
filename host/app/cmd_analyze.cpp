// `polscan analyze DIR`: reconstruct, find and name crystals in stack folders; write report.json.
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "app/analysis_job.hpp"
#include "app/commands.hpp"
#include "app/progress.hpp"
#include "app/report_outputs.hpp"
#include "calibration/analysis_calibration.hpp"
#include "io/stack_file.hpp"

namespace polscan {

namespace fs = std::filesystem;

namespace {
struct AnalyzeOptions {
  std::string dir;
  std::string out;
  std::string sample;
  std::string mosaic;
  std::string calibration;
  ReportOutputOptions outputs;
};
}  // namespace

void addAnalyzeCommand(CLI::App& app, GlobalOptions&) {
  auto opt = std::make_shared<AnalyzeOptions>();
  auto* cmd = app.add_subcommand(
      "analyze",
      "Analyse a stack (a stack folder or an .ome.tif file), or a folder of stacks (one per "
      "field), and write report.json next to it (or into --out)");
  cmd->add_option("dir", opt->dir,
                  "Stack folder, OME-TIFF stack (.ome.tif), or a folder holding either")
      ->required();
  cmd->add_option("--out", opt->out, "Folder for report.json (created; default: DIR)");
  cmd->add_option("--sample", opt->sample, "Sample name for the report (default: folder name)");
  cmd->add_option("--mosaic", opt->mosaic,
                  "Mosaic image of the slide (.ome.tif with pixel size and centre) to show in "
                  "report.html with the crystals marked (default: an overview of the fields)");
  cmd->add_option("--calibration", opt->calibration,
                  "Instrument calibration (`polscan calibrate`): an instrument NAME (under "
                  "$POLSCAN_CALIBRATION_DIR or ~/.config/polscan/instruments) or a PATH to "
                  "calibration.json; its dark frame is subtracted, its polarizer offset (deg) "
                  "added to every angle, its blank used where a stack names none and its pixel "
                  "size (um/px) taken. Default: the calibration a stack was acquired with, if any");
  opt->outputs.addTo(*cmd);
  cmd->callback([opt] {
    const fs::path dir = opt->dir;
    const auto folders = findStackFolders(dir);
    const fs::path out = !opt->out.empty()       ? fs::path(opt->out)
                         : fs::is_directory(dir) ? dir
                                                 : dir.parent_path();
    std::error_code ec;
    fs::create_directories(out, ec);
    if (ec || !fs::is_directory(out)) {
      throw std::runtime_error("cannot create output folder " + out.string() +
                               (ec ? ": " + ec.message() : ""));
    }
    ReportBuilder builder(opt->sample.empty() ? fs::absolute(dir).filename().string()
                                              : opt->sample);
    // Load the calibration before the first field: a bad one should not cost analysis time.
    if (!opt->calibration.empty()) {
      builder.useCalibration(calibration::resolveCalibration(opt->calibration));
    }
    // Read the mosaic first: a bad file should not cost the analysis time.
    std::optional<MosaicImage> mosaic;
    if (!opt->mosaic.empty()) mosaic = readOmeTiffMosaic(opt->mosaic);
    builder.collectImages(opt->outputs.html);
    Progress progress("analyse", static_cast<int>(folders.size()));
    for (std::size_t i = 0; i < folders.size(); ++i) {
      builder.addField(readStack(folders[i]));
      progress.update(static_cast<int>(i + 1), folders[i].filename().string());
    }
    Report report = builder.report();
    printReportTable(report, std::cout);
    const ReportOutputs written =
        writeReportOutputs(report, builder, opt->outputs, out, dir, mosaic, "");
    printReportOutputs(written, opt->outputs, std::cout);
  });
}

}  // namespace polscan
