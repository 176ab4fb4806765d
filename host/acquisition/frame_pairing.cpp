// pairFrames: a shifted label would silently assign the wrong angle, so every doubt is an error.
#include "acquisition/frame_pairing.hpp"

#include <cmath>
#include <sstream>

namespace polscan {

namespace {
std::string describeTrigger(const TriggerEvent& t) {
  std::ostringstream s;
  s << "frame " << t.trigger.frame_index() << " (commanded " << t.trigger.commanded_angle_deg()
    << " deg)";
  return s.str();
}
}  // namespace

std::vector<PairedFrame> pairFrames(const std::vector<TriggerEvent>& triggers,
                                    const std::vector<Frame>& frames, PairingTolerance tolerance) {
  for (std::size_t i = 0; i < triggers.size(); ++i) {
    if (triggers[i].trigger.frame_index() != i) {
      std::ostringstream s;
      s << "trigger events out of order: position " << i << " holds frame index "
        << triggers[i].trigger.frame_index();
      throw PairingError(s.str());
    }
  }
  // Gaps in the camera's counter pin down which trigger lost its frame.
  for (std::size_t i = 1; i < frames.size(); ++i) {
    const std::uint64_t prev = frames[i - 1].sequence;
    const std::uint64_t cur = frames[i].sequence;
    if (cur == prev) {
      std::ostringstream s;
      s << "extra frame: camera sequence " << cur << " delivered twice, at stack position " << i;
      if (i < triggers.size()) s << " (" << describeTrigger(triggers[i]) << ")";
      throw PairingError(s.str());
    }
    if (cur != prev + 1) {
      std::ostringstream s;
      s << "missing frame: camera sequence jumped from " << prev << " to " << cur;
      if (i < triggers.size()) s << "; no frame for " << describeTrigger(triggers[i]);
      throw PairingError(s.str());
    }
  }
  if (frames.size() < triggers.size()) {
    std::ostringstream s;
    s << "missing frame: " << triggers.size() << " triggers fired but " << frames.size()
      << " frames arrived; no frame for " << describeTrigger(triggers[frames.size()]);
    throw PairingError(s.str());
  }
  if (frames.size() > triggers.size()) {
    std::ostringstream s;
    s << "extra frame: " << frames.size() << " frames for " << triggers.size()
      << " triggers; camera sequence " << frames[triggers.size()].sequence << " has no trigger";
    throw PairingError(s.str());
  }
  std::vector<PairedFrame> paired;
  paired.reserve(frames.size());
  for (std::size_t i = 0; i < frames.size(); ++i) {
    if (tolerance.max_latency_s > 0 && frames[i].host_time_s > 0) {
      const double latency = frames[i].host_time_s - triggers[i].host_time_s;
      if (latency < -0.005 || latency > tolerance.max_latency_s) {
        std::ostringstream s;
        s << "frame timing does not match its trigger: camera sequence " << frames[i].sequence
          << " arrived " << latency * 1e3 << " ms after " << describeTrigger(triggers[i])
          << " (allowed 0 to " << tolerance.max_latency_s * 1e3 << " ms)";
        throw PairingError(s.str());
      }
    }
    paired.push_back(PairedFrame{frames[i], triggers[i]});
  }
  return paired;
}

}  // namespace polscan
