// The Cortex-M firmware image booted in qemu (netduinoplus2) and driven by the real host: the
// polscan CLI over the emulated USART1 pty, and the host libraries for trigger timing.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "acquisition/stack_acquirer.hpp"
#include "app/instrument_session.hpp"
#include "qemu_machine.hpp"
#include "tests/support/cli_runner.hpp"

namespace fs = std::filesystem;
using polscan::test::QemuMachine;

namespace {

using polscan::testing::CliResult;

CliResult runPolscan(const std::string& args) {
  return polscan::testing::runCli(POLSCAN_EXE, args);
}

double wallSeconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

constexpr double kMicrostepDeg = 0.0375;

}  // namespace

TEST(QemuFirmware, CliReadsInfoHomesAndAcquiresAFlyByStack) {
  QemuMachine qemu(POLSCAN_FW_ELF);
  ASSERT_TRUE(qemu.ok()) << qemu.error();
  const std::string dev = "--device " + qemu.pty();

  const CliResult info = runPolscan(dev + " device info");
  ASSERT_EQ(info.status, 0) << info.output << "\nqemu: " << qemu.output();
  EXPECT_NE(info.output.find("board stm32f405"), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("protocol 1,"), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("firmware 0.1.0"), std::string::npos) << info.output;

  const double t0 = wallSeconds();
  const CliResult home = runPolscan(dev + " device home");
  const double home_wall = wallSeconds() - t0;
  ASSERT_EQ(home.status, 0) << home.output;
  EXPECT_NE(home.output.find("POLARIZER: homed"), std::string::npos) << home.output;
  std::printf("qemu: `polscan device home` took %.2f s wall (the sim takes ~7 s)\n", home_wall);

  const fs::path out =
      fs::temp_directory_path() / ("polscan_qemu_stack_" + std::to_string(::getpid()));
  fs::remove_all(out);
  const CliResult acq = runPolscan(dev + " acquire --angles 8 --mode fly-by --out " + out.string());
  ASSERT_EQ(acq.status, 0) << acq.output;
  std::ifstream in(out / "stack.json");
  ASSERT_TRUE(in.good()) << acq.output;
  const auto stack = nlohmann::json::parse(in);
  const auto angles = stack.at("angles_deg").get<std::vector<double>>();
  ASSERT_EQ(angles.size(), 8u) << stack.dump(1);
  for (std::size_t i = 0; i < angles.size(); ++i) {
    EXPECT_NEAR(angles[i], 22.5 * static_cast<double>(i), kMicrostepDeg + 1e-9) << "frame " << i;
  }
  fs::remove_all(out);
}

TEST(QemuFirmware, FlyByTriggersAreTimedByTheEmulatedStepTimer) {
  QemuMachine qemu(POLSCAN_FW_ELF);
  ASSERT_TRUE(qemu.ok()) << qemu.error();
  polscan::InstrumentOptions options;
  options.device = qemu.pty();
  polscan::InstrumentSession session(options);
  polscan::DeviceClient& device = session.device();
  EXPECT_EQ(device.getInfo().board(), "stm32f405");
  const double home_start = wallSeconds();
  device.home(polscan::wire::AXIS_POLARIZER);
  const double home_wall = wallSeconds() - home_start;

  // 90 deg/s through 22.5 deg gaps: one trigger every 600 microsteps = 0.25 s = 5000 step ticks.
  polscan::StackRequest request;
  request.angles_deg = polscan::equallySpacedAngles(8);
  request.exposure_us = 10000;
  request.mode = polscan::wire::ACQUISITION_MODE_FLY_BY;
  request.speed_deg_s = 90.0;
  device.acquireStack(request);

  std::vector<polscan::wire::TriggerFired> triggers;
  std::vector<double> arrivals;
  bool done = false;
  while (!done) {
    const auto event = device.nextEvent(std::chrono::seconds(10));
    ASSERT_TRUE(event.has_value()) << "no event within 10 s";
    if (const auto* t = std::get_if<polscan::TriggerEvent>(&*event)) {
      triggers.push_back(t->trigger);
      arrivals.push_back(wallSeconds());
    } else if (const auto* d = std::get_if<polscan::wire::StackDone>(&*event)) {
      EXPECT_EQ(d->status(), polscan::wire::STATUS_OK);
      done = true;
    } else {
      FAIL() << "fault: " << std::get<polscan::wire::Fault>(*event).message();
    }
  }
  ASSERT_EQ(triggers.size(), 8u);
  for (std::size_t i = 0; i < triggers.size(); ++i) {
    EXPECT_NEAR(triggers[i].measured_angle_deg(), 22.5 * static_cast<double>(i),
                kMicrostepDeg + 1e-9);
    if (i == 0) continue;
    // The timestamps are step-timer ticks: spacing exact to one tick (50 us) of DDA rounding.
    const double gap_us =
        static_cast<double>(triggers[i].timestamp_us() - triggers[i - 1].timestamp_us());
    EXPECT_NEAR(gap_us, 250000.0, 100.0) << "trigger " << i;
  }

  // Emulated time against wall time: the device's span between the first and last trigger over
  // the host's span between their arrivals, and the host clock fit over the whole session.
  const double emulated_s =
      static_cast<double>(triggers.back().timestamp_us() - triggers.front().timestamp_us()) * 1e-6;
  const double wall_s = arrivals.back() - arrivals.front();
  const double ratio = emulated_s / wall_s;
  const double fit_ratio = 1.0 + device.clockSync().driftPpm() * 1e-6;
  std::printf(
      "qemu: emulated/wall time %.3f over the stack (%.3f s emulated in %.3f s wall), %.3f from "
      "the clock fit; polarizer homing %.2f s wall\n",
      ratio, emulated_s, wall_s, fit_ratio, home_wall);
  RecordProperty("emulated_wall_ratio", std::to_string(ratio));
  // Loose on purpose: on 2 shared cores qemu competes with the host's virtual camera and the
  // ratio measured here was 0.45-0.9. A broken step timer is off by orders of magnitude (qemu
  // 7.2's TIM2 model would tick at tens of Hz: a ratio near 0.003), and one that ran from busy
  // loops would race ahead of wall time.
  EXPECT_GT(ratio, 0.2);
  EXPECT_LT(ratio, 1.5);
}
