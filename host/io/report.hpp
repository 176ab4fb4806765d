// The crystal report: report.json (stable schema) and the readable table printed on the terminal.
#pragma once

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/crystal.hpp"

namespace polscan {

struct Report {
  std::string sample;
  int fields = 0;
  std::vector<CrystalRecord> crystals;
  std::vector<int> needs_review;  // ids of crystals a person should look at
  // Optional sample data (written to report.json only when set).
  std::string sample_id;
  std::string sample_type;        // "synovial-fluid" / "urine"
  std::string operator_name;      // who ran the sample
  std::string date;               // ISO 8601 UTC time of the analysis
  double scanned_area_mm2 = 0.0;  // union of the fields' areas
  double chamber_depth_um = 0.0;  // of the counting chamber / slide; 0: unknown
  // Colour channels of the stacks analysed: 1 when any field was a single-wavelength (mono)
  // stack, 3 when all were RGB; 0: unknown (older reports).
  int stack_channels = 0;
};

// The statement every report carries: apatite is not confirmed by polarized light.
const char* apatiteNote();

// The report's notes: the apatite statement always; for a urine sample analysed from mono stacks,
// the crystals a single wavelength cannot see (retardance near a multiple of a half wave).
std::vector<std::string> reportNotes(const Report& report);

// Report::stack_channels after one more analysed field of `channels` (1 mono, 3 RGB; 0 unknown:
// ignored): the fewest seen.
int withFieldChannels(int stack_channels, int channels);

// Crystals per class, every class present (zeros included), in kAllCrystalClasses order.
std::vector<std::pair<CrystalClass, int>> countsByClass(const Report& report);

// Crystals of a class per mm2 of scanned area and per microlitre of sample (when the chamber
// depth is known); nullopt when the area (or depth) is unknown.
std::optional<double> perMm2(const Report& report, int count);
std::optional<double> perMicrolitre(const Report& report, int count);

// Current UTC time as ISO 8601 ("2026-11-27T08:05:00Z").
std::string utcNowIso8601();

// report.json: {"sample", "fields", "counts": {class: n} (every class, zeros included),
// "crystals": [{"id", "class", "confidence", "x_um", "y_um", "length_um", "width_um",
// "retardance_nm", "slow_axis_deg", "elongation", ...}], "needs_review": [ids], "notes": [...]
// (reportNotes), "stack_channels" when known}.
nlohmann::json reportToJson(const Report& report);
Report reportFromJson(const nlohmann::json& j);

// Writes atomically (temporary file + rename). Throws std::runtime_error naming the path.
void writeReport(const Report& report, const std::filesystem::path& file);

void printReportTable(const Report& report, std::ostream& out);

}  // namespace polscan
