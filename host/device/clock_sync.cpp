// ClockSync: least-squares rate over a window, offset from the lower envelope of the delays.
#include "device/clock_sync.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace polscan {

void ClockSync::addSample(std::uint64_t device_us, double host_s) {
  std::lock_guard lock(mutex_);
  samples_.push_back(Sample{static_cast<double>(device_us) * 1e-6, host_s});
  if (samples_.size() > window_) samples_.pop_front();
  refit();
}

void ClockSync::refit() {
  const Sample& first = samples_.front();
  origin_device_ = first.device_s;
  origin_host_ = first.host_s;
  const std::size_t n = samples_.size();
  rate_ = 1.0;
  const double span = samples_.back().device_s - first.device_s;
  if (n >= 8 && span > 0.5) {
    // Rate from a line through the lower envelope: in each of a few time slices keep the
    // sample with the least delay (smallest host - device), since delays only ever add.
    const std::size_t slices = std::min<std::size_t>(8, n / 4);
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (std::size_t k = 0; k < slices; ++k) {
      const std::size_t lo = k * n / slices;
      const std::size_t hi = (k + 1) * n / slices;
      const Sample* best = &samples_[lo];
      for (std::size_t i = lo; i < hi; ++i) {
        const Sample& s = samples_[i];
        if (s.host_s - s.device_s < best->host_s - best->device_s) best = &s;
      }
      const double x = best->device_s - origin_device_;
      const double y = best->host_s - origin_host_;
      sx += x;
      sy += y;
      sxx += x * x;
      sxy += x * y;
    }
    const double m = static_cast<double>(slices);
    const double den = m * sxx - sx * sx;
    if (den > 0) {
      const double r = (m * sxy - sx * sy) / den;
      if (r > 0.99 && r < 1.01) rate_ = r;  // beyond 1% the samples are noise, not drift
    }
  }
  // Offset: the smallest residual is the sample with the least transmission delay.
  double best = std::numeric_limits<double>::infinity();
  for (const Sample& s : samples_) {
    const double predicted = origin_host_ + (s.device_s - origin_device_) * rate_;
    best = std::min(best, s.host_s - predicted);
  }
  offset_ = best;
}

double ClockSync::toHostSeconds(std::uint64_t device_us) const {
  std::lock_guard lock(mutex_);
  if (samples_.empty()) throw std::logic_error("clock sync has no samples yet");
  const double device_s = static_cast<double>(device_us) * 1e-6;
  return origin_host_ + (device_s - origin_device_) * rate_ + offset_;
}

double ClockSync::driftPpm() const {
  std::lock_guard lock(mutex_);
  return (1.0 / rate_ - 1.0) * 1e6;
}

std::size_t ClockSync::samples() const {
  std::lock_guard lock(mutex_);
  return samples_.size();
}

}  // namespace polscan
