// AravisCamera: GenICam machine-vision cameras (GigE Vision, USB3 Vision) through Aravis.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "camera/camera.hpp"
#include "camera/frame_id_unwrapper.hpp"

namespace polscan {

struct AravisOptions {
  // FrameStart trigger input. Real cameras: the opto-isolated "Line1" wired to the firmware's
  // trigger output. Aravis's fake camera offers only "Line0" and "Software".
  std::string trigger_source = "Line1";
  int bits = 16;          // 16: Mono16, 8: Mono8
  double pixel_um = 0.0;  // sample-plane pixel size when known
  int buffers = 16;       // stream buffers queued (frames in flight)
};

struct AravisDeviceInfo {
  std::string id, vendor, model, serial, protocol;
};

// Hardware-triggered: arm() stops any running acquisition (a client killed mid-stream leaves the
// camera streaming), configures TriggerSelector=FrameStart, TriggerMode=On, the trigger source,
// the exposure (us) and pixel format, queues buffers and starts. Each frame carries the camera's
// block id unwrapped into a counter and its arrival on the host steady clock.
class AravisCamera final : public Camera {
 public:
  // device_id empty: the first camera found. Throws CameraError naming the camera when it is
  // missing, held by another client, or lacks a feature polscan needs.
  explicit AravisCamera(const std::string& device_id, AravisOptions options = {});
  ~AravisCamera() override;
  AravisCamera(const AravisCamera&) = delete;
  AravisCamera& operator=(const AravisCamera&) = delete;

  std::string describe() const override;
  CameraFormat format() const override;
  void arm(std::uint32_t exposure_us) override;
  std::optional<Frame> waitFrame(std::chrono::milliseconds timeout) override;
  // From the camera at its current settings: 1 / the highest AcquisitionFrameRate it accepts
  // (GenICam bounds; they shrink with exposure, ROI and pixel format), else 1 /
  // AcquisitionResultingFrameRate, and never shorter than the exposure. nullopt when the camera
  // has neither feature. Throws CameraError when reading them fails.
  std::optional<double> framePeriodS() const override;

  // Fires one exposure (TriggerSource=Software): the trigger line in software.
  void softwareTrigger();
  // Frames' host_time_s counts from this steady-clock instant (the DeviceClient's epoch, so
  // frames and trigger events share one time base). Default: the steady clock's own epoch.
  void setHostTimeOrigin(std::chrono::steady_clock::time_point origin) { origin_ = origin; }
  // Buffers that arrived incomplete or damaged since arm() (their frames count as missing).
  int damagedFrames() const { return damaged_; }

  static std::vector<AravisDeviceInfo> listDevices();

 private:
  struct Handles;
  void stop();
  std::unique_ptr<Handles> h_;
  std::string id_;
  std::string model_;  // copied: Aravis' string belongs to its feature cache
  AravisOptions options_;
  FrameIdUnwrapper ids_;
  std::chrono::steady_clock::time_point origin_{};
  int width_ = 0, height_ = 0;
  int damaged_ = 0;
};

}  // namespace polscan
