// acquireStack: collects triggers and frames until both are complete, then pairs them.
#include "acquisition/stack_acquirer.hpp"

#include <sstream>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "acquisition/frame_pairing.hpp"
#include "acquisition/software_timed_stack.hpp"

namespace polscan {

std::vector<double> equallySpacedAngles(int n) {
  std::vector<double> angles;
  for (int i = 0; i < n; ++i) angles.push_back(180.0 * i / n);
  return angles;
}

Stack acquireStack(DeviceClient& device, Camera& camera, const AcquisitionSettings& settings) {
  const std::size_t n = settings.request.angles_deg.size();
  if (n == 0) throw std::invalid_argument("a stack needs at least one polarizer angle");
  // Cameras without a trigger input (UVC, replay) are timed by the host instead.
  if (camera.triggering() == Triggering::Software) {
    return acquireStackSoftwareTimed(device, camera, settings);
  }
  device.clearEvents();
  camera.arm(settings.request.exposure_us);
  std::uint32_t scheduled = 0;
  const std::uint32_t stack_id = device.acquireStack(settings.request, &scheduled);
  if (scheduled != n) {
    std::ostringstream s;
    s << device.describe() << " scheduled " << scheduled << " triggers for " << n << " angles";
    throw DeviceError(wire::STATUS_OK, s.str());
  }

  std::vector<TriggerEvent> triggers;
  bool done = false;
  const auto deadline = std::chrono::steady_clock::now() + settings.frame_timeout * (n + 1);
  while (!done) {
    if (std::chrono::steady_clock::now() > deadline) {
      std::ostringstream s;
      s << "stack " << stack_id << " did not finish: " << triggers.size() << " of " << n
        << " triggers arrived from " << device.describe();
      throw LinkError(s.str());
    }
    auto ev = device.nextEvent(std::chrono::milliseconds(200));
    if (!ev) continue;
    if (auto* t = std::get_if<TriggerEvent>(&*ev)) {
      if (t->trigger.stack_id() == stack_id) triggers.push_back(*t);
    } else if (auto* d = std::get_if<wire::StackDone>(&*ev)) {
      if (d->stack_id() != stack_id) continue;
      if (d->status() != wire::STATUS_OK) {
        throw DeviceError(d->status(), "stack " + std::to_string(stack_id) + " ended with " +
                                           wire::Status_Name(d->status()) + " after " +
                                           std::to_string(triggers.size()) + " triggers");
      }
      done = true;
    } else if (auto* f = std::get_if<wire::Fault>(&*ev)) {
      throw DeviceError(wire::STATUS_FAULT,
                        "instrument fault during stack " + std::to_string(stack_id) + ": " +
                            wire::FaultCode_Name(f->code()) + " " + f->message());
    }
  }

  // Frames for every trigger should be on their way; collect them, and one more if it is
  // already there, so an extra frame is caught rather than left for the next stack.
  std::vector<Frame> frames;
  bool timed_out = false;
  while (frames.size() < triggers.size()) {
    auto f = camera.waitFrame(settings.frame_timeout);
    if (!f) {
      timed_out = true;
      break;
    }
    frames.push_back(std::move(*f));
  }
  if (auto extra = camera.waitFrame(std::chrono::milliseconds(0))) {
    frames.push_back(std::move(*extra));
  }
  std::vector<PairedFrame> paired;
  try {
    paired = pairFrames(triggers, frames);
  } catch (const PairingError& e) {
    if (!timed_out) throw;
    // A camera that stops delivering: name it, and leave the instrument dark and still.
    std::ostringstream s;
    s << camera.describe() << ": frame timeout, " << frames.size() << " of " << triggers.size()
      << " frames within " << settings.frame_timeout.count() << " ms each (stack " << stack_id
      << "): " << e.what();
    try {
      device.abort();
      device.setLed(0.0f);
    } catch (const DeviceError& safe) {
      s << "; putting " << device.describe() << " in its safe state failed too: " << safe.what();
    }
    throw CameraError(s.str());
  }

  Stack stack;
  stack.train = settings.train;
  stack.wavelengths_nm = settings.wavelengths_nm;
  takeCameraFormat(stack, camera);
  stack.exposure_us = settings.request.exposure_us;
  const auto& first = paired.front().trigger.trigger;
  stack.stage = StagePosition{first.stage_x_um(), first.stage_y_um(), first.stage_z_um()};
  for (auto& p : paired) {
    stack.angles_deg.push_back(p.trigger.trigger.measured_angle_deg());
    stack.frames.push_back(std::move(p.frame.image));
  }
  spdlog::debug("stack {}: {} frames paired", stack_id, stack.frames.size());
  return stack;
}

}  // namespace polscan
