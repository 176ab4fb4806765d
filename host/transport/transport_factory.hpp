// Opens a transport from a device address given on the command line.
#pragma once

#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "transport/transport.hpp"

namespace polscan {

// Accepted forms: "usb", "usb:SERIAL", "usb:BUS:ADDR", "serial:/dev/ttyACM0", a bare path
// "/dev/pts/3", "tcp:HOST:PORT".
// Throws TransportError with the accepted forms when the address is not understood.
std::unique_ptr<Transport> openTransport(boost::asio::io_context& io, const std::string& address);

}  // namespace polscan
