// DeviceClient: one io thread reads the transport and drives the link; callers block on replies.
#include "device/device_client.hpp"

#include <random>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

namespace polscan {

namespace {
constexpr auto kPollPeriod = std::chrono::milliseconds(5);
// The firmware stops motion and turns the LED off after 2 s without a frame from the host
// (FAULT_HOST_TIMEOUT); an idle host says it is alive well within that.
constexpr auto kKeepAlivePeriod = std::chrono::milliseconds(250);

const char* axisName(wire::Axis axis) {
  switch (axis) {
    case wire::AXIS_POLARIZER:
      return "polarizer";
    case wire::AXIS_X:
      return "X stage";
    case wire::AXIS_Y:
      return "Y stage";
    case wire::AXIS_Z:
      return "Z focus";
    default:
      return "unknown axis";
  }
}
}  // namespace

DeviceClient::DeviceClient(TransportFactory open, std::chrono::milliseconds timeout)
    : timeout_(timeout), open_(std::move(open)), poll_timer_(io_) {
  transport_ = open_(io_);
  description_ = transport_->describe();
  sink_.self = this;
  handler_.self = this;
  std::random_device rd;
  link_ = std::make_unique<link::ReliableLink>(sink_, handler_,
                                               static_cast<std::uint8_t>(1 + rd() % 255));
  startIo();
}

DeviceClient::~DeviceClient() {
  {
    std::lock_guard lock(mutex_);
    if (!failure_) failure_ = "client closed";
  }
  stopIo();
}

void DeviceClient::startIo() {
  startRead();
  schedulePoll();
  io_thread_ = std::thread([this] { io_.run(); });
}

void DeviceClient::stopIo() {
  io_.stop();
  if (io_thread_.joinable()) io_thread_.join();
  poll_timer_.cancel();
  if (transport_) transport_->close();
}

bool DeviceClient::linkLost() {
  std::lock_guard lock(mutex_);
  return failure_.has_value();
}

void DeviceClient::disconnect() {
  fail("disconnected from " + description_);  // wakes any caller still waiting
  stopIo();
  transport_.reset();
}

void DeviceClient::reconnect(std::chrono::milliseconds wait) {
  if (transport_) disconnect();
  io_.restart();
  const auto deadline = Clock::now() + wait;
  for (;;) {
    try {
      transport_ = open_(io_);
      break;
    } catch (const TransportError&) {
      if (Clock::now() >= deadline) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  description_ = transport_->describe();
  ++generation_;  // handlers of the old transport, still queued, must not touch the new one
  {
    std::lock_guard lock(link_mutex_);
    std::random_device rd;
    link_->reset(static_cast<std::uint8_t>(1 + rd() % 255));
  }
  {
    std::lock_guard lock(mutex_);
    failure_.reset();
  }
  spdlog::info("reconnected to {}: new link session", description_);
  startIo();
}

std::uint64_t DeviceClient::nowUs() const {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - epoch_).count());
}

void DeviceClient::Sink::writeBytes(const std::uint8_t* data, std::size_t n) {
  try {
    self->transport_->write({data, n});
  } catch (const TransportError& e) {
    self->fail(e.what());
  }
}

void DeviceClient::Handler::onPayload(const std::uint8_t* data, std::size_t n) {
  wire::DeviceMessage message;
  if (!message.ParseFromArray(data, static_cast<int>(n))) {
    // The frame passed its CRC, so this is a firmware bug or a protocol mismatch: say so loudly.
    spdlog::error("{}: undecodable DeviceMessage ({} bytes) ignored", self->description_, n);
    return;
  }
  self->onMessage(message);
}

void DeviceClient::startRead() {
  transport_->asyncRead(
      read_buf_, [this, gen = generation_](const boost::system::error_code& ec, std::size_t n) {
        if (gen != generation_) return;
        if (ec) {
          fail("connection to " + description_ + " lost: " + ec.message());
          return;
        }
        {
          std::lock_guard lock(link_mutex_);
          link_->receive(read_buf_.data(), n, nowUs());
        }
        startRead();
      });
}

void DeviceClient::schedulePoll() {
  poll_timer_.expires_after(kPollPeriod);
  poll_timer_.async_wait([this, gen = generation_](const boost::system::error_code& ec) {
    if (ec || gen != generation_) return;
    bool lost = false;
    std::uint32_t retransmits = 0;
    {
      std::lock_guard lock(link_mutex_);
      const std::uint64_t now = nowUs();
      link_->poll(now);
      lost = link_->lost();
      retransmits = link_->stats().retransmits;
      const auto period_us = static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(kKeepAlivePeriod).count());
      if (now - last_keepalive_us_ >= period_us) {
        last_keepalive_us_ = now;
        link_->keepAlive();
      }
    }
    if (lost) {
      fail("link to " + description_ + " lost: no acknowledgement after " +
           std::to_string(retransmits) + " retransmissions");
      return;
    }
    schedulePoll();
  });
}

void DeviceClient::fail(const std::string& why) {
  {
    std::lock_guard lock(mutex_);
    if (failure_) return;
    failure_ = why;
  }
  spdlog::error("{}", why);
  cv_.notify_all();
}

void DeviceClient::onMessage(const wire::DeviceMessage& message) {
  const double host_s = std::chrono::duration<double>(Clock::now() - epoch_).count();
  clock_.addSample(message.device_time_us(), host_s);
  spdlog::debug("<- {}", message.ShortDebugString());
  if (message.protocol_version() != wire::PROTOCOL_VERSION_MAJOR) {
    fail(description_ + " speaks protocol version " + std::to_string(message.protocol_version()) +
         ", this host speaks " + std::to_string(wire::PROTOCOL_VERSION_MAJOR) +
         ": update the firmware or the host");
    return;
  }
  std::function<void(const TriggerEvent&)> listener;
  std::optional<TriggerEvent> trigger;
  {
    std::lock_guard lock(mutex_);
    switch (message.body_case()) {
      case wire::DeviceMessage::kReply: {
        auto it = pending_.find(message.reply().request_id());
        if (it == pending_.end()) {
          spdlog::warn("{}: reply to unknown request {} ignored (a timed-out call?)", description_,
                       message.reply().request_id());
        } else {
          it->second = message.reply();
        }
        break;
      }
      case wire::DeviceMessage::kTrigger: {
        trigger =
            TriggerEvent{message.trigger(), clock_.toHostSeconds(message.trigger().timestamp_us())};
        listener = trigger_listener_;
        events_.emplace_back(*trigger);
        break;
      }
      case wire::DeviceMessage::kStackDone:
        events_.emplace_back(message.stack_done());
        break;
      case wire::DeviceMessage::kFault:
        spdlog::error("{}: fault {}: {}", description_,
                      wire::FaultCode_Name(message.fault().code()), message.fault().message());
        events_.emplace_back(message.fault());
        break;
      case wire::DeviceMessage::BODY_NOT_SET:
        spdlog::warn("{}: message without a body ignored (newer firmware?)", description_);
        break;
    }
  }
  if (listener && trigger) listener(*trigger);
  cv_.notify_all();
}

wire::Reply DeviceClient::call(wire::HostMessage message, std::chrono::milliseconds timeout) {
  std::uint32_t id = 0;
  {
    std::lock_guard lock(mutex_);
    if (failure_) throw LinkError(*failure_);
    id = next_request_id_++;
    pending_[id];
  }
  message.set_protocol_version(wire::PROTOCOL_VERSION_MAJOR);
  message.set_request_id(id);
  const std::string bytes = message.SerializeAsString();
  spdlog::debug("-> {}", message.ShortDebugString());
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    {
      std::lock_guard lock(link_mutex_);
      if (link_->send(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), nowUs())) {
        break;
      }
    }
    // Window full: the io thread drains it as acks arrive.
    if (Clock::now() > deadline) {
      std::lock_guard lock(mutex_);
      pending_.erase(id);
      throw LinkError("link to " + description_ + " stalled: send window full for " +
                      std::to_string(timeout.count()) + " ms");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::unique_lock lock(mutex_);
  cv_.wait_until(lock, deadline, [&] { return failure_.has_value() || pending_[id].has_value(); });
  std::optional<wire::Reply> reply = std::move(pending_[id]);
  pending_.erase(id);
  if (reply) return *reply;
  if (failure_) throw LinkError(*failure_);
  throw LinkError("no reply from " + description_ + " within " + std::to_string(timeout.count()) +
                  " ms (request " + std::to_string(id) + ")");
}

wire::Reply DeviceClient::checked(wire::HostMessage message, const char* what,
                                  std::chrono::milliseconds timeout) {
  wire::Reply reply = call(std::move(message), timeout);
  if (reply.status() != wire::STATUS_OK) {
    throw DeviceError(reply.status(),
                      std::string(what) + " refused by " + description_ + ": " +
                          wire::Status_Name(reply.status()) +
                          (reply.message().empty() ? "" : " (" + reply.message() + ")"));
  }
  return reply;
}

wire::Info DeviceClient::getInfo() {
  wire::HostMessage m;
  m.mutable_get_info();
  wire::Reply r = checked(m, "GetInfo", timeout_);
  if (!r.has_info()) throw DeviceError(wire::STATUS_OK, "GetInfo reply carries no info");
  return r.info();
}

wire::DeviceStatus DeviceClient::getStatus() {
  wire::HostMessage m;
  m.mutable_get_status();
  wire::Reply r = checked(m, "GetStatus", timeout_);
  return r.device_status();
}

namespace {
const wire::AxisState* findAxis(const wire::DeviceStatus& s, wire::Axis axis) {
  for (const auto& a : s.axes()) {
    if (a.axis() == axis) return &a;
  }
  return nullptr;
}
}  // namespace

void DeviceClient::home(wire::Axis axis, std::chrono::milliseconds timeout) {
  wire::HostMessage m;
  m.mutable_home()->set_axis(axis);
  const auto deadline = Clock::now() + timeout;
  checked(m, "Home", timeout_);
  // The reply may come at the start or the end of homing: wait until the axis says homed.
  for (;;) {
    const wire::DeviceStatus s = getStatus();
    if (!s.faults().empty()) {
      throw DeviceError(wire::STATUS_FAULT, std::string("homing the ") + axisName(axis) +
                                                " failed: " + wire::FaultCode_Name(s.faults(0)));
    }
    const wire::AxisState* a = findAxis(s, axis);
    if (a != nullptr && a->homed() && !a->moving()) return;
    if (Clock::now() > deadline) {
      throw LinkError(std::string("homing the ") + axisName(axis) + " did not finish within " +
                      std::to_string(timeout.count()) + " ms");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void DeviceClient::move(wire::Axis axis, double target, double speed,
                        std::chrono::milliseconds timeout) {
  wire::HostMessage m;
  m.mutable_move()->set_axis(axis);
  m.mutable_move()->set_target(target);
  m.mutable_move()->set_speed(speed);
  const auto deadline = Clock::now() + timeout;
  checked(m, "Move", timeout_);
  for (;;) {
    const wire::DeviceStatus s = getStatus();
    const wire::AxisState* a = findAxis(s, axis);
    if (!s.faults().empty()) {
      throw DeviceError(wire::STATUS_FAULT, std::string("moving the ") + axisName(axis) +
                                                " failed: " + wire::FaultCode_Name(s.faults(0)));
    }
    if (a != nullptr && !a->moving()) return;
    if (Clock::now() > deadline) {
      throw LinkError(std::string("move of the ") + axisName(axis) + " did not finish within " +
                      std::to_string(timeout.count()) + " ms");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void DeviceClient::rotate(double angle_deg, double speed_deg_s) {
  wire::HostMessage m;
  m.mutable_rotate()->set_angle_deg(angle_deg);
  m.mutable_rotate()->set_speed_deg_s(speed_deg_s);
  checked(m, "Rotate", timeout_);
}

void DeviceClient::setLed(float level) {
  wire::HostMessage m;
  m.mutable_set_led()->set_level(level);
  checked(m, "SetLed", timeout_);
}

void DeviceClient::abort() {
  wire::HostMessage m;
  m.mutable_abort();
  checked(m, "Abort", timeout_);
}

std::uint32_t DeviceClient::acquireStack(const StackRequest& request, std::uint32_t* frames) {
  wire::HostMessage m;
  auto* a = m.mutable_acquire_stack();
  for (double angle : request.angles_deg) a->add_angles_deg(angle);
  a->set_exposure_us(request.exposure_us);
  a->set_mode(request.mode);
  a->set_speed_deg_s(request.speed_deg_s);
  a->set_settle_ms(request.settle_ms);
  a->set_strobe_led(request.strobe_led);
  a->set_continuous(request.continuous);
  const wire::Reply r = checked(std::move(m), "AcquireStack", timeout_);
  if (frames != nullptr) *frames = r.frames_scheduled();
  return r.request_id();
}

std::optional<DeviceEvent> DeviceClient::nextEvent(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  cv_.wait_for(lock, timeout, [&] { return !events_.empty() || failure_.has_value(); });
  if (!events_.empty()) {
    DeviceEvent ev = std::move(events_.front());
    events_.pop_front();
    return ev;
  }
  if (failure_) throw LinkError(*failure_);
  return std::nullopt;
}

void DeviceClient::setTriggerListener(std::function<void(const TriggerEvent&)> listener) {
  std::lock_guard lock(mutex_);
  trigger_listener_ = std::move(listener);
}

void DeviceClient::clearEvents() {
  std::lock_guard lock(mutex_);
  events_.clear();
}

link::LinkStats DeviceClient::linkStats() const {
  std::lock_guard lock(link_mutex_);
  return link_->stats();
}

}  // namespace polscan
