// AravisCamera against Aravis's own fake GigE Vision camera on loopback, in this process.
#include <gtest/gtest.h>

#include <arv.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "acquisition/frame_pairing.hpp"
#include "camera/aravis_camera.hpp"
#include "tests/support/cli_runner.hpp"

using namespace polscan;

namespace {

// One fake camera per test: GigE Vision allows a single controlling client, and a fresh camera
// starts from its default settings.
class FakeGigECamera : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_ = arv_gv_fake_camera_new("127.0.0.1", "POLSCAN-T");
    ASSERT_NE(fake_, nullptr);
    ASSERT_TRUE(arv_gv_fake_camera_is_running(fake_)) << "fake camera did not start";
  }
  void TearDown() override {
    if (fake_) g_object_unref(fake_);
  }
  AravisOptions softwareTriggered() {
    AravisOptions o;
    o.trigger_source = "Software";  // the fake camera's only trigger besides Line0
    return o;
  }
  ArvGvFakeCamera* fake_ = nullptr;
};

double since(std::chrono::steady_clock::time_point origin) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - origin).count();
}

TriggerEvent triggerAt(std::uint32_t index, double angle, double host_s) {
  TriggerEvent t;
  t.trigger.set_frame_index(index);
  t.trigger.set_commanded_angle_deg(angle);
  t.trigger.set_measured_angle_deg(angle);
  t.host_time_s = host_s;
  return t;
}

}  // namespace

TEST_F(FakeGigECamera, OneFramePerTriggerPairedByCountAndTimestamp) {
  AravisCamera cam("127.0.0.1", softwareTriggered());
  const auto origin = std::chrono::steady_clock::now();
  cam.setHostTimeOrigin(origin);
  cam.arm(2000);
  EXPECT_EQ(cam.format().bit_depth, 16);
  // Armed but not triggered: no frame.
  EXPECT_FALSE(cam.waitFrame(std::chrono::milliseconds(150)));

  std::vector<TriggerEvent> triggers;
  std::vector<Frame> frames;
  for (std::uint32_t i = 0; i < 4; ++i) {
    triggers.push_back(triggerAt(i, 45.0 * i, since(origin)));
    cam.softwareTrigger();
    auto f = cam.waitFrame(std::chrono::seconds(2));
    ASSERT_TRUE(f) << "no frame for trigger " << i;
    EXPECT_EQ(f->image.type(), CV_16UC1);
    EXPECT_EQ(f->image.cols, cam.format().width);
    frames.push_back(std::move(*f));
  }
  EXPECT_FALSE(cam.waitFrame(std::chrono::milliseconds(100)));  // exactly one per trigger
  for (std::size_t i = 1; i < frames.size(); ++i) {
    EXPECT_EQ(frames[i].sequence, frames[i - 1].sequence + 1);
  }
  const auto paired = pairFrames(triggers, frames);
  ASSERT_EQ(paired.size(), 4u);
  // Timestamps are on the triggers' clock: each frame arrived shortly after its trigger.
  for (const auto& p : paired) {
    const double latency = p.frame.host_time_s - p.trigger.host_time_s;
    EXPECT_GT(latency, 0.0);
    EXPECT_LT(latency, 0.5);
  }
}

// The fly-by pacing reads the camera's frame period: the fastest AcquisitionFrameRate the camera
// accepts at its settings, and never shorter than the exposure.
TEST_F(FakeGigECamera, FramePeriodComesFromTheCameraAndItsExposure) {
  AravisCamera cam("127.0.0.1", softwareTriggered());
  cam.arm(10);
  const std::optional<double> fast = cam.framePeriodS();
  ASSERT_TRUE(fast.has_value());
  // At 10 us the frame-rate limit sets the period, not the exposure (Aravis's fake camera takes
  // AcquisitionFrameRate up to 1000 frames/s).
  EXPECT_GT(*fast, 20e-6);
  EXPECT_LE(*fast, 0.1);
  cam.arm(700000);  // 0.7 s exposure: longer than any frame-rate limit of the fake camera
  const std::optional<double> slow = cam.framePeriodS();
  ASSERT_TRUE(slow.has_value());
  EXPECT_DOUBLE_EQ(*slow, 0.7);
  EXPECT_LT(*fast, 0.7);
}

TEST_F(FakeGigECamera, ATriggerWithoutItsFrameIsNamedByPairing) {
  AravisCamera cam("127.0.0.1", softwareTriggered());
  const auto origin = std::chrono::steady_clock::now();
  cam.setHostTimeOrigin(origin);
  cam.arm(2000);
  std::vector<TriggerEvent> triggers;
  std::vector<Frame> frames;
  for (std::uint32_t i = 0; i < 3; ++i) {
    triggers.push_back(triggerAt(i, 60.0 * i, since(origin)));
    if (i != 2) cam.softwareTrigger();  // the pulse never reached the camera
    if (auto f = cam.waitFrame(std::chrono::milliseconds(400))) frames.push_back(std::move(*f));
  }
  ASSERT_EQ(frames.size(), 2u);
  try {
    pairFrames(triggers, frames);
    FAIL() << "expected PairingError";
  } catch (const PairingError& e) {
    EXPECT_NE(std::string(e.what()).find("commanded 120 deg"), std::string::npos) << e.what();
  }
}

TEST_F(FakeGigECamera, Mono8AndExposureAreSetOnTheCamera) {
  AravisOptions o = softwareTriggered();
  o.bits = 8;
  AravisCamera cam("127.0.0.1", o);
  cam.arm(3000);
  cam.softwareTrigger();
  auto f = cam.waitFrame(std::chrono::seconds(2));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->image.type(), CV_16UC1);  // stored as 16-bit samples with 8 significant bits
  double hi = 0;
  cv::minMaxLoc(f->image, nullptr, &hi);
  EXPECT_LE(hi, 255.0);
  EXPECT_GT(hi, 0.0);
}

TEST_F(FakeGigECamera, TriggerLineTheCameraDoesNotHaveIsRefusedWithTheOfferedOnes) {
  AravisOptions o;
  o.trigger_source = "Line1";  // real cameras' input; the fake one offers Line0 and Software
  AravisCamera cam("127.0.0.1", o);
  try {
    cam.arm(2000);
    FAIL() << "expected CameraError";
  } catch (const CameraError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("TriggerSource=Line1"), std::string::npos) << m;
    EXPECT_NE(m.find("Software"), std::string::npos) << m;
  }
}

TEST_F(FakeGigECamera, CameraHeldByAnotherClientIsReportedAsBusy) {
  AravisCamera first("127.0.0.1", softwareTriggered());  // holds the control channel
  try {
    AravisCamera second("127.0.0.1", softwareTriggered());
    FAIL() << "a second controlling client was accepted";
  } catch (const CameraError& e) {
    EXPECT_NE(std::string(e.what()).find("one controlling client"), std::string::npos) << e.what();
  }
}

TEST(AravisCamera, MissingCameraIsAClearError) {
  try {
    AravisCamera cam("No-Such-Camera-4711");
    FAIL();
  } catch (const CameraError& e) {
    EXPECT_NE(std::string(e.what()).find("No-Such-Camera-4711"), std::string::npos) << e.what();
  }
}

// The whole path: firmware simulator -> trigger events -> software trigger of the GigE camera
// (no cable here) -> frames paired with their triggers -> a stack folder.
TEST_F(FakeGigECamera, AcquireThroughTheCliPairsTheCameraWithTheFirmwareTriggers) {
  const std::string out = (std::filesystem::temp_directory_path() /
                           ("polscan_arv_acquire_" + std::to_string(::getpid())))
                              .string();
  std::filesystem::remove_all(out);
  const auto r = polscan::testing::runCli(
      POLSCAN_EXE,
      "--camera aravis:127.0.0.1 --camera-trigger Software acquire --angles 4 "
      "--mode stop-and-go --out " +
          out);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("Wrote 4 frames"), std::string::npos) << r.output;
  EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(out) / "frame_003.png"));
  std::filesystem::remove_all(out);
}
