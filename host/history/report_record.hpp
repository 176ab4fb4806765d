// The sample-history row of an analysed sample, taken from its report (one place for `analyze`,
// `demo`, `scan` and the web UI).
#pragma once

#include <filesystem>

#include "history/sample_history.hpp"
#include "io/report.hpp"

namespace polscan {

// Sample id, type, operator, date, sample name, fields, scanned area and counts per class from
// the report; the paths made absolute (html may be empty: not written).
SampleRecord sampleRecordOf(const Report& report, const std::filesystem::path& report_json,
                            const std::filesystem::path& html,
                            const std::filesystem::path& data_path);

}  // namespace polscan
