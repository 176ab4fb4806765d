// UvcCamera: UVC / V4L2 cameras (and recorded videos or image sequences) through cv::VideoCapture.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <opencv2/videoio.hpp>

#include "camera/camera.hpp"

namespace polscan {

struct UvcOptions {
  // Frames the driver may already hold when a grab is asked for (V4L2 queues ~4 buffers);
  // grabFresh() discards this many first. -1: the driver's CAP_PROP_BUFFERSIZE for devices,
  // 0 for files.
  int stale_frames = -1;
  std::optional<double> gain;  // driver units (V4L2 gain control); unset: left as it is
  bool colour = false;         // keep B, G, R; otherwise frames are converted to mono
  double pixel_um = 0.0;       // sample-plane pixel size when known (calibration gives it)
  int bit_depth = 0;           // significant bits; 0: 8 for 8-bit captures, 16 for 16-bit
};

// Opens `source`: a device index ("0"), a device path ("/dev/video2"), a video file, an image
// sequence pattern ("frames/frame_%03d.png") or a stream URL. Software-timed: the camera
// free-runs and grabFresh() flushes what the driver buffered before the call.
class UvcCamera final : public Camera {
 public:
  // Throws CameraError naming the source: missing, permission denied, busy or unsupported.
  UvcCamera(const std::string& source, UvcOptions options = {});

  std::string describe() const override;
  CameraFormat format() const override { return format_; }
  // Sets manual exposure (V4L2 exposure_absolute is in 100 us units) and the gain where the
  // driver allows; what it refuses is logged and listed by refusedSettings().
  void arm(std::uint32_t exposure_us) override;
  std::optional<Frame> waitFrame(std::chrono::milliseconds timeout) override;
  Triggering triggering() const override { return Triggering::Software; }
  Frame grabFresh(std::chrono::milliseconds timeout) override;

  // Settings the driver refused, each "name=value (why)": files refuse all of them.
  const std::vector<std::string>& refusedSettings() const { return refused_; }
  bool isLiveDevice() const { return live_; }

 private:
  std::optional<Frame> readConverted();
  void trySet(int prop, double value, const std::string& name);

  std::string source_;
  UvcOptions options_;
  cv::VideoCapture capture_;
  bool live_ = false;
  int stale_frames_ = 0;
  CameraFormat format_;
  std::uint64_t sequence_ = 0;
  std::vector<std::string> refused_;
  std::optional<Frame> first_;  // read while opening to learn the format
};

}  // namespace polscan
