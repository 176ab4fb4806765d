// mergeField: nearest-centre matching between fields; within a field nothing is merged.
#include "scan/overlap_merge.hpp"

#include <algorithm>
#include <cmath>

namespace polscan {

void mergeField(std::vector<FieldCrystal>& all, const std::vector<FieldCrystal>& field,
                double min_radius_um) {
  const std::size_t before = all.size();
  for (const FieldCrystal& c : field) {
    FieldCrystal* match = nullptr;
    double best = 0.0;
    for (std::size_t i = 0; i < before; ++i) {
      FieldCrystal& o = all[i];
      if (o.record.field == c.record.field) continue;
      const double d = std::hypot(o.record.x_um - c.record.x_um, o.record.y_um - c.record.y_um);
      const double radius =
          std::max(min_radius_um, 0.5 * std::max(o.record.length_um, c.record.length_um));
      if (d <= radius && (match == nullptr || d < best)) {
        match = &o;
        best = d;
      }
    }
    if (match == nullptr) {
      all.push_back(c);
    } else if (match->touches_border && !c.touches_border) {
      const int id = match->record.id;
      *match = c;
      match->record.id = id;  // ids stay in order of first sighting
    }
  }
}

}  // namespace polscan
