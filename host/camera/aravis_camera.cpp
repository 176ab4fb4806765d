// AravisCamera: GError -> CameraError with context, trigger set-up, buffer queue, frame decoding.
#include "camera/aravis_camera.hpp"

#include <arv.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include <spdlog/spdlog.h>

namespace polscan {

struct AravisCamera::Handles {
  ArvCamera* camera = nullptr;
  ArvStream* stream = nullptr;
  bool acquiring = false;
};

namespace {

// Throws CameraError "<who>: <what>: <GError message>" and frees the error.
void check(GError* error, const std::string& who, const char* what) {
  if (error == nullptr) return;
  std::string msg = error->message ? error->message : "unknown error";
  g_error_free(error);
  std::string hint;
  if (msg.find("imeout") != std::string::npos) {
    hint = " (another program may control the camera: GigE Vision allows one controlling client)";
  }
  throw CameraError(who + ": " + what + ": " + msg + hint);
}

double realtimeToSteadySeconds(std::uint64_t realtime_ns,
                               std::chrono::steady_clock::time_point origin) {
  const auto now_steady = std::chrono::steady_clock::now();
  const auto now_real = std::chrono::system_clock::now();
  const double age_s =
      std::chrono::duration<double>(now_real.time_since_epoch()).count() - realtime_ns * 1e-9;
  return std::chrono::duration<double>(now_steady - origin).count() - age_s;
}

}  // namespace

AravisCamera::AravisCamera(const std::string& device_id, AravisOptions options)
    : h_(std::make_unique<Handles>()), id_(device_id), options_(std::move(options)) {
  if (options_.bits != 8 && options_.bits != 16) {
    throw CameraError("Aravis camera: bits must be 8 (Mono8) or 16 (Mono16)");
  }
  GError* error = nullptr;
  h_->camera = arv_camera_new(device_id.empty() ? nullptr : device_id.c_str(), &error);
  const std::string who = "Aravis camera " + (device_id.empty() ? "(first found)" : device_id);
  if (h_->camera == nullptr) {
    if (error == nullptr) throw CameraError(who + ": not found (`polscan camera list`)");
    check(error, who, "cannot open (not found, or held by another program)");
  }
  if (const char* model = arv_camera_get_model_name(h_->camera, nullptr)) model_ = model;
  if (id_.empty()) {
    const char* serial = arv_camera_get_device_serial_number(h_->camera, nullptr);
    id_ = serial ? serial : "?";
  }
  // A previous client killed mid-stream may have left the camera streaming to a dead port.
  arv_camera_stop_acquisition(h_->camera, &error);
  check(error, describe(), "stopping a previous acquisition");
  for (const char* feature : {"TriggerSelector", "TriggerMode", "TriggerSource"}) {
    const gboolean ok = arv_camera_is_feature_available(h_->camera, feature, &error);
    check(error, describe(), "reading its features");
    if (!ok) {
      throw CameraError(describe() + ": unsupported camera: it has no " + feature +
                        " feature (polscan needs a hardware frame trigger)");
    }
  }
  gint x = 0, y = 0;
  arv_camera_get_region(h_->camera, &x, &y, &width_, &height_, &error);
  check(error, describe(), "reading its region");
}

AravisCamera::~AravisCamera() {
  stop();
  if (h_->camera) g_object_unref(h_->camera);
}

void AravisCamera::stop() {
  if (h_->acquiring) {
    GError* error = nullptr;
    arv_camera_stop_acquisition(h_->camera, &error);
    if (error) {
      spdlog::warn("{}: stopping acquisition: {}", describe(), error->message);
      g_error_free(error);
    }
    h_->acquiring = false;
  }
  if (h_->stream) {
    g_object_unref(h_->stream);
    h_->stream = nullptr;
  }
}

std::string AravisCamera::describe() const {
  return "Aravis camera " + id_ + (model_.empty() ? std::string() : " (" + model_ + ")");
}

CameraFormat AravisCamera::format() const {
  return CameraFormat{width_, height_, 1, options_.bits, options_.pixel_um};
}

void AravisCamera::arm(std::uint32_t exposure_us) {
  stop();
  GError* error = nullptr;
  ArvCamera* cam = h_->camera;
  const std::string who = describe();
  arv_camera_set_pixel_format(
      cam, options_.bits == 16 ? ARV_PIXEL_FORMAT_MONO_16 : ARV_PIXEL_FORMAT_MONO_8, &error);
  check(error, who, options_.bits == 16 ? "setting Mono16" : "setting Mono8");
  arv_camera_set_acquisition_mode(cam, ARV_ACQUISITION_MODE_CONTINUOUS, &error);
  check(error, who, "setting continuous acquisition");
  arv_camera_set_string(cam, "TriggerSelector", "FrameStart", &error);
  check(error, who, "TriggerSelector=FrameStart");
  arv_camera_set_string(cam, "TriggerMode", "On", &error);
  check(error, who, "TriggerMode=On");
  arv_camera_set_string(cam, "TriggerSource", options_.trigger_source.c_str(), &error);
  if (error) {
    guint n = 0;
    const char** offered =
        arv_camera_dup_available_enumerations_as_strings(cam, "TriggerSource", &n, nullptr);
    std::string list;
    for (guint i = 0; offered && i < n; ++i) list += (i ? ", " : "") + std::string(offered[i]);
    g_free(offered);
    check(error, who,
          ("TriggerSource=" + options_.trigger_source + " (offered: " + list + ")").c_str());
  }
  arv_camera_set_exposure_time(cam, static_cast<double>(exposure_us), &error);
  check(error, who, ("ExposureTime=" + std::to_string(exposure_us) + " us").c_str());
  gint x = 0, y = 0;
  arv_camera_get_region(cam, &x, &y, &width_, &height_, &error);
  check(error, who, "reading its region");

  h_->stream = arv_camera_create_stream(cam, nullptr, nullptr, &error);
  check(error, who, "creating the stream");
  const guint payload = arv_camera_get_payload(cam, &error);
  check(error, who, "reading the payload size");
  for (int i = 0; i < options_.buffers; ++i) {
    arv_stream_push_buffer(h_->stream, arv_buffer_new(payload, nullptr));
  }
  arv_camera_start_acquisition(cam, &error);
  check(error, who, "starting acquisition");
  h_->acquiring = true;
  ids_.reset();
  damaged_ = 0;
}

std::optional<double> AravisCamera::framePeriodS() const {
  GError* error = nullptr;
  ArvCamera* cam = h_->camera;
  const std::string who = describe();
  double max_rate_hz = 0.0;
  const gboolean bounded = arv_camera_is_frame_rate_available(cam, &error);
  check(error, who, "reading its frame-rate features");
  if (bounded) {
    double lo = 0.0;
    arv_camera_get_frame_rate_bounds(cam, &lo, &max_rate_hz, &error);
    check(error, who, "reading the AcquisitionFrameRate bounds");
  } else {
    const gboolean resulting =
        arv_camera_is_feature_available(cam, "AcquisitionResultingFrameRate", &error);
    check(error, who, "reading its frame-rate features");
    if (resulting) {
      max_rate_hz = arv_camera_get_float(cam, "AcquisitionResultingFrameRate", &error);
      check(error, who, "reading AcquisitionResultingFrameRate");
    }
  }
  if (!(max_rate_hz > 0.0) || !std::isfinite(max_rate_hz)) return std::nullopt;
  const double exposure_us = arv_camera_get_exposure_time(cam, &error);
  check(error, who, "reading ExposureTime");
  return std::max(1.0 / max_rate_hz, exposure_us * 1e-6);
}

void AravisCamera::softwareTrigger() {
  GError* error = nullptr;
  arv_camera_software_trigger(h_->camera, &error);
  check(error, describe(), "software trigger");
}

std::optional<Frame> AravisCamera::waitFrame(std::chrono::milliseconds timeout) {
  if (!h_->stream) throw CameraError(describe() + ": waitFrame before arm()");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::microseconds>(
        deadline - std::chrono::steady_clock::now());
    ArvBuffer* buf = arv_stream_timeout_pop_buffer(
        h_->stream, static_cast<guint64>(std::max<std::int64_t>(left.count(), 0)));
    if (buf == nullptr) return std::nullopt;
    if (arv_buffer_get_status(buf) != ARV_BUFFER_STATUS_SUCCESS) {
      // Damaged in transit: its id is skipped, so pairing sees the gap and names the angle.
      ++damaged_;
      spdlog::warn("{}: frame {} arrived damaged (status {})", describe(),
                   arv_buffer_get_frame_id(buf), static_cast<int>(arv_buffer_get_status(buf)));
      arv_stream_push_buffer(h_->stream, buf);
      continue;
    }
    const int w = arv_buffer_get_image_width(buf), h = arv_buffer_get_image_height(buf);
    const ArvPixelFormat pf = arv_buffer_get_image_pixel_format(buf);
    size_t size = 0;
    const void* data = arv_buffer_get_data(buf, &size);
    Frame f;
    if (pf == ARV_PIXEL_FORMAT_MONO_16 && size >= static_cast<size_t>(w) * h * 2) {
      cv::Mat(h, w, CV_16UC1, const_cast<void*>(data)).copyTo(f.image);
    } else if (pf == ARV_PIXEL_FORMAT_MONO_8 && size >= static_cast<size_t>(w) * h) {
      cv::Mat(h, w, CV_8UC1, const_cast<void*>(data)).convertTo(f.image, CV_16U);
    } else {
      arv_stream_push_buffer(h_->stream, buf);
      throw CameraError(describe() + ": unsupported pixel format 0x" + std::to_string(pf) +
                        " (polscan reads Mono8 and Mono16)");
    }
    f.sequence = ids_.next(arv_buffer_get_frame_id(buf));
    f.host_time_s = realtimeToSteadySeconds(arv_buffer_get_system_timestamp(buf), origin_);
    arv_stream_push_buffer(h_->stream, buf);
    return f;
  }
}

std::vector<AravisDeviceInfo> AravisCamera::listDevices() {
  arv_update_device_list();
  std::vector<AravisDeviceInfo> out;
  const unsigned n = arv_get_n_devices();
  for (unsigned i = 0; i < n; ++i) {
    auto str = [](const char* s) { return s ? std::string(s) : std::string(); };
    out.push_back(AravisDeviceInfo{str(arv_get_device_id(i)), str(arv_get_device_vendor(i)),
                                   str(arv_get_device_model(i)), str(arv_get_device_serial_nbr(i)),
                                   str(arv_get_device_protocol(i))});
  }
  return out;
}

}  // namespace polscan
