// Stacks for cameras without a trigger input: the host moves the polarizer, waits, then grabs.
#pragma once

#include <chrono>
#include <functional>

#include "acquisition/stack_acquirer.hpp"

namespace polscan {

// Moves the polarizer to an angle (degrees), returns when it stands still, and answers the
// measured angle there.
using PolarizerMove = std::function<double(double target_deg)>;

struct SoftwareTiming {
  std::chrono::milliseconds settle{50};  // after the move stops: vibration dies down
  // A replayed frame's recorded angle must match the measured angle within this (degrees,
  // modulo 180); otherwise the replay does not belong to this request (PairingError).
  double max_angle_mismatch_deg = 1.0;
};

// For each angle: move, settle, camera.grabFresh() (stale buffered frames flushed). The
// camera's sequence numbers must increase; a frame that says which angle it was recorded at
// must be at that angle. Throws PairingError / CameraError / DeviceError with context.
Stack acquireStackSoftwareTimed(const PolarizerMove& move, Camera& camera,
                                const AcquisitionSettings& settings, SoftwareTiming timing = {});

// The same on an instrument: the polarizer moves with DeviceClient::move and its measured
// position is read back from the firmware's status.
Stack acquireStackSoftwareTimed(DeviceClient& device, Camera& camera,
                                const AcquisitionSettings& settings);

// Copies the camera's pixel size (warning when it does not know it) and bit depth into a stack;
// shared by the triggered and the software-timed stack paths.
void takeCameraFormat(Stack& stack, const Camera& camera);

}  // namespace polscan
