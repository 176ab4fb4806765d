// Pairs camera frames with the firmware's trigger events: exactly one frame per trigger.
#pragma once

#include <stdexcept>
#include <vector>

#include "camera/camera.hpp"
#include "device/device_event.hpp"

namespace polscan {

// A frame is missing, extra, or does not belong to its trigger. The message names the frame
// index, its commanded angle and the camera sequence numbers involved.
class PairingError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct PairedFrame {
  Frame frame;
  TriggerEvent trigger;
};

struct PairingTolerance {
  // A frame must start within this window after its trigger on the host clock (clock-synced
  // firmware time). Negative or zero disables the timing check (cameras without timestamps).
  double max_latency_s = 0.5;
};

// triggers must hold frame_index 0..N-1; frames are in arrival order. Throws PairingError on a
// gap in the camera's sequence numbers, a count mismatch, or a frame outside its trigger window.
std::vector<PairedFrame> pairFrames(const std::vector<TriggerEvent>& triggers,
                                    const std::vector<Frame>& frames,
                                    PairingTolerance tolerance = {});

}  // namespace polscan
