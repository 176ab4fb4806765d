// `polscan demo`: the whole path on the virtual instrument, from firmware simulator to report.
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <set>

#include "acquisition/stack_acquirer.hpp"
#include "app/analysis_job.hpp"
#include "app/commands.hpp"
#include "app/instrument_session.hpp"
#include "app/progress.hpp"
#include "app/report_outputs.hpp"
#include "app/stack_options.hpp"
#include "hardware/twin/slide.hpp"
#include "io/stack_folder.hpp"

namespace polscan {

namespace fs = std::filesystem;

namespace {
struct DemoOptions {
  std::string out = "demo-out";
  StackOptions stack;
  ReportOutputOptions outputs;
};

// Field centres on the built-in slide (slide micrometres), each 1024 x 768 px at 0.4 um/px.
constexpr std::pair<double, double> kDemoFields[] = {{0, 0}, {300, 0}, {0, 300}, {300, 300}};

void printTruthComparison(const twin::Slide& slide, const Report& report,
                          const VirtualCameraConfig& cam, std::ostream& out) {
  std::map<std::string, int> truth;
  std::set<int> seen;  // fields overlap: count each object once
  for (const auto& [x, y] : kDemoFields) {
    for (const twin::CrystalSpec* c :
         twin::objectsInField(slide, x, y, cam.width * cam.pixel_um, cam.height * cam.pixel_um)) {
      if (seen.insert(c->id).second) ++truth[std::string(crystalClassName(c->cls))];
    }
  }
  std::map<std::string, int> found;
  for (const auto& c : report.crystals) ++found[std::string(crystalClassName(c.cls))];
  out << "\nVirtual slide ground truth vs found (fields scanned):\n";
  for (CrystalClass cls : kAllCrystalClasses) {
    const std::string name(crystalClassName(cls));
    if (truth[name] == 0 && found[name] == 0) continue;
    out << "  " << std::left << std::setw(18) << name << std::right << " truth " << std::setw(3)
        << truth[name] << "   found " << std::setw(3) << found[name] << "\n";
  }
}
}  // namespace

void addDemoCommand(CLI::App& app, GlobalOptions& global) {
  auto opt = std::make_shared<DemoOptions>();
  auto* cmd = app.add_subcommand(
      "demo",
      "Scan the built-in virtual slide (CPPD and calcium oxalate crystals) through the "
      "firmware simulator: home, acquire a stack per field, analyse, and print and save "
      "the crystal report");
  cmd->add_option("--out", opt->out,
                  "Output folder (stacks, report.json, crystals.csv, report.html, "
                  "mosaic.ome.tif, truth.json)")
      ->capture_default_str();
  opt->stack.addTo(*cmd);
  opt->outputs.addTo(*cmd);
  cmd->callback([opt, &global] {
    const fs::path out = opt->out;
    std::error_code ec;
    fs::create_directories(out, ec);
    if (ec)
      throw std::runtime_error("cannot create output folder " + out.string() + ": " + ec.message());
    InstrumentOptions io;
    io.device = global.device;
    InstrumentSession session(io);
    const wire::Info info = session.device().getInfo();
    std::cout << "Instrument: " << info.board() << " firmware " << info.firmware_version()
              << " (serial " << info.serial_number() << ") on " << session.device().describe()
              << std::endl;  // before the progress lines on stderr
    session.homeAll();
    session.device().setLed(0.8f);

    const AcquisitionSettings s = opt->stack.settings();
    const twin::Slide& slide = session.virtualCamera().slide();
    ReportBuilder builder(slide.sample);
    builder.collectImages(opt->outputs.html);
    Progress progress("scan", static_cast<int>(std::size(kDemoFields)));
    int k = 0;
    for (const auto& [x, y] : kDemoFields) {
      session.device().move(wire::AXIS_X, x);
      session.device().move(wire::AXIS_Y, y);
      const Stack stack = acquireStack(session.device(), session.camera(), s);
      char name[32];
      std::snprintf(name, sizeof(name), "field_%02d", k);
      writeStackFolder(stack, out / name);  // saved before analysis: nothing acquired is lost
      builder.addField(stack);
      ++k;
      progress.update(k, "field at (" + std::to_string(static_cast<int>(x)) + ", " +
                             std::to_string(static_cast<int>(y)) + ") um, " +
                             std::to_string(builder.crystalCount()) + " crystals so far");
    }
    session.device().setLed(0.0f);

    std::cout << "\n";
    Report report = builder.report();
    report.chamber_depth_um = slide.chamber_depth_um;  // the virtual slide's chamber is known
    ReportOutputOptions outputs = opt->outputs;
    if (outputs.sample_type.empty()) {
      if (slide.sample.rfind("synovial-fluid", 0) == 0) outputs.sample_type = "synovial-fluid";
      if (slide.sample.rfind("urine", 0) == 0) outputs.sample_type = "urine";
    }
    printReportTable(report, std::cout);
    if (!builder.overview().empty()) {
      // The overview of the scanned fields, as an OME-TIFF mosaic other tools can open.
      writeOmeTiffMosaic(builder.overview().mosaic(), out / "mosaic.ome.tif");
    }
    const ReportOutputs written =
        writeReportOutputs(report, builder, outputs, out, out, std::nullopt,
                           info.board() + " (firmware " + info.firmware_version() + ", serial " +
                               info.serial_number() + "), " + session.camera().describe());
    {
      std::ofstream truth(out / "truth.json");
      truth << twin::groundTruthJson(slide).dump(2) << "\n";
    }
    printTruthComparison(slide, report, io.camera, std::cout);
    std::cout << "\n";
    printReportOutputs(written, outputs, std::cout);
  });
}

}  // namespace polscan
