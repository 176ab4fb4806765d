// Acquires one N-angle stack: firmware triggers + camera frames -> a labelled Stack.
#pragma once

#include <chrono>
#include <functional>
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
};

// Equally spaced angles over the half turn that the 2-theta model needs: 0, 180/N, ...
std::vector<double> equallySpacedAngles(int n);

// Runs one stack on device + camera. Every frame is paired with its trigger event (PairingError
// otherwise); the stack's angles are the measured ones and its stage position comes from the
// triggers. Throws DeviceError / LinkError / CameraError / PairingError with context.
Stack acquireStack(DeviceClient& device, Camera& camera, const AcquisitionSettings& settings);

}  // namespace polscan
