// calibrate(): measurements in dependency order (dark -> Malus -> plate -> flat -> noise -> size).
#include "calibration/calibrate.hpp"

#include <chrono>
#include <cmath>
#include <ctime>
#include <iomanip>
#include <sstream>

#include <opencv2/imgcodecs.hpp>

#include "calibration/calibration_error.hpp"
#include "io/stack_folder.hpp"

namespace polscan::calibration {

namespace {
std::string fmt(double v, int precision = 2) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(precision) << v;
  return s.str();
}

std::string nowIso() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// What a figure's refusal says: the value, the limit and what to adjust.
struct Refusals {
  std::vector<std::string> list;
  void check(bool ok, const std::string& what) {
    if (!ok) list.push_back(what);
  }
};
}  // namespace

InstrumentCalibration measureCalibration(const CalibrationInputs& in,
                                         const CalibrationLimits& limits) {
  InstrumentCalibration cal;
  cal.instrument = in.instrument;
  cal.created = nowIso();
  if (!in.blank.wavelengths_nm.empty()) cal.wavelength_nm = in.blank.wavelengths_nm.front();
  if (in.blank.train != OpticalTrain::Circular) {
    throw CalibrationError("calibration is defined for the circular train; the blank stack is " +
                           std::string(opticalTrainName(in.blank.train)));
  }

  const DarkMeasurement dark = measureDark(in.dark);
  cal.image_width_px = in.dark.frames.front().cols;
  cal.image_height_px = in.dark.frames.front().rows;
  cal.bit_depth = in.dark.bit_depth;
  cal.dark_offset_dn = dark.offset_dn;
  cal.read_noise_dn = dark.read_noise_dn;
  const MalusMeasurement malus = measureMalus(in.malus, dark.offset_dn);
  cal.extinction_ratio = malus.extinction_ratio;
  cal.polarizer_offset_deg = malus.polarizer_offset_deg;

  Refusals r;
  const double full_scale = std::ldexp(1.0, in.dark.bit_depth) - 1;
  r.check(dark.offset_dn <= limits.max_dark_fraction * full_scale,
          "dark offset " + fmt(dark.offset_dn, 1) + " DN is above " +
              fmt(100 * limits.max_dark_fraction, 0) +
              " % of full scale: block the light path for the dark stack (LED off, lid closed) "
              "or lower the camera's black level");
  r.check(malus.extinction_ratio >= limits.min_extinction_ratio,
          "extinction ratio " + fmt(malus.extinction_ratio, 1) + " is below " +
              fmt(limits.min_extinction_ratio, 0) +
              ": the analyser is missing or out of the light path, or the polarizer does not "
              "turn; check both are seated and the quarter-wave plate is out for the Malus stack");
  if (!r.list.empty()) throw CalibrationRefused(r.list);  // the rest is meaningless then

  r.check(std::abs(malus.polarizer_offset_deg) <= limits.max_polarizer_offset_deg,
          "polarizer zero offset " + fmt(malus.polarizer_offset_deg) + " deg exceeds " +
              fmt(limits.max_polarizer_offset_deg, 0) +
              " deg: turn the polarizer in its mount by " + fmt(-malus.polarizer_offset_deg) +
              " deg relative to the index flag");
  const QwpMeasurement qwp = measureQwp(in.blank, dark.offset_dn, malus.polarizer_offset_deg,
                                        malus.contrast, cal.wavelength_nm);
  cal.qwp_axis_error_deg = qwp.axis_error_deg;
  cal.background_retardance_nm = qwp.background_retardance_nm;
  r.check(std::abs(qwp.axis_error_deg) <= limits.max_qwp_axis_error_deg,
          "quarter-wave plate axis is " + fmt(qwp.axis_error_deg) + " deg off 45 deg (limit " +
              fmt(limits.max_qwp_axis_error_deg, 0) + "): turn the plate by " +
              fmt(-qwp.axis_error_deg) + " deg");

  const FlatMeasurement flat = measureFlat(in.blank, dark.dark);
  cal.vignetting = flat.corner_falloff;
  r.check(flat.corner_falloff <= limits.max_vignetting,
          "flat field falls off by " + fmt(100 * flat.corner_falloff, 0) +
              " % to the corners (limit " + fmt(100 * limits.max_vignetting, 0) +
              " %): centre the lamp and condenser (Koehler illumination)");

  if (in.blank_again.frames.empty()) {
    throw CalibrationError("a second blank stack is needed to measure the noise floor");
  }
  const BlankNoise noise = measureBlankNoise(in.blank, in.blank_again, dark.offset_dn);
  cal.noise_floor_nm = noise.noise_floor_nm;
  cal.residual_background_nm = noise.residual_background_nm;
  r.check(noise.noise_floor_nm <= limits.max_noise_floor_nm,
          "retardance noise floor " + fmt(noise.noise_floor_nm) + " nm exceeds " +
              fmt(limits.max_noise_floor_nm, 1) +
              " nm: raise the exposure or LED level, or use more angles");
  r.check(noise.residual_background_nm <= limits.max_residual_background_nm,
          "residual background retardance " + fmt(noise.residual_background_nm) +
              " nm after blank correction exceeds " + fmt(limits.max_residual_background_nm, 1) +
              " nm: the optics moved between the blank stacks (strain, loose plate) or the "
              "blank area is not empty");

  if (in.stage_move) {
    const auto& m = *in.stage_move;
    const PixelSizeMeasurement p = measurePixelSize(m.before, m.after, m.move_x_um, m.move_y_um);
    r.check(p.response >= limits.min_correlation_response,
            "stage-move frames barely correlate (peak " + fmt(p.response, 3) +
                "): choose a textured area and a move smaller than half the field");
    r.check(std::abs(p.camera_rotation_deg) <= limits.max_camera_rotation_deg,
            "camera is rotated " + fmt(p.camera_rotation_deg, 1) +
                " deg against the stage axes (limit " + fmt(limits.max_camera_rotation_deg, 0) +
                " deg): rotate the camera in its mount");
    cal.pixel_um = p.pixel_um;
    cal.camera_rotation_deg = p.camera_rotation_deg;
    cal.pixel_size_source = "stage move";
  }
  if (in.micrometer) {
    const MicrometerMeasurement m =
        measureMicrometer(in.micrometer->image, in.micrometer->pitch_um);
    if (cal.pixel_um) {
      const double rel = std::abs(*cal.pixel_um / m.pixel_um - 1);
      r.check(rel <= limits.max_pixel_size_disagreement,
              "pixel size from the stage move (" + fmt(*cal.pixel_um, 4) +
                  " um/px) and from the micrometer (" + fmt(m.pixel_um, 4) + " um/px) differ by " +
                  fmt(100 * rel, 1) + " % (limit " +
                  fmt(100 * limits.max_pixel_size_disagreement, 0) +
                  " %): check the micrometer's pitch and the stage's steps per mm");
    }
    cal.pixel_um = m.pixel_um;  // a ruled standard is traceable; the stage's steps may not be
    cal.pixel_size_source = "stage micrometer";
  }
  if (!r.list.empty()) throw CalibrationRefused(r.list);
  return cal;
}

InstrumentCalibration calibrate(const CalibrationInputs& in, const std::filesystem::path& file,
                                const CalibrationLimits& limits) {
  InstrumentCalibration cal = measureCalibration(in, limits);
  const auto folder = file.parent_path();
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  if (ec) throw CalibrationError("cannot create " + folder.string() + ": " + ec.message());
  const DarkMeasurement dark = measureDark(in.dark);
  const FlatMeasurement flat = measureFlat(in.blank, dark.dark);
  if (!cv::imwrite((folder / cal.dark_file).string(), dark.dark) ||
      !cv::imwrite((folder / cal.flat_file).string(), flat.flat)) {
    throw CalibrationError("cannot write the dark / flat images in " + folder.string());
  }
  Stack blank = in.blank;
  blank.blank.reset();
  blank.calibration.reset();
  // Stored as recorded (index angles, raw DN): the analysis calibrates it like the sample.
  if (cal.pixel_um) blank.pixel_um = *cal.pixel_um;
  writeStackFolder(blank, folder / cal.blank_dir);
  saveCalibration(cal, file);
  return cal;
}

std::vector<std::string> describeCalibration(const InstrumentCalibration& c) {
  std::vector<std::string> out{
      "dark offset                 " + fmt(c.dark_offset_dn, 1) + " DN (read noise " +
          fmt(c.read_noise_dn, 2) + " DN)",
      "extinction ratio            " + fmt(c.extinction_ratio, 0) + " : 1",
      "polarizer zero offset       " + fmt(c.polarizer_offset_deg) + " deg",
      "quarter-wave plate axis     45 deg " + std::string(c.qwp_axis_error_deg < 0 ? "- " : "+ ") +
          fmt(std::abs(c.qwp_axis_error_deg)) + " deg",
      "background retardance       " + fmt(c.background_retardance_nm) + " nm (before correction)",
      "residual background         " + fmt(c.residual_background_nm, 3) + " nm (after correction)",
      "retardance noise floor      " + fmt(c.noise_floor_nm) + " nm",
      "flat-field corner falloff   " + fmt(100 * c.vignetting, 1) + " %"};
  if (c.pixel_um) {
    std::string line = "pixel size                  " + fmt(*c.pixel_um, 4) + " um/px (" +
                       (c.pixel_size_source.empty() ? "stage move" : c.pixel_size_source);
    if (c.camera_rotation_deg) {
      line += ", camera rotation " + fmt(*c.camera_rotation_deg, 2) + " deg";
    }
    out.push_back(line + ")");
  }
  return out;
}

}  // namespace polscan::calibration
