// ReplayCamera: reads the stack folder or OME-TIFF file once, then serves its frames in order.
#include "camera/replay_camera.hpp"

#include "io/ome_tiff.hpp"
#include "io/stack_file.hpp"

namespace polscan {

ReplayCamera::ReplayCamera(const std::filesystem::path& stack_dir) : dir_(stack_dir) {
  if (!std::filesystem::is_directory(stack_dir) &&
      !(isOmeTiffPath(stack_dir) && std::filesystem::is_regular_file(stack_dir))) {
    throw CameraError("replay camera: " + stack_dir.string() +
                      ": no such stack folder or OME-TIFF file");
  }
  try {
    stack_ = readStack(stack_dir);
  } catch (const StackFormatError& e) {
    throw CameraError(std::string("replay camera: ") + e.what());
  }
  if (stack_.frames.empty()) {
    throw CameraError("replay camera: " + stack_dir.string() + " holds no frames");
  }
}

std::string ReplayCamera::describe() const {
  return "replay of " + dir_.string() + " (" + std::to_string(stack_.frames.size()) + " frames)";
}

CameraFormat ReplayCamera::format() const {
  const cv::Mat& f = stack_.frames.front();
  return CameraFormat{f.cols, f.rows, f.channels(), stack_.bit_depth, stack_.pixel_um};
}

void ReplayCamera::arm(std::uint32_t) {
  next_ = 0;
}

std::optional<Frame> ReplayCamera::waitFrame(std::chrono::milliseconds timeout) {
  if (next_ >= stack_.frames.size()) return std::nullopt;
  return grabFresh(timeout);
}

Frame ReplayCamera::grabFresh(std::chrono::milliseconds) {
  if (next_ >= stack_.frames.size()) {
    throw CameraError("replay camera: " + dir_.string() + " has only " +
                      std::to_string(stack_.frames.size()) + " frames; frame " +
                      std::to_string(next_) + " was asked for");
  }
  Frame f;
  f.image = stack_.frames[next_].clone();
  f.recorded_angle_deg = stack_.angles_deg[next_];
  f.sequence = sequence_++;
  ++next_;
  return f;
}

}  // namespace polscan
