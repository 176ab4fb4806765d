// `polscan calibrate`: measures the instrument from recorded stacks, checks it, stores it.
#include <filesystem>
#include <iostream>
#include <memory>

#include <opencv2/imgcodecs.hpp>

#include "app/commands.hpp"
#include "calibration/calibrate.hpp"
#include "calibration/calibration_error.hpp"
#include "io/stack_folder.hpp"

namespace polscan {

namespace {
struct CalibrateOptions {
  std::string dark, malus, blank, blank_again, move_before, move_after;
  double move_x_um = 0, move_y_um = 0;
  std::string micrometer;
  double micrometer_pitch_um = 10;
  std::string instrument = "default";
  std::string calibration;  // file; empty: the instrument's default
  bool show = false;
};

Stack readInput(const std::string& dir, const char* what) {
  if (dir.empty()) {
    throw calibration::CalibrationError(std::string("--") + what + " is required");
  }
  try {
    return readStackFolder(dir);
  } catch (const StackFormatError& e) {
    throw calibration::CalibrationError(std::string(what) + " stack: " + e.what());
  }
}

// A stage-move frame: an image file, or the first frame of a stack folder.
cv::Mat readFrame(const std::string& path) {
  if (std::filesystem::is_directory(path)) return readStackFolder(path).frames.at(0);
  cv::Mat m = cv::imread(path, cv::IMREAD_UNCHANGED);
  if (m.empty()) throw calibration::CalibrationError(path + ": not a readable image");
  return m;
}
}  // namespace

void addCalibrateCommand(CLI::App& app, GlobalOptions&) {
  auto opt = std::make_shared<CalibrateOptions>();
  auto* cmd = app.add_subcommand(
      "calibrate",
      "Calibrate the instrument from recorded stack folders (take them with `polscan acquire`): "
      "dark offset, extinction ratio, polarizer zero offset, quarter-wave plate alignment, flat "
      "field, retardance noise floor, pixel size. Out-of-spec figures stop with what to adjust; "
      "a good calibration is stored per instrument and used by `polscan acquire`");
  cmd->add_option("--dark", opt->dark, "Dark stack: LED off or light path blocked (>= 2 frames)");
  cmd->add_option("--malus", opt->malus,
                  "Malus stack: empty area, quarter-wave plate swung out (>= 3 angles)");
  cmd->add_option("--blank", opt->blank, "Blank stack: empty area, standard train (>= 3 angles)");
  cmd->add_option("--blank-again", opt->blank_again,
                  "A second blank stack at the same place and angles (noise floor)");
  cmd->add_option("--move-before", opt->move_before,
                  "Pixel size: image (or stack folder) of a textured area before the stage move");
  cmd->add_option("--move-after", opt->move_after, "... and after the stage move");
  cmd->add_option("--move-x-um", opt->move_x_um, "Stage move between the two, x, micrometres")
      ->capture_default_str();
  cmd->add_option("--move-y-um", opt->move_y_um, "Stage move between the two, y, micrometres")
      ->capture_default_str();
  cmd->add_option("--micrometer", opt->micrometer,
                  "Pixel size: image (or stack folder) of a stage micrometer's ruling in focus, "
                  "lines across the field (preferred over the stage move; both must agree "
                  "within 2 %)");
  cmd->add_option("--micrometer-pitch-um", opt->micrometer_pitch_um,
                  "Ruling pitch of the stage micrometer, micrometres (1 mm in 100: 10)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--instrument", opt->instrument,
                  "Name the calibration is stored under (one per instrument)")
      ->capture_default_str();
  cmd->add_option("--calibration", opt->calibration,
                  "Calibration file to write (default: $POLSCAN_CALIBRATION_DIR/NAME/ or "
                  "~/.config/polscan/instruments/NAME/calibration.json)");
  cmd->add_flag("--show", opt->show, "Print the stored calibration and exit");
  cmd->callback([opt] {
    const std::filesystem::path file = opt->calibration.empty()
                                           ? calibration::defaultCalibrationPath(opt->instrument)
                                           : std::filesystem::path(opt->calibration);
    if (opt->show) {
      const auto cal = calibration::loadCalibration(file);
      std::cout << "Calibration of " << cal.instrument << " (" << cal.created << "), " << file
                << "\n";
      for (const auto& line : calibration::describeCalibration(cal)) std::cout << line << "\n";
      return;
    }
    calibration::CalibrationInputs in;
    in.instrument = opt->instrument;
    in.dark = readInput(opt->dark, "dark");
    in.malus = readInput(opt->malus, "malus");
    in.blank = readInput(opt->blank, "blank");
    in.blank_again = readInput(opt->blank_again, "blank-again");
    if (!opt->move_before.empty() || !opt->move_after.empty()) {
      if (opt->move_before.empty() || opt->move_after.empty()) {
        throw calibration::CalibrationError("pixel size needs both --move-before and --move-after");
      }
      calibration::StageMovePair m;
      m.before = readFrame(opt->move_before);
      m.after = readFrame(opt->move_after);
      m.move_x_um = opt->move_x_um;
      m.move_y_um = opt->move_y_um;
      in.stage_move = m;
    }
    if (!opt->micrometer.empty()) {
      in.micrometer =
          calibration::MicrometerImage{readFrame(opt->micrometer), opt->micrometer_pitch_um};
    }
    const auto cal = calibration::calibrate(in, file);
    std::cout << "Calibration of " << cal.instrument << " stored in " << file << "\n";
    for (const auto& line : calibration::describeCalibration(cal)) std::cout << line << "\n";
  });
}

}  // namespace polscan
