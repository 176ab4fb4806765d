// One stepper axis: position, trapezoidal step generation, soft limits and homing.
#pragma once

#include <cstdint>

#include "firmware/hal/digital_input.hpp"
#include "firmware/hal/stepper_output.hpp"

namespace polscan::fw {

struct AxisConfig {
  double units_per_step = 1.0;  // degrees or micrometres per microstep
  std::int32_t min_steps = 0;   // soft limits (linear axes)
  std::int32_t max_steps = 0;
  std::int32_t steps_per_rev = 0;  // rotary axes (no soft limits, position wraps); 0 = linear
  std::uint32_t max_speed_sps = 1;
  std::uint32_t accel_sps2 = 1;
  std::uint32_t home_speed_sps = 1;
  bool home_forward = false;  // direction of the homing search
  // Linear axes stop on the switch edge and back off to home_backoff_steps; the polarizer
  // decelerates past its index instead.
  bool stop_at_home_edge = true;
  std::int32_t home_position_steps = 0;  // position assigned at the sensor's rising edge
  std::int32_t home_backoff_steps = 0;
  std::int32_t home_search_steps = 0;      // give up (fault) after this many steps
  bool sensor_is_limit = true;             // sensor active outside homing = overtravel fault
  std::int32_t missed_step_tolerance = 0;  // rotary: check the index on every forward pass
};

enum class AxisFault : std::uint8_t { None, HomeNotFound, LimitSwitch, MissedSteps };

// Main loop and step timer share this object. Every shared field has exactly one writer: the
// main loop posts requests by bumping a *_req_ counter after filling the plan; the timer answers
// by copying it into *_ack_. Word-sized volatile fields, no locks, no atomics library.
class StepperAxis {
 public:
  void init(const AxisConfig& config, hal::StepperOutput& out, hal::DigitalInput& sensor,
            std::uint32_t tick_hz);
  const AxisConfig& config() const { return config_; }

  // ---- main loop ----
  // Starts a trapezoidal move to target (steps) at up to speed_sps. False if the axis is busy.
  // Limits are the caller's business (the instrument answers OUT_OF_LIMITS before calling).
  bool startMove(std::int32_t target, std::uint32_t speed_sps);
  bool startHoming();
  // Decelerates to a stop wherever the axis is (Abort).
  void requestStop();
  // Stops at the next tick without ramp (safe state); forget_home clears homed().
  void halt(bool forget_home);

  bool busy() const { return cmd_req_ != cmd_ack_ || phase_ != Phase::Idle; }
  bool homing() const {
    return phase_ == Phase::Release || phase_ == Phase::Search || phase_ == Phase::Backoff;
  }
  // Steps from home; rotary axes stay within [0, steps_per_rev) (homed) so targets passed to
  // startMove are position() plus the signed distance to go.
  std::int32_t position() const { return position_; }
  bool homed() const { return homed_; }
  std::uint32_t stoppedTick() const { return stopped_tick_; }
  std::uint32_t faultCount() const { return fault_seq_; }
  AxisFault lastFault() const { return fault_; }

  // ---- step timer ----
  // One timer period. Returns true when this tick emitted a step.
  bool tick(std::uint32_t now_tick);

 private:
  enum class Phase : std::uint8_t { Idle, Move, Release, Search, Backoff };

  std::uint32_t speedFrac(std::uint32_t sps) const;
  void begin(Phase phase, std::int32_t distance, bool forward, std::uint32_t v_cruise);
  void finish(std::uint32_t now_tick);
  void raise(AxisFault fault, std::uint32_t now_tick);

  AxisConfig config_;
  hal::StepperOutput* out_ = nullptr;
  hal::DigitalInput* sensor_ = nullptr;
  std::uint32_t tick_hz_ = 1;
  // Velocities are in 2^-32 steps per tick (below one step per tick); acceleration in 2^-32
  // steps per tick per tick. Fixed at init, read by the timer only.
  std::uint32_t accel_frac_ = 0;
  std::uint32_t floor_frac_ = 0;  // slowest speed: about one step's worth of deceleration

  // Written by the main loop.
  volatile std::int32_t plan_target_ = 0;
  volatile std::uint32_t plan_speed_ = 0;
  volatile bool plan_home_ = false;
  volatile bool halt_forget_ = false;
  volatile std::uint32_t cmd_req_ = 0;
  volatile std::uint32_t stop_req_ = 0;
  volatile std::uint32_t halt_req_ = 0;

  // Written by the step timer.
  volatile std::uint32_t cmd_ack_ = 0;
  volatile std::uint32_t stop_ack_ = 0;
  volatile std::uint32_t halt_ack_ = 0;
  volatile Phase phase_ = Phase::Idle;
  volatile std::int32_t position_ = 0;
  volatile bool homed_ = false;
  volatile std::uint32_t stopped_tick_ = 0;
  volatile AxisFault fault_ = AxisFault::None;
  volatile std::uint32_t fault_seq_ = 0;
  // Timer-private motion state.
  std::uint32_t v_ = 0;
  std::uint32_t v_cruise_ = 0;
  std::uint32_t v_floor_ = 0;
  std::uint32_t phase_acc_ = 0;
  std::uint32_t remaining_ = 0;
  std::int32_t dir_ = 1;
  bool stopping_ = false;
  bool prev_sensor_ = false;
};

}  // namespace polscan::fw
