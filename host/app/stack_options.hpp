// The stack options shared by commands that acquire: angles, mode and exposure.
#pragma once

#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

#include "acquisition/stack_acquirer.hpp"

namespace polscan {

struct StackOptions {
  int angles = 8;
  std::string mode = "fly-by";
  std::uint32_t exposure_us = 10000;

  // Registers --angles, --mode and --exposure-us (with their ranges and units) on cmd.
  void addTo(CLI::App& cmd);
  // Equally spaced angles over 0-180 deg in the chosen mode.
  AcquisitionSettings settings() const;
};

}  // namespace polscan
