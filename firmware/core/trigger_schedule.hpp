// Camera trigger schedule: fires at polarizer step counts (fly-by) or at a tick (stop-and-go).
#pragma once

#include <cstdint>

#include "firmware/core/config.hpp"
#include "firmware/core/spsc_ring.hpp"
#include "firmware/hal/led_pwm.hpp"
#include "firmware/hal/trigger_output.hpp"

namespace polscan::fw {

// What the step timer saw when it fired one trigger; the main loop turns it into TriggerFired.
struct TriggerRecord {
  std::uint32_t frame_index = 0;
  std::int32_t polarizer_steps = 0;
  std::uint32_t tick = 0;  // step-timer tick (low 32 bits; the main loop extends it)
  std::int32_t x_steps = 0;
  std::int32_t y_steps = 0;
  std::int32_t z_steps = 0;
};

enum class TriggerFault : std::uint8_t { None, Overrun, RingFull };

class TriggerSchedule {
 public:
  void init(hal::TriggerOutput& trigger, hal::LedPwm& led);

  // ---- main loop ----
  // Fly-by: fires frame i on the tick whose step brings the polarizer to steps[i] (forward).
  // With strobe, the LED is lit for strobe_ticks from each trigger (0: the whole exposure).
  void armFlyBy(const std::int32_t* steps, std::uint32_t count, std::uint32_t exposure_ticks,
                bool strobe, float strobe_level, std::uint32_t strobe_ticks = 0);
  // Stop-and-go: fires frame_index once, at fire_tick or later, if the polarizer is standing.
  void armAt(std::uint32_t frame_index, std::uint32_t fire_tick, std::uint32_t exposure_ticks,
             bool strobe, float strobe_level);
  void disarm();
  // True while an armed trigger has not fired yet (includes a request the timer has not seen).
  bool pending() const { return req_ != ack_ || active_; }
  // True when the timer is done with the LED (no strobe pulse lit, no request pending).
  bool strobeIdle() const { return req_ == ack_ && !led_on_; }
  bool popRecord(TriggerRecord& r) { return ring_.pop(r); }
  bool hasRecords() const { return !ring_.empty(); }
  std::uint32_t firedTotal() const { return fired_total_; }
  std::uint32_t faultCount() const { return fault_seq_; }
  TriggerFault lastFault() const { return fault_; }

  // ---- step timer ----
  // Called after the axes stepped in this tick.
  void tick(std::uint32_t now, std::int32_t pol_steps, bool pol_stepped, bool pol_idle,
            std::int32_t x, std::int32_t y, std::int32_t z);

 private:
  enum class Mode : std::uint8_t { FlyBy, AtTick };

  void fire(std::uint32_t now, std::int32_t pol_steps, std::int32_t x, std::int32_t y,
            std::int32_t z);

  hal::TriggerOutput* trigger_ = nullptr;
  hal::LedPwm* led_ = nullptr;

  // Written by the main loop; steps_ only while no request is armed.
  std::int32_t steps_[config::kMaxAngles] = {};
  volatile std::uint32_t count_ = 0;
  volatile std::uint32_t first_index_ = 0;
  volatile std::uint32_t fire_tick_ = 0;
  volatile std::uint32_t exposure_ticks_ = 0;
  volatile std::uint32_t strobe_ticks_ = 0;  // 0: LED lit for the whole exposure
  volatile float strobe_level_ = 0.0f;
  volatile bool strobe_ = false;
  volatile Mode mode_ = Mode::FlyBy;
  volatile bool want_armed_ = false;
  volatile std::uint32_t req_ = 0;

  // Written by the step timer.
  volatile std::uint32_t ack_ = 0;
  volatile bool active_ = false;
  volatile std::uint32_t next_ = 0;
  volatile std::uint32_t fired_total_ = 0;
  volatile TriggerFault fault_ = TriggerFault::None;
  volatile std::uint32_t fault_seq_ = 0;
  bool have_exposure_ = false;
  std::uint32_t exposure_end_ = 0;
  volatile bool led_on_ = false;
  std::uint32_t led_off_tick_ = 0;
  SpscRing<TriggerRecord, config::kTriggerRingSize> ring_;
};

}  // namespace polscan::fw
