// Instrument discovery through libusb and /dev, and the "usb..." address parser.
#include "transport/usb_discovery.hpp"

#include <libusb.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <optional>
#include <set>

#include "transport/usb_transport.hpp"

namespace polscan {

namespace fs = std::filesystem;

namespace {

// Parses a decimal number in 1..255 filling the whole string.
std::optional<std::uint8_t> parseByte(const std::string& s) {
  unsigned v = 0;
  const char* last = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(s.data(), last, v);
  if (s.empty() || ec != std::errc() || ptr != last || v == 0 || v > 255) return std::nullopt;
  return static_cast<std::uint8_t>(v);
}

}  // namespace

std::vector<InstrumentCandidate> listUsbInstruments() {
  std::vector<InstrumentCandidate> out;
  libusb_context* ctx = nullptr;
  if (libusb_init(&ctx) != LIBUSB_SUCCESS) return out;  // no USB stack: nothing to list
  libusb_device** list = nullptr;
  const ssize_t count = libusb_get_device_list(ctx, &list);
  for (ssize_t i = 0; i < count; ++i) {
    libusb_device_descriptor desc{};
    if (libusb_get_device_descriptor(list[i], &desc) != LIBUSB_SUCCESS) continue;
    if (desc.idVendor != kPolscanUsbVid || desc.idProduct != kPolscanUsbPid) continue;
    InstrumentCandidate c;
    c.kind = InstrumentCandidate::Kind::usb;
    c.bus = libusb_get_bus_number(list[i]);
    c.usb_address = libusb_get_device_address(list[i]);
    libusb_device_handle* h = nullptr;
    const int r = libusb_open(list[i], &h);
    if (r == LIBUSB_SUCCESS) {
      if (desc.iSerialNumber != 0) {
        unsigned char buf[128] = {};
        const int n = libusb_get_string_descriptor_ascii(h, desc.iSerialNumber, buf, sizeof(buf));
        if (n > 0) c.serial.assign(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(n));
      }
      libusb_close(h);
    } else {
      c.problem = usbOpenErrorText(r, desc.idVendor, desc.idProduct, c.bus, c.usb_address, "open");
    }
    // A serial number survives re-plugging into another port; bus/address do not.
    c.address = c.serial.empty() || c.serial.find(':') != std::string::npos
                    ? "usb:" + std::to_string(c.bus) + ":" + std::to_string(c.usb_address)
                    : "usb:" + c.serial;
    c.description = "polscan USB instrument" + (c.serial.empty() ? "" : ", serial " + c.serial) +
                    " " + usbBusAddress(c.bus, c.usb_address);
    out.push_back(std::move(c));
  }
  if (count >= 0) libusb_free_device_list(list, 1);
  libusb_exit(ctx);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::pair(a.bus, a.usb_address) < std::pair(b.bus, b.usb_address);
  });
  return out;
}

std::vector<InstrumentCandidate> listSerialPorts() {
  std::vector<InstrumentCandidate> out;
  std::set<fs::path> covered;  // tty nodes already listed through a stable by-id name
  std::error_code ec;
  std::vector<fs::path> by_id;
  for (fs::directory_iterator it("/dev/serial/by-id", ec), end; !ec && it != end;
       it.increment(ec)) {
    by_id.push_back(it->path());
  }
  std::sort(by_id.begin(), by_id.end());
  for (const auto& link : by_id) {
    std::error_code link_ec;
    const fs::path target = fs::canonical(link, link_ec);
    if (!link_ec) covered.insert(target);
    InstrumentCandidate c;
    c.kind = InstrumentCandidate::Kind::serial;
    c.path = link.string();
    c.address = "serial:" + c.path;
    c.description = "serial port " + link.filename().string() +
                    (link_ec ? std::string() : " (" + target.string() + ")");
    out.push_back(std::move(c));
  }
  std::vector<fs::path> ttys;
  for (fs::directory_iterator it("/dev", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.starts_with("ttyACM") || name.starts_with("ttyUSB")) ttys.push_back(it->path());
  }
  std::sort(ttys.begin(), ttys.end());
  for (const auto& tty : ttys) {
    if (covered.count(tty) != 0) continue;
    InstrumentCandidate c;
    c.kind = InstrumentCandidate::Kind::serial;
    c.path = tty.string();
    c.address = "serial:" + c.path;
    c.description = "serial port " + c.path;
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<InstrumentCandidate> listInstruments() {
  std::vector<InstrumentCandidate> out = listUsbInstruments();
  std::vector<InstrumentCandidate> serial = listSerialPorts();
  out.insert(out.end(), std::make_move_iterator(serial.begin()),
             std::make_move_iterator(serial.end()));
  return out;
}

std::unique_ptr<Transport> openUsbTransport(boost::asio::io_context& io,
                                            const std::string& address) {
  const std::string usage =
      "expected usb, usb:SERIAL or usb:BUS:ADDR (decimal); got '" + address + "'";
  UsbSelector selector;
  if (address == "usb") return std::make_unique<UsbTransport>(io, selector);
  if (!address.starts_with("usb:") || address.size() == 4) {
    throw TransportError("bad USB device address: " + usage);
  }
  const std::string rest = address.substr(4);
  const auto colon = rest.find(':');
  if (colon != std::string::npos) {
    const auto bus = parseByte(rest.substr(0, colon));
    const auto addr = parseByte(rest.substr(colon + 1));
    // Serial numbers do not contain ':' (listUsbInstruments falls back to bus:addr if one does).
    if (!bus || !addr) throw TransportError("bad USB bus/address: " + usage);
    selector.bus = bus;
    selector.address = addr;
  } else {
    selector.serial = rest;
  }
  return std::make_unique<UsbTransport>(io, selector);
}

}  // namespace polscan
