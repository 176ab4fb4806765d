// Sim port transport: the host link on a pty (always) and on a loopback TCP socket (optional).
#pragma once

#include <poll.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "firmware/hal/byte_link.hpp"

namespace polscan::fw::sim {

// One host at a time. Bytes go back to whichever side last sent something, so a host on TCP
// does not fill the pty's buffer (and the reverse).
class SimTransport final : public hal::ByteLink {
 public:
  SimTransport() = default;
  ~SimTransport();
  SimTransport(const SimTransport&) = delete;
  SimTransport& operator=(const SimTransport&) = delete;

  // Returns false with a message in error() when the pty cannot be created.
  bool openPty();
  // port 0 picks a free one; boundPort() tells which.
  bool listenTcp(std::uint16_t port);
  const std::string& ptyPath() const { return pty_path_; }
  std::uint16_t boundPort() const { return bound_port_; }
  const std::string& error() const { return error_; }

  std::size_t read(std::uint8_t* buf, std::size_t cap) override;
  void write(const std::uint8_t* data, std::size_t n) override;

  // Main loop: fills fds (capacity 3) for poll(); then handle() serves what poll reported.
  int pollFds(pollfd* fds, std::uint64_t now_us);
  void handle(const pollfd* fds, int n);
  void flush();

  // Called on connection changes (the sim logs them when verbose).
  void (*log)(const char* what) = nullptr;

 private:
  enum class Side { None, Pty, Tcp };
  void closeConn();
  void note(const char* what) {
    if (log != nullptr) log(what);
  }

  int pty_fd_ = -1;
  bool pty_hup_ = true;  // no host has the slave open (reads give EIO)
  std::uint64_t next_pty_probe_us_ = 0;
  int listen_fd_ = -1;
  int conn_fd_ = -1;
  Side active_ = Side::None;
  std::string pty_path_;
  std::uint16_t bound_port_ = 0;
  std::string error_;
  std::string pending_pty_;
  std::string pending_tcp_;
  std::uint64_t now_us_ = 0;
};

}  // namespace polscan::fw::sim
