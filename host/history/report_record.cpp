// A report's row in the sample history.
#include "history/report_record.hpp"

#include <string>

#include "common/crystal_class.hpp"

namespace polscan {

namespace fs = std::filesystem;

SampleRecord sampleRecordOf(const Report& report, const fs::path& report_json, const fs::path& html,
                            const fs::path& data_path) {
  SampleRecord r;
  r.sample_id = report.sample_id;
  r.sample_type = report.sample_type;
  r.date = report.date;
  r.operator_name = report.operator_name;
  r.sample_name = report.sample;
  r.fields = report.fields;
  r.scanned_area_mm2 = report.scanned_area_mm2;
  for (const auto& [cls, n] : countsByClass(report))
    r.counts[std::string(crystalClassName(cls))] = n;
  r.report_path = fs::absolute(report_json).string();
  r.html_path = html.empty() ? "" : fs::absolute(html).string();
  r.data_path = fs::absolute(data_path).string();
  return r;
}

}  // namespace polscan
