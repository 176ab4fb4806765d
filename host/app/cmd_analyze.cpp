// `polscan analyze DIR`: reconstruct, find and name crystals in stack folders; write report.json.
#include <filesystem>
#include <iostream>
#include <memory>

#include "app/analysis_job.hpp"
#include "app/commands.hpp"
#include "app/progress.hpp"
#include "io/stack_file.hpp"

namespace polscan {

namespace fs = std::filesystem;

namespace {
struct AnalyzeOptions {
  std::string dir;
  std::string out;
  std::string sample;
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
    Progress progress("analyse", static_cast<int>(folders.size()));
    for (std::size_t i = 0; i < folders.size(); ++i) {
      builder.addField(readStack(folders[i]));
      progress.update(static_cast<int>(i + 1), folders[i].filename().string());
    }
    const Report report = builder.report();
    printReportTable(report, std::cout);
    writeReport(report, out / "report.json");
    std::cout << "Report written to " << (out / "report.json").string() << "\n";
  });
}

}  // namespace polscan
