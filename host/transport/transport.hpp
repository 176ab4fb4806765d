// Transport: a byte pipe to the instrument (serial port / pty, TCP socket, USB bulk endpoints).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>

#include <boost/system/error_code.hpp>

namespace polscan {

// A transport failed: the message names the device and what went wrong.
class TransportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Transport {
 public:
  using ReadHandler = std::function<void(const boost::system::error_code&, std::size_t)>;

  virtual ~Transport() = default;

  // Where this transport goes, for messages: "serial /dev/pts/3", "tcp 127.0.0.1:5000".
  virtual std::string describe() const = 0;

  // Starts one asynchronous read into buf; the handler runs on the transport's io_context.
  virtual void asyncRead(std::span<std::uint8_t> buf, ReadHandler handler) = 0;

  // Writes all bytes or throws TransportError.
  virtual void write(std::span<const std::uint8_t> bytes) = 0;

  // Cancels pending reads and closes; safe to call twice.
  virtual void close() = 0;
};

}  // namespace polscan
