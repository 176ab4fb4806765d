// VirtualCamera: queue trigger pulses from the link, render them on the consumer's thread.
#include "camera/virtual_camera.hpp"

namespace polscan {

VirtualCamera::VirtualCamera(twin::Slide slide, twin::OpticsConfig optics,
                             VirtualCameraConfig config)
    : slide_(std::move(slide)), renderer_(slide_, std::move(optics)), config_(config) {}

CameraFormat VirtualCamera::format() const {
  const auto& o = renderer_.optics();
  return CameraFormat{config_.width, config_.height, o.wavelengths_nm.size() == 3 ? 3 : 1,
                      o.bit_depth, config_.pixel_um};
}

std::optional<double> VirtualCamera::framePeriodS() const {
  if (!(config_.frame_rate_hz > 0.0)) return std::nullopt;
  return 1.0 / config_.frame_rate_hz;
}

void VirtualCamera::arm(std::uint32_t exposure_us) {
  std::lock_guard lock(mutex_);
  pulses_.clear();
  exposure_us_ = exposure_us;
  pulses_since_arm_ = 0;
}

void VirtualCamera::onTrigger(const TriggerEvent& pulse) {
  {
    std::lock_guard lock(mutex_);
    const int n = pulses_since_arm_++;
    const std::uint64_t sequence = sequence_++;
    if (n == config_.drop_frame) return;  // exposed and counted, but the frame never arrived
    pulses_.push_back(Exposure{pulse, sequence});
    if (n == config_.extra_frame) pulses_.push_back(Exposure{pulse, sequence});
  }
  cv_.notify_all();
}

std::optional<Frame> VirtualCamera::waitFrame(std::chrono::milliseconds timeout) {
  TriggerEvent pulse;
  std::uint64_t sequence = 0;
  std::uint32_t exposure_us = 0;
  {
    std::unique_lock lock(mutex_);
    if (!cv_.wait_for(lock, timeout, [&] { return !pulses_.empty(); })) return std::nullopt;
    pulse = pulses_.front().pulse;
    sequence = pulses_.front().sequence;
    pulses_.pop_front();
    exposure_us = exposure_us_;
  }
  twin::FieldRequest request;
  request.stage_x_um = pulse.trigger.stage_x_um();
  request.stage_y_um = pulse.trigger.stage_y_um();
  request.z_um = pulse.trigger.stage_z_um();
  request.polarizer_deg = pulse.trigger.measured_angle_deg();
  request.width_px = config_.width;
  request.height_px = config_.height;
  request.pixel_um = config_.pixel_um;
  request.exposure_us = exposure_us;
  // Noise differs per exposure but repeats for the same slide, stack and frame.
  request.frame_seed = slide_.seed * 1000003u + sequence;
  Frame frame;
  frame.image = renderer_.render(request);
  frame.sequence = sequence;
  frame.host_time_s = pulse.host_time_s;
  return frame;
}

}  // namespace polscan
