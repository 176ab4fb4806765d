// parseCameraAddress / openCamera / listCameras: one place that knows every backend.
#include "camera/camera_address.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "camera/replay_camera.hpp"
#include "camera/uvc_camera.hpp"
#if POLSCAN_HAVE_ARAVIS
#include "camera/aravis_camera.hpp"
#endif

namespace polscan {

namespace {
constexpr const char* kForms =
    "virtual, uvc:INDEX, uvc:/dev/videoN, uvc:FILE, replay:DIR, aravis[:ID]";
}

CameraAddress parseCameraAddress(const std::string& text) {
  CameraAddress a;
  const auto colon = text.find(':');
  const std::string kind = text.substr(0, colon);
  const std::string rest = colon == std::string::npos ? "" : text.substr(colon + 1);
  if (kind == "virtual" && rest.empty()) {
    a.kind = CameraAddress::Kind::Virtual;
  } else if (kind == "uvc" && !rest.empty()) {
    a.kind = CameraAddress::Kind::Uvc;
  } else if (kind == "replay" && !rest.empty()) {
    a.kind = CameraAddress::Kind::Replay;
  } else if (kind == "aravis") {
    a.kind = CameraAddress::Kind::Aravis;
  } else {
    throw CameraError("camera address '" + text + "' not understood; use one of: " + kForms);
  }
  a.target = rest;
  return a;
}

bool aravisBuiltIn() {
  return POLSCAN_HAVE_ARAVIS != 0;
}

std::unique_ptr<Camera> openCamera(const CameraAddress& address, const CameraOpenOptions& options) {
  switch (address.kind) {
    case CameraAddress::Kind::Virtual:
      throw CameraError(
          "the virtual camera is opened with the instrument session (it renders "
          "the instrument's slide)");
    case CameraAddress::Kind::Uvc: {
      UvcOptions o;
      o.pixel_um = options.pixel_um;
      return std::make_unique<UvcCamera>(address.target, o);
    }
    case CameraAddress::Kind::Replay:
      return std::make_unique<ReplayCamera>(address.target);
    case CameraAddress::Kind::Aravis: {
#if POLSCAN_HAVE_ARAVIS
      AravisOptions o;
      o.trigger_source = options.trigger_source;
      o.pixel_um = options.pixel_um;
      return std::make_unique<AravisCamera>(address.target, o);
#else
      throw CameraError(
          "unsupported camera: this polscan was built without Aravis "
          "(install libaravis-dev and rebuild)");
#endif
    }
  }
  throw CameraError("unknown camera kind");
}

std::vector<CameraListing> listCameras() {
  std::vector<CameraListing> out;
  std::vector<std::filesystem::path> nodes;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/dev", ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("video", 0) == 0) nodes.push_back(e.path());
  }
  std::sort(nodes.begin(), nodes.end());
  for (const auto& n : nodes) {
    std::string desc = "V4L2 device";
    std::ifstream sys("/sys/class/video4linux/" + n.filename().string() + "/name");
    std::string card;
    if (std::getline(sys, card) && !card.empty()) desc += ": " + card;
    out.push_back({"uvc:" + n.string(), desc});
  }
#if POLSCAN_HAVE_ARAVIS
  for (const auto& d : AravisCamera::listDevices()) {
    out.push_back({"aravis:" + d.id, "GenICam " + d.protocol + ": " + d.vendor + " " + d.model +
                                         " (serial " + d.serial + ")"});
  }
#endif
  return out;
}

}  // namespace polscan
