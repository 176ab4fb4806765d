// Maps firmware clock microseconds to host time: offset and drift from a running linear fit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>

namespace polscan {

class ClockSync {
 public:
  explicit ClockSync(std::size_t window = 256) : window_(window) {}

  // One observation: a device message stamped device_us arrived at host_s (seconds, steady clock).
  // Transmission delay only ever makes host_s later, so the fit follows the earliest arrivals.
  void addSample(std::uint64_t device_us, double host_s);

  // Host steady-clock seconds for a device timestamp. Needs at least one sample.
  double toHostSeconds(std::uint64_t device_us) const;

  // Fitted drift in parts per million (device clock fast: positive) and sample count.
  double driftPpm() const;
  std::size_t samples() const;

 private:
  struct Sample {
    double device_s;
    double host_s;
  };
  void refit();

  std::size_t window_;
  mutable std::mutex mutex_;
  std::deque<Sample> samples_;
  // host_s = origin_host_ + (device_s - origin_device_) * rate_ + offset_
  double origin_device_ = 0.0;
  double origin_host_ = 0.0;
  double rate_ = 1.0;
  double offset_ = 0.0;
};

}  // namespace polscan
