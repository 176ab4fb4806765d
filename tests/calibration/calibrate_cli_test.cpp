// `polscan calibrate` and `polscan acquire --calibration` as a user runs them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "hardware/twin/stage_micrometer.hpp"
#include "io/stack_folder.hpp"
#include "scan/scan_checkpoint.hpp"
#include "tests/calibration/twin_calibration_inputs.hpp"
#include "tests/support/cli_runner.hpp"

namespace fs = std::filesystem;
using namespace polscan;
using namespace polscan::caltest;

namespace {

fs::path writeInputs(const fs::path& dir, const twin::OpticsConfig& optics) {
  fs::remove_all(dir);
  const CalibrationInputs in = inputsFor(optics);
  writeStackFolder(in.dark, dir / "dark");
  writeStackFolder(in.malus, dir / "malus");
  writeStackFolder(in.blank, dir / "blank");
  writeStackFolder(in.blank_again, dir / "blank2");
  cv::imwrite((dir / "before.png").string(), in.stage_move->before);
  cv::imwrite((dir / "after.png").string(), in.stage_move->after);
  twin::StageMicrometer m;
  m.extent_um = 150;
  twin::FieldRequest q;
  q.width_px = kW;
  q.height_px = kH;
  q.pixel_um = 0.4;
  cv::imwrite((dir / "micrometer.png").string(),
              twin::FieldRenderer(twin::stageMicrometerSlide(m), optics).render(q));
  return dir;
}

std::string calibrateArgs(const fs::path& d, const fs::path& out) {
  return "calibrate --dark " + (d / "dark").string() + " --malus " + (d / "malus").string() +
         " --blank " + (d / "blank").string() + " --blank-again " + (d / "blank2").string() +
         " --move-before " + (d / "before.png").string() + " --move-after " +
         (d / "after.png").string() + " --move-x-um 8 --micrometer " +
         (d / "micrometer.png").string() + " --micrometer-pitch-um 10 --calibration " +
         out.string();
}

}  // namespace

TEST(CalibrateCli, StoresACalibrationThatAcquireThenUses) {
  const fs::path d = fs::temp_directory_path() / ("polscan_calcli_" + std::to_string(::getpid()));
  writeInputs(d, misaligned());
  const fs::path file = d / "cal" / "calibration.json";
  const auto r = polscan::testing::runCli(POLSCAN_EXE, calibrateArgs(d, file));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("polarizer zero offset       4.0"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("retardance noise floor"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("um/px (stage micrometer"), std::string::npos) << r.output;
  std::ifstream in(file);
  const auto j = nlohmann::json::parse(in);
  EXPECT_NEAR(j["qwp_axis_error_deg"].get<double>(), 2.0, 0.3);
  EXPECT_NEAR(j["pixel_um"].get<double>(), 0.4, 0.004);  // twin's 0.4 um/px within 1 %
  EXPECT_EQ(j["pixel_size_source"], "stage micrometer");
  EXPECT_EQ(j["image_width_px"], 192);
  EXPECT_EQ(j["bit_depth"], 12);

  const auto shown =
      polscan::testing::runCli(POLSCAN_EXE, "calibrate --show --calibration " + file.string());
  EXPECT_EQ(shown.status, 0) << shown.output;
  EXPECT_NE(shown.output.find("extinction ratio"), std::string::npos) << shown.output;

  // acquire records the calibration (applied by the analysis) and takes its pixel size; the
  // angles stay the index angles.
  const fs::path stack = d / "stack";
  const auto a =
      polscan::testing::runCli(POLSCAN_EXE,
                               "acquire --angles 4 --mode stop-and-go --image-width-px 192 "
                               "--image-height-px 144 --out " +
                                   stack.string() + " --calibration " + (d / "cal").string());
  ASSERT_EQ(a.status, 0) << a.output;
  const Stack s = readStackFolder(stack);
  ASSERT_TRUE(s.calibration.has_value());
  EXPECT_TRUE(fs::equivalent(*s.calibration, file));
  EXPECT_FALSE(s.blank.has_value());
  EXPECT_NEAR(s.angles_deg[1], 45.0, 0.2);
  EXPECT_NEAR(s.pixel_um, j["pixel_um"].get<double>(), 1e-9);
  const auto an = polscan::testing::runCli(POLSCAN_EXE, "analyze " + stack.string());
  EXPECT_EQ(an.status, 0) << an.output;

  // The camera's default 1024x768 frames do not fit a 192x144 calibration: refused before
  // anything is acquired, naming both.
  const auto wrong = polscan::testing::runCli(
      POLSCAN_EXE, "acquire --angles 4 --mode stop-and-go --out " + (d / "wrong").string() +
                       " --calibration " + file.string());
  EXPECT_NE(wrong.status, 0) << wrong.output;
  EXPECT_NE(wrong.output.find("192x144 px"), std::string::npos) << wrong.output;
  EXPECT_NE(wrong.output.find("1024x768 px"), std::string::npos) << wrong.output;
  EXPECT_FALSE(fs::exists(d / "wrong" / "stack.json"));

  // analyze and scan refuse it too, before any analysis or scan folder.
  Stack small = readStackFolder(d / "blank");
  for (cv::Mat& f : small.frames) cv::resize(f, f, cv::Size(96, 72));
  writeStackFolder(small, d / "small");
  const auto an_small = polscan::testing::runCli(
      POLSCAN_EXE, "analyze " + (d / "small").string() + " --calibration " + file.string());
  EXPECT_NE(an_small.status, 0) << an_small.output;
  EXPECT_NE(an_small.output.find("96x72 px, 12-bit"), std::string::npos) << an_small.output;
  EXPECT_NE(an_small.output.find("192x144 px, 12-bit"), std::string::npos) << an_small.output;
  const auto sc = polscan::testing::runCli(
      POLSCAN_EXE, "scan --width-mm 0.2 --height-mm 0.2 --no-autofocus --out " +
                       (d / "scan").string() + " --calibration " + (d / "cal").string());
  EXPECT_NE(sc.status, 0) << sc.output;
  EXPECT_NE(sc.output.find("192x144 px"), std::string::npos) << sc.output;
  EXPECT_FALSE(fs::exists(d / "scan"));

  // A scan keeps its calibration: a resume analyses the remaining tiles with the same one. The
  // checkpoint here names this 192x144 calibration, so a resume that loads it is refused by the
  // camera's 1024x768 frames (a resume that forgot it would scan uncalibrated).
  const fs::path resumed = d / "resumed";
  fs::create_directories(resumed);
  ScanCheckpoint cp;
  cp.request.width_mm = 0.2;
  cp.request.height_mm = 0.2;
  cp.acquisition.autofocus = false;
  cp.acquisition.calibration = file.string();
  cp.acquisition.calibration_created = j["created"];
  writeCheckpoint(cp, resumed / "scan.json");
  const auto again = polscan::testing::runCli(POLSCAN_EXE, "scan --resume " + resumed.string());
  EXPECT_NE(again.status, 0) << again.output;
  EXPECT_NE(again.output.find("192x144 px"), std::string::npos) << again.output;
  EXPECT_TRUE(fs::exists(resumed / "scan.json"));  // what was acquired stays
  // Another measurement (re-calibrated since) is refused, naming both.
  fs::copy(d / "cal", d / "cal2", fs::copy_options::recursive);
  nlohmann::json other = j;
  other["created"] = "2031-01-02T03:04:05Z";
  std::ofstream(d / "cal2" / "calibration.json") << other.dump(2);
  const auto mixed = polscan::testing::runCli(
      POLSCAN_EXE, "scan --resume " + resumed.string() + " --calibration " + (d / "cal2").string());
  EXPECT_NE(mixed.status, 0) << mixed.output;
  EXPECT_NE(mixed.output.find("2031-01-02T03:04:05Z"), std::string::npos) << mixed.output;
  EXPECT_NE(mixed.output.find(j["created"].get<std::string>()), std::string::npos) << mixed.output;
  // A scan started without a calibration is not finished with one.
  cp.acquisition.calibration.clear();
  writeCheckpoint(cp, resumed / "scan.json");
  const auto late = polscan::testing::runCli(
      POLSCAN_EXE, "scan --resume " + resumed.string() + " --calibration " + file.string());
  EXPECT_NE(late.status, 0) << late.output;
  EXPECT_NE(late.output.find("started without a calibration"), std::string::npos) << late.output;
  // The web UI loads its calibration before it serves: a missing one ends it at once, named.
  const auto serve = polscan::testing::runCli(
      POLSCAN_EXE, "serve --port 0 --calibration " + (d / "no-such-cal").string());
  EXPECT_NE(serve.status, 0) << serve.output;
  EXPECT_NE(serve.output.find("no-such-cal"), std::string::npos) << serve.output;
  EXPECT_EQ(serve.output.find("web UI on"), std::string::npos) << serve.output;
  fs::remove_all(d);
}

TEST(CalibrateCli, BrokenSetUpIsRefusedAndNothingIsStored) {
  const fs::path d =
      fs::temp_directory_path() / ("polscan_calcli_bad_" + std::to_string(::getpid()));
  twin::OpticsConfig o = misaligned();
  o.analyser_extinction_ratio = 1.0;
  writeInputs(d, o);
  const fs::path file = d / "cal" / "calibration.json";
  const auto r = polscan::testing::runCli(POLSCAN_EXE, calibrateArgs(d, file));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("calibration refused"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("analyser is missing"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(file));
  fs::remove_all(d);
}
