// Trigger firing on the step timer: exact step counts for fly-by, settled ticks for stop-and-go.
#include "firmware/core/trigger_schedule.hpp"

namespace polscan::fw {

namespace {
// Wrap-safe "a is at or after b" for 32-bit tick counters.
bool reached(std::uint32_t a, std::uint32_t b) {
  return static_cast<std::int32_t>(a - b) >= 0;
}
}  // namespace

void TriggerSchedule::init(hal::TriggerOutput& trigger, hal::LedPwm& led) {
  trigger_ = &trigger;
  led_ = &led;
}

void TriggerSchedule::armFlyBy(const std::int32_t* steps, std::uint32_t count,
                               std::uint32_t exposure_ticks, bool strobe, float strobe_level,
                               std::uint32_t strobe_ticks) {
  if (count > config::kMaxAngles) count = config::kMaxAngles;
  for (std::uint32_t i = 0; i < count; ++i) steps_[i] = steps[i];
  count_ = count;
  first_index_ = 0;
  exposure_ticks_ = exposure_ticks;
  strobe_ticks_ = strobe_ticks;
  strobe_ = strobe;
  strobe_level_ = strobe_level;
  mode_ = Mode::FlyBy;
  want_armed_ = count > 0;
  req_ = req_ + 1;
}

void TriggerSchedule::armAt(std::uint32_t frame_index, std::uint32_t fire_tick,
                            std::uint32_t exposure_ticks, bool strobe, float strobe_level) {
  first_index_ = frame_index;
  count_ = frame_index + 1;
  fire_tick_ = fire_tick;
  exposure_ticks_ = exposure_ticks;
  strobe_ticks_ = 0;
  strobe_ = strobe;
  strobe_level_ = strobe_level;
  mode_ = Mode::AtTick;
  want_armed_ = true;
  req_ = req_ + 1;
}

void TriggerSchedule::disarm() {
  want_armed_ = false;
  req_ = req_ + 1;
}

void TriggerSchedule::fire(std::uint32_t now, std::int32_t pol_steps, std::int32_t x,
                           std::int32_t y, std::int32_t z) {
  if (have_exposure_ && !reached(now, exposure_end_)) {
    // The camera is still exposing the previous frame: this frame would be lost.
    active_ = false;
    fault_ = TriggerFault::Overrun;
    fault_seq_ = fault_seq_ + 1;
    return;
  }
  trigger_->pulse(config::kTriggerPulseUs);
  const std::uint32_t index = next_;
  if (strobe_) {
    led_->setLevel(strobe_level_);
    led_on_ = true;
    led_off_tick_ = now + (strobe_ticks_ != 0 ? strobe_ticks_ : exposure_ticks_);
  }
  have_exposure_ = true;
  exposure_end_ = now + exposure_ticks_;
  fired_total_ = fired_total_ + 1;
  next_ = index + 1;
  if (next_ >= count_) active_ = false;
  TriggerRecord r;
  r.frame_index = index;
  r.polarizer_steps = pol_steps;
  r.tick = now;
  r.x_steps = x;
  r.y_steps = y;
  r.z_steps = z;
  if (!ring_.push(r)) {
    active_ = false;
    fault_ = TriggerFault::RingFull;
    fault_seq_ = fault_seq_ + 1;
  }
}

void TriggerSchedule::tick(std::uint32_t now, std::int32_t pol_steps, bool pol_stepped,
                           bool pol_idle, std::int32_t x, std::int32_t y, std::int32_t z) {
  if (req_ != ack_) {
    ack_ = req_;
    active_ = want_armed_;
    next_ = first_index_;
    have_exposure_ = false;
    if (!active_ && led_on_) {
      led_->setLevel(0.0f);
      led_on_ = false;
    }
  }
  if (led_on_ && reached(now, led_off_tick_)) {
    led_->setLevel(0.0f);
    led_on_ = false;
  }
  if (!active_) return;
  if (mode_ == Mode::FlyBy) {
    if (pol_stepped && pol_steps == steps_[next_]) fire(now, pol_steps, x, y, z);
  } else if (pol_idle && reached(now, fire_tick_)) {
    fire(now, pol_steps, x, y, z);
  }
}

}  // namespace polscan::fw
