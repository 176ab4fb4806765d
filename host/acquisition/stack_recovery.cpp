// acquireStackRecovering: a link drop costs one stack attempt, never a stack's data or its labels.
#include "acquisition/stack_recovery.hpp"

#include <cmath>
#include <thread>

#include <spdlog/spdlog.h>

namespace polscan {

namespace {

struct AxisTarget {
  wire::Axis axis;
  double position;
};

// Where the stage axes are before the attempt, to put them back after a safe state.
std::vector<AxisTarget> stagePositions(const wire::DeviceStatus& s) {
  std::vector<AxisTarget> out;
  for (const auto& a : s.axes()) {
    if (a.axis() != wire::AXIS_POLARIZER && a.homed()) out.push_back({a.axis(), a.position()});
  }
  return out;
}

wire::DeviceStatus waitIdle(DeviceClient& device, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    wire::DeviceStatus s = device.getStatus();
    bool busy = s.acquiring();
    for (const auto& a : s.axes()) busy = busy || a.moving();
    if (!busy) return s;
    if (std::chrono::steady_clock::now() > deadline) {
      throw LinkError(device.describe() + " still busy " + std::to_string(timeout.count()) +
                      " ms after reconnecting");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// After a reconnect: the firmware may have gone to its safe state because the host fell silent.
// That fault is the drop's own and is cleared by homing; any other fault is the instrument's and
// is reported, not cleared.
void restore(DeviceClient& device, const std::vector<AxisTarget>& stage, RecoveryReport& report) {
  const wire::DeviceStatus s = waitIdle(device, std::chrono::seconds(10));
  for (int f : s.faults()) {
    if (f != wire::FAULT_HOST_TIMEOUT) {
      throw DeviceError(wire::STATUS_FAULT,
                        device.describe() + " reports " +
                            wire::FaultCode_Name(static_cast<wire::FaultCode>(f)) +
                            " after reconnecting: not retrying the stack");
    }
  }
  bool faulted = s.faults_size() > 0;
  for (const auto& a : s.axes()) {
    if (a.homed() && !faulted) continue;
    bool wanted = a.axis() == wire::AXIS_POLARIZER;
    for (const auto& t : stage) wanted = wanted || t.axis == a.axis();
    if (!wanted) continue;
    spdlog::warn("{}: homing axis {} again after the link drop", device.describe(),
                 wire::Axis_Name(a.axis()));
    device.home(a.axis());
    ++report.rehomed_axes;
    faulted = false;  // the first Home cleared the safe state; the others only re-home
  }
  const wire::DeviceStatus now = device.getStatus();
  for (const auto& t : stage) {
    for (const auto& a : now.axes()) {
      if (a.axis() == t.axis && std::abs(a.position() - t.position) > 1e-6) {
        device.move(t.axis, t.position);
      }
    }
  }
}

}  // namespace

Stack acquireStackRecovering(DeviceClient& device, Camera& camera,
                             const AcquisitionSettings& settings, const RecoveryPolicy& policy,
                             RecoveryReport* report_out) {
  RecoveryReport local;
  RecoveryReport& report = report_out != nullptr ? *report_out : local;
  std::vector<AxisTarget> stage;
  bool stage_known = false;
  for (;;) {
    ++report.attempts;
    try {
      if (report.attempts > 1) {
        // The previous attempt lost its link: reconnect, then restore what the drop undid.
        device.reconnect(policy.reconnect_wait);
        ++report.reconnects;
        restore(device, stage, report);
      }
      if (!stage_known) {
        stage = stagePositions(device.getStatus());
        stage_known = true;
      }
      return acquireStack(device, camera, settings);
    } catch (const TransportError& e) {
      throw LinkError(std::string("device did not come back within ") +
                      std::to_string(policy.reconnect_wait.count()) + " ms: " + e.what());
    } catch (const LinkError& e) {
      report.errors.emplace_back(e.what());
      if (report.attempts >= policy.max_attempts) {
        throw LinkError("stack abandoned after " + std::to_string(report.attempts) +
                        " attempts, the link dropped each time; last: " + e.what());
      }
      spdlog::warn("stack attempt {} lost its link ({}): reconnecting", report.attempts, e.what());
    }
  }
}

}  // namespace polscan
