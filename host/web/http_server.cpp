// The Beast acceptor and per-connection sessions (asynchronous, on the server's one I/O thread).
#include "web/http_server.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <spdlog/spdlog.h>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>

namespace polscan::web {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t kBodyLimit = 1 << 20;  // requests are small JSON documents
constexpr std::uint32_t kHeaderLimit = 8 << 10;
constexpr std::chrono::seconds kIdleTimeout{30};
// After refusing a request, how long the rest of what the client sends is read and dropped.
constexpr std::chrono::seconds kLingerTimeout{5};

struct Refusal {
  http::status status;
  std::string message;
};

// The answer to a request that could not be read; none when the client left or idled (nobody to
// answer) or the connection failed.
std::optional<Refusal> refusalFor(beast::error_code ec,
                                  const http::request_parser<http::string_body>& parser) {
  if (ec == http::error::body_limit) {
    // From the header as far as it was read: the parser refuses a Content-Length over the limit
    // before it counts the header as done (content_length() may not be asked then).
    const std::string length(parser.get()[http::field::content_length]);
    return Refusal{http::status::payload_too_large,
                   "request body " + (length.empty() ? std::string() : "of " + length + " bytes ") +
                       "over the limit of " + std::to_string(kBodyLimit) + " bytes (1 MB)"};
  }
  if (ec == http::error::header_limit) {
    return Refusal{http::status::request_header_fields_too_large,
                   "request header over the limit of " + std::to_string(kHeaderLimit) + " bytes"};
  }
  if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
      ec != http::error::partial_message) {
    return Refusal{http::status::bad_request, "malformed HTTP request: " + ec.message()};
  }
  return std::nullopt;
}

// One connection: read a request, answer it, repeat while the client keeps it alive.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<const HttpServer::Handler> handler)
      : stream_(std::move(socket)), handler_(std::move(handler)) {}

  void read() {
    parser_.emplace();
    parser_->body_limit(kBodyLimit);
    parser_->header_limit(kHeaderLimit);
    stream_.expires_after(kIdleTimeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->onRead(ec); });
  }

 private:
  void onRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout) return close();
    if (ec) {
      if (auto refusal = refusalFor(ec, *parser_)) return refuse(*refusal);
      spdlog::debug("web: dropped a connection: {}", ec.message());
      return close();
    }
    const Request req = parser_->release();
    auto res = std::make_shared<Response>((*handler_)(req));
    const bool keep = res->keep_alive();
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res, keep](beast::error_code wec, std::size_t) {
                        if (wec || !keep) return self->close();
                        self->read();
                      });
  }

  // Answers with the refusal's status and JSON error, then closes. What the client still sends
  // (the rest of an over-limit body) is read and dropped for a while: closing a socket with
  // unread data resets the connection, and the client could lose the answer before reading it.
  void refuse(const Refusal& refusal) {
    spdlog::debug("web: refused a request: {}", refusal.message);
    Request req;
    req.version(11);
    req.keep_alive(false);
    auto res = std::make_shared<Response>(errorResponse(req, refusal.status, refusal.message));
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code wec, std::size_t) {
                        self->close();
                        if (wec) return;
                        self->stream_.expires_after(kLingerTimeout);
                        self->drain();
                      });
  }

  void drain() {
    stream_.async_read_some(asio::buffer(drained_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (!ec) self->drain();  // until the client closes or time is up
                            });
  }

  void close() {
    beast::error_code ignored;  // the peer may already be gone; nothing is left to tell it
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::array<char, 16 << 10> drained_;
  std::shared_ptr<const HttpServer::Handler> handler_;
};

}  // namespace

HttpServer::HttpServer(const std::string& address, unsigned short port, Handler handler)
    : acceptor_(io_), address_(address), handler_(std::make_shared<Handler>(std::move(handler))) {
  beast::error_code ec;
  const auto ip = asio::ip::make_address(address, ec);
  if (ec) throw ServeError("cannot serve on " + address + ": not an IP address");
  const tcp::endpoint endpoint(ip, port);
  auto fail = [&](const char* step) {
    throw ServeError(std::string("cannot ") + step + " " + address + ":" + std::to_string(port) +
                     ": " + ec.message());
  };
  if (acceptor_.open(endpoint.protocol(), ec)) fail("open a socket for");
  if (acceptor_.set_option(asio::socket_base::reuse_address(true), ec)) fail("configure");
  if (acceptor_.bind(endpoint, ec)) fail("bind to");
  if (acceptor_.listen(asio::socket_base::max_listen_connections, ec)) fail("listen on");
  port_ = acceptor_.local_endpoint().port();
  accept();
}

HttpServer::~HttpServer() {
  stop();
}

std::string HttpServer::url() const {
  const bool v6 = address_.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + address_ + "]" : address_) + ":" + std::to_string(port_) + "/";
}

void HttpServer::accept() {
  acceptor_.async_accept(asio::make_strand(io_), [this](beast::error_code ec, tcp::socket s) {
    if (ec == asio::error::operation_aborted) return;
    if (ec) {
      spdlog::warn("web: accept failed: {}", ec.message());
    } else {
      std::make_shared<Session>(std::move(s), handler_)->read();
    }
    accept();
  });
}

void HttpServer::start() {
  thread_ = std::thread([this] { io_.run(); });
}

void HttpServer::runUntilSignal() {
  asio::signal_set signals(io_, SIGINT, SIGTERM);
  signals.async_wait([this](beast::error_code, int) { io_.stop(); });
  io_.run();
}

void HttpServer::stop() {
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace polscan::web
