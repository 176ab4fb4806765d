// The tile plan of a slide scan: region, field size, overlap, serpentine order, backlash moves.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace polscan {

class ScanPlanError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// What the user asks for. Region corners and sizes in millimetres of stage travel (the stage
// position of a field's centre is its slide coordinate, as everywhere in polscan).
struct ScanRequest {
  double x_mm = 0.0, y_mm = 0.0;  // lower-left corner of the region
  double width_mm = 1.0, height_mm = 1.0;
  double pixel_um = 0.4;  // sample-plane pixel size (sensor pixel / magnification)
  int image_width_px = 1024, image_height_px = 768;
  double overlap = 0.1;            // fraction of a field shared with its neighbour
  double chamber_depth_um = 20.0;  // counting-chamber depth: volume = area x depth
  double backlash_um = 20.0;       // every tile is approached from below by >= this
};

// Sample-plane pixel size from a sensor pixel and the objective magnification.
double pixelSizeUm(double sensor_pixel_um, double magnification);

// Travel of one stage axis in micrometres (from the instrument's Info.limits).
struct AxisTravel {
  double min_um = 0.0, max_um = 0.0;
};
struct StageTravel {
  AxisTravel x, y;
};

// One field of the scan, in scan order.
struct Tile {
  int index = 0;  // position in scan order, 0-based
  int row = 0, col = 0;
  double x_um = 0, y_um = 0;  // stage position of the field's centre
};

// One stage move (axis 'x' or 'y') to an absolute target in micrometres.
struct StageMove {
  char axis = 'x';
  double target_um = 0.0;
  bool operator==(const StageMove&) const = default;
};

struct ScanPlan {
  ScanRequest request;
  double field_width_um = 0, field_height_um = 0;
  double pitch_x_um = 0, pitch_y_um = 0;  // centre to centre
  int cols = 0, rows = 0;
  std::vector<Tile> tiles;  // serpentine: row 0 left to right, row 1 right to left, ...

  // Area imaged by all tiles, overlaps counted once (square micrometres): the fields' union.
  double scannedAreaUm2() const;
  // Area of a subset of tiles (by index), overlaps counted once.
  double scannedAreaUm2(const std::vector<int>& tile_indices) const;
  // Imaged volume in microlitres for an area in square micrometres.
  double volumeUl(double area_um2) const;

  // Moves that bring the stage from `from` (nullopt: unknown, e.g. after homing) to the tile so
  // that each axis arrives travelling in +x / +y by at least the backlash: a move in the negative
  // direction overshoots by the backlash first.
  std::vector<StageMove> approach(const std::optional<Tile>& from, const Tile& to) const;
};

// Builds the plan; throws ScanPlanError naming the bad value, or the axis whose travel the
// region (plus the backlash run-up and half a field) leaves.
ScanPlan planScan(const ScanRequest& request, const StageTravel& travel);

}  // namespace polscan
