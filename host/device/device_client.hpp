// DeviceClient: the instrument's typed API over a Transport, with timeouts and clear errors.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "device/clock_sync.hpp"
#include "device/device_error.hpp"
#include "device/device_event.hpp"
#include "polscan.pb.h"
#include "proto/framing/reliable_link.hpp"
#include "transport/transport.hpp"

namespace polscan {

struct StackRequest {
  std::vector<double> angles_deg;
  std::uint32_t exposure_us = 10000;
  wire::AcquisitionMode mode = wire::ACQUISITION_MODE_FLY_BY;
  double speed_deg_s = 0.0;  // 0: the firmware picks it from the exposure
  std::uint32_t settle_ms = 0;
  bool strobe_led = false;
  // Fly-by: the polarizer keeps turning after the stack; the next continuous stack at the same
  // speed fires at the next crossings of its angles modulo 180 deg (no back-up, no ramp). Frames
  // come in firing order. Stop the spin with abort() before other polarizer motion.
  bool continuous = false;
};

class DeviceClient {
 public:
  using TransportFactory = std::function<std::unique_ptr<Transport>(boost::asio::io_context&)>;
  using Clock = std::chrono::steady_clock;

  // Opens the transport (from the factory, on the client's own io thread) and starts a session.
  explicit DeviceClient(TransportFactory open,
                        std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));
  ~DeviceClient();
  DeviceClient(const DeviceClient&) = delete;
  DeviceClient& operator=(const DeviceClient&) = delete;

  std::string describe() const { return description_; }

  // After a LinkError (unplug, simulator restart, cable fault): closes the old transport, opens
  // a new one from the same factory, retrying until `wait` has passed (the device may still be
  // enumerating), and starts a new link session. Calls that were waiting got their LinkError;
  // queued events are kept. The instrument may have restarted: check getStatus() before relying
  // on homing. Throws the last TransportError when the device does not come back.
  void reconnect(std::chrono::milliseconds wait = std::chrono::seconds(5));
  // Closes the transport now (e.g. right after an unplug, so the device's handle is released);
  // every call fails with LinkError until reconnect(). Safe to call twice.
  void disconnect();
  // True once the link failed; reconnect() clears it.
  bool linkLost();

  // Typed commands: each waits for its reply and throws DeviceError (refused, with the
  // firmware's status and message) or LinkError (no reply in time, link lost).
  wire::Info getInfo();
  wire::DeviceStatus getStatus();
  void home(wire::Axis axis, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  void move(wire::Axis axis, double target, double speed = 0.0,
            std::chrono::milliseconds timeout = std::chrono::seconds(30));
  void rotate(double angle_deg, double speed_deg_s = 0.0);
  void setLed(float level);
  void abort();
  // Starts a stack; returns its id (the request id) after the firmware accepted it. The
  // TriggerFired events and the StackDone arrive through nextEvent().
  std::uint32_t acquireStack(const StackRequest& request, std::uint32_t* frames = nullptr);

  // Waits for the next unsolicited event, or nullopt after timeout. Throws LinkError if lost.
  std::optional<DeviceEvent> nextEvent(std::chrono::milliseconds timeout);
  // Called on the io thread for every trigger event, before it is queued (virtual camera wire).
  void setTriggerListener(std::function<void(const TriggerEvent&)> listener);
  // Drops queued events (e.g. of an aborted stack).
  void clearEvents();

  const ClockSync& clockSync() const { return clock_; }
  link::LinkStats linkStats() const;

  // Sends any HostMessage and waits for its Reply (request_id and protocol_version are filled
  // in). Throws only LinkError: the caller inspects the reply's status.
  wire::Reply call(wire::HostMessage message, std::chrono::milliseconds timeout);

 private:
  struct Sink : link::ByteSink {
    DeviceClient* self;
    void writeBytes(const std::uint8_t* data, std::size_t n) override;
  };
  struct Handler : link::PayloadHandler {
    DeviceClient* self;
    void onPayload(const std::uint8_t* data, std::size_t n) override;
  };

  wire::Reply checked(wire::HostMessage message, const char* what,
                      std::chrono::milliseconds timeout);
  void startIo();
  void stopIo();
  void startRead();
  void schedulePoll();
  void onMessage(const wire::DeviceMessage& message);
  void fail(const std::string& why);
  std::uint64_t nowUs() const;

  std::chrono::milliseconds timeout_;
  TransportFactory open_;
  boost::asio::io_context io_;
  std::unique_ptr<Transport> transport_;
  std::string description_;
  Sink sink_;
  Handler handler_;
  std::unique_ptr<link::ReliableLink> link_;  // guarded by link_mutex_
  mutable std::mutex link_mutex_;
  std::uint64_t last_keepalive_us_ = 0;  // guarded by link_mutex_
  boost::asio::steady_timer poll_timer_;
  std::array<std::uint8_t, 4096> read_buf_{};
  std::uint64_t generation_ = 0;  // transport generation; changed only while the io thread is down
  std::thread io_thread_;
  Clock::time_point epoch_ = Clock::now();
  ClockSync clock_;

  std::mutex mutex_;  // guards everything below
  std::condition_variable cv_;
  std::uint32_t next_request_id_ = 1;
  std::map<std::uint32_t, std::optional<wire::Reply>> pending_;
  std::deque<DeviceEvent> events_;
  std::function<void(const TriggerEvent&)> trigger_listener_;
  std::optional<std::string> failure_;  // set once the link is unusable
};

}  // namespace polscan
