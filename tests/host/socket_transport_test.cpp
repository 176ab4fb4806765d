// SocketTransport against a real loopback TCP listener: bytes both ways, errors named.
#include <gtest/gtest.h>

#include <array>
#include <thread>

#include <boost/asio.hpp>

#include "transport/socket_transport.hpp"
#include "transport/transport_factory.hpp"

using namespace polscan;
namespace asio = boost::asio;

TEST(SocketTransport, EchoesBytesThroughALoopbackServer) {
  asio::io_context server_io;
  asio::ip::tcp::acceptor acceptor(server_io, {asio::ip::address_v4::loopback(), 0});
  const auto port = acceptor.local_endpoint().port();
  std::thread server([&] {
    asio::ip::tcp::socket s(server_io);
    acceptor.accept(s);
    std::array<std::uint8_t, 16> buf{};
    const std::size_t n = s.read_some(asio::buffer(buf));
    for (std::size_t i = 0; i < n; ++i) buf[i] = static_cast<std::uint8_t>(buf[i] + 1);
    asio::write(s, asio::buffer(buf.data(), n));
  });
  asio::io_context io;
  auto t = openTransport(io, "tcp:127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(t->describe(), "tcp 127.0.0.1:" + std::to_string(port));
  const std::array<std::uint8_t, 3> out{1, 2, 3};
  t->write(out);
  std::array<std::uint8_t, 16> in{};
  std::size_t got = 0;
  t->asyncRead(in, [&](const boost::system::error_code& ec, std::size_t n) {
    ASSERT_FALSE(ec);
    got = n;
  });
  io.run();
  server.join();
  ASSERT_EQ(got, 3u);
  EXPECT_EQ(in[0], 2);
  EXPECT_EQ(in[2], 4);
}

TEST(SocketTransport, RefusedConnectionNamesTheAddress) {
  asio::io_context io;
  // Bind and close to find a port nobody listens on.
  asio::ip::tcp::acceptor a(io, {asio::ip::address_v4::loopback(), 0});
  const auto port = a.local_endpoint().port();
  a.close();
  try {
    openTransport(io, "tcp:127.0.0.1:" + std::to_string(port));
    FAIL() << "expected TransportError";
  } catch (const TransportError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot connect to 127.0.0.1:" + std::to_string(port)),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(openTransport(io, "tcp:127.0.0.1:99999"), TransportError);
}
