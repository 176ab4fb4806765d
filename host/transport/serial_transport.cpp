// SerialTransport: Boost.Asio serial_port, raw mode, errors that name the port.
#include "transport/serial_transport.hpp"

#include <termios.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>

namespace polscan {

namespace asio = boost::asio;

SerialTransport::SerialTransport(asio::io_context& io, const std::string& path, unsigned baud)
    : path_(path), port_(io) {
  boost::system::error_code ec;
  port_.open(path, ec);
  if (ec) {
    throw TransportError("cannot open serial port " + path + ": " + ec.message() +
                         (ec == boost::system::errc::permission_denied
                              ? " (is the user in the dialout group?)"
                              : ""));
  }
  port_.set_option(asio::serial_port_base::baud_rate(baud), ec);
  port_.set_option(asio::serial_port_base::character_size(8), ec);
  port_.set_option(asio::serial_port_base::parity(asio::serial_port_base::parity::none), ec);
  port_.set_option(asio::serial_port_base::stop_bits(asio::serial_port_base::stop_bits::one), ec);
  port_.set_option(asio::serial_port_base::flow_control(asio::serial_port_base::flow_control::none),
                   ec);
  // Asio leaves some line-discipline flags alone; a frame link needs every byte untouched.
  termios tio{};
  if (::tcgetattr(port_.native_handle(), &tio) == 0) {
    ::cfmakeraw(&tio);
    ::tcsetattr(port_.native_handle(), TCSANOW, &tio);
  }
}

SerialTransport::~SerialTransport() {
  close();
}

void SerialTransport::asyncRead(std::span<std::uint8_t> buf, ReadHandler handler) {
  port_.async_read_some(asio::buffer(buf.data(), buf.size()), std::move(handler));
}

void SerialTransport::write(std::span<const std::uint8_t> bytes) {
  boost::system::error_code ec;
  asio::write(port_, asio::buffer(bytes.data(), bytes.size()), ec);
  if (ec) throw TransportError("write to serial port " + path_ + " failed: " + ec.message());
}

void SerialTransport::close() {
  boost::system::error_code ec;
  if (port_.is_open()) {
    port_.cancel(ec);
    port_.close(ec);
  }
}

}  // namespace polscan
