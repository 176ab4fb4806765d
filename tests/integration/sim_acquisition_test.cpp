// End to end through the real firmware simulator: pty link, homing, an 8-angle fly-by stack
// rendered by the twin at the triggers' angles, analysis checked against the slide's truth.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <map>

#include "acquisition/stack_acquirer.hpp"
#include "analysis/field_analysis.hpp"
#include "app/instrument_session.hpp"
#include "hardware/twin/slide.hpp"

using namespace polscan;

namespace {
// One simulator for the suite: starting it is the slow part.
class SimAcquisition : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    session_ = new InstrumentSession(InstrumentOptions{});
    session_->homeAll();
  }
  static void TearDownTestSuite() {
    delete session_;
    session_ = nullptr;
  }
  static InstrumentSession* session_;
};
InstrumentSession* SimAcquisition::session_ = nullptr;

AcquisitionSettings eightAngles(wire::AcquisitionMode mode) {
  AcquisitionSettings s;
  s.request.angles_deg = equallySpacedAngles(8);
  s.request.exposure_us = 5000;
  s.request.mode = mode;
  return s;
}
}  // namespace

TEST_F(SimAcquisition, InfoComesFromTheSimulatorOverItsPty) {
  const wire::Info info = session_->device().getInfo();
  EXPECT_EQ(info.board(), "sim");
  EXPECT_EQ(info.protocol_version(), 1u);
  EXPECT_GE(info.max_angles(), 8u);
  EXPECT_NE(session_->device().describe().find("/dev/pts/"), std::string::npos);
}

TEST_F(SimAcquisition, FlyByStackIsLabelledWithMeasuredAnglesAndStagePosition) {
  session_->device().move(wire::AXIS_X, 300);
  session_->device().move(wire::AXIS_Y, 0);
  const Stack stack = acquireStack(session_->device(), session_->camera(),
                                   eightAngles(wire::ACQUISITION_MODE_FLY_BY));
  ASSERT_EQ(stack.frames.size(), 8u);
  for (int i = 0; i < 8; ++i) {
    // One microstep of the polarizer is 0.0375 deg.
    EXPECT_NEAR(stack.angles_deg[i], 22.5 * i, 0.0375 + 1e-9) << "frame " << i;
  }
  ASSERT_TRUE(stack.stage.has_value());
  EXPECT_NEAR(stack.stage->x_um, 300.0, 1.0);
  EXPECT_NEAR(stack.stage->y_um, 0.0, 1.0);
  EXPECT_EQ(stack.frames[0].cols, 1024);
  EXPECT_EQ(stack.frames[0].rows, 768);
}

// Birefringent crystals are what polarized light identifies; cells and apatite are judged by
// `polscan eval` over many slides.
static bool birefringentClass(CrystalClass c) {
  return c != CrystalClass::Artefact && c != CrystalClass::NonBirefringent &&
         c != CrystalClass::Unknown;
}

TEST_F(SimAcquisition, AnalysisFindsTheSlidesCrystalsWithTheirClasses) {
  const twin::Slide& slide = session_->virtualCamera().slide();
  std::map<CrystalClass, int> truth_counts;
  std::map<CrystalClass, int> found_counts;
  int truth_total = 0;
  for (const auto& [x, y] : {std::pair{0.0, 0.0}, std::pair{0.0, 300.0}}) {
    session_->device().move(wire::AXIS_X, x);
    session_->device().move(wire::AXIS_Y, y);
    const Stack stack = acquireStack(session_->device(), session_->camera(),
                                     eightAngles(wire::ACQUISITION_MODE_FLY_BY));
    const auto result = analysis::analyzeField(stack);
    const auto truth = twin::objectsInField(slide, x, y, 1024 * 0.4, 768 * 0.4);
    for (const twin::CrystalSpec* c : truth) {
      if (!birefringentClass(c->cls)) continue;
      ++truth_counts[c->cls];
      ++truth_total;
      // Each true crystal has a found crystal of its class within a few micrometres.
      bool matched = false;
      for (const auto& f : result.crystals) {
        if (f.cls == c->cls && std::hypot(f.x_um - c->x_um, f.y_um - c->y_um) < 4.0) {
          matched = true;
        }
      }
      EXPECT_TRUE(matched) << crystalClassName(c->cls) << " at (" << c->x_um << ", " << c->y_um
                           << ") um not found in field (" << x << ", " << y << ")";
    }
    for (const auto& f : result.crystals) {
      if (birefringentClass(f.cls)) ++found_counts[f.cls];
    }
  }
  EXPECT_GE(truth_total, 4);
  EXPECT_EQ(found_counts, truth_counts);
}

TEST_F(SimAcquisition, StopAndGoGivesTheSameAnglesAsFlyBy) {
  const Stack stack = acquireStack(session_->device(), session_->camera(),
                                   eightAngles(wire::ACQUISITION_MODE_STOP_AND_GO));
  ASSERT_EQ(stack.angles_deg.size(), 8u);
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(stack.angles_deg[i], 22.5 * i, 0.0375 + 1e-9);
}

TEST_F(SimAcquisition, UnknownCommandIsRefusedWithItsStatus) {
  wire::HostMessage empty;  // no command set: what an older firmware sees of a newer command
  const wire::Reply reply = session_->device().call(empty, std::chrono::milliseconds(2000));
  EXPECT_EQ(reply.status(), wire::STATUS_UNKNOWN_COMMAND);
  // And the link is still fine afterwards.
  EXPECT_EQ(session_->device().getInfo().board(), "sim");
}

TEST_F(SimAcquisition, OutOfLimitsMoveIsRefusedAndNothingMoves) {
  session_->device().move(wire::AXIS_X, 100);
  try {
    session_->device().move(wire::AXIS_X, 1e7);
    FAIL() << "expected DeviceError";
  } catch (const DeviceError& e) {
    EXPECT_EQ(e.status(), wire::STATUS_OUT_OF_LIMITS) << e.what();
  }
  const wire::DeviceStatus s = session_->device().getStatus();
  bool seen = false;
  for (const auto& a : s.axes()) {
    if (a.axis() != wire::AXIS_X) continue;
    seen = true;
    EXPECT_NEAR(a.position(), 100.0, 1.0);
  }
  EXPECT_TRUE(seen);
}

TEST_F(SimAcquisition, MissingFrameIsNamedNotShifted) {
  VirtualCameraConfig broken;
  broken.drop_frame = 5;
  VirtualCamera camera(session_->virtualCamera().slide(), twin::OpticsConfig{}, broken);
  session_->device().setTriggerListener([&](const TriggerEvent& t) { camera.onTrigger(t); });
  try {
    acquireStack(session_->device(), camera, eightAngles(wire::ACQUISITION_MODE_FLY_BY));
    ADD_FAILURE() << "expected PairingError";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("no frame for frame 5 (commanded 112.5 deg)"),
              std::string::npos)
        << e.what();
  }
  session_->device().setTriggerListener(
      [cam = &session_->virtualCamera()](const TriggerEvent& t) { cam->onTrigger(t); });
}

TEST_F(SimAcquisition, ReconnectStartsANewSessionAndTheInstrumentKeepsItsState) {
  DeviceClient& device = session_->device();
  device.move(wire::AXIS_X, 250);
  device.reconnect();
  EXPECT_FALSE(device.linkLost());
  // The firmware kept running: still homed, still where it was.
  const wire::DeviceStatus s = device.getStatus();
  bool x_seen = false;
  for (const auto& a : s.axes()) {
    EXPECT_TRUE(a.homed()) << wire::Axis_Name(a.axis());
    if (a.axis() == wire::AXIS_X) {
      x_seen = true;
      EXPECT_NEAR(a.position(), 250.0, 1.0);
    }
  }
  EXPECT_TRUE(x_seen);
  // And a stack acquires normally on the new session.
  const Stack stack =
      acquireStack(device, session_->camera(), eightAngles(wire::ACQUISITION_MODE_FLY_BY));
  EXPECT_EQ(stack.frames.size(), 8u);
}
