// crystals.csv: one row per crystal of a report, units in the header, for spreadsheets and R.
#pragma once

#include <filesystem>
#include <string>

#include "io/report.hpp"

namespace polscan {

// Header: id, class, confidence (0-1), x (um), y (um), length (um), width (um),
// retardance (nm), slow axis (deg), long axis (deg), elongation, field, needs review (yes/no).
std::string crystalsCsv(const Report& report);

// Writes atomically (temporary file + rename). Throws std::runtime_error naming the path.
void writeCrystalsCsv(const Report& report, const std::filesystem::path& file);

// Writes text to file atomically; shared by the report writers. Throws std::runtime_error.
void writeTextFile(const std::string& text, const std::filesystem::path& file,
                   const std::string& what);

}  // namespace polscan
