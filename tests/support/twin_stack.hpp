// A stack rendered by the optical twin (tests only): one frame per polarizer angle.
#pragma once

#include <cstdint>
#include <vector>

#include "common/stack.hpp"
#include "hardware/twin/field_renderer.hpp"

namespace polscan::testing {

// Renders `slide` through `optics` once per polarizer angle (deg): every frame is `field` (size,
// pixel, stage, exposure) at that angle, frame k's noise from field.frame_seed + k, so the same
// arguments give the same frames. The stack's train, wavelengths and bit depth come from the
// optics, its pixel size from the field; its stage and exposure are left to the caller.
inline Stack renderTwinStack(const twin::Slide& slide, const twin::OpticsConfig& optics,
                             const std::vector<double>& angles_deg, twin::FieldRequest field) {
  const twin::FieldRenderer renderer(slide, optics);
  Stack st;
  st.train = optics.train;
  st.wavelengths_nm = optics.wavelengths_nm;
  st.bit_depth = optics.bit_depth;
  st.pixel_um = field.pixel_um;
  const std::uint64_t seed_base = field.frame_seed;
  for (std::size_t k = 0; k < angles_deg.size(); ++k) {
    field.polarizer_deg = angles_deg[k];
    field.frame_seed = seed_base + k;
    st.frames.push_back(renderer.render(field));
    st.angles_deg.push_back(angles_deg[k]);
  }
  return st;
}

// The same for a width x height px field at pixel_um with the stage at (stage_x_um, 0).
inline Stack renderTwinStack(const twin::Slide& slide, const twin::OpticsConfig& optics,
                             const std::vector<double>& angles_deg, int width_px, int height_px,
                             double pixel_um = 0.4, std::uint64_t seed_base = 1,
                             double stage_x_um = 0.0) {
  return renderTwinStack(slide, optics, angles_deg,
                         twin::FieldRequest{.stage_x_um = stage_x_um,
                                            .width_px = width_px,
                                            .height_px = height_px,
                                            .pixel_um = pixel_um,
                                            .frame_seed = seed_base});
}

// 8 angles equally spaced over 0-180 deg: the instrument's default stack.
inline std::vector<double> eightAnglesDeg() {
  std::vector<double> a;
  for (int k = 0; k < 8; ++k) a.push_back(22.5 * k);
  return a;
}

}  // namespace polscan::testing
