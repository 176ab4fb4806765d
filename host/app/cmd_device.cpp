// `polscan device info|home`: talk to the instrument's firmware directly.
#include <iostream>
#include <memory>

#include "app/commands.hpp"
#include "app/instrument_session.hpp"
#include "transport/usb_discovery.hpp"

namespace polscan {

namespace {
const char* axisUnit(wire::Axis a) {
  return a == wire::AXIS_POLARIZER ? "deg" : "um";
}

void printInfo(const wire::Info& info, const std::string& where) {
  std::cout << "Instrument on " << where << "\n"
            << "  firmware " << info.firmware_version() << ", protocol " << info.protocol_version()
            << ", board " << info.board() << ", serial " << info.serial_number() << "\n"
            << "  clock " << info.tick_hz() << " Hz, up to " << info.max_angles()
            << " angles per stack\n  capabilities:";
  const std::pair<wire::Capability, const char*> caps[] = {
      {wire::CAPABILITY_FLY_BY, "fly-by"},
      {wire::CAPABILITY_STOP_AND_GO, "stop-and-go"},
      {wire::CAPABILITY_XY_STAGE, "xy-stage"},
      {wire::CAPABILITY_Z_FOCUS, "z-focus"},
      {wire::CAPABILITY_LED_STROBE, "led-strobe"},
      {wire::CAPABILITY_CONTINUOUS_FLY_BY, "continuous-fly-by"}};
  for (const auto& [bit, name] : caps) {
    if (info.capabilities() & bit) std::cout << " " << name;
  }
  std::cout << "\n";
  for (const auto& l : info.limits()) {
    const char* u = axisUnit(l.axis());
    std::cout << "  axis " << wire::Axis_Name(l.axis()).substr(5) << ": " << l.min() << " to "
              << l.max() << " " << u << ", max " << l.max_speed() << " " << u << "/s, "
              << l.units_per_step() << " " << u << "/microstep\n";
  }
}
}  // namespace

void addDeviceCommands(CLI::App& app, GlobalOptions& global) {
  auto* device = app.add_subcommand("device", "Talk to the instrument's firmware");
  device->require_subcommand(1);

  auto* list = device->add_subcommand(
      "list",
      "List connected instruments (polscan USB devices and serial ports) with the "
      "address to pass to --device");
  list->callback([] {
    const auto found = listInstruments();
    if (found.empty()) {
      std::cout << "No instrument found (no polscan USB device 1209:7a50, no serial port).\n"
                   "The firmware simulator needs none: use --device sim.\n";
      return;
    }
    for (const auto& c : found) {
      std::cout << "  " << c.address << "  " << c.description;
      if (!c.problem.empty()) std::cout << "  [" << c.problem << "]";
      std::cout << "\n";
    }
  });

  auto* info = device->add_subcommand(
      "info", "Print firmware and protocol versions, capabilities and axis limits");
  info->callback([&global] {
    InstrumentOptions io;
    io.device = global.device;
    InstrumentSession session(io);
    printInfo(session.device().getInfo(), session.device().describe());
  });

  auto* home = device->add_subcommand(
      "home", "Home an axis (polarizer: on its index sensor; stages: on their limit switch)");
  auto axis_name = std::make_shared<std::string>("all");
  home->add_option("--axis", *axis_name, "polarizer, x, y, z or all")
      ->check(CLI::IsMember({"polarizer", "x", "y", "z", "all"}))
      ->capture_default_str();
  home->callback([&global, axis_name] {
    InstrumentOptions io;
    io.device = global.device;
    InstrumentSession session(io);
    if (*axis_name == "all") {
      session.homeAll();
    } else {
      const wire::Axis axis = *axis_name == "polarizer" ? wire::AXIS_POLARIZER
                              : *axis_name == "x"       ? wire::AXIS_X
                              : *axis_name == "y"       ? wire::AXIS_Y
                                                        : wire::AXIS_Z;
      session.device().home(axis);
    }
    const wire::DeviceStatus status = session.device().getStatus();
    for (const auto& a : status.axes()) {
      std::cout << "  " << wire::Axis_Name(a.axis()).substr(5) << ": "
                << (a.homed() ? "homed" : "not homed") << ", at " << a.position() << " "
                << axisUnit(a.axis()) << "\n";
    }
  });
}

}  // namespace polscan
