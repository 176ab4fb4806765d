// Connects the host to an instrument: the firmware (simulator or a real link) and a camera.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/fwsim_process.hpp"
#include "camera/virtual_camera.hpp"
#include "device/device_client.hpp"

namespace polscan {

struct InstrumentOptions {
  // "sim" starts polscan-fwsim and talks to it over its pty; otherwise a transport address.
  std::string device = "sim";
  std::vector<std::string> sim_args;
  // Slide for the virtual camera: a slide.json path, or empty for the built-in demo slide.
  std::string slide;
  VirtualCameraConfig camera;
  // --camera address (camera/camera_address.hpp); "virtual" renders the slide per trigger.
  std::string camera_address = "virtual";
  std::string camera_trigger = "Line1";  // Aravis FrameStart trigger source
};

class InstrumentSession {
 public:
  explicit InstrumentSession(const InstrumentOptions& options);
  ~InstrumentSession();

  DeviceClient& device() { return *device_; }
  Camera& camera() { return *camera_; }
  // Throws CameraError when the session's camera is not the virtual one.
  VirtualCamera& virtualCamera();
  bool hasVirtualCamera() const { return virtual_ != nullptr; }
  FwsimProcess* simulator() { return sim_.get(); }

  // Homes the polarizer and the stage axes the instrument has.
  void homeAll();
  // Before a scan and after every reconnect: homes when an axis is not homed or a fault is
  // latched (homing clears it), then lights the LED at the scan's level.
  void prepareForScan();

 private:
  std::unique_ptr<FwsimProcess> sim_;
  std::unique_ptr<DeviceClient> device_;
  std::unique_ptr<Camera> camera_;
  VirtualCamera* virtual_ = nullptr;  // camera_ when it is the virtual camera
};

}  // namespace polscan
