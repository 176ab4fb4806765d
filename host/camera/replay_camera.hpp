// ReplayCamera: a recorded stack (folder or OME-TIFF file) played back as a camera, so a recorded
// session re-runs.
#pragma once

#include <filesystem>

#include "camera/camera.hpp"
#include "common/stack.hpp"

namespace polscan {

// Software-timed: each grab hands out the next recorded frame (in recording order) together with
// the angle it was recorded at; arm() rewinds. Running past the last frame is a CameraError
// naming the folder, never a silent wrap to the first frame.
class ReplayCamera final : public Camera {
 public:
  // Throws CameraError when the folder / .ome.tif file is missing or not a readable stack.
  explicit ReplayCamera(const std::filesystem::path& stack_dir);

  std::string describe() const override;
  CameraFormat format() const override;
  void arm(std::uint32_t exposure_us) override;
  std::optional<Frame> waitFrame(std::chrono::milliseconds timeout) override;
  Triggering triggering() const override { return Triggering::Software; }
  Frame grabFresh(std::chrono::milliseconds timeout) override;

  const Stack& recording() const { return stack_; }

 private:
  std::filesystem::path dir_;
  Stack stack_;
  std::size_t next_ = 0;
  std::uint64_t sequence_ = 0;
};

}  // namespace polscan
