// One identified crystal as it appears in report.json.
#pragma once

#include <optional>
#include <string>

#include "common/crystal_class.hpp"

namespace polscan {

struct CrystalRecord {
  int id = 0;
  CrystalClass cls = CrystalClass::Unknown;
  double confidence = 0.0;  // probability in [0, 1] that cls is right
  double x_um = 0.0;        // slide coordinates of the centre (stage centre + offset), y up
  double y_um = 0.0;
  double length_um = 0.0;
  double width_um = 0.0;
  double retardance_nm = 0.0;  // mean over the crystal
  double slow_axis_deg = 0.0;  // mean slow-axis azimuth, [0, 180)
  double long_axis_deg = 0.0;  // long-axis orientation, [0, 180)
  Elongation elongation = Elongation::None;
  int field = 0;  // index of the field (stack) it was found in
  // Focus of the crystal: mean gradient across its outline of its retardance (I0 for a
  // non-birefringent particle) relative to its level, per um (1/um). Sharp edges ~0.5-1 /um,
  // a crystal out of the depth of field well under that. Absent when not measured.
  std::optional<double> focus_per_um;
};

}  // namespace polscan
