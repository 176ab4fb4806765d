// UvcCamera through cv::VideoCapture on recorded videos and image sequences written here.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include "acquisition/software_timed_stack.hpp"
#include "camera/uvc_camera.hpp"
#include "tests/camera/camera_test_frames.hpp"

namespace fs = std::filesystem;
using namespace polscan;

namespace {

fs::path tempPath(const std::string& name) {
  return fs::temp_directory_path() / ("polscan_uvc_" + std::to_string(::getpid()) + "_" + name);
}

// A lossless (FFV1) grey video, as FFmpeg in Debian's OpenCV writes it.
void writeVideo(const fs::path& file, const std::vector<cv::Mat>& frames8) {
  cv::VideoWriter w(file.string(), cv::CAP_FFMPEG, cv::VideoWriter::fourcc('F', 'F', 'V', '1'), 10,
                    frames8.front().size(), false);
  ASSERT_TRUE(w.isOpened()) << "FFV1 writer unavailable";
  for (const auto& f : frames8) w.write(f);
}

// Which recorded angle a frame shows (-1: none): exact match against the references.
int whichAngle(const cv::Mat& frame16, const std::vector<cv::Mat>& refs8) {
  for (std::size_t i = 0; i < refs8.size(); ++i) {
    cv::Mat r16;
    refs8[i].convertTo(r16, CV_16U);
    if (cv::norm(frame16, r16, cv::NORM_INF) == 0) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace

TEST(UvcCamera, ReadsARecordedVideoAsMono16BitCounts) {
  const std::vector<double> angles{0, 45, 90, 135};
  std::vector<cv::Mat> refs;
  for (const auto& f : camtest::twinFrames(angles)) refs.push_back(camtest::to8bit(f));
  const fs::path file = tempPath("plain.avi");
  writeVideo(file, refs);
  UvcCamera cam(file.string());
  EXPECT_EQ(cam.format().width, 96);
  EXPECT_EQ(cam.format().height, 64);
  EXPECT_EQ(cam.format().channels, 1);
  EXPECT_EQ(cam.format().bit_depth, 8);
  EXPECT_FALSE(cam.isLiveDevice());
  cam.arm(5000);
  // A file has no exposure or gain control: both refusals are reported, not hidden.
  ASSERT_EQ(cam.refusedSettings().size(), 2u);
  EXPECT_NE(cam.refusedSettings()[1].find("exposure_100us=50"), std::string::npos);
  for (std::size_t i = 0; i < angles.size(); ++i) {
    auto f = cam.waitFrame(std::chrono::milliseconds(100));
    ASSERT_TRUE(f);
    EXPECT_EQ(f->image.type(), CV_16UC1);
    EXPECT_EQ(whichAngle(f->image, refs), static_cast<int>(i));
    EXPECT_EQ(f->sequence, i);
  }
  EXPECT_FALSE(cam.waitFrame(std::chrono::milliseconds(100)));
  fs::remove(file);
}

TEST(UvcCamera, ImageSequenceKeepsSixteenBitSamples) {
  const std::vector<double> angles{0, 60, 120};
  const auto frames = camtest::twinFrames(angles);
  const fs::path dir = tempPath("seq");
  fs::create_directories(dir);
  for (std::size_t i = 0; i < frames.size(); ++i) {
    char name[32];
    std::snprintf(name, sizeof(name), "img_%03zu.png", i);
    ASSERT_TRUE(cv::imwrite((dir / name).string(), frames[i]));
  }
  UvcCamera cam((dir / "img_%03d.png").string());
  EXPECT_EQ(cam.format().bit_depth, 16);
  for (std::size_t i = 0; i < frames.size(); ++i) {
    auto f = cam.waitFrame(std::chrono::milliseconds(100));
    ASSERT_TRUE(f);
    EXPECT_EQ(cv::norm(f->image, frames[i], cv::NORM_INF), 0.0) << i;
  }
  fs::remove_all(dir);
}

// A free-running camera keeps frames in its driver queue: while the polarizer moves to angle i,
// the queue still fills with frames of angle i-1. The recording lays that out (two stale frames
// before each fresh one); grabFresh must flush them so every angle gets its own frame.
TEST(UvcCamera, SoftwareTimedStackFlushesStaleFramesSoNoFrameGetsTheWrongAngle) {
  const std::vector<double> angles{0, 45, 90, 135};
  std::vector<cv::Mat> refs;
  for (const auto& f : camtest::twinFrames(angles)) refs.push_back(camtest::to8bit(f));
  constexpr int kStale = 2;
  std::vector<cv::Mat> stream{refs[0]};  // what was in the queue when the camera opened
  for (std::size_t i = 0; i < refs.size(); ++i) {
    for (int k = 0; k < kStale; ++k) stream.push_back(refs[i == 0 ? 0 : i - 1]);
    stream.push_back(refs[i]);
  }
  const fs::path file = tempPath("stale.avi");
  writeVideo(file, stream);

  AcquisitionSettings s;
  s.request.angles_deg = angles;
  SoftwareTiming t;
  t.settle = std::chrono::milliseconds(0);
  const PolarizerMove move = [](double a) { return a; };

  UvcOptions flushing;
  flushing.stale_frames = kStale;
  UvcCamera good(file.string(), flushing);
  const Stack stack = acquireStackSoftwareTimed(move, good, s, t);
  ASSERT_EQ(stack.frames.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(whichAngle(stack.frames[i], refs), i) << "step " << i;

  // The same recording without flushing pairs angle i with a frame of angle i-1: the failure
  // the flush exists to prevent.
  UvcOptions naive;
  naive.stale_frames = 0;
  UvcCamera bad(file.string(), naive);
  const Stack wrong = acquireStackSoftwareTimed(move, bad, s, t);
  EXPECT_EQ(whichAngle(wrong.frames[1], refs), 0);
  fs::remove(file);
}

TEST(UvcCamera, MissingAndUnsupportedSourcesAreClearErrors) {
  try {
    UvcCamera cam("/dev/video97");
    FAIL();
  } catch (const CameraError& e) {
    EXPECT_NE(std::string(e.what()).find("/dev/video97: no such device"), std::string::npos)
        << e.what();
  }
  try {
    UvcCamera cam("97");
    FAIL();
  } catch (const CameraError& e) {
    EXPECT_NE(std::string(e.what()).find("/dev/video97"), std::string::npos) << e.what();
  }
  try {
    UvcCamera cam("/no/such/recording.avi");
    FAIL();
  } catch (const CameraError& e) {
    EXPECT_NE(std::string(e.what()).find("no such file or device"), std::string::npos) << e.what();
  }
  const fs::path junk = tempPath("junk.avi");
  { std::ofstream(junk) << "not a video"; }
  try {
    UvcCamera cam(junk.string());
    FAIL();
  } catch (const CameraError& e) {
    EXPECT_NE(std::string(e.what()).find("unsupported"), std::string::npos) << e.what();
  }
  fs::remove(junk);
}
