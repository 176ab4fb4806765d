// Serial transport over a tty or pty (USB CDC adapters, the firmware simulator's pty), Boost.Asio.
#pragma once

#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/serial_port.hpp>

#include "transport/transport.hpp"

namespace polscan {

class SerialTransport final : public Transport {
 public:
  // Opens path in raw 8N1 mode at baud (ignored by ptys). Throws TransportError naming the path.
  SerialTransport(boost::asio::io_context& io, const std::string& path, unsigned baud = 115200);
  ~SerialTransport() override;

  std::string describe() const override { return "serial " + path_; }
  void asyncRead(std::span<std::uint8_t> buf, ReadHandler handler) override;
  void write(std::span<const std::uint8_t> bytes) override;
  void close() override;

 private:
  std::string path_;
  boost::asio::serial_port port_;
};

}  // namespace polscan
