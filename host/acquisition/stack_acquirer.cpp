// acquireStack: collects triggers and frames until both are complete, then pairs them.
#include "acquisition/stack_acquirer.hpp"

#include <algorithm>
#include <cmath>
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

std::optional<double> pacedFlyBySpeedDegS(const std::vector<double>& angles_deg,
                                          std::optional<double> frame_period_s) {
  if (!frame_period_s || !(*frame_period_s > 0.0) || angles_deg.size() < 2) return std::nullopt;
  std::vector<double> a;
  for (double v : angles_deg) a.push_back(std::fmod(std::fmod(v, 180.0) + 180.0, 180.0));
  std::sort(a.begin(), a.end());
  double gap = a.front() + 180.0 - a.back();
  for (std::size_t i = 1; i < a.size(); ++i) gap = std::min(gap, a[i] - a[i - 1]);
  if (!(gap > 0.0)) return std::nullopt;
  return gap / (1.02 * *frame_period_s);
}

namespace {
double halfTurn(double deg) {
  return std::fmod(std::fmod(deg, 180.0) + 180.0, 180.0);
}
}  // namespace

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
    if (settings.cancel != nullptr && settings.cancel->load()) {
      // Stop the polarizer (and a continuous spin) now; the StackDone(ABORTED) that follows is
      // dropped with the queue by the next stack.
      device.abort();
      throw AcquisitionCancelled("stack " + std::to_string(stack_id) + " stopped after " +
                                 std::to_string(triggers.size()) + " of " + std::to_string(n) +
                                 " triggers: its frames are discarded");
    }
    if (std::chrono::steady_clock::now() > deadline) {
      std::ostringstream s;
      s << "stack " << stack_id << " did not finish: " << triggers.size() << " of " << n
        << " triggers arrived from " << device.describe();
      throw LinkError(s.str());
    }
    auto ev = device.nextEvent(std::chrono::milliseconds(50));
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
  const bool continuous =
      settings.request.continuous && settings.request.mode == wire::ACQUISITION_MODE_FLY_BY;
  if (continuous) {
    std::stable_sort(paired.begin(), paired.end(), [](const PairedFrame& a, const PairedFrame& b) {
      return halfTurn(a.trigger.trigger.commanded_angle_deg()) <
             halfTurn(b.trigger.trigger.commanded_angle_deg());
    });
  }
  for (auto& p : paired) {
    const double measured = p.trigger.trigger.measured_angle_deg();
    // A polarizer at theta + 180 deg is the same polarizer: keep the stack's angles in [0, 180)
    // (a measured angle a hair below 0 deg stays just below 0, not at 179.96).
    double angle = measured;
    if (continuous) {
      angle = measured - (p.trigger.trigger.commanded_angle_deg() -
                          halfTurn(p.trigger.trigger.commanded_angle_deg()));
      if (angle >= 360.0 - 1.0) angle -= 360.0;
    }
    stack.angles_deg.push_back(angle);
    stack.frames.push_back(std::move(p.frame.image));
  }
  spdlog::debug("stack {}: {} frames paired", stack_id, stack.frames.size());
  return stack;
}

}  // namespace polscan
