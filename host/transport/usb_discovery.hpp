// Finds connected instruments (polscan USB devices and serial ports) and opens "usb..." addresses.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "transport/transport.hpp"

namespace polscan {

struct InstrumentCandidate {
  enum class Kind { usb, serial };
  Kind kind = Kind::usb;
  // What openTransport()/openUsbTransport() accepts: "usb:PS-0001", "usb:1:2",
  // "serial:/dev/serial/by-id/usb-...".
  std::string address;
  // One line for people: "polscan USB instrument, serial PS-0001 (bus 1 address 2)".
  std::string description;
  std::string serial;            // USB serial number string; empty for serial ports
  std::uint8_t bus = 0;          // USB only
  std::uint8_t usb_address = 0;  // USB only
  std::string path;              // serial ports: the device path
  // Why this candidate may not open (USB: permission denied reading its serial), else empty.
  std::string problem;
};

// USB instruments (VID/PID of polscan) first, then serial ports. Never throws for a missing
// bus or directory: an empty list means nothing was found.
std::vector<InstrumentCandidate> listInstruments();
std::vector<InstrumentCandidate> listUsbInstruments();
std::vector<InstrumentCandidate> listSerialPorts();

// Accepts "usb" (the only instrument), "usb:SERIAL", "usb:BUS:ADDR" (decimal). Throws
// TransportError for other forms, and the UsbTransport errors for a device that will not open.
std::unique_ptr<Transport> openUsbTransport(boost::asio::io_context& io,
                                            const std::string& address);

}  // namespace polscan
