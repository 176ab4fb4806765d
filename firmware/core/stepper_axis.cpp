// Step generation: a DDA per axis whose rate ramps by a fixed step each tick (trapezoid/triangle).
#include "firmware/core/stepper_axis.hpp"

#include <cmath>

namespace polscan::fw {

namespace {
constexpr double kTwo32 = 4294967296.0;
}  // namespace

void StepperAxis::init(const AxisConfig& config, hal::StepperOutput& out, hal::DigitalInput& sensor,
                       std::uint32_t tick_hz) {
  config_ = config;
  out_ = &out;
  sensor_ = &sensor;
  tick_hz_ = tick_hz;
  const double a_tick = static_cast<double>(config.accel_sps2) / tick_hz / tick_hz;
  accel_frac_ = static_cast<std::uint32_t>(a_tick * kTwo32 + 0.5);
  if (accel_frac_ == 0) accel_frac_ = 1;
  // The speed at which one step remains to stop: below it the ramp would stall short of the
  // target, so the last steps are taken at this speed.
  floor_frac_ = static_cast<std::uint32_t>(std::sqrt(2.0 * a_tick) * kTwo32);
  if (floor_frac_ == 0) floor_frac_ = 1;
}

std::uint32_t StepperAxis::speedFrac(std::uint32_t sps) const {
  if (sps > config_.max_speed_sps) sps = config_.max_speed_sps;
  if (sps == 0) sps = 1;
  return static_cast<std::uint32_t>(static_cast<double>(sps) / tick_hz_ * kTwo32);
}

bool StepperAxis::startMove(std::int32_t target, std::uint32_t speed_sps) {
  if (busy()) return false;
  plan_target_ = target;
  plan_speed_ = speedFrac(speed_sps == 0 ? config_.max_speed_sps : speed_sps);
  plan_home_ = false;
  cmd_req_ = cmd_req_ + 1;  // publishes the plan (volatile accesses stay in order)
  return true;
}

bool StepperAxis::startHoming() {
  if (busy()) return false;
  plan_speed_ = speedFrac(config_.home_speed_sps);
  plan_home_ = true;
  cmd_req_ = cmd_req_ + 1;
  return true;
}

void StepperAxis::requestStop() {
  stop_req_ = stop_req_ + 1;
}

void StepperAxis::halt(bool forget_home) {
  halt_forget_ = forget_home;
  halt_req_ = halt_req_ + 1;
}

void StepperAxis::begin(Phase phase, std::int32_t distance, bool forward, std::uint32_t v_cruise) {
  dir_ = forward ? 1 : -1;
  out_->setDirection(forward);
  remaining_ = static_cast<std::uint32_t>(distance);
  v_cruise_ = v_cruise;
  v_floor_ = floor_frac_ < v_cruise ? floor_frac_ : v_cruise;
  v_ = 0;
  phase_acc_ = 0;
  stopping_ = false;
  phase_ = phase;
}

void StepperAxis::finish(std::uint32_t now_tick) {
  phase_ = Phase::Idle;
  v_ = 0;
  stopping_ = false;
  stopped_tick_ = now_tick;
}

void StepperAxis::raise(AxisFault fault, std::uint32_t now_tick) {
  // The fault is published before the axis reads as idle: a main loop that sees the axis
  // stopped has therefore already seen the fault that stopped it.
  fault_ = fault;
  fault_seq_ = fault_seq_ + 1;
  finish(now_tick);
}

bool StepperAxis::tick(std::uint32_t now_tick) {
  if (halt_req_ != halt_ack_) {
    halt_ack_ = halt_req_;
    cmd_ack_ = cmd_req_;  // a move posted before the halt is dropped too
    stop_ack_ = stop_req_;
    if (halt_forget_) homed_ = false;
    if (phase_ != Phase::Idle) finish(now_tick);
    return false;
  }
  if (cmd_req_ != cmd_ack_) {
    cmd_ack_ = cmd_req_;
    if (plan_home_) {
      homed_ = false;
      prev_sensor_ = sensor_->read();
      if (config_.sensor_is_limit && prev_sensor_) {
        // Already on the switch: move off it first, so the edge is met coming from outside.
        begin(Phase::Release, config_.home_search_steps, !config_.home_forward, plan_speed_);
      } else {
        // The index needs a real rising edge: a sensor already active does not count.
        begin(Phase::Search, config_.home_search_steps, config_.home_forward, plan_speed_);
      }
    } else {
      const std::int32_t d = plan_target_ - position_;
      if (d == 0) {
        stopped_tick_ = now_tick;
        return false;
      }
      begin(Phase::Move, d > 0 ? d : -d, d > 0, plan_speed_);
      prev_sensor_ = sensor_->read();
    }
  }
  if (stop_req_ != stop_ack_) {
    stop_ack_ = stop_req_;
    stopping_ = true;
  }
  if (phase_ == Phase::Idle) return false;

  // Ramp: decelerate once the stopping distance v^2/2a reaches the remaining steps. Compared as
  // (v>>16)^2 >= 2*a*remaining, both in 2^-32 steps^2/tick^2: multiplications only.
  bool decel = stopping_;
  if (!decel) {
    const std::uint64_t vh = v_ >> 16;
    decel = vh * vh >= 2ull * accel_frac_ * remaining_;
  }
  if (decel) {
    v_ = v_ > v_floor_ + accel_frac_ ? v_ - accel_frac_ : v_floor_;
    if (stopping_ && v_ <= v_floor_) {
      finish(now_tick);
      return false;
    }
  } else if (v_ < v_cruise_) {
    v_ = v_cruise_ - v_ > accel_frac_ ? v_ + accel_frac_ : v_cruise_;
  }

  bool stepped = false;
  const std::uint32_t before = phase_acc_;
  phase_acc_ += v_;
  if (phase_acc_ < before && remaining_ > 0) {  // carry out of the accumulator: one step
    out_->step();
    std::int32_t pos = position_ + dir_;
    // Rotary axes count within one turn, so turning one way for months cannot overflow.
    if (config_.steps_per_rev > 0) {
      if (pos >= config_.steps_per_rev) pos -= config_.steps_per_rev;
      if (pos < 0) pos += config_.steps_per_rev;
    }
    position_ = pos;
    --remaining_;
    stepped = true;
  }

  if (phase_ == Phase::Release) {
    if (!sensor_->read()) {
      prev_sensor_ = false;
      begin(Phase::Search, config_.home_search_steps, config_.home_forward,
            speedFrac(config_.home_speed_sps));
    } else if (remaining_ == 0) {
      raise(AxisFault::HomeNotFound, now_tick);
    }
    return stepped;
  }
  if (phase_ == Phase::Search) {
    const bool s = sensor_->read();
    if (s && !prev_sensor_) {
      position_ = config_.home_position_steps;
      homed_ = true;
      if (config_.stop_at_home_edge) {
        const std::int32_t d = config_.home_backoff_steps - position_;
        if (d == 0) {
          finish(now_tick);
        } else {
          begin(Phase::Backoff, d > 0 ? d : -d, d > 0, speedFrac(config_.home_speed_sps));
        }
      } else {
        phase_ = Phase::Move;
        stopping_ = true;
      }
    } else if (remaining_ == 0) {
      raise(AxisFault::HomeNotFound, now_tick);
    }
    prev_sensor_ = s;
    return stepped;
  }

  if (phase_ == Phase::Move && config_.sensor_is_limit && sensor_->read()) {
    homed_ = false;
    raise(AxisFault::LimitSwitch, now_tick);
    return stepped;
  }
  if (config_.missed_step_tolerance > 0 && config_.steps_per_rev > 0 && stepped) {
    const bool s = sensor_->read();
    if (s && !prev_sensor_ && dir_ > 0 && homed_) {
      const std::int32_t rev = config_.steps_per_rev;
      std::int32_t err = (position_ - config_.home_position_steps) % rev;
      if (err < 0) err += rev;
      if (err > rev / 2) err -= rev;
      if (err > config_.missed_step_tolerance || err < -config_.missed_step_tolerance) {
        homed_ = false;
        raise(AxisFault::MissedSteps, now_tick);
        return stepped;
      }
    }
    prev_sensor_ = s;
  }
  if (stepped && remaining_ == 0) finish(now_tick);
  return stepped;
}

}  // namespace polscan::fw
