// The --camera address: which camera backend and which device, in one string.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "camera/camera.hpp"

namespace polscan {

struct CameraAddress {
  enum class Kind { Virtual, Uvc, Replay, Aravis };
  Kind kind = Kind::Virtual;
  std::string target;  // uvc: index, /dev path, file or URL; replay: folder; aravis: device id
};

// Parses virtual | uvc:INDEX | uvc:PATH | replay:DIR | aravis[:ID]. Throws CameraError listing
// the accepted forms.
CameraAddress parseCameraAddress(const std::string& text);

struct CameraOpenOptions {
  std::string trigger_source = "Line1";  // Aravis FrameStart trigger input
  double pixel_um = 0.0;                 // sample-plane pixel size when known
};

// Opens a real or replay camera (not Virtual: the virtual camera needs the instrument's slide).
// Throws CameraError: missing, busy, unsupported, or Aravis not built in.
std::unique_ptr<Camera> openCamera(const CameraAddress& address,
                                   const CameraOpenOptions& options = {});

// True when this build has the Aravis backend (libaravis-dev found at configure time).
bool aravisBuiltIn();

struct CameraListing {
  std::string address;  // what to pass to --camera
  std::string description;
};
// Cameras found now: V4L2 device nodes and, when built in, Aravis (GenICam) cameras.
std::vector<CameraListing> listCameras();

}  // namespace polscan
