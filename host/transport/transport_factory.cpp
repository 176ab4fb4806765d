// Parses device addresses and opens the matching transport.
#include "transport/transport_factory.hpp"

#include <charconv>

#include "transport/serial_transport.hpp"
#include "transport/socket_transport.hpp"
#include "transport/usb_discovery.hpp"

namespace polscan {

std::unique_ptr<Transport> openTransport(boost::asio::io_context& io, const std::string& address) {
  const std::string usage =
      "expected usb, usb:SERIAL, usb:BUS:ADDR, serial:/dev/ttyXXX, a device path, or "
      "tcp:HOST:PORT; got '" +
      address + "'";
  if (address == "usb" || address.starts_with("usb:")) return openUsbTransport(io, address);
  if (address.starts_with("serial:")) {
    return std::make_unique<SerialTransport>(io, address.substr(7));
  }
  if (address.starts_with("/")) return std::make_unique<SerialTransport>(io, address);
  if (address.starts_with("tcp:")) {
    const std::string rest = address.substr(4);
    const auto colon = rest.rfind(':');
    if (colon == std::string::npos) throw TransportError("bad device address: " + usage);
    unsigned port = 0;
    const char* first = rest.data() + colon + 1;
    const char* last = rest.data() + rest.size();
    const auto [ptr, ec] = std::from_chars(first, last, port);
    if (ec != std::errc() || ptr != last || port == 0 || port > 65535) {
      throw TransportError("bad port in device address: " + usage);
    }
    return std::make_unique<SocketTransport>(io, rest.substr(0, colon),
                                             static_cast<std::uint16_t>(port));
  }
  throw TransportError("bad device address: " + usage);
}

}  // namespace polscan
