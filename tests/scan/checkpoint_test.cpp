// Checkpoint: round trip of every tile and crystal flag, atomic replacement, clear errors.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "scan/scan_checkpoint.hpp"

using namespace polscan;
namespace fs = std::filesystem;

namespace {
fs::path tempDir(const std::string& name) {
  const fs::path d =
      fs::temp_directory_path() / ("polscan_ckpt_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

ScanCheckpoint sample() {
  ScanCheckpoint c;
  c.request.x_mm = 1.25;
  c.request.width_mm = 0.7;
  c.request.overlap = 0.15;
  c.request.chamber_depth_um = 100.0;
  c.acquisition.angles = 6;
  c.acquisition.mode = "stop-and-go";
  c.acquisition.slide = "/tmp/some slide.json";
  c.acquisition.calibration = "/etc/polscan/bench-2/calibration.json";
  c.acquisition.calibration_created = "2026-11-27T09:15:00Z";
  c.focus_points = {{10.0, 20.0, 3.25}, {400.0, 20.0, 4.5}};
  for (int t : {0, 1, 3}) {
    TileResult tr;
    tr.index = t;
    tr.z_um = 3.0 + t;
    tr.focus_metric = 0.001 * (t + 1);
    if (t == 1) tr.fallback = "fly-by stack failed: PairingError frame 3";
    for (int k = 1; k <= t + 1; ++k) {
      FieldCrystal fc;
      fc.record.id = k;
      fc.record.field = t;
      fc.record.cls = k == 2 ? CrystalClass::MSU : CrystalClass::CPPD;
      fc.record.x_um = 100.0 * t + 0.1234567891234 * k;
      fc.record.y_um = -3.5 * k;
      fc.record.length_um = 7.0;
      fc.record.confidence = 0.875;
      fc.record.elongation = Elongation::Positive;
      fc.touches_border = k == 1;
      fc.needs_review = k == 3;
      tr.crystals.push_back(fc);
    }
    c.tiles.push_back(tr);
  }
  return c;
}
}  // namespace

TEST(Checkpoint, RoundTripKeepsTilesCrystalsAndFlags) {
  const fs::path d = tempDir("roundtrip");
  const ScanCheckpoint c = sample();
  writeCheckpoint(c, d / "scan.json");
  EXPECT_FALSE(fs::exists(d / "scan.json.tmp"));
  const ScanCheckpoint r = readCheckpoint(d / "scan.json");
  EXPECT_DOUBLE_EQ(r.request.x_mm, 1.25);
  EXPECT_DOUBLE_EQ(r.request.overlap, 0.15);
  EXPECT_DOUBLE_EQ(r.request.chamber_depth_um, 100.0);
  EXPECT_EQ(r.acquisition.angles, 6);
  EXPECT_EQ(r.acquisition.mode, "stop-and-go");
  EXPECT_EQ(r.acquisition.slide, "/tmp/some slide.json");
  // The calibration the tiles were analysed with: a resume must use the same measurement.
  EXPECT_EQ(r.acquisition.calibration, "/etc/polscan/bench-2/calibration.json");
  EXPECT_EQ(r.acquisition.calibration_created, "2026-11-27T09:15:00Z");
  ASSERT_EQ(r.focus_points.size(), 2u);
  EXPECT_DOUBLE_EQ(r.focus_points[1].z_um, 4.5);
  ASSERT_EQ(r.tiles.size(), 3u);
  EXPECT_TRUE(r.done(3));
  EXPECT_FALSE(r.done(2));
  const TileResult& t3 = r.tiles[2];
  EXPECT_EQ(t3.index, 3);
  // The stop-and-go fallback is kept per tile; tiles without one read back empty.
  EXPECT_EQ(r.tiles[1].fallback, "fly-by stack failed: PairingError frame 3");
  EXPECT_TRUE(t3.fallback.empty());
  ASSERT_EQ(t3.crystals.size(), 4u);
  for (std::size_t k = 0; k < 4; ++k) {
    const FieldCrystal& a = c.tiles[2].crystals[k];
    const FieldCrystal& b = t3.crystals[k];
    EXPECT_EQ(b.record.id, a.record.id);
    EXPECT_EQ(b.record.field, 3);
    EXPECT_EQ(b.record.cls, a.record.cls);
    EXPECT_DOUBLE_EQ(b.record.x_um, a.record.x_um);  // exact: the merge must match a fresh run
    EXPECT_EQ(b.touches_border, a.touches_border);
    EXPECT_EQ(b.needs_review, a.needs_review);
  }
  fs::remove_all(d);
}

TEST(Checkpoint, AScanWithoutCalibrationReadsBackWithoutOne) {
  ScanCheckpoint c = sample();
  c.acquisition.calibration.clear();
  const nlohmann::json j = checkpointToJson(c);
  EXPECT_FALSE(j["acquisition"].contains("calibration"));
  EXPECT_TRUE(checkpointFromJson(j).acquisition.calibration.empty());
}

TEST(Checkpoint, ANewCheckpointReplacesTheOldOneWhole) {
  const fs::path d = tempDir("replace");
  ScanCheckpoint c = sample();
  writeCheckpoint(c, d / "scan.json");
  c.tiles.pop_back();
  c.complete = true;
  writeCheckpoint(c, d / "scan.json");
  const ScanCheckpoint r = readCheckpoint(d / "scan.json");
  EXPECT_EQ(r.tiles.size(), 2u);
  EXPECT_TRUE(r.complete);
  // A torn temporary file from a crash mid-write is ignored: scan.json is still the last one.
  std::ofstream(d / "scan.json.tmp") << "{\"format\": \"polscan-scan-ch";
  EXPECT_EQ(readCheckpoint(d / "scan.json").tiles.size(), 2u);
  fs::remove_all(d);
}

TEST(Checkpoint, BadFilesGiveErrorsNamingThem) {
  const fs::path d = tempDir("bad");
  try {
    readCheckpoint(d / "scan.json");
    FAIL();
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("no scan checkpoint"), std::string::npos);
  }
  std::ofstream(d / "scan.json") << "{\"format\": \"polscan-stack\", \"version\": 1}";
  try {
    readCheckpoint(d / "scan.json");
    FAIL();
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("not a polscan scan checkpoint"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find((d / "scan.json").string()), std::string::npos);
  }
  // A tile listed twice would be counted twice: refused.
  nlohmann::json j = checkpointToJson(sample());
  j["tiles"].push_back(j["tiles"][0]);
  EXPECT_THROW(checkpointFromJson(j), CheckpointError);
  fs::remove_all(d);
}
