// Report serialisation and the terminal table.
#include "io/report.hpp"

#include <algorithm>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <map>
#include <stdexcept>

namespace polscan {

using nlohmann::json;

namespace {
constexpr const char* kApatiteNote =
    "Non-birefringent particles are reported as such: apatite (basic calcium phosphate) cannot be "
    "confirmed by polarized light; confirm with alizarin red staining.";

std::map<CrystalClass, int> countByClass(const Report& r) {
  std::map<CrystalClass, int> counts;
  for (CrystalClass c : kAllCrystalClasses) counts[c] = 0;
  for (const auto& c : r.crystals) ++counts[c.cls];
  return counts;
}
}  // namespace

const char* apatiteNote() {
  return kApatiteNote;
}

int withFieldChannels(int stack_channels, int channels) {
  if (channels <= 0) return stack_channels;
  return stack_channels == 0 ? channels : std::min(stack_channels, channels);
}

std::vector<std::string> reportNotes(const Report& report) {
  std::vector<std::string> notes{kApatiteNote};
  if (report.sample_type == "urine" && report.stack_channels == 1) {
    notes.emplace_back(
        "Urine analysed from single-wavelength (mono) stacks: a crystal whose retardance lies near "
        "a multiple of half the LED wavelength (273 nm at 546 nm; thick uric acid plates) shows "
        "almost no birefringence and may be missed or misnamed. RGB stacks (colour camera with "
        "the achromatic quarter-wave plate) see it.");
  }
  return notes;
}

std::vector<std::pair<CrystalClass, int>> countsByClass(const Report& report) {
  const auto m = countByClass(report);
  std::vector<std::pair<CrystalClass, int>> out;
  for (CrystalClass c : kAllCrystalClasses) out.emplace_back(c, m.at(c));
  return out;
}

std::optional<double> perMm2(const Report& report, int count) {
  if (!(report.scanned_area_mm2 > 0)) return std::nullopt;
  return count / report.scanned_area_mm2;
}

std::optional<double> perMicrolitre(const Report& report, int count) {
  // 1 uL = 1 mm3: area (mm2) x depth (um / 1000).
  const double volume_ul = report.scanned_area_mm2 * report.chamber_depth_um / 1000.0;
  if (!(volume_ul > 0)) return std::nullopt;
  return count / volume_ul;
}

std::string utcNowIso8601() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json reportToJson(const Report& report) {
  json j;
  j["sample"] = report.sample;
  j["fields"] = report.fields;
  json counts = json::object();
  for (const auto& [cls, n] : countByClass(report)) counts[std::string(crystalClassName(cls))] = n;
  j["counts"] = counts;
  json crystals = json::array();
  for (const auto& c : report.crystals) {
    json entry = {
        {"id", c.id},
        {"class", std::string(crystalClassName(c.cls))},
        {"confidence", c.confidence},
        {"x_um", c.x_um},
        {"y_um", c.y_um},
        {"length_um", c.length_um},
        {"width_um", c.width_um},
        {"retardance_nm", c.retardance_nm},
        {"slow_axis_deg", c.slow_axis_deg},
        {"long_axis_deg", c.long_axis_deg},
        {"elongation", std::string(elongationName(c.elongation))},
        {"field", c.field},
    };
    if (c.focus_per_um) entry["focus_per_um"] = *c.focus_per_um;
    crystals.push_back(std::move(entry));
  }
  j["crystals"] = crystals;
  j["needs_review"] = report.needs_review;
  if (!report.sample_id.empty()) j["sample_id"] = report.sample_id;
  if (!report.sample_type.empty()) j["sample_type"] = report.sample_type;
  if (!report.operator_name.empty()) j["operator"] = report.operator_name;
  if (!report.date.empty()) j["date"] = report.date;
  if (report.scanned_area_mm2 > 0) j["scanned_area_mm2"] = report.scanned_area_mm2;
  if (report.chamber_depth_um > 0) j["chamber_depth_um"] = report.chamber_depth_um;
  if (report.stack_channels > 0) j["stack_channels"] = report.stack_channels;
  j["notes"] = reportNotes(report);
  return j;
}

Report reportFromJson(const json& j) {
  Report r;
  r.sample = j.at("sample").get<std::string>();
  r.fields = j.at("fields").get<int>();
  for (const auto& c : j.at("crystals")) {
    CrystalRecord rec;
    rec.id = c.at("id").get<int>();
    const auto cls = crystalClassFromName(c.at("class").get<std::string>());
    if (!cls) throw std::runtime_error("report: unknown class " + c.at("class").dump());
    rec.cls = *cls;
    rec.confidence = c.at("confidence").get<double>();
    rec.x_um = c.at("x_um").get<double>();
    rec.y_um = c.at("y_um").get<double>();
    rec.length_um = c.at("length_um").get<double>();
    rec.width_um = c.at("width_um").get<double>();
    rec.retardance_nm = c.at("retardance_nm").get<double>();
    rec.slow_axis_deg = c.at("slow_axis_deg").get<double>();
    rec.long_axis_deg = c.value("long_axis_deg", 0.0);
    const std::string e = c.at("elongation").get<std::string>();
    rec.elongation = e == "positive"   ? Elongation::Positive
                     : e == "negative" ? Elongation::Negative
                                       : Elongation::None;
    rec.field = c.value("field", 0);
    if (c.contains("focus_per_um")) rec.focus_per_um = c.at("focus_per_um").get<double>();
    r.crystals.push_back(rec);
  }
  if (j.contains("needs_review")) r.needs_review = j["needs_review"].get<std::vector<int>>();
  r.sample_id = j.value("sample_id", std::string());
  r.sample_type = j.value("sample_type", std::string());
  r.stack_channels = j.value("stack_channels", 0);
  r.operator_name = j.value("operator", std::string());
  r.date = j.value("date", std::string());
  r.scanned_area_mm2 = j.value("scanned_area_mm2", 0.0);
  r.chamber_depth_um = j.value("chamber_depth_um", 0.0);
  return r;
}

void writeReport(const Report& report, const std::filesystem::path& file) {
  const auto tmp = std::filesystem::path(file.string() + ".tmp");
  {
    std::ofstream out(tmp);
    if (!out) throw std::runtime_error("cannot write report " + file.string());
    out << reportToJson(report).dump(2) << "\n";
    if (!out) throw std::runtime_error("cannot write report " + file.string());
  }
  std::error_code ec;
  std::filesystem::rename(tmp, file, ec);
  if (ec) throw std::runtime_error("cannot write report " + file.string() + ": " + ec.message());
}

void printReportTable(const Report& report, std::ostream& out) {
  out << "Sample: " << report.sample << "   fields analysed: " << report.fields
      << "   crystals: " << report.crystals.size() << "\n\n";
  out << std::left << std::setw(5) << "id" << std::setw(18) << "class" << std::right << std::setw(6)
      << "conf" << std::setw(11) << "x [um]" << std::setw(11) << "y [um]" << std::setw(9)
      << "L [um]" << std::setw(9) << "W [um]" << std::setw(10) << "R [nm]" << std::setw(11)
      << "slow [deg]"
      << "  elongation\n";
  out << std::fixed;
  for (const auto& c : report.crystals) {
    out << std::left << std::setw(5) << c.id << std::setw(18) << crystalClassName(c.cls)
        << std::right << std::setprecision(2) << std::setw(6) << c.confidence
        << std::setprecision(1) << std::setw(11) << c.x_um << std::setw(11) << c.y_um
        << std::setw(9) << c.length_um << std::setw(9) << c.width_um << std::setw(10)
        << c.retardance_nm << std::setw(11) << c.slow_axis_deg << "  "
        << elongationName(c.elongation) << "\n";
  }
  out << "\nCounts:";
  for (const auto& [cls, n] : countByClass(report)) {
    if (n > 0) out << "  " << crystalClassName(cls) << " " << n;
  }
  out << "\n";
  if (!report.needs_review.empty()) {
    out << "Needs review (low confidence): ids";
    for (int id : report.needs_review) out << " " << id;
    out << "\n";
  }
  for (const std::string& note : reportNotes(report)) out << "Note: " << note << "\n";
  out.unsetf(std::ios::fixed);
}

}  // namespace polscan
