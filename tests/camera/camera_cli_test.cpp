// `polscan --camera ...` as a user runs it: list, snap, and a recorded session re-run.
#include <gtest/gtest.h>

#include <filesystem>

#include <opencv2/imgcodecs.hpp>

#include "io/stack_folder.hpp"
#include "tests/camera/camera_test_frames.hpp"
#include "tests/support/cli_runner.hpp"

namespace fs = std::filesystem;
using namespace polscan;

namespace {
polscan::testing::CliResult run(const std::string& args) {
  return polscan::testing::runCli(POLSCAN_EXE, args);
}
fs::path tempDir(const std::string& name) {
  const fs::path d =
      fs::temp_directory_path() / ("polscan_camcli_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  return d;
}
}  // namespace

TEST(CameraCli, ListAlwaysOffersTheVirtualCamera) {
  const auto r = run("camera list");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.rfind("virtual\t", 0), 0u) << r.output;
}

TEST(CameraCli, RecordedSessionReRunsThroughReplay) {
  const fs::path d = tempDir("replay");
  Stack rec;
  rec.angles_deg = {0, 45, 90, 135};
  rec.frames = camtest::twinFrames(rec.angles_deg);
  rec.pixel_um = 0.4;
  rec.bit_depth = 12;
  writeStackFolder(rec, d / "rec");

  const auto a = run("--camera replay:" + (d / "rec").string() +
                     " acquire --angles 4 --mode stop-and-go --out " + (d / "again").string());
  ASSERT_EQ(a.status, 0) << a.output;
  const Stack again = readStackFolder(d / "again");
  ASSERT_EQ(again.frames.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(cv::norm(again.frames[i], rec.frames[i], cv::NORM_INF), 0.0) << i;
    EXPECT_NEAR(again.angles_deg[i], rec.angles_deg[i], 0.5);  // measured by the firmware
  }

  const auto s = run("--camera replay:" + (d / "rec").string() + " camera snap --out " +
                     (d / "snap.png").string());
  ASSERT_EQ(s.status, 0) << s.output;
  const cv::Mat snap = cv::imread((d / "snap.png").string(), cv::IMREAD_UNCHANGED);
  EXPECT_EQ(cv::norm(snap, rec.frames[0], cv::NORM_INF), 0.0);
  fs::remove_all(d);
}

TEST(CameraCli, MissingCameraFailsBeforeTheInstrumentStarts) {
  const fs::path d = tempDir("missing");
  const auto r = run("--camera uvc:/dev/video97 acquire --out " + d.string());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("/dev/video97: no such device"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("firmware simulator started"), std::string::npos) << r.output;
  const auto bad = run("--camera webcam camera snap --out " + (d / "x.png").string());
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.output.find("not understood"), std::string::npos) << bad.output;
  fs::remove_all(d);
}
