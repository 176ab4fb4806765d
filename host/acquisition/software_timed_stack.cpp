// acquireStackSoftwareTimed: one move, settle and fresh grab per angle.
#include "acquisition/software_timed_stack.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <spdlog/spdlog.h>

#include "acquisition/frame_pairing.hpp"

namespace polscan {

void takeCameraFormat(Stack& stack, const Camera& camera) {
  const CameraFormat fmt = camera.format();
  if (fmt.pixel_um > 0) {
    stack.pixel_um = fmt.pixel_um;
  } else {
    spdlog::warn(
        "{} does not know its pixel size: the stack says {} um/px; calibrate it "
        "(`polscan calibrate` with a stage move) and acquire with --calibration",
        camera.describe(), stack.pixel_um);
  }
  stack.bit_depth = fmt.bit_depth;
}

namespace {
double axisDifferenceDeg(double a, double b) {
  double d = std::fmod(std::abs(a - b), 180.0);
  return std::min(d, 180.0 - d);
}
}  // namespace

Stack acquireStackSoftwareTimed(const PolarizerMove& move, Camera& camera,
                                const AcquisitionSettings& settings, SoftwareTiming timing) {
  const auto& angles = settings.request.angles_deg;
  if (angles.empty()) throw std::invalid_argument("a stack needs at least one polarizer angle");
  camera.arm(settings.request.exposure_us);
  Stack stack;
  stack.train = settings.train;
  stack.wavelengths_nm = settings.wavelengths_nm;
  stack.exposure_us = settings.request.exposure_us;
  std::optional<std::uint64_t> last_sequence;
  for (std::size_t i = 0; i < angles.size(); ++i) {
    const double measured = move(angles[i]);
    std::this_thread::sleep_for(timing.settle);
    Frame f = camera.grabFresh(settings.frame_timeout);
    if (last_sequence && f.sequence <= *last_sequence) {
      std::ostringstream s;
      s << camera.describe() << ": frame for angle " << angles[i] << " deg has sequence "
        << f.sequence << ", not after the previous frame's " << *last_sequence;
      throw PairingError(s.str());
    }
    last_sequence = f.sequence;
    if (f.recorded_angle_deg &&
        axisDifferenceDeg(*f.recorded_angle_deg, measured) > timing.max_angle_mismatch_deg) {
      std::ostringstream s;
      s << camera.describe() << ": frame " << i << " was recorded at " << *f.recorded_angle_deg
        << " deg but the polarizer stands at " << measured << " deg (commanded " << angles[i]
        << " deg)";
      throw PairingError(s.str());
    }
    stack.angles_deg.push_back(measured);
    stack.frames.push_back(std::move(f.image));
  }
  takeCameraFormat(stack, camera);
  spdlog::debug("software-timed stack: {} frames from {}", stack.frames.size(), camera.describe());
  return stack;
}

Stack acquireStackSoftwareTimed(DeviceClient& device, Camera& camera,
                                const AcquisitionSettings& settings) {
  const PolarizerMove move = [&device](double target) {
    device.move(wire::AXIS_POLARIZER, target);
    const wire::DeviceStatus status = device.getStatus();
    for (const auto& a : status.axes()) {
      if (a.axis() == wire::AXIS_POLARIZER) return a.position();
    }
    throw DeviceError(wire::STATUS_OK,
                      device.describe() + " reports no polarizer axis in its status");
  };
  SoftwareTiming timing;
  if (settings.request.settle_ms > 0) {
    timing.settle = std::chrono::milliseconds(settings.request.settle_ms);
  }
  Stack stack = acquireStackSoftwareTimed(move, camera, settings, timing);
  const wire::DeviceStatus status = device.getStatus();
  StagePosition stage;
  for (const auto& a : status.axes()) {
    if (a.axis() == wire::AXIS_X) stage.x_um = a.position();
    if (a.axis() == wire::AXIS_Y) stage.y_um = a.position();
    if (a.axis() == wire::AXIS_Z) stage.z_um = a.position();
  }
  stack.stage = stage;
  return stack;
}

}  // namespace polscan
