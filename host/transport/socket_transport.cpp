// SocketTransport: Boost.Asio TCP client with Nagle off (frames are small and latency-bound).
#include "transport/socket_transport.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>

namespace polscan {

namespace asio = boost::asio;
using asio::ip::tcp;

SocketTransport::SocketTransport(asio::io_context& io, const std::string& host, std::uint16_t port)
    : host_(host), port_(port), socket_(io) {
  boost::system::error_code ec;
  tcp::resolver resolver(io);
  const auto endpoints = resolver.resolve(host, std::to_string(port), ec);
  if (ec) throw TransportError("cannot resolve " + host + ": " + ec.message());
  asio::connect(socket_, endpoints, ec);
  if (ec) {
    throw TransportError("cannot connect to " + host + ":" + std::to_string(port) + ": " +
                         ec.message());
  }
  socket_.set_option(tcp::no_delay(true), ec);
}

SocketTransport::~SocketTransport() {
  close();
}

void SocketTransport::asyncRead(std::span<std::uint8_t> buf, ReadHandler handler) {
  socket_.async_read_some(asio::buffer(buf.data(), buf.size()), std::move(handler));
}

void SocketTransport::write(std::span<const std::uint8_t> bytes) {
  boost::system::error_code ec;
  asio::write(socket_, asio::buffer(bytes.data(), bytes.size()), ec);
  if (ec) throw TransportError("write to " + describe() + " failed: " + ec.message());
}

void SocketTransport::close() {
  boost::system::error_code ec;
  if (socket_.is_open()) {
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }
}

}  // namespace polscan
