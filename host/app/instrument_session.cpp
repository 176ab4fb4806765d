// InstrumentSession: the virtual camera's trigger input is wired to the firmware's trigger events.
#include "app/instrument_session.hpp"

#include <spdlog/spdlog.h>

#include "hardware/twin/slide.hpp"
#include "transport/serial_transport.hpp"
#include "transport/transport_factory.hpp"

namespace polscan {

InstrumentSession::InstrumentSession(const InstrumentOptions& options) {
  std::string address = options.device;
  if (address == "sim") {
    sim_ = std::make_unique<FwsimProcess>(options.sim_args);
    address = sim_->ptyPath();
    spdlog::info("firmware simulator started, link on {}", address);
  }
  device_ = std::make_unique<DeviceClient>(
      [address](boost::asio::io_context& io) { return openTransport(io, address); });
  twin::Slide slide = options.slide.empty() ? twin::demoSlide() : twin::loadSlide(options.slide);
  camera_ = std::make_unique<VirtualCamera>(std::move(slide), twin::OpticsConfig{}, options.camera);
  device_->setTriggerListener([cam = camera_.get()](const TriggerEvent& t) { cam->onTrigger(t); });
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

}  // namespace polscan
