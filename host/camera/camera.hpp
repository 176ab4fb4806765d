// Camera: where frames come from (virtual instrument, UVC, GenICam, replay), one interface.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include <opencv2/core.hpp>

namespace polscan {

class CameraError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct CameraFormat {
  int width = 0;
  int height = 0;
  int channels = 1;       // 1 mono, 3 colour (B, G, R)
  int bit_depth = 16;     // significant bits in each 16-bit sample
  double pixel_um = 0.0;  // sample-plane pixel size (0 when unknown: calibration gives it)
};

struct Frame {
  cv::Mat image;               // CV_16UC1 or CV_16UC3
  std::uint64_t sequence = 0;  // the camera's own frame counter (gaps mean lost frames)
  double host_time_s = 0.0;    // exposure start on the host steady clock, where known
  // Replayed frames only: the polarizer angle the frame was recorded at (degrees), so a replay
  // can be checked against the angle the firmware reports for the same step.
  std::optional<double> recorded_angle_deg;
};

// How a camera's exposures start.
enum class Triggering {
  Hardware,  // the firmware's trigger line starts each exposure (frames paired with TriggerFired)
  Software,  // no trigger input: the host moves the polarizer, waits, then grabs a fresh frame
};

class Camera {
 public:
  virtual ~Camera() = default;
  virtual std::string describe() const = 0;
  virtual CameraFormat format() const = 0;
  // Arms the camera for a triggered stack; frames from before this call are discarded.
  virtual void arm(std::uint32_t exposure_us) = 0;
  // Next frame in arrival order, or nullopt after timeout.
  virtual std::optional<Frame> waitFrame(std::chrono::milliseconds timeout) = 0;

  virtual Triggering triggering() const { return Triggering::Hardware; }
  // Shortest time from one frame's start to the next one's at the current settings (seconds),
  // where the camera knows it; a fly-by stack paced to it never triggers faster than the camera
  // can follow. nullopt: unknown (the firmware then paces from the exposure alone).
  virtual std::optional<double> framePeriodS() const { return std::nullopt; }
  // Software-timed cameras: the first frame whose exposure started after this call. Frames the
  // driver buffered before it are dropped, so a frame is never paired with an earlier angle.
  // Throws CameraError when nothing fresh arrives within timeout.
  virtual Frame grabFresh(std::chrono::milliseconds timeout) {
    (void)timeout;
    throw CameraError(describe() + " is hardware-triggered: it has no software-timed grab");
  }
};

}  // namespace polscan
