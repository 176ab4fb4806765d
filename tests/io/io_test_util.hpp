// Helpers shared by the io tests: stacks rendered by the virtual instrument, temporary paths.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/stack.hpp"
#include "hardware/twin/field_renderer.hpp"
#include "hardware/twin/slide.hpp"

namespace polscan::testing {

inline std::filesystem::path tempPath(const std::string& name) {
  const auto p = std::filesystem::temp_directory_path() /
                 ("polscan_io_" + std::to_string(::getpid()) + "_" + name);
  std::filesystem::remove_all(p);
  return p;
}

// A small field of the built-in demo slide rendered at `angles` polarizer angles.
inline Stack renderedStack(std::vector<double> angles, bool rgb = false, int width = 192,
                           int height = 144, double x_um = 0, double y_um = 0) {
  twin::OpticsConfig optics;
  if (rgb) optics.wavelengths_nm = {630, 546, 460};
  const twin::FieldRenderer renderer(twin::demoSlide(), optics);
  Stack s;
  s.pixel_um = 0.4;
  s.exposure_us = 12500;
  s.bit_depth = optics.bit_depth;
  s.wavelengths_nm = optics.wavelengths_nm;
  s.stage = StagePosition{x_um, y_um, 3.5};
  for (std::size_t i = 0; i < angles.size(); ++i) {
    twin::FieldRequest req;
    req.stage_x_um = x_um;
    req.stage_y_um = y_um;
    req.width_px = width;
    req.height_px = height;
    req.pixel_um = s.pixel_um;
    req.exposure_us = s.exposure_us;
    req.polarizer_deg = angles[i];
    req.frame_seed = i + 1;
    s.frames.push_back(renderer.render(req));
  }
  s.angles_deg = std::move(angles);
  return s;
}

}  // namespace polscan::testing
