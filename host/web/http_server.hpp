// HTTP/1.1 server on Boost.Beast: accepts connections on one address and hands every request to
// a handler; one I/O thread, keep-alive, a body limit and an idle timeout per connection.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "web/web_api.hpp"

namespace polscan::web {

class HttpServer {
 public:
  using Handler = std::function<Response(const Request&)>;

  // Binds and listens at once; port 0 picks a free port (see port()). Throws ServeError naming
  // the address and port when that fails (in use, not an address of this machine).
  HttpServer(const std::string& address, unsigned short port, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  unsigned short port() const { return port_; }
  std::string url() const;  // "http://127.0.0.1:8080/"

  // Serves in a background thread until stop() (tests) ...
  void start();
  // ... or in the calling thread until stop() or SIGINT / SIGTERM (the command).
  void runUntilSignal();
  void stop();

 private:
  void accept();

  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::string address_;
  unsigned short port_ = 0;
  std::shared_ptr<const Handler> handler_;
  std::thread thread_;
};

}  // namespace polscan::web
