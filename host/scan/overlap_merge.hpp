// Crystals seen in two overlapping fields are one crystal: keep the better view of each.
#pragma once

#include <vector>

#include "common/crystal.hpp"

namespace polscan {

struct FieldCrystal {
  CrystalRecord record;
  bool touches_border = false;  // cut by its field's edge: its size is underestimated
  bool needs_review = false;
};

// Adds one field's crystals to the list. A crystal whose centre lies within the match radius of
// a crystal from another field is the same crystal: the copy that is not cut by a field edge
// wins, else the one seen first. Match radius: max(min_radius_um, half the longer length).
void mergeField(std::vector<FieldCrystal>& all, const std::vector<FieldCrystal>& field,
                double min_radius_um = 3.0);

}  // namespace polscan
