// The crystal report: report.json (stable schema) and the readable table printed on the terminal.
#pragma once

#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/crystal.hpp"

namespace polscan {

struct Report {
  std::string sample;
  int fields = 0;
  std::vector<CrystalRecord> crystals;
  std::vector<int> needs_review;  // ids of crystals a person should look at
};

// report.json: {"sample", "fields", "counts": {class: n} (every class, zeros included),
// "crystals": [{"id", "class", "confidence", "x_um", "y_um", "length_um", "width_um",
// "retardance_nm", "slow_axis_deg", "elongation", ...}], "needs_review": [ids], "notes": [...]}.
nlohmann::json reportToJson(const Report& report);
Report reportFromJson(const nlohmann::json& j);

// Writes atomically (temporary file + rename). Throws std::runtime_error naming the path.
void writeReport(const Report& report, const std::filesystem::path& file);

void printReportTable(const Report& report, std::ostream& out);

}  // namespace polscan
