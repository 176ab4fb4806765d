// Acquires one N-angle stack: firmware triggers + camera frames -> a labelled Stack.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <stdexcept>
#include <vector>

#include "camera/camera.hpp"
#include "common/stack.hpp"
#include "device/device_client.hpp"

namespace polscan {

struct AcquisitionSettings {
  StackRequest request;  // angles, exposure, mode
  OpticalTrain train = OpticalTrain::Circular;
  std::vector<double> wavelengths_nm{546.0};
  std::chrono::milliseconds frame_timeout{3000};
  // Becomes true to stop the stack (Ctrl-C): the firmware is told to Abort and
  // AcquisitionCancelled is thrown; nothing of the partial stack is returned.
  const std::atomic<bool>* cancel = nullptr;
};

// A stack stopped through AcquisitionSettings::cancel; its frames are discarded.
class AcquisitionCancelled : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Fly-by speed (deg/s) that crosses the closest two angles (modulo 180 deg, the 2-theta model's
// period) 2% slower than one camera frame period, so a camera at its frame rate never misses a
// trigger: gap / (1.02 x period). nullopt when the period is unknown.
std::optional<double> pacedFlyBySpeedDegS(const std::vector<double>& angles_deg,
                                          std::optional<double> frame_period_s);

// Equally spaced angles over the half turn that the 2-theta model needs: 0, 180/N, ...
std::vector<double> equallySpacedAngles(int n);

// Runs one stack on device + camera. A continuous fly-by stack's frames (taken in firing order,
// some at angle + 180 deg) are put back in the order of their angles modulo 180 deg, with
// those angles, so every stack of a scan starts at the same polarizer angle. Every frame is paired
// with its trigger event (PairingError otherwise); the stack's angles are the measured ones and its
// stage position comes from the triggers. Throws DeviceError / LinkError / CameraError /
// PairingError with context.
Stack acquireStack(DeviceClient& device, Camera& camera, const AcquisitionSettings& settings);

}  // namespace polscan
