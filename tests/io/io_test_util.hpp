// Helpers shared by the io tests: stacks rendered by the virtual instrument, temporary paths.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/stack.hpp"
#include "hardware/twin/slide.hpp"
#include "tests/support/twin_stack.hpp"

namespace polscan::testing {

inline std::filesystem::path tempPath(const std::string& name) {
  const auto p = std::filesystem::temp_directory_path() /
                 ("polscan_io_" + std::to_string(::getpid()) + "_" + name);
  std::filesystem::remove_all(p);
  return p;
}

// A small field of the built-in demo slide rendered at `angles` polarizer angles.
inline Stack renderedStack(const std::vector<double>& angles, bool rgb = false, int width = 192,
                           int height = 144, double x_um = 0, double y_um = 0) {
  twin::OpticsConfig optics;
  if (rgb) optics.wavelengths_nm = {630, 546, 460};
  const twin::FieldRequest field{.stage_x_um = x_um,
                                 .stage_y_um = y_um,
                                 .width_px = width,
                                 .height_px = height,
                                 .pixel_um = 0.4,
                                 .exposure_us = 12500,
                                 .frame_seed = 1};
  Stack s = renderTwinStack(twin::demoSlide(), optics, angles, field);
  s.exposure_us = field.exposure_us;
  s.stage = StagePosition{x_um, y_um, 3.5};
  return s;
}

}  // namespace polscan::testing
