// `polscan acquire`: one N-angle stack at a stage position, written as a stack folder.
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "acquisition/stack_acquirer.hpp"
#include "app/commands.hpp"
#include "app/instrument_session.hpp"
#include "app/stack_options.hpp"
#include "calibration/analysis_calibration.hpp"
#include "io/stack_file.hpp"

namespace polscan {

namespace {
struct AcquireOptions {
  StackOptions stack;
  std::string out;
  std::optional<double> x_um, y_um, z_um;
  std::string slide;
  std::string calibration;
  int width_px = VirtualCameraConfig{}.width, height_px = VirtualCameraConfig{}.height;
  std::string format;  // "folder" / "ome-tiff"; empty: by the --out name
};
}  // namespace

void addAcquireCommand(CLI::App& app, GlobalOptions& global) {
  auto opt = std::make_shared<AcquireOptions>();
  auto* cmd = app.add_subcommand(
      "acquire",
      "Acquire one stack of frames over equally spaced polarizer angles (0-180 deg) "
      "and write it as a stack folder (stack.json + frame_NNN.png) or an OME-TIFF file");
  opt->stack.addTo(*cmd);
  cmd->add_option("--out", opt->out,
                  "Output stack folder, or OME-TIFF file when the name ends in .ome.tif")
      ->required();
  cmd->add_option("--format", opt->format,
                  "Output format: folder (stack.json + 16-bit PNGs) or ome-tiff (one file, one "
                  "16-bit page per angle, OME-XML metadata); default: by the --out name")
      ->check(CLI::IsMember({"folder", "ome-tiff"}));
  cmd->add_option("--x-um", opt->x_um, "Move the stage here first (slide x, micrometres)");
  cmd->add_option("--y-um", opt->y_um, "Move the stage here first (slide y, micrometres)");
  cmd->add_option("--z-um", opt->z_um, "Move the focus here first (micrometres)");
  cmd->add_option("--slide", opt->slide,
                  "Virtual camera's slide (slide.json from `polscan slide make`); default: the "
                  "built-in demo slide");
  cmd->add_option("--image-width-px", opt->width_px, "Virtual camera's frame width in pixels")
      ->capture_default_str()
      ->check(CLI::Range(16, 8192));
  cmd->add_option("--image-height-px", opt->height_px, "Virtual camera's frame height in pixels")
      ->capture_default_str()
      ->check(CLI::Range(16, 8192));
  cmd->add_option("--calibration", opt->calibration,
                  "Instrument calibration (`polscan calibrate`): NAME or PATH as for `analyze`. "
                  "The stack records it (the analysis then subtracts its dark frame, adds its "
                  "polarizer offset and uses its blank) and takes its pixel size (um/px); frames "
                  "and angles are stored as recorded");
  cmd->callback([opt, &global] {
    // Check the destination before moving anything: a typo should not cost a stack.
    const std::filesystem::path out = opt->out;
    const StackFileFormat format =
        opt->format.empty() ? stackFormatOf(out) : stackFormatFromName(opt->format);
    const std::filesystem::path folder =
        format == StackFileFormat::Folder ? out : std::filesystem::absolute(out).parent_path();
    std::error_code ec;
    std::filesystem::create_directories(folder, ec);
    if (ec) {
      throw std::runtime_error("cannot create " + folder.string() + ": " + ec.message());
    }
    // Read before moving anything: a bad calibration file should not cost a stack.
    std::optional<calibration::AnalysisCalibration> cal;
    if (!opt->calibration.empty()) {
      cal = calibration::loadAnalysisCalibration(calibration::resolveCalibration(opt->calibration));
    }
    InstrumentOptions io;
    io.device = global.device;
    io.slide = opt->slide;
    io.camera.width = opt->width_px;
    io.camera.height = opt->height_px;
    io.camera_address = global.camera;
    io.camera_trigger = global.camera_trigger;
    InstrumentSession session(io);
    if (cal) {  // a calibration of another camera mode is refused before anything moves
      const CameraFormat f = session.camera().format();
      calibration::checkCalibrationFits(*cal, cv::Size(f.width, f.height), f.bit_depth,
                                        "the camera (" + session.camera().describe() + ")");
    }
    session.homeAll();
    if (opt->x_um) session.device().move(wire::AXIS_X, *opt->x_um);
    if (opt->y_um) session.device().move(wire::AXIS_Y, *opt->y_um);
    if (opt->z_um) session.device().move(wire::AXIS_Z, *opt->z_um);
    Stack stack = acquireStack(session.device(), session.camera(), opt->stack.settings());
    if (cal) calibration::linkCalibration(*cal, stack);
    const wire::Info info = session.device().getInfo();
    OmeInstrument instrument;
    instrument.microscope = "polscan " + info.board();
    instrument.serial_number = info.serial_number();
    instrument.firmware_version = info.firmware_version();
    instrument.camera = session.camera().describe();
    instrument.sample = out.filename().string();
    writeStack(stack, out, format, instrument);
    std::cout << "Wrote " << stack.frames.size() << " frames (" << stack.frames[0].cols << "x"
              << stack.frames[0].rows << " px, " << stack.pixel_um << " um/px) to " << opt->out
              << "\n";
  });
}

}  // namespace polscan
