// `polscan camera list|snap`: which cameras are there, and one frame from the chosen one.
#include <filesystem>
#include <iostream>
#include <memory>

#include <opencv2/imgcodecs.hpp>

#include "acquisition/stack_acquirer.hpp"
#include "app/commands.hpp"
#include "app/instrument_session.hpp"
#include "camera/camera_address.hpp"

namespace polscan {

namespace {
struct SnapOptions {
  std::string out;
  std::uint32_t exposure_us = 10000;
  double angle_deg = 0.0;
};

void printFrameSummary(const cv::Mat& img, const std::string& out) {
  double lo = 0, hi = 0;
  cv::minMaxLoc(img.reshape(1), &lo, &hi);
  const cv::Scalar mean = cv::mean(img.reshape(1));
  std::cout << "Wrote " << out << " (" << img.cols << "x" << img.rows << " px, " << img.channels()
            << " channel(s), counts min " << lo << " mean " << mean[0] << " max " << hi << ")\n";
}
}  // namespace

void addCameraCommands(CLI::App& app, GlobalOptions& global) {
  auto* camera = app.add_subcommand("camera", "Cameras: list the ones found, take a frame");
  camera->require_subcommand(1);

  auto* list = camera->add_subcommand(
      "list",
      "Cameras found now (V4L2 devices, GenICam cameras through Aravis) with the "
      "--camera address of each; the virtual camera is always there");
  list->callback([] {
    std::cout << "virtual\tthe virtual instrument's camera (renders the slide per trigger)\n";
    const auto found = listCameras();
    for (const auto& c : found) std::cout << c.address << "\t" << c.description << "\n";
    if (found.empty()) std::cout << "(no V4L2 or GenICam camera found)\n";
    if (!aravisBuiltIn()) std::cout << "(GenICam cameras: not built in, needs libaravis-dev)\n";
  });

  auto opt = std::make_shared<SnapOptions>();
  auto* snap = camera->add_subcommand(
      "snap", "Take one frame with the --camera camera and write it as a 16-bit PNG/TIFF");
  snap->add_option("--out", opt->out, "Image to write (.png or .tif)")->required();
  snap->add_option("--exposure-us", opt->exposure_us, "Exposure in microseconds")
      ->check(CLI::Range(10u, 2000000u))
      ->capture_default_str();
  snap->add_option("--angle-deg", opt->angle_deg,
                   "Polarizer angle in degrees (triggered cameras: the frame is taken there)")
      ->check(CLI::Range(0.0, 180.0))
      ->capture_default_str();
  snap->callback([opt, &global] {
    const CameraAddress address = parseCameraAddress(global.camera);
    cv::Mat image;
    if (address.kind == CameraAddress::Kind::Uvc || address.kind == CameraAddress::Kind::Replay) {
      // Free-running cameras need no instrument for a snapshot.
      auto cam = openCamera(address);
      cam->arm(opt->exposure_us);
      image = cam->grabFresh(std::chrono::seconds(5)).image;
    } else {
      // Triggered cameras take their frame on a firmware trigger: a one-angle stack.
      InstrumentOptions io;
      io.device = global.device;
      io.camera_address = global.camera;
      io.camera_trigger = global.camera_trigger;
      InstrumentSession session(io);
      session.device().home(wire::AXIS_POLARIZER);
      AcquisitionSettings s;
      s.request.angles_deg = {opt->angle_deg};
      s.request.exposure_us = opt->exposure_us;
      s.request.mode = wire::ACQUISITION_MODE_STOP_AND_GO;
      image = acquireStack(session.device(), session.camera(), s).frames.at(0);
    }
    if (!cv::imwrite(opt->out, image)) {
      throw CameraError("cannot write " + opt->out + " (folder missing, or not .png / .tif?)");
    }
    printFrameSummary(image, opt->out);
  });
}

}  // namespace polscan
