// Sim port transport: pty master and loopback TCP, non-blocking, never spinning on a hang-up.
#include "firmware/ports/sim/sim_transport.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace polscan::fw::sim {

namespace {
// A host that stops reading must not make the sim grow without bound: beyond this the oldest
// bytes are dropped and the reliable link retransmits.
constexpr std::size_t kMaxPending = 256 * 1024;
// While no host holds the pty slave, check for one this often instead of polling a hung-up fd.
constexpr std::uint64_t kPtyProbeUs = 20000;

void setNonBlocking(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

void append(std::string& pending, const std::uint8_t* data, std::size_t n) {
  pending.append(reinterpret_cast<const char*>(data), n);
  if (pending.size() > kMaxPending) pending.erase(0, pending.size() - kMaxPending);
}

// Writes what the fd takes now; false when the peer is gone.
bool writeSome(int fd, std::string& pending) {
  while (!pending.empty()) {
    const ssize_t w = ::write(fd, pending.data(), pending.size());
    if (w > 0) {
      pending.erase(0, static_cast<std::size_t>(w));
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    pending.clear();
    return false;
  }
  return true;
}
}  // namespace

SimTransport::~SimTransport() {
  closeConn();
  if (listen_fd_ >= 0) close(listen_fd_);
  if (pty_fd_ >= 0) close(pty_fd_);
}

bool SimTransport::openPty() {
  pty_fd_ = posix_openpt(O_RDWR | O_NOCTTY);
  if (pty_fd_ < 0 || grantpt(pty_fd_) != 0 || unlockpt(pty_fd_) != 0) {
    error_ = std::string("pty: ") + std::strerror(errno);
    return false;
  }
  const char* name = ptsname(pty_fd_);
  if (name == nullptr) {
    error_ = std::string("ptsname: ") + std::strerror(errno);
    return false;
  }
  pty_path_ = name;
  // Raw: no echo, no line editing, no CR/LF mangling, every byte (0x00 included) passes.
  termios tio{};
  if (tcgetattr(pty_fd_, &tio) == 0) {
    cfmakeraw(&tio);
    tcsetattr(pty_fd_, TCSANOW, &tio);
  }
  setNonBlocking(pty_fd_);
  return true;
}

bool SimTransport::listenTcp(std::uint16_t port) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  if (listen_fd_ < 0) {
    error_ = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  const int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(listen_fd_, 1) != 0) {
    error_ = std::string("tcp 127.0.0.1:") + std::to_string(port) + ": " + std::strerror(errno);
    return false;
  }
  socklen_t len = sizeof(addr);
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  bound_port_ = ntohs(addr.sin_port);
  setNonBlocking(listen_fd_);
  return true;
}

void SimTransport::closeConn() {
  if (conn_fd_ < 0) return;
  close(conn_fd_);
  conn_fd_ = -1;
  pending_tcp_.clear();
  if (active_ == Side::Tcp) active_ = Side::None;
  note("tcp host disconnected");
}

std::size_t SimTransport::read(std::uint8_t* buf, std::size_t cap) {
  if (conn_fd_ >= 0) {
    const ssize_t r = ::read(conn_fd_, buf, cap);
    if (r > 0) {
      active_ = Side::Tcp;
      return static_cast<std::size_t>(r);
    }
    if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) closeConn();
  }
  if (pty_fd_ >= 0 && (!pty_hup_ || now_us_ >= next_pty_probe_us_)) {
    const ssize_t r = ::read(pty_fd_, buf, cap);
    if (r > 0) {
      if (pty_hup_) note("pty host connected");
      pty_hup_ = false;
      active_ = Side::Pty;
      return static_cast<std::size_t>(r);
    }
    if (r < 0 && errno == EIO) {
      // No process holds the slave: back off and probe later, so a host can reopen it.
      if (!pty_hup_) note("pty host closed the slave");
      pty_hup_ = true;
      pending_pty_.clear();
      next_pty_probe_us_ = now_us_ + kPtyProbeUs;
    } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pty_hup_ = false;  // a slave is open, just quiet
    }
  }
  return 0;
}

void SimTransport::write(const std::uint8_t* data, std::size_t n) {
  const bool to_tcp = conn_fd_ >= 0 && active_ != Side::Pty;
  const bool to_pty = pty_fd_ >= 0 && !pty_hup_ && active_ != Side::Tcp;
  if (to_tcp) append(pending_tcp_, data, n);
  if (to_pty) append(pending_pty_, data, n);
  flush();
}

void SimTransport::flush() {
  if (conn_fd_ >= 0 && !writeSome(conn_fd_, pending_tcp_)) closeConn();
  if (pty_fd_ >= 0 && !pty_hup_ && !writeSome(pty_fd_, pending_pty_)) pty_hup_ = true;
}

int SimTransport::pollFds(pollfd* fds, std::uint64_t now_us) {
  now_us_ = now_us;
  int n = 0;
  if (pty_fd_ >= 0 && !pty_hup_) {
    fds[n++] =
        pollfd{pty_fd_, static_cast<short>(POLLIN | (pending_pty_.empty() ? 0 : POLLOUT)), 0};
  }
  if (listen_fd_ >= 0) fds[n++] = pollfd{listen_fd_, POLLIN, 0};
  if (conn_fd_ >= 0) {
    fds[n++] =
        pollfd{conn_fd_, static_cast<short>(POLLIN | (pending_tcp_.empty() ? 0 : POLLOUT)), 0};
  }
  return n;
}

void SimTransport::handle(const pollfd* fds, int n) {
  for (int i = 0; i < n; ++i) {
    if (fds[i].fd == pty_fd_ && (fds[i].revents & (POLLHUP | POLLERR)) != 0 &&
        (fds[i].revents & POLLIN) == 0) {
      if (!pty_hup_) note("pty host closed the slave");
      pty_hup_ = true;
      pending_pty_.clear();
      next_pty_probe_us_ = now_us_ + kPtyProbeUs;
    }
    if (fds[i].fd == listen_fd_ && (fds[i].revents & POLLIN) != 0) {
      const int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      if (conn_fd_ >= 0) {
        close(fd);  // one host at a time
        note("tcp connection refused: a host is already connected");
        continue;
      }
      conn_fd_ = fd;
      setNonBlocking(conn_fd_);
      const int one = 1;
      setsockopt(conn_fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      active_ = Side::Tcp;
      note("tcp host connected");
    }
  }
  flush();
}

}  // namespace polscan::fw::sim
