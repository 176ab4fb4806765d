// InstrumentSession: the virtual camera's trigger input is wired to the firmware's trigger events.
#include "app/instrument_session.hpp"

#include <spdlog/spdlog.h>

#include "camera/camera_address.hpp"
#if POLSCAN_HAVE_ARAVIS
#include "camera/aravis_camera.hpp"
#endif
#include "hardware/twin/slide.hpp"
#include "transport/serial_transport.hpp"
#include "transport/transport_factory.hpp"

namespace polscan {

InstrumentSession::InstrumentSession(const InstrumentOptions& options) {
  // The camera first: a missing or busy camera should fail before the instrument moves.
  const CameraAddress cam = parseCameraAddress(options.camera_address);
  if (cam.kind != CameraAddress::Kind::Virtual) {
    CameraOpenOptions copt;
    copt.trigger_source = options.camera_trigger;
    camera_ = openCamera(cam, copt);
    spdlog::info("camera: {}", camera_->describe());
  }
  std::string address = options.device;
  if (address == "sim") {
    sim_ = std::make_unique<FwsimProcess>(options.sim_args);
    address = sim_->ptyPath();
    spdlog::info("firmware simulator started, link on {}", address);
  }
  // DeviceClient's host times count from its construction; an Aravis camera stamps its frames
  // on the same origin (within microseconds) so pairing can compare them.
  const auto device_epoch = std::chrono::steady_clock::now();
  device_ = std::make_unique<DeviceClient>(
      [address](boost::asio::io_context& io) { return openTransport(io, address); });
  if (cam.kind == CameraAddress::Kind::Virtual) {
    twin::Slide slide = options.slide.empty() ? twin::demoSlide() : twin::loadSlide(options.slide);
    auto v =
        std::make_unique<VirtualCamera>(std::move(slide), twin::OpticsConfig{}, options.camera);
    virtual_ = v.get();
    camera_ = std::move(v);
    device_->setTriggerListener([cam = virtual_](const TriggerEvent& t) { cam->onTrigger(t); });
  }
#if POLSCAN_HAVE_ARAVIS
  if (auto* arv = dynamic_cast<AravisCamera*>(camera_.get())) {
    arv->setHostTimeOrigin(device_epoch);
    if (options.camera_trigger == "Software") {
      // No trigger cable: each trigger event fires the exposure in software (adds the link's
      // latency, a few ms, to the exposure start).
      device_->setTriggerListener([arv](const TriggerEvent& t) {
        try {
          arv->softwareTrigger();
        } catch (const CameraError& e) {
          // The io thread must go on; the missing frame is then named by pairing.
          spdlog::error("trigger {} not passed to the camera: {}", t.trigger.frame_index(),
                        e.what());
        }
      });
    }
  }
#else
  (void)device_epoch;
#endif
}

VirtualCamera& InstrumentSession::virtualCamera() {
  if (virtual_ == nullptr) {
    throw CameraError("this needs the virtual camera (--camera virtual), not " +
                      camera_->describe());
  }
  return *virtual_;
}

InstrumentSession::~InstrumentSession() {
  if (device_) device_->setTriggerListener(nullptr);
}

void InstrumentSession::homeAll() {
  const wire::Info info = device_->getInfo();
  device_->home(wire::AXIS_POLARIZER);
  if (info.capabilities() & wire::CAPABILITY_XY_STAGE) {
    device_->home(wire::AXIS_X);
    device_->home(wire::AXIS_Y);
  }
  if (info.capabilities() & wire::CAPABILITY_Z_FOCUS) device_->home(wire::AXIS_Z);
}

void InstrumentSession::prepareForScan() {
  const wire::DeviceStatus s = device_->getStatus();
  bool homed = !s.axes().empty();
  for (const auto& a : s.axes()) homed = homed && a.homed();
  if (!homed || !s.faults().empty()) homeAll();
  device_->setLed(0.8f);
}

}  // namespace polscan
