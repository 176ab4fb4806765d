// FaultInjectingTransport: a Transport decorator that drops, corrupts, duplicates and delays bytes
// at set rates and pulls the plug on a schedule, to prove the link and the acquisition survive.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "transport/transport.hpp"

namespace polscan {

// Per-byte probabilities (0..1) for one direction, and how often a chunk is held back.
struct LinkFaultRates {
  double drop = 0.0;       // the byte vanishes
  double corrupt = 0.0;    // the byte is XORed with a random non-zero value
  double duplicate = 0.0;  // the byte arrives twice
  double delay = 0.0;      // per read/write chunk: the stream stalls before this chunk
  std::chrono::milliseconds delay_max{0};  // stall length, uniform in [0, delay_max]
};

// Unplug and replug in virtual time: one virtual second lasts 1/time_scale real seconds, so an
// unplug "every 30 s" at time_scale 15 happens every 2 real seconds.
struct UnplugSchedule {
  std::chrono::milliseconds period{0};  // virtual time from one unplug to the next; 0 = never
  std::chrono::milliseconds down{0};    // virtual time the cable stays out
  double time_scale = 1.0;              // virtual seconds per real second
};

struct FaultPlan {
  LinkFaultRates to_device;    // bytes the host writes
  LinkFaultRates from_device;  // bytes the host reads
  UnplugSchedule unplug;
  std::uint64_t seed = 1;  // same seed, same faults at the same byte positions of each direction
};

// What was done so far (all transports opened through one injector).
struct FaultCounts {
  std::uint64_t bytes_to_device = 0;
  std::uint64_t bytes_from_device = 0;
  std::uint64_t dropped = 0;
  std::uint64_t corrupted = 0;
  std::uint64_t duplicated = 0;
  std::uint64_t delayed = 0;  // chunks held back
  std::uint64_t unplugs = 0;  // open transports cut by the schedule
  std::uint64_t refused = 0;  // opens refused while the cable was out
};

// One cable with one fault plan, shared by every transport a client opens through it (a
// reconnect gets a new transport on the same cable, same clock, same random streams).
class FaultInjector : public std::enable_shared_from_this<FaultInjector> {
 public:
  using Open = std::function<std::unique_ptr<Transport>(boost::asio::io_context&)>;
  enum class Direction { ToDevice, FromDevice };

  static std::shared_ptr<FaultInjector> create(FaultPlan plan);

  // A factory whose transports go through this injector. While the cable is out it throws
  // TransportError ("unplugged"), as opening a missing device does.
  Open wrap(Open open);

  // Virtual time since the injector was created, and the plug state at a virtual time.
  std::chrono::duration<double> virtualTime() const;
  bool pluggedAt(std::chrono::duration<double> virtual_time) const;
  // Real time until the next unplug (nullopt-free: a huge value when there is none).
  std::chrono::steady_clock::duration untilNextUnplug() const;

  // Applies the byte faults of one direction to a chunk (thread-safe).
  std::vector<std::uint8_t> mangle(Direction d, const std::uint8_t* data, std::size_t n);
  // The stall before a chunk of this direction, zero for most chunks.
  std::chrono::milliseconds stall(Direction d);

  void countUnplug();
  FaultCounts counts() const;
  const FaultPlan& plan() const { return plan_; }

 private:
  explicit FaultInjector(FaultPlan plan);

  FaultPlan plan_;
  std::chrono::steady_clock::time_point start_;
  mutable std::mutex mutex_;
  std::mt19937_64 rng_to_;
  std::mt19937_64 rng_from_;
  FaultCounts counts_;
};

class FaultInjectingTransport final : public Transport {
 public:
  FaultInjectingTransport(boost::asio::io_context& io, std::unique_ptr<Transport> inner,
                          std::shared_ptr<FaultInjector> injector);
  ~FaultInjectingTransport() override;

  std::string describe() const override;
  void asyncRead(std::span<std::uint8_t> buf, ReadHandler handler) override;
  // Writes (after the faults) or throws TransportError once the cable is out.
  void write(std::span<const std::uint8_t> bytes) override;
  void close() override;

 private:
  struct Core;
  std::shared_ptr<Core> core_;
};

}  // namespace polscan
