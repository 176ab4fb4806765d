// Calibration file: JSON with units in every key (nlohmann), written atomically.
#include "calibration/instrument_calibration.hpp"

#include <cstdlib>
#include <fstream>

#include <nlohmann/json.hpp>

#include "calibration/calibration_error.hpp"

namespace polscan::calibration {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path defaultCalibrationPath(const std::string& instrument) {
  fs::path base;
  if (const char* dir = std::getenv("POLSCAN_CALIBRATION_DIR"); dir && *dir) {
    base = dir;
  } else if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg) {
    base = fs::path(xdg) / "polscan" / "instruments";
  } else if (const char* home = std::getenv("HOME"); home && *home) {
    base = fs::path(home) / ".config" / "polscan" / "instruments";
  } else {
    throw CalibrationError("no calibration folder: set POLSCAN_CALIBRATION_DIR or HOME");
  }
  return base / instrument / "calibration.json";
}

void saveCalibration(InstrumentCalibration& cal, const fs::path& file) {
  json j;
  j["format"] = "polscan-calibration";
  j["version"] = 2;
  j["instrument"] = cal.instrument;
  j["created"] = cal.created;
  j["wavelength_nm"] = cal.wavelength_nm;
  j["image_width_px"] = cal.image_width_px;
  j["image_height_px"] = cal.image_height_px;
  j["bit_depth"] = cal.bit_depth;
  j["dark_offset_dn"] = cal.dark_offset_dn;
  j["read_noise_dn"] = cal.read_noise_dn;
  j["extinction_ratio"] = cal.extinction_ratio;
  j["polarizer_offset_deg"] = cal.polarizer_offset_deg;
  j["qwp_axis_error_deg"] = cal.qwp_axis_error_deg;
  j["background_retardance_nm"] = cal.background_retardance_nm;
  j["residual_background_nm"] = cal.residual_background_nm;
  j["noise_floor_nm"] = cal.noise_floor_nm;
  j["vignetting"] = cal.vignetting;
  if (cal.pixel_um) j["pixel_um"] = *cal.pixel_um;
  if (cal.camera_rotation_deg) j["camera_rotation_deg"] = *cal.camera_rotation_deg;
  if (!cal.pixel_size_source.empty()) j["pixel_size_source"] = cal.pixel_size_source;
  j["dark"] = cal.dark_file;
  j["flat"] = cal.flat_file;
  j["blank"] = cal.blank_dir;
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec)
    throw CalibrationError("cannot create " + file.parent_path().string() + ": " + ec.message());
  const fs::path tmp = file.string() + ".tmp";
  {
    std::ofstream out(tmp);
    out << j.dump(2) << "\n";
    if (!out) throw CalibrationError("cannot write " + file.string());
  }
  fs::rename(tmp, file, ec);
  if (ec) throw CalibrationError("cannot write " + file.string() + ": " + ec.message());
  cal.folder = file.parent_path();
  cal.version = 2;
}

InstrumentCalibration loadCalibration(const fs::path& file) {
  std::ifstream in(file);
  if (!in)
    throw CalibrationError(file.string() + ": no calibration there (run `polscan calibrate`)");
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    throw CalibrationError(file.string() + ": not valid JSON (" + e.what() + ")");
  }
  if (j.value("format", "") != "polscan-calibration") {
    throw CalibrationError(file.string() + ": not a polscan calibration file");
  }
  InstrumentCalibration c;
  auto num = [&](const char* key) {
    if (!j.contains(key) || !j[key].is_number()) {
      throw CalibrationError(file.string() + ": missing or non-numeric \"" + key + "\"");
    }
    return j[key].get<double>();
  };
  c.instrument = j.value("instrument", "");
  c.created = j.value("created", "");
  c.wavelength_nm = num("wavelength_nm");
  c.version = j.value("version", 1);
  if (c.version > 2) {
    throw CalibrationError(file.string() + ": calibration format version " +
                           std::to_string(c.version) + " is newer than this polscan reads (2)");
  }
  if (c.version >= 2) {
    c.image_width_px = static_cast<int>(num("image_width_px"));
    c.image_height_px = static_cast<int>(num("image_height_px"));
    c.bit_depth = static_cast<int>(num("bit_depth"));
  }
  c.dark_offset_dn = num("dark_offset_dn");
  c.read_noise_dn = num("read_noise_dn");
  c.extinction_ratio = num("extinction_ratio");
  c.polarizer_offset_deg = num("polarizer_offset_deg");
  c.qwp_axis_error_deg = num("qwp_axis_error_deg");
  c.background_retardance_nm = num("background_retardance_nm");
  c.residual_background_nm = num("residual_background_nm");
  c.noise_floor_nm = num("noise_floor_nm");
  c.vignetting = num("vignetting");
  if (j.contains("pixel_um")) c.pixel_um = num("pixel_um");
  if (j.contains("camera_rotation_deg")) c.camera_rotation_deg = num("camera_rotation_deg");
  c.pixel_size_source = j.value("pixel_size_source", c.pixel_um ? "stage move" : "");
  c.dark_file = j.value("dark", "dark.tif");
  c.flat_file = j.value("flat", "flat.tif");
  c.blank_dir = j.value("blank", "blank");
  c.folder = file.parent_path();
  return c;
}

}  // namespace polscan::calibration
