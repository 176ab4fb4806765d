// FrameIdUnwrapper: GigE Vision block ids wrap; pairing needs a counter that never does.
#pragma once

#include <cstdint>
#include <optional>

namespace polscan {

// GigE Vision 1.x block ids are 16 bits and skip 0 when they wrap (65535 -> 1); GEV 2 ids are
// 64 bits. Turns raw ids into a monotonically increasing counter in which a lost frame is still
// a gap of the right size.
class FrameIdUnwrapper {
 public:
  std::uint64_t next(std::uint64_t raw) {
    if (!last_raw_) {
      last_raw_ = raw;
      value_ = raw;
      return value_;
    }
    std::uint64_t step = 0;
    if (raw > *last_raw_) {
      step = raw - *last_raw_;
    } else if (raw < *last_raw_ && *last_raw_ <= kMax16) {
      step = (kMax16 - *last_raw_) + raw;  // 65535 -> 1 is one step: 0 is never used
    }
    // raw <= last with 64-bit ids (or a repeated id): step 0, which pairing reports as an
    // extra frame.
    last_raw_ = raw;
    value_ += step;
    return value_;
  }
  void reset() { last_raw_.reset(); }

 private:
  static constexpr std::uint64_t kMax16 = 65535;
  std::optional<std::uint64_t> last_raw_;
  std::uint64_t value_ = 0;
};

}  // namespace polscan
