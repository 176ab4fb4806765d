// The options of `polscan scan` and `polscan serve` as CLI11 parses them, in process (no polscan
// start): the imaging options both commands share, and the scan folder their help describes.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "app/commands.hpp"
#include "app/scan_imaging_options.hpp"
#include "scan/scan_report_files.hpp"

namespace {

using polscan::ScanImagingOptions;

struct Applied {
  polscan::ScanRequest request;
  polscan::ScanAcquisition acquisition;
};

Applied parseImaging(const std::string& args,
                     std::optional<double> calibrated_pixel_um = std::nullopt) {
  CLI::App app;
  ScanImagingOptions o;
  o.addTo(app);
  app.parse(args, false);
  Applied a;
  a.request.chamber_depth_um = -1.0;  // must be replaced by the option's value
  o.applyTo(a.request, a.acquisition, calibrated_pixel_um);
  return a;
}

}  // namespace

TEST(ScanOptions, ImagingOptionsSetThePixelSizeDepthStackAndStrobe) {
  const Applied def = parseImaging("");
  EXPECT_DOUBLE_EQ(def.request.pixel_um, 8.0 / 20.0);  // 8 um sensor pixel at 20x
  EXPECT_DOUBLE_EQ(def.request.chamber_depth_um, polscan::ScanRequest{}.chamber_depth_um);
  EXPECT_TRUE(def.acquisition.strobe);
  EXPECT_EQ(def.acquisition.mode, "fly-by");

  const Applied a = parseImaging(
      "--objective 40 --sensor-pixel-um 6.5 --chamber-depth-um 100 --angles 12 --mode stop-and-go "
      "--exposure-us 2500 --no-strobe");
  EXPECT_DOUBLE_EQ(a.request.pixel_um, 6.5 / 40.0);
  EXPECT_DOUBLE_EQ(a.request.chamber_depth_um, 100.0);
  EXPECT_EQ(a.acquisition.angles, 12);
  EXPECT_EQ(a.acquisition.mode, "stop-and-go");
  EXPECT_EQ(a.acquisition.exposure_us, 2500u);
  EXPECT_FALSE(a.acquisition.strobe);

  // --pixel-um wins over the objective and sensor.
  EXPECT_DOUBLE_EQ(parseImaging("--objective 40 --pixel-um 0.3").request.pixel_um, 0.3);
  // A calibration's stage-micrometer figure wins over the objective, --pixel-um over both.
  EXPECT_DOUBLE_EQ(parseImaging("--objective 40", 0.1625).request.pixel_um, 0.1625);
  EXPECT_DOUBLE_EQ(parseImaging("--pixel-um 0.3", 0.1625).request.pixel_um, 0.3);
}

TEST(ScanOptions, ScanAndServeRegisterTheSameImagingOptions) {
  CLI::App shared;
  ScanImagingOptions o;
  o.addTo(shared);
  CLI::App app;
  polscan::GlobalOptions global;
  polscan::addScanCommand(app, global);
  polscan::addServeCommand(app, global);
  const auto options = shared.get_options();
  ASSERT_GE(options.size(), 8u);  // objective, sensor, pixel, depth, angles, mode, exposure, strobe
  for (const CLI::Option* want : options) {
    const std::string name = want->get_name();
    if (name.empty() || name == "--help") continue;
    for (const char* sub : {"scan", "serve"}) {
      const CLI::Option* got = app.get_subcommand(sub)->get_option_no_throw(name);
      ASSERT_NE(got, nullptr) << sub << " has no " << name;
      EXPECT_EQ(got->get_description(), want->get_description()) << sub << " " << name;
      EXPECT_EQ(got->get_default_str(), want->get_default_str()) << sub << " " << name;
    }
  }
}

TEST(ScanOptions, ScanFolderHelpNamesEverythingAScanWrites) {
  CLI::App app;
  polscan::GlobalOptions global;
  polscan::addScanCommand(app, global);
  polscan::addServeCommand(app, global);
  const std::string out = app.get_subcommand("scan")->get_option("--out")->get_description();
  const std::string scans =
      app.get_subcommand("serve")->get_option("--scans-dir")->get_description();
  // What the scan writes is checked against this list by ScanResume (a real scan's folder).
  for (const polscan::ScanFolderEntry& e : polscan::scanFolderEntries()) {
    EXPECT_NE(out.find(e.name), std::string::npos) << e.name << " missing in: " << out;
    EXPECT_EQ(scans.find(e.name) != std::string::npos, !e.save_stacks_only)
        << e.name << " in serve --scans-dir: " << scans;
  }
  for (const char* name : {"crystals.csv", "report.html", "mosaic.ome.tif", "sample.json"}) {
    EXPECT_NE(out.find(name), std::string::npos) << name << " missing in: " << out;
  }
}
