// A stack rendered by the optical twin (tests only): one frame per polarizer angle.
#pragma once

#include <cstdint>
#include <vector>

#include "common/stack.hpp"
#include "hardware/twin/field_renderer.hpp"

namespace polscan::testing {

// Renders `slide` through `optics` at each polarizer angle (deg) into a width x height px stack at
// pixel_um, the stage at stage_x_um, with the stack's train, wavelengths and bit depth from the
// optics. Frame k's noise comes from seed_base + k, so the same arguments give the same frames.
inline Stack renderTwinStack(const twin::Slide& slide, const twin::OpticsConfig& optics,
                             const std::vector<double>& angles_deg, int width_px, int height_px,
                             double pixel_um = 0.4, std::uint64_t seed_base = 1,
                             double stage_x_um = 0.0) {
  const twin::FieldRenderer renderer(slide, optics);
  Stack st;
  st.train = optics.train;
  st.wavelengths_nm = optics.wavelengths_nm;
  st.bit_depth = optics.bit_depth;
  st.pixel_um = pixel_um;
  for (std::size_t k = 0; k < angles_deg.size(); ++k) {
    twin::FieldRequest req;
    req.width_px = width_px;
    req.height_px = height_px;
    req.pixel_um = pixel_um;
    req.stage_x_um = stage_x_um;
    req.polarizer_deg = angles_deg[k];
    req.frame_seed = seed_base + k;
    st.frames.push_back(renderer.render(req));
    st.angles_deg.push_back(angles_deg[k]);
  }
  return st;
}

// 8 angles equally spaced over 0-180 deg: the instrument's default stack.
inline std::vector<double> eightAnglesDeg() {
  std::vector<double> a;
  for (int k = 0; k < 8; ++k) a.push_back(22.5 * k);
  return a;
}

}  // namespace polscan::testing
