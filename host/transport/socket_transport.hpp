// TCP socket transport (the firmware simulator's loopback port, serial-to-network bridges).
#pragma once

#include <cstdint>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "transport/transport.hpp"

namespace polscan {

class SocketTransport final : public Transport {
 public:
  // Connects to host:port. Throws TransportError naming the address.
  SocketTransport(boost::asio::io_context& io, const std::string& host, std::uint16_t port);
  ~SocketTransport() override;

  std::string describe() const override { return "tcp " + host_ + ":" + std::to_string(port_); }
  void asyncRead(std::span<std::uint8_t> buf, ReadHandler handler) override;
  void write(std::span<const std::uint8_t> bytes) override;
  void close() override;

 private:
  std::string host_;
  std::uint16_t port_;
  boost::asio::ip::tcp::socket socket_;
};

}  // namespace polscan
