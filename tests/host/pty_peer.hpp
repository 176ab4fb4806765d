// A scripted instrument on the far end of a real pty: the test's side of the serial link.
#pragma once

#include <pty.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "polscan.pb.h"
#include "proto/framing/reliable_link.hpp"

namespace polscan::testing {

// Opens a pty pair; the host under test opens slavePath(). Each HostMessage that arrives is
// passed to the responder, whose DeviceMessages (if any) are sent back over the link.
class PtyPeer : link::ByteSink, link::PayloadHandler {
 public:
  using Responder = std::function<std::vector<wire::DeviceMessage>(const wire::HostMessage&)>;

  explicit PtyPeer(Responder responder) : responder_(std::move(responder)) {
    char name[256];
    if (::openpty(&master_, &slave_, name, nullptr, nullptr) != 0) throw std::runtime_error("pty");
    termios tio{};
    ::tcgetattr(slave_, &tio);
    ::cfmakeraw(&tio);
    ::tcsetattr(slave_, TCSANOW, &tio);
    slave_path_ = name;
    thread_ = std::thread([this] { run(); });
  }
  ~PtyPeer() {
    stop_ = true;
    thread_.join();
    ::close(master_);
    ::close(slave_);
  }

  const std::string& slavePath() const { return slave_path_; }
  // Raw payloads of every HostMessage received, as they came off the wire.
  std::vector<std::string> payloads() {
    std::lock_guard lock(mutex_);
    return payloads_;
  }
  void setSilent(bool silent) { silent_ = silent; }

 private:
  void writeBytes(const std::uint8_t* d, std::size_t n) override {
    if (silent_) return;
    [[maybe_unused]] ssize_t w = ::write(master_, d, n);
  }
  void onPayload(const std::uint8_t* d, std::size_t n) override {
    {
      std::lock_guard lock(mutex_);
      payloads_.emplace_back(reinterpret_cast<const char*>(d), n);
    }
    wire::HostMessage m;
    if (!m.ParseFromArray(d, static_cast<int>(n))) return;
    for (auto& reply : responder_(m)) {
      reply.set_protocol_version(wire::PROTOCOL_VERSION_MAJOR);
      reply.set_device_time_us(nowUs());
      const std::string bytes = reply.SerializeAsString();
      link_.send(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), nowUs());
    }
  }
  std::uint64_t nowUs() const {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                          std::chrono::steady_clock::now() - start_)
                                          .count());
  }
  void run() {
    std::uint8_t buf[1024];
    while (!stop_) {
      fd_set set;
      FD_ZERO(&set);
      FD_SET(master_, &set);
      timeval tv{0, 5000};
      if (::select(master_ + 1, &set, nullptr, nullptr, &tv) > 0) {
        const ssize_t n = ::read(master_, buf, sizeof(buf));
        if (n > 0 && !silent_) link_.receive(buf, static_cast<std::size_t>(n), nowUs());
      }
      link_.poll(nowUs());
    }
  }

  Responder responder_;
  int master_ = -1;
  int slave_ = -1;
  std::string slave_path_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  link::ReliableLink link_{*this, *this, 0x42};
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> silent_{false};
  std::mutex mutex_;
  std::vector<std::string> payloads_;
};

}  // namespace polscan::testing
