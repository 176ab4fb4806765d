// ScanRunner in-process on the firmware simulator and the virtual camera: fly-by stacks the
// instrument refuses are retaken stop-and-go and recorded; a stop (Ctrl-C) in the middle of a
// stack aborts it, discards that tile and a resume takes it again. Real parts only: the faults
// are the simulator's (--no-fly-by) and a stop flag set while the stack's triggers arrive.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "app/instrument_session.hpp"
#include "hardware/twin/slide.hpp"
#include "scan/scan_runner.hpp"
#include "tests/support/scratch_files.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace polscan;

namespace {

fs::path makeSmallSlideFile(const fs::path& dir) {
  twin::SlideRecipe r;
  r.width_mm = 1.0;
  r.height_mm = 1.0;
  r.per_mm2 = {{CrystalClass::CPPD, 200}, {CrystalClass::CaOxDihydrate, 100}};
  const fs::path f = dir / "slide.json";
  twin::saveSlide(twin::makeSlide(r, 77), f);
  return f;
}

// One row of 3 small fields (160 x 120 px at 0.8 um): quick to render and analyse.
ScanCheckpoint smallScan(const fs::path& slide) {
  ScanCheckpoint cp;
  cp.request.x_mm = 0.05;
  cp.request.y_mm = 0.05;
  cp.request.width_mm = 0.3;
  cp.request.height_mm = 0.05;
  cp.request.pixel_um = 0.8;
  cp.request.image_width_px = 160;
  cp.request.image_height_px = 120;
  cp.acquisition.autofocus = false;
  cp.acquisition.focus_z_um = 1.0;
  cp.acquisition.slide = slide.string();
  return cp;
}

InstrumentOptions sessionOptions(const ScanCheckpoint& cp, std::vector<std::string> sim_args) {
  InstrumentOptions io;
  io.sim_args = std::move(sim_args);
  // The polarizer starts just before its index: homing takes 0.2 s instead of 5 s.
  io.sim_args.insert(io.sim_args.end(), {"--start-angle-deg", "350"});
  io.slide = cp.acquisition.slide;
  io.camera.pixel_um = cp.request.pixel_um;
  io.camera.width = cp.request.image_width_px;
  io.camera.height = cp.request.image_height_px;
  return io;
}

ScanInstrument instrumentOf(InstrumentSession& s) {
  return {s.device(), s.camera(), [&s] { s.prepareForScan(); }};  // as `polscan scan` does
}

bool polarizerTurning(DeviceClient& d) {
  const wire::DeviceStatus s = d.getStatus();
  for (const auto& a : s.axes()) {
    if (a.axis() == wire::AXIS_POLARIZER) return a.moving() || s.acquiring();
  }
  return false;
}

}  // namespace

TEST(ScanFallback, FlyByRefusedByTheInstrumentIsRetakenStopAndGoAndRecorded) {
  const fs::path dir = polscan::testing::freshTempDir("scanfb_nofly");
  ScanCheckpoint cp = smallScan(makeSmallSlideFile(dir));
  cp.request.width_mm = 0.2;  // 2 tiles: stop-and-go takes ~2 s per tile
  InstrumentSession session(sessionOptions(cp, {"--no-fly-by"}));
  ScanRunner runner(instrumentOf(session), dir / "scan");
  const std::atomic<bool> stop{false};
  const ScanOutcome o = runner.run(cp, stop);
  ASSERT_TRUE(o.complete);
  ASSERT_EQ(o.tiles_total, 2);
  EXPECT_EQ(o.fallbacks, 2);
  for (const TileResult& t : cp.tiles) {
    EXPECT_NE(t.fallback.find("fly-by is not available"), std::string::npos) << t.fallback;
  }
  EXPECT_GT(o.report.crystals.size(), 0u) << "stop-and-go stacks were analysed";
  const json report = polscan::testing::readJsonFile(dir / "scan" / "report.json");
  const json& fb = report["scan"]["stop_and_go_fallback_tiles"];
  ASSERT_EQ(fb.size(), 2u);
  std::vector<int> tiles;
  for (const auto& f : fb) tiles.push_back(f["tile"]);
  std::sort(tiles.begin(), tiles.end());
  EXPECT_EQ(tiles, (std::vector<int>{0, 1}));
  const json saved = polscan::testing::readJsonFile(dir / "scan" / "scan.json");
  for (const auto& t : saved["tiles"]) {
    EXPECT_NE(t.value("fallback", std::string()).find("fly-by"), std::string::npos);
  }
  fs::remove_all(dir);
}

TEST(ScanFallback, AStopMidStackDiscardsThatTileAndTheResumeTakesItAgain) {
  const fs::path dir = polscan::testing::freshTempDir("scanfb_midstack");
  ScanCheckpoint cp = smallScan(makeSmallSlideFile(dir));
  InstrumentSession session(sessionOptions(cp, {}));
  VirtualCamera& cam = session.virtualCamera();
  std::atomic<bool> stop{false};
  std::atomic<int> pulses{0};
  // Ctrl-C at the 3rd trigger of the second tile's 8-angle stack (the first tile has 8).
  session.device().setTriggerListener([&](const TriggerEvent& t) {
    cam.onTrigger(t);
    if (++pulses == 8 + 3) stop.store(true);
  });
  ScanOptions so;
  so.save_stacks = true;
  {
    ScanRunner runner(instrumentOf(session), dir / "scan", so);
    const ScanOutcome o = runner.run(cp, stop);
    EXPECT_TRUE(o.stopped_mid_tile);
    EXPECT_FALSE(o.complete);
  }
  EXPECT_LT(pulses.load(), 16) << "the second stack was not stopped";
  // The first tile is kept (analysed, checkpointed); nothing of the second one is.
  const ScanCheckpoint saved = readCheckpoint(dir / "scan" / "scan.json");
  ASSERT_EQ(saved.tiles.size(), 1u);
  EXPECT_EQ(saved.tiles[0].index, 0);
  EXPECT_TRUE(fs::exists(dir / "scan" / "stacks" / "tile_0000"));
  EXPECT_FALSE(fs::exists(dir / "scan" / "stacks" / "tile_0001"));
  EXPECT_FALSE(fs::exists(dir / "scan" / "tiles" / "tile_0001.png"));
  EXPECT_TRUE(fs::exists(dir / "scan" / "report.json"));
  EXPECT_FALSE(polarizerTurning(session.device())) << "the stack's motion was not stopped";

  // Resume from the file: every tile once, the stopped one taken again.
  session.device().setTriggerListener([&](const TriggerEvent& t) { cam.onTrigger(t); });
  stop.store(false);
  ScanCheckpoint resumed = readCheckpoint(dir / "scan" / "scan.json");
  ScanRunner again(instrumentOf(session), dir / "scan", so);
  const ScanOutcome o2 = again.run(resumed, stop);
  ASSERT_TRUE(o2.complete);
  std::vector<int> indices;
  for (const TileResult& t : resumed.tiles) indices.push_back(t.index);
  std::sort(indices.begin(), indices.end());
  EXPECT_EQ(indices, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(o2.fallbacks, 0);  // continuous fly-by worked for every tile
  EXPECT_TRUE(fs::exists(dir / "scan" / "stacks" / "tile_0001"));
  EXPECT_FALSE(polarizerTurning(session.device())) << "still spinning after the scan";
  fs::remove_all(dir);
}

TEST(ScanFallback, APolarizerSlipDuringFlyByFaultsAndTheTileIsRetakenAfterHoming) {
  const fs::path dir = polscan::testing::freshTempDir("scanfb_slip");
  ScanCheckpoint cp = smallScan(makeSmallSlideFile(dir));
  // The simulator's rotor slips 120 microsteps (4.5 deg) on SIGUSR1; the firmware sees it at the
  // next index crossing (FAULT_MISSED_STEPS, safe state) within one turn of the spinning
  // polarizer: during that stack or while the stage moves to the next tile.
  InstrumentSession session(sessionOptions(cp, {"--usr1-slip-polarizer", "120"}));
  VirtualCamera& cam = session.virtualCamera();
  const pid_t sim = session.simulator()->pid();
  std::atomic<int> pulses{0};
  session.device().setTriggerListener([&](const TriggerEvent& t) {
    cam.onTrigger(t);
    if (++pulses == 8 + 1) ::kill(sim, SIGUSR1);  // first trigger of the second tile
  });
  ScanRunner runner(instrumentOf(session), dir / "scan");
  const std::atomic<bool> stop{false};
  const ScanOutcome o = runner.run(cp, stop);
  ASSERT_TRUE(o.complete);
  EXPECT_EQ(o.fallbacks, 1);
  int fell_back = -1;
  for (const TileResult& t : cp.tiles) {
    if (t.fallback.empty()) continue;
    fell_back = t.index;
    EXPECT_NE(t.fallback.find("fault"), std::string::npos) << t.fallback;
  }
  // The tile being taken when the slip was found: the second one or the one after it.
  EXPECT_TRUE(fell_back == 1 || fell_back == 2) << fell_back;
  // Homed again (the safe state cleared) and left still.
  const wire::DeviceStatus s = session.device().getStatus();
  EXPECT_TRUE(s.faults().empty());
  for (const auto& a : s.axes()) EXPECT_TRUE(a.homed()) << wire::Axis_Name(a.axis());
  EXPECT_FALSE(polarizerTurning(session.device()));
  fs::remove_all(dir);
}
