// crystals.csv writer (RFC 4180 quoting for the one free-text column, the class name).
#include "io/report_csv.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace polscan {

namespace {
std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}
}  // namespace

std::string crystalsCsv(const Report& report) {
  std::string out =
      "id,class,confidence (0-1),x (um),y (um),length (um),width (um),retardance (nm),"
      "slow axis (deg),long axis (deg),elongation,field,focus (1/um),needs review\n";
  for (const CrystalRecord& c : report.crystals) {
    const bool review = std::find(report.needs_review.begin(), report.needs_review.end(), c.id) !=
                        report.needs_review.end();
    out += std::to_string(c.id) + "," + std::string(crystalClassName(c.cls)) + "," +
           fixed(c.confidence, 3) + "," + fixed(c.x_um, 2) + "," + fixed(c.y_um, 2) + "," +
           fixed(c.length_um, 2) + "," + fixed(c.width_um, 2) + "," + fixed(c.retardance_nm, 1) +
           "," + fixed(c.slow_axis_deg, 1) + "," + fixed(c.long_axis_deg, 1) + "," +
           std::string(elongationName(c.elongation)) + "," + std::to_string(c.field) + "," +
           (c.focus_per_um ? fixed(*c.focus_per_um, 3) : std::string()) + "," +
           (review ? "yes" : "no") + "\n";
  }
  return out;
}

void writeTextFile(const std::string& text, const std::filesystem::path& file,
                   const std::string& what) {
  const auto tmp = std::filesystem::path(file.string() + ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) throw std::runtime_error("cannot write " + what + " " + file.string());
    out << text;
    if (!out) throw std::runtime_error("cannot write " + what + " " + file.string());
  }
  std::error_code ec;
  std::filesystem::rename(tmp, file, ec);
  if (ec) {
    throw std::runtime_error("cannot write " + what + " " + file.string() + ": " + ec.message());
  }
}

void writeCrystalsCsv(const Report& report, const std::filesystem::path& file) {
  writeTextFile(crystalsCsv(report), file, "crystal table");
}

}  // namespace polscan
