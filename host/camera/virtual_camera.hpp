// The virtual instrument's camera: renders the twin's slide for each trigger pulse it receives.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>

#include "camera/camera.hpp"
#include "device/device_event.hpp"
#include "hardware/twin/field_renderer.hpp"
#include "hardware/twin/slide.hpp"

namespace polscan {

struct VirtualCameraConfig {
  int width = 1024;
  int height = 768;
  double pixel_um = 0.4;
  // The camera's frame rate (frames/s): what framePeriodS() reports, as a real camera's
  // AcquisitionFrameRate would. Triggers are not refused faster than it.
  double frame_rate_hz = 30.0;
  // Faults a real camera can have and a test cannot produce with hardware here.
  int drop_frame = -1;   // the n-th trigger (0-based, counted since arm) yields no frame
  int extra_frame = -1;  // the n-th trigger yields two frames
};

// Wired like a real triggered camera: the firmware's trigger line is the TriggerEvent stream
// (measured polarizer angle and stage position at the moment of firing); a frame is rendered
// for each pulse, in order, with the camera's own sequence counter.
class VirtualCamera final : public Camera {
 public:
  VirtualCamera(twin::Slide slide, twin::OpticsConfig optics, VirtualCameraConfig config = {});

  std::string describe() const override { return "virtual camera (" + slide_.sample + ")"; }
  CameraFormat format() const override;
  void arm(std::uint32_t exposure_us) override;
  std::optional<double> framePeriodS() const override;
  std::optional<Frame> waitFrame(std::chrono::milliseconds timeout) override;

  // The trigger input: called on the device's io thread; rendering happens in waitFrame().
  void onTrigger(const TriggerEvent& pulse);

  const twin::Slide& slide() const { return slide_; }

 private:
  twin::Slide slide_;
  twin::FieldRenderer renderer_;
  VirtualCameraConfig config_;
  std::mutex mutex_;
  std::condition_variable cv_;
  struct Exposure {
    TriggerEvent pulse;
    std::uint64_t sequence;  // counted when the trigger arrives, as a real camera does
  };
  std::deque<Exposure> pulses_;
  std::uint32_t exposure_us_ = 10000;
  int pulses_since_arm_ = 0;
  std::uint64_t sequence_ = 1000;  // real cameras do not start at 0 either
};

}  // namespace polscan
