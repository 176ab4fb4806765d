// ReplayCamera: a stack folder plays back frame by frame with its recorded angles.
#include <gtest/gtest.h>

#include <filesystem>

#include "acquisition/frame_pairing.hpp"
#include "acquisition/software_timed_stack.hpp"
#include "camera/camera_address.hpp"
#include "camera/replay_camera.hpp"
#include "io/ome_tiff.hpp"
#include "io/stack_folder.hpp"
#include "tests/camera/camera_test_frames.hpp"

namespace fs = std::filesystem;
using namespace polscan;

namespace {

fs::path recordedStack(const std::string& name, const std::vector<double>& angles) {
  const fs::path dir =
      fs::temp_directory_path() / ("polscan_replay_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  Stack s;
  s.frames = camtest::twinFrames(angles);
  s.angles_deg = angles;
  s.pixel_um = 0.4;
  s.bit_depth = 12;
  writeStackFolder(s, dir);
  return dir;
}

}  // namespace

TEST(ReplayCamera, PlaysBackEveryFrameInOrderWithItsAngle) {
  const std::vector<double> angles{0, 45, 90, 135};
  const fs::path dir = recordedStack("order", angles);
  const auto expected = camtest::twinFrames(angles);
  ReplayCamera cam(dir);
  EXPECT_EQ(cam.format().width, 96);
  EXPECT_EQ(cam.format().bit_depth, 12);
  EXPECT_DOUBLE_EQ(cam.format().pixel_um, 0.4);
  EXPECT_EQ(cam.triggering(), Triggering::Software);
  cam.arm(10000);
  for (std::size_t i = 0; i < angles.size(); ++i) {
    const Frame f = cam.grabFresh(std::chrono::milliseconds(100));
    ASSERT_TRUE(f.recorded_angle_deg.has_value());
    EXPECT_DOUBLE_EQ(*f.recorded_angle_deg, angles[i]);
    EXPECT_EQ(cv::norm(f.image, expected[i], cv::NORM_INF), 0.0) << "frame " << i;
  }
  // Past the end: an error naming the folder, never a wrap to frame 0.
  try {
    cam.grabFresh(std::chrono::milliseconds(100));
    FAIL() << "expected CameraError";
  } catch (const CameraError& e) {
    EXPECT_NE(std::string(e.what()).find("has only 4 frames"), std::string::npos) << e.what();
  }
  cam.arm(10000);  // rewinds
  EXPECT_DOUBLE_EQ(*cam.grabFresh(std::chrono::milliseconds(100)).recorded_angle_deg, 0.0);
  fs::remove_all(dir);
}

TEST(ReplayCamera, AnOmeTiffRecordingPlaysBackLikeAFolder) {
  const std::vector<double> angles{0, 60, 120};
  const fs::path file =
      fs::temp_directory_path() / ("polscan_replay_" + std::to_string(::getpid()) + ".ome.tif");
  Stack s;
  s.frames = camtest::twinFrames(angles);
  s.angles_deg = angles;
  s.pixel_um = 0.4;
  s.bit_depth = 12;
  writeOmeTiffStack(s, file);
  ReplayCamera cam(file);
  EXPECT_EQ(cam.format().bit_depth, 12);
  EXPECT_DOUBLE_EQ(cam.format().pixel_um, 0.4);
  cam.arm(10000);
  for (std::size_t i = 0; i < angles.size(); ++i) {
    const Frame f = cam.grabFresh(std::chrono::milliseconds(100));
    ASSERT_TRUE(f.recorded_angle_deg.has_value());
    EXPECT_NEAR(*f.recorded_angle_deg, angles[i], 1e-9);
    EXPECT_EQ(cv::norm(f.image, s.frames[i], cv::NORM_INF), 0.0) << "frame " << i;
  }
  fs::remove(file);
}

TEST(ReplayCamera, ARecordedSessionReRunsThroughTheSoftwareTimedPath) {
  const std::vector<double> angles{0, 60, 120};
  const fs::path dir = recordedStack("rerun", angles);
  auto cam = openCamera(parseCameraAddress("replay:" + dir.string()));
  std::vector<double> moved;
  const PolarizerMove move = [&](double a) {
    moved.push_back(a);
    return a + 0.05;  // the encoder reads a little off the commanded angle
  };
  AcquisitionSettings s;
  s.request.angles_deg = angles;
  SoftwareTiming t;
  t.settle = std::chrono::milliseconds(0);
  const Stack stack = acquireStackSoftwareTimed(move, *cam, s, t);
  EXPECT_EQ(moved, angles);
  ASSERT_EQ(stack.frames.size(), 3u);
  EXPECT_NEAR(stack.angles_deg[1], 60.05, 1e-9);  // measured angles label the frames
  const auto expected = camtest::twinFrames(angles);
  EXPECT_EQ(cv::norm(stack.frames[2], expected[2], cv::NORM_INF), 0.0);
  EXPECT_EQ(stack.bit_depth, 12);

  // A request at other angles does not match the recording: refused, naming both angles.
  s.request.angles_deg = {0, 45, 90};
  try {
    acquireStackSoftwareTimed(move, *cam, s, t);
    FAIL() << "expected PairingError";
  } catch (const PairingError& e) {
    EXPECT_NE(std::string(e.what()).find("recorded at 60 deg"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(ReplayCamera, MissingFolderIsAClearError) {
  try {
    ReplayCamera cam("/no/such/recording");
    FAIL();
  } catch (const CameraError& e) {
    EXPECT_NE(std::string(e.what()).find("/no/such/recording: no such stack folder"),
              std::string::npos)
        << e.what();
  }
}

TEST(CameraAddress, ParsesEveryFormAndRefusesOthers) {
  EXPECT_EQ(parseCameraAddress("virtual").kind, CameraAddress::Kind::Virtual);
  auto u = parseCameraAddress("uvc:2");
  EXPECT_EQ(u.kind, CameraAddress::Kind::Uvc);
  EXPECT_EQ(u.target, "2");
  EXPECT_EQ(parseCameraAddress("uvc:/dev/video1").target, "/dev/video1");
  EXPECT_EQ(parseCameraAddress("replay:/a/b").kind, CameraAddress::Kind::Replay);
  EXPECT_EQ(parseCameraAddress("aravis").kind, CameraAddress::Kind::Aravis);
  EXPECT_EQ(parseCameraAddress("aravis:Aravis-Fake-X").target, "Aravis-Fake-X");
  EXPECT_THROW(parseCameraAddress("uvc:"), CameraError);
  try {
    parseCameraAddress("webcam");
    FAIL();
  } catch (const CameraError& e) {
    EXPECT_NE(std::string(e.what()).find("replay:DIR"), std::string::npos) << e.what();
  }
}
