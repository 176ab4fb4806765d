// Acquisition through a bad cable: the real firmware simulator on its pty, behind a
// FaultInjectingTransport that corrupts 1 % of the bytes both ways and unplugs the cable every
// 30 s of virtual time for 3 s. Virtual time runs 15x faster than real time (30 s -> 2 s real,
// 3 s -> 0.2 s real), so a run of a few seconds sees several unplugs: scaled so that a stack
// (about 0.5 s real) usually fits between two unplugs, as a 10 s stack would in 30 s real ones.
// Either every stack completes with every frame paired and written, or the acquisition stops
// with a clear error and the stacks already written stay intact.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <thread>

#include "acquisition/stack_recovery.hpp"
#include "app/fwsim_process.hpp"
#include "camera/virtual_camera.hpp"
#include "hardware/twin/slide.hpp"
#include "io/stack_folder.hpp"
#include "transport/fault_injecting_transport.hpp"
#include "transport/transport_factory.hpp"

using namespace polscan;
namespace fs = std::filesystem;

namespace {

constexpr double kMicrostepDeg = 0.0375;

// Commands outside a stack (homing, stage moves) through the same drops: reconnect and repeat.
void throughDrops(DeviceClient& device, const std::function<void()>& command) {
  for (int attempt = 1;; ++attempt) {
    try {
      command();
      return;
    } catch (const LinkError&) {
      if (attempt == 6) throw;
      device.reconnect(std::chrono::seconds(5));
    }
  }
}

struct Rig {
  explicit Rig(const FaultPlan& plan)
      // The polarizer starts 10 deg before its index: homing takes 0.2 s, not up to 8 s.
      : sim({"--start-angle-deg", "350"}),
        injector(FaultInjector::create(plan)),
        device(injector->wrap([path = sim.ptyPath()](boost::asio::io_context& io) {
          return openTransport(io, "serial:" + path);
        }),
               std::chrono::milliseconds(5000)),
        camera(twin::demoSlide(), twin::OpticsConfig{}, smallCamera()) {
    device.setTriggerListener([this](const TriggerEvent& t) { camera.onTrigger(t); });
    for (wire::Axis a : {wire::AXIS_POLARIZER, wire::AXIS_X, wire::AXIS_Y}) {
      throughDrops(device, [&] { device.home(a); });
    }
  }
  ~Rig() { device.setTriggerListener(nullptr); }

  static VirtualCameraConfig smallCamera() {
    VirtualCameraConfig c;
    c.width = 256;
    c.height = 192;
    return c;
  }

  FwsimProcess sim;
  std::shared_ptr<FaultInjector> injector;
  DeviceClient device;
  VirtualCamera camera;
};

AcquisitionSettings eightAnglesWithFrameTimeout() {
  AcquisitionSettings s;
  s.request.angles_deg = equallySpacedAngles(8);
  s.request.exposure_us = 5000;
  s.frame_timeout = std::chrono::milliseconds(3000);
  return s;
}

FaultPlan badCable() {
  FaultPlan plan;
  plan.to_device.corrupt = 0.01;
  plan.from_device.corrupt = 0.01;
  plan.unplug.period = std::chrono::seconds(30);
  plan.unplug.down = std::chrono::seconds(3);
  plan.unplug.time_scale = 15.0;
  plan.seed = 2026;
  return plan;
}

// A stack as it must be: 8 frames at the commanded angles (one microstep), at the field asked for.
void expectComplete(const Stack& s, double x_um, double y_um, const std::string& what) {
  ASSERT_EQ(s.frames.size(), 8u) << what;
  ASSERT_EQ(s.angles_deg.size(), 8u) << what;
  for (int i = 0; i < 8; ++i) {
    EXPECT_NEAR(s.angles_deg[i], 22.5 * i, kMicrostepDeg + 1e-9) << what << " frame " << i;
    if (i > 0) {
      EXPECT_GT(cv::norm(s.frames[i], s.frames[i - 1], cv::NORM_L1), 0.0) << what;
    }
  }
  ASSERT_TRUE(s.stage.has_value()) << what;
  EXPECT_NEAR(s.stage->x_um, x_um, 1.0) << what;
  EXPECT_NEAR(s.stage->y_um, y_um, 1.0) << what;
}

void expectSameOnDisk(const Stack& s, const fs::path& dir) {
  const Stack back = readStackFolder(dir);
  ASSERT_EQ(back.frames.size(), s.frames.size()) << dir;
  for (std::size_t i = 0; i < s.frames.size(); ++i) {
    EXPECT_EQ(cv::norm(back.frames[i], s.frames[i], cv::NORM_INF), 0.0) << dir << " frame " << i;
    EXPECT_DOUBLE_EQ(back.angles_deg[i], s.angles_deg[i]) << dir;
  }
}

// Holds a pty's slave open so that its number stays taken once the simulator (the master side)
// is gone: Linux gives a freed pty number to the next pty opened, such as the simulator of a test
// running beside this one (ctest -j), and a reconnect to the old path would reach that one.
class PtyNumberHold {
 public:
  explicit PtyNumberHold(const std::string& path) : fd_(::open(path.c_str(), O_RDWR | O_NOCTTY)) {}
  ~PtyNumberHold() {
    if (fd_ >= 0) ::close(fd_);
  }
  PtyNumberHold(const PtyNumberHold&) = delete;
  PtyNumberHold& operator=(const PtyNumberHold&) = delete;
  bool held() const { return fd_ >= 0; }

 private:
  int fd_;
};

fs::path freshDir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / (name + "-" + std::to_string(getpid()));
  fs::remove_all(d);
  return d;
}

}  // namespace

TEST(AcquisitionUnderLinkFaults, EveryStackCompletesPairedAndWrittenThroughCorruptionAndUnplugs) {
  Rig rig(badCable());
  const fs::path out = freshDir("polscan-linkfaults");
  struct Field {
    double x, y;
    Stack stack;
  };
  std::vector<Field> done;
  int recovered = 0;
  // Keep acquiring fields until the cable was pulled at least twice during the run (and at
  // least 4 stacks are done): the test cannot pass without living through unplugs.
  for (int k = 0; k < 20 && (done.size() < 4 || rig.injector->counts().unplugs < 2); ++k) {
    const double x = 200.0 * (k % 5);
    const double y = 150.0 * (k / 5);
    throughDrops(rig.device, [&] {
      rig.device.move(wire::AXIS_X, x);
      rig.device.move(wire::AXIS_Y, y);
    });
    RecoveryReport report;
    RecoveryPolicy policy;
    policy.max_attempts = 4;
    Stack s = acquireStackRecovering(rig.device, rig.camera, eightAnglesWithFrameTimeout(), policy,
                                     &report);
    recovered += report.reconnects;
    writeStackFolder(s, out / ("field_" + std::to_string(k)));
    done.push_back({x, y, std::move(s)});
  }
  const FaultCounts c = rig.injector->counts();
  EXPECT_GE(c.unplugs, 2u);
  EXPECT_GT(c.corrupted, 0u);
  EXPECT_GE(done.size(), 4u);
  const link::LinkStats st = rig.device.linkStats();
  EXPECT_GT(st.crc_errors + st.framing_errors, 0u) << "corruption never reached the decoder";
  std::printf(
      "link faults: %zu stacks, %llu unplugs, %llu corrupted of %llu bytes, %d stack "
      "recoveries, %u CRC errors, %u retransmits\n",
      done.size(), static_cast<unsigned long long>(c.unplugs),
      static_cast<unsigned long long>(c.corrupted),
      static_cast<unsigned long long>(c.bytes_to_device + c.bytes_from_device), recovered,
      st.crc_errors, st.retransmits);
  for (std::size_t k = 0; k < done.size(); ++k) {
    const std::string what = "field " + std::to_string(k);
    expectComplete(done[k].stack, done[k].x, done[k].y, what);
    expectSameOnDisk(done[k].stack, out / ("field_" + std::to_string(k)));
  }
  fs::remove_all(out);
}

TEST(AcquisitionUnderLinkFaults, DeviceThatNeverComesBackStopsWithAClearErrorAndKeepsTheRest) {
  FaultPlan plan;
  plan.to_device.corrupt = 0.01;
  plan.from_device.corrupt = 0.01;
  Rig rig(plan);
  const fs::path out = freshDir("polscan-linkgone");
  const Stack first = acquireStack(rig.device, rig.camera, eightAnglesWithFrameTimeout());
  writeStackFolder(first, out / "field_0");
  const PtyNumberHold hold(rig.sim.ptyPath());
  ASSERT_TRUE(hold.held()) << rig.sim.ptyPath();
  rig.sim.kill();  // the instrument is gone for good (power cut, cable cut)
  RecoveryPolicy policy;
  policy.reconnect_wait = std::chrono::milliseconds(500);
  try {
    acquireStackRecovering(rig.device, rig.camera, eightAnglesWithFrameTimeout(), policy);
    FAIL() << "expected LinkError";
  } catch (const LinkError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("did not come back within 500 ms"), std::string::npos) << what;
    EXPECT_NE(what.find("/dev/pts/"), std::string::npos) << what;  // names the device
  }
  expectComplete(first, 0.0, 0.0, "first field");
  expectSameOnDisk(first, out / "field_0");
  fs::remove_all(out);
}
