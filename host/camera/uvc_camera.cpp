// UvcCamera: opening with clear errors, format conversion to 16-bit samples, stale-frame flushing.
#include "camera/uvc_camera.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include <spdlog/spdlog.h>
#include <opencv2/imgproc.hpp>

namespace polscan {

namespace {

bool isIndex(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

double steadySeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// A device node that cannot be opened says why (missing, permission, busy) before OpenCV,
// which only answers "not opened".
void checkDeviceNode(const std::string& path) {
  if (!std::filesystem::exists(path)) {
    throw CameraError("camera " + path + ": no such device (is the camera plugged in? " +
                      "`polscan camera list` shows the ones found)");
  }
  const int fd = ::open(path.c_str(), O_RDWR | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    std::string hint;
    if (err == EACCES) hint = " (add the user to the 'video' group)";
    if (err == EBUSY) hint = " (busy: another program holds it)";
    throw CameraError("camera " + path + ": cannot open: " + std::strerror(err) + hint);
  }
  ::close(fd);
}

}  // namespace

UvcCamera::UvcCamera(const std::string& source, UvcOptions options)
    : source_(source), options_(options) {
  if (isIndex(source)) {
    live_ = true;
    checkDeviceNode("/dev/video" + source);
    capture_.open(std::stoi(source), cv::CAP_V4L2);
  } else if (source.rfind("/dev/", 0) == 0) {
    live_ = true;
    checkDeviceNode(source);
    capture_.open(source, cv::CAP_V4L2);
  } else if (source.find('%') != std::string::npos) {
    // An image sequence: OpenCV's own reader keeps 16-bit samples (FFmpeg would make them 8-bit).
    capture_.open(source, cv::CAP_IMAGES);
  } else {
    if (source.find("://") == std::string::npos && !std::filesystem::exists(source)) {
      throw CameraError("camera " + source + ": no such file or device");
    }
    live_ = source.find("://") != std::string::npos;
    // FFmpeg reads files and stream URLs; CAP_ANY would go on to probe camera backends (gPhoto2,
    // FireWire) that enumerate the USB bus for a file name they cannot open.
    capture_.open(source, cv::CAP_FFMPEG);
  }
  if (!capture_.isOpened()) {
    throw CameraError("camera " + source +
                      (live_ ? ": the device exists but could not be started (busy in another "
                               "program, or no format OpenCV supports)"
                             : ": unsupported or unreadable video / image sequence"));
  }
  if (live_) {
    // One buffer where the driver allows it makes flushing cheap; otherwise flush what it holds.
    capture_.set(cv::CAP_PROP_BUFFERSIZE, 1);
    const double held = capture_.get(cv::CAP_PROP_BUFFERSIZE);
    stale_frames_ = options_.stale_frames >= 0 ? options_.stale_frames
                                               : (held >= 1 ? static_cast<int>(held) : 4);
  } else {
    stale_frames_ = std::max(options_.stale_frames, 0);
  }
  if (options_.gain) trySet(cv::CAP_PROP_GAIN, *options_.gain, "gain");
  first_ = readConverted();
  if (!first_) {
    throw CameraError("camera " + source + ": opened but delivered no frame (" +
                      capture_.getBackendName() + " backend; unsupported pixel format?)");
  }
  const cv::Mat& img = first_->image;
  format_ = CameraFormat{img.cols, img.rows, img.channels(), format_.bit_depth, options_.pixel_um};
  spdlog::debug("{}: {}x{} px, {} channel(s), {} stale frame(s) flushed per grab", describe(),
                img.cols, img.rows, img.channels(), stale_frames_);
}

std::string UvcCamera::describe() const {
  std::string backend = capture_.isOpened() ? capture_.getBackendName() : std::string("closed");
  return "camera " + source_ + " (" + backend + ")";
}

void UvcCamera::trySet(int prop, double value, const std::string& name) {
  if (!capture_.set(prop, value)) {
    std::ostringstream s;
    s << name << "=" << value << " (refused by the " << capture_.getBackendName() << " driver)";
    refused_.push_back(s.str());
    spdlog::warn("{}: {}", describe(), s.str());
  }
}

void UvcCamera::arm(std::uint32_t exposure_us) {
  // V4L2 through OpenCV: auto-exposure 1 = manual, exposure in units of 100 us.
  trySet(cv::CAP_PROP_AUTO_EXPOSURE, 1, "auto_exposure");
  trySet(cv::CAP_PROP_EXPOSURE, exposure_us / 100.0, "exposure_100us");
}

std::optional<Frame> UvcCamera::readConverted() {
  cv::Mat raw;
  if (!capture_.read(raw) || raw.empty()) return std::nullopt;
  Frame f;
  f.host_time_s = steadySeconds();
  cv::Mat img = raw;
  if (img.channels() == 4) cv::cvtColor(img, img, cv::COLOR_BGRA2BGR);
  if (img.channels() == 3 && !options_.colour) cv::cvtColor(img, img, cv::COLOR_BGR2GRAY);
  int bits = img.depth() == CV_8U ? 8 : 16;
  if (img.depth() != CV_16U) img.convertTo(img, CV_16U);  // counts stay counts
  if (options_.bit_depth > 0) bits = options_.bit_depth;
  format_.bit_depth = bits;
  f.image = img;
  f.sequence = sequence_++;
  return f;
}

std::optional<Frame> UvcCamera::waitFrame(std::chrono::milliseconds) {
  if (first_) {
    auto f = std::move(first_);
    first_.reset();
    return f;
  }
  return readConverted();
}

Frame UvcCamera::grabFresh(std::chrono::milliseconds timeout) {
  const double asked = steadySeconds();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  first_.reset();  // read before the move: stale by definition
  for (int i = 0; i < stale_frames_; ++i) {
    if (!capture_.grab()) {
      throw CameraError(describe() + ": stream ended while flushing buffered frames");
    }
  }
  for (;;) {
    std::optional<Frame> f = readConverted();
    if (!f) throw CameraError(describe() + ": stream ended (no frame left)");
    // Live V4L2 buffers carry their capture time (CLOCK_MONOTONIC, the steady clock here): a
    // frame captured before the request is stale even when the driver held more than expected.
    if (live_ && capture_.getBackendName() == "V4L2") {
      const double stamp_s = capture_.get(cv::CAP_PROP_POS_MSEC) / 1000.0;
      if (stamp_s > 0 && stamp_s < asked) {
        if (std::chrono::steady_clock::now() > deadline) {
          throw CameraError(describe() + ": no frame newer than the request within " +
                            std::to_string(timeout.count()) + " ms");
        }
        continue;
      }
      if (stamp_s > 0) f->host_time_s = stamp_s;
    }
    return std::move(*f);
  }
}

}  // namespace polscan
