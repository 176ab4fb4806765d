// Instrument: decodes HostMessages, runs commands and stacks, reports events through the outbox.
#include "firmware/core/instrument.hpp"

#include <cmath>
#include <cstring>
#include <type_traits>

#include "firmware/core/text.hpp"
#include "pb_decode.h"
#include "pb_encode.h"

namespace polscan::fw {

namespace {

constexpr std::uint32_t kVersion = polscan_wire_ProtocolVersion_PROTOCOL_VERSION_MAJOR;
constexpr const char* kAxisNames[kAxisCount] = {"polarizer", "x", "y", "z"};

AxisConfig polarizerConfig(double index_offset_deg) {
  using namespace config;
  AxisConfig c;
  c.units_per_step = kPolDegPerStep;
  c.min_steps = 0;
  c.max_steps = kPolStepsPerRev;
  c.steps_per_rev = kPolStepsPerRev;
  c.max_speed_sps = stepsPerSecond(kPolMaxSpeedDegS, kPolDegPerStep);
  c.accel_sps2 = stepsPerSecond(kPolAccelDegS2, kPolDegPerStep);
  c.home_speed_sps = stepsPerSecond(kPolHomeSpeedDegS, kPolDegPerStep);
  c.home_forward = true;
  c.stop_at_home_edge = false;
  double offset = std::fmod(index_offset_deg, 360.0);
  if (offset < 0) offset += 360.0;
  c.home_position_steps =
      static_cast<std::int32_t>(std::lround(offset / kPolDegPerStep)) % kPolStepsPerRev;
  c.home_search_steps = kPolHomeSearchTurns * kPolStepsPerRev;
  c.sensor_is_limit = false;
  c.missed_step_tolerance = kPolMissedStepTolerance;
  return c;
}

AxisConfig linearConfig(double um_per_step, double max_um, double speed, double accel,
                        double home_speed) {
  using namespace config;
  AxisConfig c;
  c.units_per_step = um_per_step;
  c.min_steps = 0;
  c.max_steps = static_cast<std::int32_t>(std::lround(max_um / um_per_step));
  c.steps_per_rev = 0;
  c.max_speed_sps = stepsPerSecond(speed, um_per_step);
  c.accel_sps2 = stepsPerSecond(accel, um_per_step);
  c.home_speed_sps = stepsPerSecond(home_speed, um_per_step);
  c.home_forward = false;
  c.stop_at_home_edge = true;
  c.home_position_steps = kLimitSwitchSteps;
  c.home_backoff_steps = 0;
  c.home_search_steps = c.max_steps + c.max_steps / 10 + 100;
  c.sensor_is_limit = true;
  return c;
}

void copyString(char* dst, std::size_t cap, const char* src) {
  Text(dst, cap).add(src);
}

bool validAxis(polscan_wire_Axis a) {
  return a >= polscan_wire_Axis_AXIS_POLARIZER && a <= polscan_wire_Axis_AXIS_Z;
}

// nanopb stores a received enum's number as it came, in a field of the C enum type; a number
// outside the enum's values must not be loaded as that type (undefined behaviour, and a compiler
// may then drop the range check itself). Its bytes are read as the underlying integer instead.
template <typename E>
std::int64_t rawEnum(const E& field) {
  std::underlying_type_t<E> v;
  std::memcpy(&v, &field, sizeof(v));
  return static_cast<std::int64_t>(v);
}

// The enum fields of a command, checked before any code reads them as enums. Returns the name of
// the first field out of range (and its number), or nullptr.
const char* badEnumField(const polscan_wire_HostMessage& m, std::int64_t& value) {
  auto axisOk = [](std::int64_t a) {
    return a >= polscan_wire_Axis_AXIS_POLARIZER && a <= polscan_wire_Axis_AXIS_Z;
  };
  switch (m.which_command) {
    case polscan_wire_HostMessage_home_tag:
      value = rawEnum(m.command.home.axis);
      return axisOk(value) ? nullptr : "axis";
    case polscan_wire_HostMessage_move_tag:
      value = rawEnum(m.command.move.axis);
      return axisOk(value) ? nullptr : "axis";
    case polscan_wire_HostMessage_acquire_stack_tag:
      value = rawEnum(m.command.acquire_stack.mode);
      return value == polscan_wire_AcquisitionMode_ACQUISITION_MODE_FLY_BY ||
                     value == polscan_wire_AcquisitionMode_ACQUISITION_MODE_STOP_AND_GO
                 ? nullptr
                 : "acquisition mode";
    default:
      return nullptr;
  }
}

std::int32_t modRev(std::int32_t v) {
  std::int32_t m = v % config::kPolStepsPerRev;
  return m < 0 ? m + config::kPolStepsPerRev : m;
}

}  // namespace

Instrument::Instrument(const hal::Board& board, const InstrumentConfig& config)
    : board_(board),
      config_(config),
      outputs_{&board.polarizer, &board.x, &board.y, &board.z},
      link_(*this, *this, config.session_nonce) {
  const std::uint32_t hz = config::kStepTimerHz;
  axes_[0].init(polarizerConfig(config.index_offset_deg), board.polarizer, board.index, hz);
  axes_[1].init(linearConfig(config::kXyUmPerStep, config::kXMaxUm, config::kXyMaxSpeedUmS,
                             config::kXyAccelUmS2, config::kXyHomeSpeedUmS),
                board.x, board.limit_x, hz);
  axes_[2].init(linearConfig(config::kXyUmPerStep, config::kYMaxUm, config::kXyMaxSpeedUmS,
                             config::kXyAccelUmS2, config::kXyHomeSpeedUmS),
                board.y, board.limit_y, hz);
  axes_[3].init(linearConfig(config::kZUmPerStep, config::kZMaxUm, config::kZMaxSpeedUmS,
                             config::kZAccelUmS2, config::kZHomeSpeedUmS),
                board.z, board.limit_z, hz);
  schedule_.init(board.trigger, board.led);
  for (auto* out : outputs_) out->enable(true);
  board_.led.setLevel(0.0f);
}

// ---------------------------------------------------------------------------------------------
// Step timer

void Instrument::onStepTimer() {
  const std::uint32_t now = ticks_ + 1;
  ticks_ = now;
  const bool pol_stepped = axes_[0].tick(now);
  axes_[1].tick(now);
  axes_[2].tick(now);
  axes_[3].tick(now);
  schedule_.tick(now, axes_[0].position(), pol_stepped, !axes_[0].busy(), axes_[1].position(),
                 axes_[2].position(), axes_[3].position());
}

// ---------------------------------------------------------------------------------------------
// Main loop

void Instrument::updateTicks() {
  const std::uint32_t now = ticks_;
  ticks64_ += static_cast<std::uint32_t>(now - static_cast<std::uint32_t>(ticks64_));
}

std::uint64_t Instrument::tickToUs(std::uint32_t tick) const {
  // The tick is recent: its signed distance to the extended counter places it in 64 bits.
  const auto d = static_cast<std::int32_t>(tick - static_cast<std::uint32_t>(ticks64_));
  const std::uint64_t t64 = ticks64_ + static_cast<std::int64_t>(d);
  return t64 * config::kUsPerStepTick;
}

std::uint64_t Instrument::nowUs() {
  const std::uint64_t t = board_.clock.now();
  const std::uint64_t hz = board_.clock.tickHz();
  return (t / hz) * 1000000u + (t % hz) * 1000000u / hz;
}

void Instrument::poll() {
  updateTicks();
  const std::uint64_t now_us = nowUs();
  std::uint8_t buf[256];
  // Bounded: a flood of input must not starve the rest of the loop.
  for (int i = 0; i < 16; ++i) {
    const std::size_t n = board_.link.read(buf, sizeof(buf));
    if (n == 0) break;
    link_.receive(buf, n, now_us);
  }
  checkHostSilence(now_us);
  checkTimerFaults();
  drainTriggers();
  stepAcquisition();
  if (led_restore_pending_ && schedule_.strobeIdle()) {
    led_restore_pending_ = false;
    board_.led.setLevel(led_level_);
  }
  link_.poll(now_us);
  if (link_.lost()) {
    // Nobody acknowledges: start a new session so a reconnecting host is heard, and do not keep
    // moving for a host that is gone.
    const bool moving = anyAxisBusy() || acq_.active;
    ++link_resets_;
    link_.reset(static_cast<std::uint8_t>(config_.session_nonce + link_resets_));
    if (moving) {
      shutdown(polscan_wire_FaultCode_FAULT_HOST_TIMEOUT, polscan_wire_Axis_AXIS_POLARIZER,
               "host link lost during motion: no acknowledgement for 1 s");
    }
  }
  drainOutbox(now_us);
}

void Instrument::drainOutbox(std::uint64_t now_us) {
  while (!outbox_.empty() && !link_.windowFull()) {
    const std::size_t n = outbox_.front(drain_buf_, sizeof(drain_buf_));
    if (n == 0 || !link_.send(drain_buf_, n, now_us)) break;
    outbox_.pop();
  }
}

void Instrument::writeBytes(const std::uint8_t* data, std::size_t n) {
  board_.link.write(data, n);
}

bool Instrument::anyAxisBusy() const {
  for (const auto& a : axes_) {
    if (a.busy()) return true;
  }
  return false;
}

double Instrument::polarizerAngle(std::int32_t steps) const {
  return modRev(steps) * config::kPolDegPerStep;
}

std::int32_t Instrument::nearestPolarizerSteps(std::int32_t target_in_turn) const {
  const std::int32_t p = axes_[0].position();
  std::int32_t d = modRev(target_in_turn - p);
  if (d > config::kPolStepsPerRev / 2) d -= config::kPolStepsPerRev;
  return p + d;
}

std::int32_t Instrument::forwardPolarizerSteps(std::int32_t target_in_turn) const {
  const std::int32_t p = axes_[0].position();
  return p + modRev(target_in_turn - p);
}

// ---------------------------------------------------------------------------------------------
// Events

void Instrument::emit(polscan_wire_DeviceMessage& msg, bool use_reserve) {
  msg.protocol_version = kVersion;
  msg.device_time_us = nowUs();
  if (observer_ != nullptr) observer_->onDeviceMessage(msg);
  pb_ostream_t os = pb_ostream_from_buffer(encode_buf_, sizeof(encode_buf_));
  if (!pb_encode(&os, polscan_wire_DeviceMessage_fields, &msg)) {
    ++dropped_;  // a bug (fields over their bounds): counted, never expected
    return;
  }
  if (outbox_.push(encode_buf_, os.bytes_written, use_reserve)) return;
  ++dropped_;
  if (!overflowed_ && !in_shutdown_) {
    overflowed_ = true;
    shutdown(polscan_wire_FaultCode_FAULT_HOST_TIMEOUT, polscan_wire_Axis_AXIS_POLARIZER,
             "outbox overflow: host is not acknowledging events; events lost");
  }
}

void Instrument::emitStackDone(polscan_wire_DeviceMessage& msg, polscan_wire_Status status,
                               bool use_reserve) {
  msg = polscan_wire_DeviceMessage{};
  msg.which_body = polscan_wire_DeviceMessage_stack_done_tag;
  msg.body.stack_done.stack_id = acq_.stack_id;
  msg.body.stack_done.frames = acq_.frames_reported;
  msg.body.stack_done.status = status;
  emit(msg, use_reserve);
}

void Instrument::drainTriggers() {
  if (draining_triggers_) return;
  draining_triggers_ = true;
  updateTicks();
  TriggerRecord r;
  while (schedule_.popRecord(r)) {
    event_ = polscan_wire_DeviceMessage{};
    event_.which_body = polscan_wire_DeviceMessage_trigger_tag;
    polscan_wire_TriggerFired& t = event_.body.trigger;
    t.frame_index = r.frame_index;
    t.commanded_angle_deg = r.frame_index < acq_.count ? acq_.angles[r.frame_index] : 0.0;
    t.measured_angle_deg = polarizerAngle(r.polarizer_steps);
    t.timestamp_us = tickToUs(r.tick);
    t.stack_id = acq_.stack_id;
    t.stage_x_um = r.x_steps * config::kXyUmPerStep;
    t.stage_y_um = r.y_steps * config::kXyUmPerStep;
    t.stage_z_um = r.z_steps * config::kZUmPerStep;
    acq_.last_fire_tick = r.tick;
    ++acq_.frames_reported;
    emit(event_);
  }
  draining_triggers_ = false;
}

void Instrument::checkTimerFaults() {
  for (std::size_t i = 0; i < kAxisCount; ++i) {
    const std::uint32_t n = axes_[i].faultCount();
    if (n == axis_faults_seen_[i]) continue;
    axis_faults_seen_[i] = n;
    char msg[96];
    Text text(msg, sizeof(msg));
    text.add(kAxisNames[i]).add(": ");
    polscan_wire_FaultCode code = polscan_wire_FaultCode_FAULT_NONE;
    switch (axes_[i].lastFault()) {
      case AxisFault::HomeNotFound:
        code = polscan_wire_FaultCode_FAULT_HOMING_INDEX_NOT_FOUND;
        if (i == 0) {
          text.add("no index edge within ")
              .add(static_cast<std::int64_t>(config::kPolHomeSearchTurns))
              .add(" turns");
        } else {
          text.add("limit switch not found within the travel");
        }
        break;
      case AxisFault::LimitSwitch:
        code = polscan_wire_FaultCode_FAULT_LIMIT_SWITCH;
        text.add("limit switch hit outside homing");
        break;
      case AxisFault::MissedSteps:
        code = polscan_wire_FaultCode_FAULT_MISSED_STEPS;
        text.add("index edge away from the expected step count");
        break;
      case AxisFault::None:
        continue;
    }
    shutdown(code, static_cast<polscan_wire_Axis>(i), msg);
  }
  const std::uint32_t tf = schedule_.faultCount();
  if (tf != trigger_faults_seen_) {
    trigger_faults_seen_ = tf;
    shutdown(polscan_wire_FaultCode_FAULT_TRIGGER_OVERRUN, polscan_wire_Axis_AXIS_POLARIZER,
             schedule_.lastFault() == TriggerFault::Overrun
                 ? "trigger due while the camera was still exposing"
                 : "trigger records not collected in time");
  }
}

void Instrument::checkHostSilence(std::uint64_t now_us) {
  const std::uint32_t heard = link_.stats().frames_received;
  if (heard != frames_heard_) {
    frames_heard_ = heard;
    last_heard_us_ = now_us;
    return;
  }
  if (config_.host_silence_timeout_ms == 0) return;
  const bool active = anyAxisBusy() || acq_.active || led_level_ > 0.0f;
  if (!active) {
    last_heard_us_ = now_us;  // the clock starts when there is something to stop
    return;
  }
  if (now_us - last_heard_us_ <
      static_cast<std::uint64_t>(config_.host_silence_timeout_ms) * 1000u) {
    return;
  }
  char msg[96];
  Text(msg, sizeof(msg))
      .add("no frame from the host for ")
      .add(static_cast<std::int64_t>(config_.host_silence_timeout_ms))
      .add(" ms: motors stopped, LED off");
  shutdown(polscan_wire_FaultCode_FAULT_HOST_TIMEOUT, polscan_wire_Axis_AXIS_POLARIZER, msg);
}

// ---------------------------------------------------------------------------------------------
// Safe state

void Instrument::recordFault(polscan_wire_FaultCode code) {
  for (std::size_t i = 0; i < faults_count_; ++i) {
    if (faults_[i] == code) return;
  }
  if (faults_count_ < sizeof(faults_) / sizeof(faults_[0])) faults_[faults_count_++] = code;
}

void Instrument::shutdown(polscan_wire_FaultCode code, polscan_wire_Axis axis,
                          const char* message) {
  if (in_shutdown_) return;
  in_shutdown_ = true;
  // Motors first: current off now, the timer drops any motion at its next tick. An axis that
  // was moving may have lost steps when stopped without a ramp, so it must be homed again.
  for (std::size_t i = 0; i < kAxisCount; ++i) {
    const bool forget = axes_[i].busy() || (code != polscan_wire_FaultCode_FAULT_HOST_TIMEOUT &&
                                            static_cast<std::size_t>(axis) == i);
    outputs_[i]->enable(false);
    axes_[i].halt(forget);
  }
  schedule_.disarm();
  spin_sps_ = 0;
  board_.led.setLevel(0.0f);
  led_level_ = 0.0f;
  led_restore_pending_ = false;
  recordFault(code);

  // Report in order: frames already taken, the fault, then the end of the stack.
  drainTriggers();
  fault_msg_ = polscan_wire_DeviceMessage{};
  fault_msg_.which_body = polscan_wire_DeviceMessage_fault_tag;
  fault_msg_.body.fault.code = code;
  fault_msg_.body.fault.axis = validAxis(axis) ? axis : polscan_wire_Axis_AXIS_POLARIZER;
  copyString(fault_msg_.body.fault.message, sizeof(fault_msg_.body.fault.message), message);
  emit(fault_msg_, true);
  if (acq_.active) {
    acq_.active = false;
    emitStackDone(fault_msg_, polscan_wire_Status_STATUS_FAULT, true);
  }
  in_shutdown_ = false;
}

// ---------------------------------------------------------------------------------------------
// Commands

void Instrument::onPayload(const std::uint8_t* data, std::size_t n) {
  rx_ = polscan_wire_HostMessage{};
  tx_ = polscan_wire_DeviceMessage{};
  tx_.which_body = polscan_wire_DeviceMessage_reply_tag;
  polscan_wire_Reply& reply = tx_.body.reply;
  polscan_wire_Status status = polscan_wire_Status_STATUS_OK;
  pb_istream_t is = pb_istream_from_buffer(data, n);
  if (!pb_decode(&is, polscan_wire_HostMessage_fields, &rx_)) {
    reply.request_id = rx_.request_id;
    Text(reply.message, sizeof(reply.message))
        .add("undecodable HostMessage: ")
        .add(PB_GET_ERROR(&is));
    reply.status = polscan_wire_Status_STATUS_BAD_REQUEST;
    emit(tx_);
    return;
  }
  reply.request_id = rx_.request_id;
  std::int64_t bad_value = 0;
  if (const char* bad = badEnumField(rx_, bad_value)) {
    Text(reply.message, sizeof(reply.message)).add("unknown ").add(bad).add(" ").add(bad_value);
    reply.status = polscan_wire_Status_STATUS_BAD_REQUEST;
    emit(tx_);
    return;
  }
  if (observer_ != nullptr) observer_->onCommand(rx_);
  const bool version_ok = rx_.protocol_version == kVersion;
  if (!version_ok && rx_.which_command != polscan_wire_HostMessage_get_info_tag) {
    status = polscan_wire_Status_STATUS_VERSION_MISMATCH;
  } else {
    switch (rx_.which_command) {
      case polscan_wire_HostMessage_get_info_tag:
        status = doGetInfo(reply);
        break;
      case polscan_wire_HostMessage_home_tag:
        status = doHome(rx_.command.home, reply);
        break;
      case polscan_wire_HostMessage_move_tag:
        status = doMove(rx_.command.move.axis, rx_.command.move.target, rx_.command.move.speed,
                        false, reply);
        break;
      case polscan_wire_HostMessage_rotate_tag:
        status = doMove(polscan_wire_Axis_AXIS_POLARIZER, rx_.command.rotate.angle_deg,
                        rx_.command.rotate.speed_deg_s, true, reply);
        break;
      case polscan_wire_HostMessage_acquire_stack_tag:
        status = doAcquire(rx_.command.acquire_stack, rx_.request_id, reply);
        break;
      case polscan_wire_HostMessage_set_led_tag:
        status = doSetLed(rx_.command.set_led, reply);
        break;
      case polscan_wire_HostMessage_get_status_tag:
        status = doGetStatus(reply);
        break;
      case polscan_wire_HostMessage_abort_tag:
        status = doAbort(reply);
        break;
      default:
        status = polscan_wire_Status_STATUS_UNKNOWN_COMMAND;
        copyString(reply.message, sizeof(reply.message),
                   "no known command in HostMessage (newer host?)");
        break;
    }
  }
  if (!version_ok) {
    status = polscan_wire_Status_STATUS_VERSION_MISMATCH;
    Text(reply.message, sizeof(reply.message))
        .add("host protocol ")
        .add(static_cast<std::int64_t>(rx_.protocol_version))
        .add(", firmware speaks ")
        .add(static_cast<std::int64_t>(kVersion));
  }
  reply.status = status;
  emit(tx_);
}

polscan_wire_Status Instrument::doGetInfo(polscan_wire_Reply& reply) {
  reply.which_result = polscan_wire_Reply_info_tag;
  polscan_wire_Info& info = reply.result.info;
  copyString(info.firmware_version, sizeof(info.firmware_version), config::kFirmwareVersion);
  info.protocol_version = kVersion;
  copyString(info.board, sizeof(info.board), config_.board);
  copyString(info.serial_number, sizeof(info.serial_number), config_.serial_number);
  info.capabilities =
      polscan_wire_Capability_CAPABILITY_STOP_AND_GO | polscan_wire_Capability_CAPABILITY_XY_STAGE |
      polscan_wire_Capability_CAPABILITY_Z_FOCUS | polscan_wire_Capability_CAPABILITY_LED_STROBE;
  if (config_.fly_by) {
    info.capabilities |= polscan_wire_Capability_CAPABILITY_FLY_BY |
                         polscan_wire_Capability_CAPABILITY_CONTINUOUS_FLY_BY;
  }
  info.limits_count = kAxisCount;
  for (std::size_t i = 0; i < kAxisCount; ++i) {
    const AxisConfig& c = axes_[i].config();
    polscan_wire_AxisLimits& l = info.limits[i];
    l.axis = static_cast<polscan_wire_Axis>(i);
    l.min = c.min_steps * c.units_per_step;
    l.max = c.max_steps * c.units_per_step;
    l.max_speed = c.max_speed_sps * c.units_per_step;
    l.units_per_step = c.units_per_step;
  }
  info.tick_hz = board_.clock.tickHz();
  info.max_angles = config::kMaxAngles;
  return polscan_wire_Status_STATUS_OK;
}

polscan_wire_Status Instrument::motionAllowed(polscan_wire_Axis axis, polscan_wire_Reply& reply) {
  Text text(reply.message, sizeof(reply.message));
  if (faulted()) {
    text.add("in safe state after a fault: Home to clear");
    return polscan_wire_Status_STATUS_FAULT;
  }
  if (acq_.active) {
    text.add("a stack is being acquired");
    return polscan_wire_Status_STATUS_BUSY;
  }
  if (axes_[axis].busy()) {
    text.add(kAxisNames[axis]).add(" is moving");
    return polscan_wire_Status_STATUS_BUSY;
  }
  if (!axes_[axis].homed()) {
    text.add(kAxisNames[axis]).add(" is not homed");
    return polscan_wire_Status_STATUS_NOT_HOMED;
  }
  return polscan_wire_Status_STATUS_OK;
}

polscan_wire_Status Instrument::doHome(const polscan_wire_Home& cmd, polscan_wire_Reply& reply) {
  Text text(reply.message, sizeof(reply.message));
  if (!validAxis(cmd.axis)) {
    text.add("unknown axis ").add(static_cast<std::int64_t>(cmd.axis));
    return polscan_wire_Status_STATUS_BAD_REQUEST;
  }
  if (acq_.active || axes_[cmd.axis].busy()) {
    text.add(acq_.active ? "a stack is being acquired" : "axis is moving");
    return polscan_wire_Status_STATUS_BUSY;
  }
  if (faulted()) {
    // Home is the way out of the safe state: faults are cleared, drivers powered again.
    faults_count_ = 0;
    overflowed_ = false;
    for (auto* out : outputs_) out->enable(true);
  }
  axes_[cmd.axis].startHoming();
  return polscan_wire_Status_STATUS_OK;
}

polscan_wire_Status Instrument::doMove(polscan_wire_Axis axis, double target, double speed,
                                       bool wrap, polscan_wire_Reply& reply) {
  Text text(reply.message, sizeof(reply.message));
  if (!validAxis(axis)) {
    text.add("unknown axis ").add(static_cast<std::int64_t>(axis));
    return polscan_wire_Status_STATUS_BAD_REQUEST;
  }
  if (!std::isfinite(target) || !std::isfinite(speed) || speed < 0) {
    text.add("target and speed must be finite, speed >= 0");
    return polscan_wire_Status_STATUS_BAD_REQUEST;
  }
  const polscan_wire_Status allowed = motionAllowed(axis, reply);
  if (allowed != polscan_wire_Status_STATUS_OK) return allowed;
  StepperAxis& ax = axes_[axis];
  const AxisConfig& c = ax.config();
  const double max_speed = c.max_speed_sps * c.units_per_step;
  if (speed > max_speed * (1.0 + 1e-9)) {
    text.add("speed ").add(speed, 3).add(" above the maximum ").add(max_speed, 3);
    return polscan_wire_Status_STATUS_OUT_OF_LIMITS;
  }
  std::uint32_t sps = 0;
  if (speed > 0) {
    sps = static_cast<std::uint32_t>(std::lround(speed / c.units_per_step));
    if (sps == 0) sps = 1;
  }
  std::int32_t goal = 0;
  if (axis == polscan_wire_Axis_AXIS_POLARIZER) {
    if (wrap) {
      target = std::fmod(target, 360.0);
      if (target < 0) target += 360.0;
    } else if (target < 0.0 || target > 360.0) {
      text.add("polarizer target ").add(target, 4).add(" deg outside 0..360");
      return polscan_wire_Status_STATUS_OUT_OF_LIMITS;
    }
    goal = nearestPolarizerSteps(
        modRev(static_cast<std::int32_t>(std::lround(target / c.units_per_step))));
  } else {
    const double steps = std::round(target / c.units_per_step);
    if (steps < c.min_steps || steps > c.max_steps) {
      text.add(kAxisNames[axis])
          .add(" target ")
          .add(target, 3)
          .add(" um outside ")
          .add(c.min_steps * c.units_per_step, 1)
          .add("..")
          .add(c.max_steps * c.units_per_step, 1);
      return polscan_wire_Status_STATUS_OUT_OF_LIMITS;
    }
    goal = static_cast<std::int32_t>(steps);
  }
  ax.startMove(goal, sps);
  return polscan_wire_Status_STATUS_OK;
}

polscan_wire_Status Instrument::doAcquire(const polscan_wire_AcquireStack& cmd,
                                          std::uint32_t stack_id, polscan_wire_Reply& reply) {
  using namespace config;
  Text text(reply.message, sizeof(reply.message));
  const bool fly_by = cmd.mode == polscan_wire_AcquisitionMode_ACQUISITION_MODE_FLY_BY;
  const bool continuous = fly_by && cmd.continuous;
  // A continuous stack may start on the polarizer still spinning from the previous one.
  const bool on_spin = continuous && spinning() && !acq_.active && !faulted();
  if (!on_spin) {
    const polscan_wire_Status allowed = motionAllowed(polscan_wire_Axis_AXIS_POLARIZER, reply);
    if (allowed != polscan_wire_Status_STATUS_OK) return allowed;
  }
  if (fly_by && !config_.fly_by) {
    text.add("fly-by is not available on this instrument: use stop-and-go");
    return polscan_wire_Status_STATUS_BAD_REQUEST;
  }
  const std::uint32_t n = cmd.angles_deg_count;
  if (n == 0 || n > kMaxAngles) {
    text.add("need 1..").add(static_cast<std::int64_t>(kMaxAngles)).add(" angles");
    return polscan_wire_Status_STATUS_BAD_REQUEST;
  }
  if (cmd.mode != polscan_wire_AcquisitionMode_ACQUISITION_MODE_FLY_BY &&
      cmd.mode != polscan_wire_AcquisitionMode_ACQUISITION_MODE_STOP_AND_GO) {
    text.add("unknown acquisition mode ").add(static_cast<std::int64_t>(cmd.mode));
    return polscan_wire_Status_STATUS_BAD_REQUEST;
  }
  std::int32_t st[kMaxAngles];
  for (std::uint32_t i = 0; i < n; ++i) {
    const double a = cmd.angles_deg[i];
    if (!(a >= 0.0 && a < 360.0)) {
      text.add("angle ")
          .add(static_cast<std::int64_t>(i))
          .add(" = ")
          .add(a, 4)
          .add(" outside [0, 360)");
      return polscan_wire_Status_STATUS_OUT_OF_LIMITS;
    }
    st[i] = static_cast<std::int32_t>(std::lround(a / kPolDegPerStep));
    if (i > 0 && st[i] <= st[i - 1]) {
      text.add("angles must ascend by at least one microstep (")
          .add(kPolDegPerStep, 4)
          .add(" deg)");
      return polscan_wire_Status_STATUS_BAD_REQUEST;
    }
  }
  if (continuous && st[n - 1] - st[0] >= kPolStepsPerRev / 2) {
    text.add("continuous fly-by: the angles must lie within one half turn (180 deg)");
    return polscan_wire_Status_STATUS_BAD_REQUEST;
  }
  const double exposure_s = cmd.exposure_us * 1e-6;
  const auto exposure_ticks = static_cast<std::uint32_t>(
      (static_cast<std::uint64_t>(cmd.exposure_us) + kUsPerStepTick - 1) / kUsPerStepTick);
  const AxisConfig& pc = axes_[0].config();

  Acquisition next;
  next.active = true;
  next.fly_by = fly_by;
  next.stack_id = stack_id;
  next.count = n;
  for (std::uint32_t i = 0; i < n; ++i) next.angles[i] = cmd.angles_deg[i];
  next.exposure_ticks = exposure_ticks;
  next.strobe = fly_by && cmd.strobe_led;
  next.strobe_level = led_level_ > 0.0f ? led_level_ : 1.0f;

  if (fly_by) {
    std::int32_t gap = kPolStepsPerRev;
    for (std::uint32_t i = 1; i < n; ++i) {
      if (st[i] - st[i - 1] < gap) gap = st[i] - st[i - 1];
    }
    // Continuous: the last angle is followed by the first one half a turn later.
    if (continuous && n > 1 && st[0] + kPolStepsPerRev / 2 - st[n - 1] < gap) {
      gap = st[0] + kPolStepsPerRev / 2 - st[n - 1];
    }
    const double gap_deg = gap * kPolDegPerStep;
    double speed = cmd.speed_deg_s;
    if (!std::isfinite(speed) || speed < 0) {
      text.add("speed_deg_s must be finite and >= 0");
      return polscan_wire_Status_STATUS_BAD_REQUEST;
    }
    if (speed > kPolMaxSpeedDegS * (1.0 + 1e-9)) {
      text.add("speed ").add(speed, 3).add(" deg/s above the maximum ").add(kPolMaxSpeedDegS, 1);
      return polscan_wire_Status_STATUS_OUT_OF_LIMITS;
    }
    if (speed == 0.0) {
      speed = kPolMaxSpeedDegS;
      if (n > 1 && exposure_s > 0) {
        speed = gap_deg / (exposure_s * kFlyByExposureMargin);
        if (speed > kPolMaxSpeedDegS) speed = kPolMaxSpeedDegS;
        if (speed < kFlyByMinSpeedDegS) speed = kFlyByMinSpeedDegS;
      }
    }
    auto sps = static_cast<std::uint32_t>(speed / kPolDegPerStep);
    if (sps == 0) sps = 1;
    if (sps > pc.max_speed_sps) sps = pc.max_speed_sps;
    // The closest two angles must be at least one exposure (plus the timer's jitter) apart.
    const double gap_s = static_cast<double>(gap) / sps;
    if (n > 1 && gap_s < exposure_s + 2.0 / kStepTimerHz) {
      text.add("trigger overrun: ")
          .add(gap_deg, 4)
          .add(" deg at ")
          .add(sps * kPolDegPerStep, 2)
          .add(" deg/s is shorter than the exposure");
      return polscan_wire_Status_STATUS_BAD_REQUEST;
    }
    if (on_spin && sps != spin_sps_) {
      text.add("polarizer spinning at ")
          .add(spin_sps_ * kPolDegPerStep, 2)
          .add(" deg/s, stack asks ")
          .add(sps * kPolDegPerStep, 2)
          .add(": Abort first");
      return polscan_wire_Status_STATUS_BUSY;
    }
    // Run-up: the ramp's length plus a margin, so the first angle is crossed at cruise speed.
    const double ramp = static_cast<double>(sps) * sps / (2.0 * pc.accel_sps2);
    const auto run_up = static_cast<std::int32_t>(std::ceil(ramp)) + kFlyByRunMarginSteps;
    const std::int32_t start = nearestPolarizerSteps(modRev(st[0] - run_up));
    for (std::uint32_t i = 0; i < n; ++i) next.steps[i] = modRev(st[i]);
    next.speed_sps = sps;
    next.continuous = continuous;
    // The LED is lit while the polarizer turns kStrobeMaxDeg (at least one tick, at most the
    // exposure): the frame's angular smear stays within it whatever the speed.
    const double strobe_ticks =
        std::floor(kStrobeMaxDeg / kPolDegPerStep * kStepTimerHz / static_cast<double>(sps));
    next.strobe_ticks = static_cast<std::uint32_t>(
        strobe_ticks < 1.0 ? 1.0 : (strobe_ticks > exposure_ticks ? exposure_ticks : strobe_ticks));
    next.run_length = run_up + (st[n - 1] - st[0]) + run_up;
    if (continuous) {
      // No back-up and no ramp on a spinning polarizer: the next crossings of the angles. From
      // rest the spin starts here and the first trigger waits for the end of its ramp.
      auto lead = static_cast<std::int32_t>(sps * kSpinLeadS);
      if (lead < kFlyByRunMarginSteps) lead = kFlyByRunMarginSteps;
      if (!on_spin) {
        lead = run_up;
        axes_[0].startMove(axes_[0].position() + kSpinSteps, sps);
        spin_sps_ = sps;
      }
      planContinuous(st, n, lead, next);
      next.phase = AcqPhase::Spin;
      schedule_.armFlyBy(next.steps, n, exposure_ticks, next.strobe, next.strobe_level,
                         next.strobe_ticks);
    } else {
      next.phase = AcqPhase::PreMove;
      axes_[0].startMove(start, 0);
    }
  } else {
    const std::uint32_t settle_ms = cmd.settle_ms != 0 ? cmd.settle_ms : kDefaultSettleMs;
    next.settle_ticks =
        static_cast<std::uint32_t>(static_cast<std::uint64_t>(settle_ms) * kStepTimerHz / 1000u);
    for (std::uint32_t i = 0; i < n; ++i) next.steps[i] = modRev(st[i]);
    next.phase = AcqPhase::SagMove;
  }
  acq_ = next;
  if (acq_.strobe) board_.led.setLevel(0.0f);
  if (!fly_by) startSagMove();
  reply.which_result = polscan_wire_Reply_frames_scheduled_tag;
  reply.result.frames_scheduled = n;
  return polscan_wire_Status_STATUS_OK;
}

void Instrument::planContinuous(const std::int32_t* st, std::uint32_t n, std::int32_t lead,
                                Acquisition& next) const {
  constexpr std::int32_t half = config::kPolStepsPerRev / 2;
  auto modHalf = [](std::int32_t v) { return ((v % half) + half) % half; };
  const std::int32_t q = axes_[0].position() + lead;
  std::uint32_t k = 0;
  std::int32_t best = half;
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::int32_t d = modHalf(st[i] - q);
    if (d < best) {
      best = d;
      k = i;
    }
  }
  // Firing order k, k+1, ..., n-1, 0, ..., k-1: each the next forward crossing of its angle or
  // of the angle + 180 deg, all within one half turn after the first.
  std::int32_t target = q + best;
  for (std::uint32_t j = 0; j < n; ++j) {
    const std::uint32_t i = (k + j) % n;
    if (j > 0) target += modHalf(st[i] - st[(k + j - 1) % n]);
    next.steps[j] = modRev(target);
    next.angles[j] = polarizerAngle(target);
  }
}

void Instrument::startSagMove() {
  // Always approach an angle turning forward, so gear and belt backlash sit on the same side.
  axes_[0].startMove(forwardPolarizerSteps(acq_.steps[acq_.next]), 0);
  acq_.phase = AcqPhase::SagMove;
}

void Instrument::stepAcquisition() {
  if (!acq_.active) return;
  StepperAxis& pol = axes_[0];
  switch (acq_.phase) {
    case AcqPhase::PreMove:
      if (pol.busy()) return;
      schedule_.armFlyBy(acq_.steps, acq_.count, acq_.exposure_ticks, acq_.strobe,
                         acq_.strobe_level, acq_.strobe_ticks);
      pol.startMove(pol.position() + acq_.run_length, acq_.speed_sps);
      acq_.phase = AcqPhase::Run;
      return;
    case AcqPhase::Run:
      if (pol.busy()) return;
      if (schedule_.pending()) {
        schedule_.disarm();
        drainTriggers();
        shutdown(polscan_wire_FaultCode_FAULT_TRIGGER_OVERRUN, polscan_wire_Axis_AXIS_POLARIZER,
                 "fly-by run ended before every angle was crossed");
        return;
      }
      finishAcquisition(polscan_wire_Status_STATUS_OK);
      return;
    case AcqPhase::SagMove:
      if (pol.busy()) return;
      schedule_.armAt(acq_.next, pol.stoppedTick() + acq_.settle_ticks, acq_.exposure_ticks, false,
                      0.0f);
      acq_.phase = AcqPhase::SagWaitFire;
      return;
    case AcqPhase::SagWaitFire:
      if (schedule_.pending()) return;
      drainTriggers();  // sets last_fire_tick
      acq_.phase = AcqPhase::SagExposure;
      [[fallthrough]];
    case AcqPhase::SagExposure: {
      const auto waited = static_cast<std::int32_t>(ticks_ - acq_.last_fire_tick);
      if (waited < static_cast<std::int32_t>(acq_.exposure_ticks)) return;
      if (++acq_.next >= acq_.count) {
        finishAcquisition(polscan_wire_Status_STATUS_OK);
      } else {
        startSagMove();
      }
      return;
    }
    case AcqPhase::Spin:
      if (!schedule_.pending()) {
        drainTriggers();  // sets last_fire_tick
        acq_.phase = AcqPhase::SpinExposure;
        return;
      }
      if (pol.busy()) return;
      schedule_.disarm();
      drainTriggers();
      shutdown(polscan_wire_FaultCode_FAULT_TRIGGER_OVERRUN, polscan_wire_Axis_AXIS_POLARIZER,
               "polarizer stopped spinning before every angle was crossed");
      return;
    case AcqPhase::SpinExposure: {
      // StackDone once the last frame is exposed; the polarizer keeps turning for the next stack.
      const auto waited = static_cast<std::int32_t>(ticks_ - acq_.last_fire_tick);
      if (waited < static_cast<std::int32_t>(acq_.exposure_ticks)) return;
      finishAcquisition(polscan_wire_Status_STATUS_OK);
      return;
    }
    case AcqPhase::Stopping:
      if (anyAxisBusy()) return;
      finishAcquisition(polscan_wire_Status_STATUS_ABORTED);
      return;
  }
}

void Instrument::finishAcquisition(polscan_wire_Status status) {
  drainTriggers();
  emitStackDone(event_, status, false);
  acq_.active = false;
  if (acq_.strobe) led_restore_pending_ = true;
}

polscan_wire_Status Instrument::doSetLed(const polscan_wire_SetLed& cmd,
                                         polscan_wire_Reply& reply) {
  Text text(reply.message, sizeof(reply.message));
  const float level = cmd.level;
  if (!std::isfinite(level)) {
    text.add("level must be a number");
    return polscan_wire_Status_STATUS_BAD_REQUEST;
  }
  if (level < 0.0f || level > 1.0f) {
    text.add("level ").add(static_cast<double>(level), 3).add(" outside 0..1");
    return polscan_wire_Status_STATUS_OUT_OF_LIMITS;
  }
  if (faulted() && level > 0.0f) {
    text.add("in safe state after a fault: Home to clear");
    return polscan_wire_Status_STATUS_FAULT;
  }
  if (acq_.active && acq_.strobe) {
    text.add("LED is strobing for a stack");
    return polscan_wire_Status_STATUS_BUSY;
  }
  led_level_ = level;
  board_.led.setLevel(level);
  return polscan_wire_Status_STATUS_OK;
}

polscan_wire_Status Instrument::doGetStatus(polscan_wire_Reply& reply) {
  // An axis the step timer stopped on a fault since the last pass must not read as an axis
  // that simply finished its move: take the fault (safe state, Fault event) first.
  checkTimerFaults();
  reply.which_result = polscan_wire_Reply_device_status_tag;
  polscan_wire_DeviceStatus& s = reply.result.device_status;
  s.axes_count = kAxisCount;
  for (std::size_t i = 0; i < kAxisCount; ++i) {
    const StepperAxis& ax = axes_[i];
    polscan_wire_AxisState& a = s.axes[i];
    a.axis = static_cast<polscan_wire_Axis>(i);
    a.steps = ax.position();
    a.position = i == 0 ? polarizerAngle(a.steps) : a.steps * ax.config().units_per_step;
    a.homed = ax.homed();
    a.moving = ax.busy();
  }
  s.led_level = led_level_;
  s.acquiring = acq_.active;
  s.faults_count = static_cast<pb_size_t>(faults_count_);
  for (std::size_t i = 0; i < faults_count_; ++i) s.faults[i] = faults_[i];
  s.triggers_fired = schedule_.firedTotal();
  return polscan_wire_Status_STATUS_OK;
}

polscan_wire_Status Instrument::doAbort(polscan_wire_Reply& reply) {
  (void)reply;
  spin_sps_ = 0;
  if (acq_.active) {
    schedule_.disarm();
    acq_.phase = AcqPhase::Stopping;
  }
  for (auto& ax : axes_) {
    if (ax.busy()) ax.requestStop();
  }
  return polscan_wire_Status_STATUS_OK;
}

}  // namespace polscan::fw
