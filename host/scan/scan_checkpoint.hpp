// The scan's checkpoint (scan.json): plan, settings and every finished tile, written atomically.
#pragma once

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scan/focus.hpp"
#include "scan/overlap_merge.hpp"
#include "scan/scan_plan.hpp"

namespace polscan {

class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// How each tile is acquired; kept so that a resumed scan acquires the rest the same way.
struct ScanAcquisition {
  int angles = 8;
  std::string mode = "fly-by";  // or "stop-and-go"
  std::uint32_t exposure_us = 10000;
  bool strobe = true;  // fly-by: LED lit only while each frame integrates
  bool autofocus = true;
  double focus_z_um = 0.0;  // start of the focus search (and focus when autofocus is off)
  std::string sample = "synovial-fluid";
  std::string slide;  // virtual instrument: slide.json (absolute), empty = built-in
  // The instrument calibration every tile is analysed with (`scan --calibration`): its
  // calibration.json (absolute) and its "created" stamp, which names the measurement. Empty: none.
  // A resume analyses the remaining tiles with the same one.
  std::string calibration;
  std::string calibration_created;
};

// One tile whose stack was acquired and analysed: its crystals before the overlap merge.
struct TileResult {
  int index = 0;
  double z_um = 0.0;
  double focus_metric = 0.0;
  std::vector<FieldCrystal> crystals;  // record.field == index
  // Why the tile was retaken stop-and-go after its fly-by stack failed; empty: it was not.
  std::string fallback;
  int channels = 0;  // colour channels of its stack: 1 mono, 3 RGB (0: unknown, older scan.json)
};

struct ScanCheckpoint {
  ScanRequest request;
  ScanAcquisition acquisition;
  std::vector<FocusPoint> focus_points;
  std::vector<TileResult> tiles;  // finished tiles, in the order they finished
  bool complete = false;

  bool done(int tile_index) const;
};

nlohmann::json checkpointToJson(const ScanCheckpoint& c);
ScanCheckpoint checkpointFromJson(const nlohmann::json& j);  // CheckpointError naming the field

// Atomic: writes `<file>.tmp`, flushes it to disk, renames it over `file`. A crash leaves either
// the old or the new checkpoint, never a torn one.
void writeCheckpoint(const ScanCheckpoint& c, const std::filesystem::path& file);
ScanCheckpoint readCheckpoint(const std::filesystem::path& file);

// Writes text to file atomically (temporary file + fsync + rename).
void writeFileAtomically(const std::filesystem::path& file, const std::string& text);

}  // namespace polscan
