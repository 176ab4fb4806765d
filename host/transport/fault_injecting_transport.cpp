// FaultInjectingTransport: byte faults on both directions, stalls, and a scheduled unplug.
#include "transport/fault_injecting_transport.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <deque>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

namespace polscan {

namespace {
using Clock = std::chrono::steady_clock;

boost::system::error_code unpluggedError() {
  return boost::system::errc::make_error_code(boost::system::errc::no_such_device);
}
}  // namespace

// ---------------------------------------------------------------------------------------------
// FaultInjector

std::shared_ptr<FaultInjector> FaultInjector::create(FaultPlan plan) {
  return std::shared_ptr<FaultInjector>(new FaultInjector(std::move(plan)));
}

FaultInjector::FaultInjector(FaultPlan plan)
    : plan_(std::move(plan)),
      start_(Clock::now()),
      rng_to_(plan_.seed),
      rng_from_(plan_.seed ^ 0x9e3779b97f4a7c15ull) {
  if (!(plan_.unplug.time_scale > 0.0)) {
    throw std::invalid_argument("fault plan: unplug time_scale must be > 0 (virtual s per real s)");
  }
  if (plan_.unplug.period.count() > 0 && plan_.unplug.down >= plan_.unplug.period) {
    throw std::invalid_argument("fault plan: unplug down time must be shorter than its period");
  }
}

std::chrono::duration<double> FaultInjector::virtualTime() const {
  const std::chrono::duration<double> real = Clock::now() - start_;
  return real * plan_.unplug.time_scale;
}

bool FaultInjector::pluggedAt(std::chrono::duration<double> t) const {
  const auto& u = plan_.unplug;
  if (u.period.count() <= 0) return true;
  const double period = std::chrono::duration<double>(u.period).count();
  const double down = std::chrono::duration<double>(u.down).count();
  if (t.count() < period) return true;  // the first unplug is one period after the start
  return std::fmod(t.count(), period) >= down;
}

Clock::duration FaultInjector::untilNextUnplug() const {
  const auto& u = plan_.unplug;
  if (u.period.count() <= 0) return std::chrono::hours(24 * 365);
  const double period = std::chrono::duration<double>(u.period).count();
  const double t = virtualTime().count();
  const double next = (std::floor(t / period) + 1.0) * period;
  const std::chrono::duration<double> real((next - t) / u.time_scale);
  return std::chrono::duration_cast<Clock::duration>(real) + std::chrono::microseconds(1);
}

std::vector<std::uint8_t> FaultInjector::mangle(Direction d, const std::uint8_t* data,
                                                std::size_t n) {
  const LinkFaultRates& r = d == Direction::ToDevice ? plan_.to_device : plan_.from_device;
  std::lock_guard lock(mutex_);
  std::mt19937_64& rng = d == Direction::ToDevice ? rng_to_ : rng_from_;
  (d == Direction::ToDevice ? counts_.bytes_to_device : counts_.bytes_from_device) += n;
  std::uniform_real_distribution<double> p(0.0, 1.0);
  std::uniform_int_distribution<int> flip(1, 255);
  std::vector<std::uint8_t> out;
  out.reserve(n + n / 8 + 1);
  for (std::size_t i = 0; i < n; ++i) {
    const double x = p(rng);
    if (x < r.drop) {
      ++counts_.dropped;
    } else if (x < r.drop + r.corrupt) {
      ++counts_.corrupted;
      out.push_back(static_cast<std::uint8_t>(data[i] ^ flip(rng)));
    } else if (x < r.drop + r.corrupt + r.duplicate) {
      ++counts_.duplicated;
      out.push_back(data[i]);
      out.push_back(data[i]);
    } else {
      out.push_back(data[i]);
    }
  }
  return out;
}

std::chrono::milliseconds FaultInjector::stall(Direction d) {
  const LinkFaultRates& r = d == Direction::ToDevice ? plan_.to_device : plan_.from_device;
  if (r.delay <= 0.0 || r.delay_max.count() <= 0) return std::chrono::milliseconds(0);
  std::lock_guard lock(mutex_);
  std::mt19937_64& rng = d == Direction::ToDevice ? rng_to_ : rng_from_;
  if (std::uniform_real_distribution<double>(0.0, 1.0)(rng) >= r.delay) {
    return std::chrono::milliseconds(0);
  }
  ++counts_.delayed;
  return std::chrono::milliseconds(
      std::uniform_int_distribution<std::int64_t>(0, r.delay_max.count())(rng));
}

void FaultInjector::countUnplug() {
  std::lock_guard lock(mutex_);
  ++counts_.unplugs;
}

FaultCounts FaultInjector::counts() const {
  std::lock_guard lock(mutex_);
  return counts_;
}

FaultInjector::Open FaultInjector::wrap(Open open) {
  return [self = shared_from_this(),
          open = std::move(open)](boost::asio::io_context& io) -> std::unique_ptr<Transport> {
    if (!self->pluggedAt(self->virtualTime())) {
      {
        std::lock_guard lock(self->mutex_);
        ++self->counts_.refused;
      }
      throw TransportError("device unplugged (fault injection, virtual time " +
                           std::to_string(self->virtualTime().count()) + " s)");
    }
    return std::make_unique<FaultInjectingTransport>(io, open(io), self);
  };
}

// ---------------------------------------------------------------------------------------------
// FaultInjectingTransport
//
// Everything lives in a Core kept alive by the handlers that use it, so a handler that runs after
// the transport was destroyed (an aborted timer, a cancelled read) finds valid memory.
// Read side: io thread only. Write side: any thread, under write_mutex.

struct FaultInjectingTransport::Core : std::enable_shared_from_this<Core> {
  Core(boost::asio::io_context& io_, std::unique_ptr<Transport> inner_,
       std::shared_ptr<FaultInjector> injector_)
      : io(io_),
        inner(std::move(inner_)),
        injector(std::move(injector_)),
        description("faulty(" + inner->describe() + ")"),
        unplug_timer(io_),
        read_stall_timer(io_),
        write_stall_timer(io_) {}

  boost::asio::io_context& io;
  std::unique_ptr<Transport> inner;
  std::shared_ptr<FaultInjector> injector;
  std::string description;
  std::atomic<bool> dead{false};  // unplugged or closed: stays so
  std::atomic<bool> unplugged{false};

  // Read side (io thread).
  boost::asio::steady_timer unplug_timer;
  boost::asio::steady_timer read_stall_timer;
  std::array<std::uint8_t, 4096> rx{};
  std::deque<std::uint8_t> inbox;  // bytes after the faults, not yet handed to the reader
  std::span<std::uint8_t> user_buf;
  ReadHandler user_handler;  // the reader waiting, if any
  bool inner_reading = false;
  bool stalled = false;

  // Write side.
  std::mutex write_mutex;
  boost::asio::steady_timer write_stall_timer;  // guarded by write_mutex
  std::vector<std::uint8_t> held;               // bytes behind a write stall
  bool write_stalled = false;
  std::optional<std::string> write_error;  // a held write that failed, told on the next write

  void armUnplug() {
    unplug_timer.expires_after(injector->untilNextUnplug());
    unplug_timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec) return;
      self->pullPlug();
    });
  }

  void pullPlug() {
    {
      // Under the write lock: a writer on another thread never meets a half-closed transport.
      std::lock_guard lock(write_mutex);
      if (dead.exchange(true)) return;
      unplugged = true;
      write_stall_timer.cancel();
      inner->close();  // a pending inner read completes with an error
    }
    injector->countUnplug();
    read_stall_timer.cancel();
    finishRead(unpluggedError(), 0);
  }

  void finishRead(const boost::system::error_code& ec, std::size_t n) {
    if (!user_handler) return;
    ReadHandler h = std::move(user_handler);
    user_handler = nullptr;
    boost::asio::post(io, [h = std::move(h), ec, n] { h(ec, n); });
  }

  // Hands queued bytes to a waiting reader, or reads more from the inner transport.
  void pump() {
    if (!user_handler || stalled) return;
    if (dead) {
      finishRead(unplugged ? unpluggedError() : boost::asio::error::operation_aborted, 0);
      return;
    }
    if (!inbox.empty()) {
      const std::size_t n = std::min(inbox.size(), user_buf.size());
      std::copy_n(inbox.begin(), n, user_buf.begin());
      inbox.erase(inbox.begin(), inbox.begin() + static_cast<std::ptrdiff_t>(n));
      finishRead({}, n);
      return;
    }
    if (inner_reading) return;
    inner_reading = true;
    inner->asyncRead(rx, [self = shared_from_this()](const boost::system::error_code& ec,
                                                     std::size_t n) { self->onInnerRead(ec, n); });
  }

  void onInnerRead(const boost::system::error_code& ec, std::size_t n) {
    inner_reading = false;
    if (ec) {
      if (dead) {
        finishRead(unplugged ? unpluggedError() : ec, 0);
      } else {
        finishRead(ec, 0);
      }
      return;
    }
    const auto stall = injector->stall(FaultInjector::Direction::FromDevice);
    const auto bytes = injector->mangle(FaultInjector::Direction::FromDevice, rx.data(), n);
    inbox.insert(inbox.end(), bytes.begin(), bytes.end());
    if (stall.count() > 0) {
      stalled = true;
      read_stall_timer.expires_after(stall);
      read_stall_timer.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
        self->stalled = false;
        if (e && !self->dead) return;
        self->pump();
      });
      return;
    }
    pump();
  }

  // Caller holds write_mutex.
  void writeNow(std::span<const std::uint8_t> bytes) {
    if (bytes.empty()) return;
    inner->write(bytes);
  }

  void flushHeld() {
    std::lock_guard lock(write_mutex);
    write_stalled = false;
    if (dead) return;
    try {
      writeNow(held);
    } catch (const TransportError& e) {
      write_error = e.what();
    }
    held.clear();
  }
};

FaultInjectingTransport::FaultInjectingTransport(boost::asio::io_context& io,
                                                 std::unique_ptr<Transport> inner,
                                                 std::shared_ptr<FaultInjector> injector)
    : core_(std::make_shared<Core>(io, std::move(inner), std::move(injector))) {
  core_->armUnplug();
}

FaultInjectingTransport::~FaultInjectingTransport() {
  close();
}

std::string FaultInjectingTransport::describe() const {
  return core_->description;
}

void FaultInjectingTransport::asyncRead(std::span<std::uint8_t> buf, ReadHandler handler) {
  Core& c = *core_;
  c.user_buf = buf;
  c.user_handler = std::move(handler);
  c.pump();
}

void FaultInjectingTransport::write(std::span<const std::uint8_t> bytes) {
  Core& c = *core_;
  std::lock_guard lock(c.write_mutex);
  if (c.dead) {
    throw TransportError(c.description + ": " +
                         (c.unplugged ? "device unplugged (fault injection)" : "closed"));
  }
  if (c.write_error) throw TransportError(*c.write_error);
  const auto stall = c.injector->stall(FaultInjector::Direction::ToDevice);
  const auto out =
      c.injector->mangle(FaultInjector::Direction::ToDevice, bytes.data(), bytes.size());
  if (c.write_stalled) {
    c.held.insert(c.held.end(), out.begin(), out.end());  // the stream keeps its order
    return;
  }
  if (stall.count() > 0) {
    c.write_stalled = true;
    c.held = out;
    c.write_stall_timer.expires_after(stall);
    c.write_stall_timer.async_wait(
        [self = core_](const boost::system::error_code&) { self->flushHeld(); });
    return;
  }
  c.writeNow(out);
}

void FaultInjectingTransport::close() {
  Core& c = *core_;
  {
    std::lock_guard lock(c.write_mutex);
    c.dead = true;
    c.write_stall_timer.cancel();
  }
  // Timers and the inner transport belong to the io thread's objects; cancelling from here is
  // what every Transport::close() does (DeviceClient closes after stopping its io thread).
  c.unplug_timer.cancel();
  c.read_stall_timer.cancel();
  c.inner->close();
}

}  // namespace polscan
