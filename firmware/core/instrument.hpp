// The instrument: command dispatch, acquisition sequencing, events and the one safe-state path.
#pragma once

#include <cstddef>
#include <cstdint>

#include "firmware/core/config.hpp"
#include "firmware/core/outbox.hpp"
#include "firmware/core/stepper_axis.hpp"
#include "firmware/core/trigger_schedule.hpp"
#include "firmware/hal/board.hpp"
#include "polscan.pb.h"
#include "proto/framing/reliable_link.hpp"

namespace polscan::fw {

struct InstrumentConfig {
  const char* board = "unknown";   // Info.board
  const char* serial_number = "";  // Info.serial_number
  // Calibration: the polarizer angle assigned at the index sensor's rising edge.
  double index_offset_deg = config::kPolIndexOffsetDeg;
  std::uint8_t session_nonce = 1;  // first ReliableLink session (vary it per boot)
  // Safe state after this long without a frame from the host while moving or lit; 0 = never.
  std::uint32_t host_silence_timeout_ms = config::kHostSilenceTimeoutMs;
  // False: fly-by stacks are refused (an instrument whose camera trigger cannot follow a turning
  // polarizer; the sim's --no-fly-by). Stop-and-go still works.
  bool fly_by = true;
};

// Optional tap for ports that log (the sim's --verbose). Main-loop context only.
class InstrumentObserver {
 public:
  virtual void onCommand(const polscan_wire_HostMessage& msg) = 0;
  virtual void onDeviceMessage(const polscan_wire_DeviceMessage& msg) = 0;

 protected:
  ~InstrumentObserver() = default;
};

inline constexpr std::size_t kAxisCount = 4;  // indexed by polscan_wire_Axis

class Instrument final : private link::ByteSink, private link::PayloadHandler {
 public:
  Instrument(const hal::Board& board, const InstrumentConfig& config);
  Instrument(const Instrument&) = delete;
  Instrument& operator=(const Instrument&) = delete;

  // Step timer: call at exactly config::kStepTimerHz (hardware timer ISR on the MCU). Generates
  // steps and fires triggers; touches only word-sized shared fields.
  void onStepTimer();
  // Main loop: link bytes in and out, command dispatch, events, sequencing. Call often (>= 1 kHz
  // keeps replies and fly-by event latency near a millisecond).
  void poll();

  // The safe state: every motor stops and loses current, LED off, acquisition ended, fault
  // recorded (GetStatus.faults) and reported (Fault event). Only a Home clears it.
  void shutdown(polscan_wire_FaultCode code, polscan_wire_Axis axis, const char* message);

  void setObserver(InstrumentObserver* observer) { observer_ = observer; }

  // Introspection for ports and tests.
  const StepperAxis& axis(polscan_wire_Axis a) const { return axes_[a]; }
  bool faulted() const { return faults_count_ > 0; }
  bool acquiring() const { return acq_.active; }
  const Outbox& outbox() const { return outbox_; }
  const link::ReliableLink& link() const { return link_; }
  std::uint32_t stepTicks() const { return ticks_; }
  std::uint32_t droppedMessages() const { return dropped_; }

 private:
  enum class AcqPhase : std::uint8_t {
    PreMove,       // fly-by: back up to the run-up start
    Run,           // fly-by: continuous rotation through every angle
    SagMove,       // stop-and-go: move to the next angle
    SagWaitFire,   // stop-and-go: standing, trigger armed after settling
    SagExposure,   // stop-and-go: camera exposing
    Spin,          // continuous fly-by: triggers armed on the spinning polarizer
    SpinExposure,  // continuous fly-by: last frame exposing, polarizer keeps turning
    Stopping,      // Abort: ramping down
  };
  struct Acquisition {
    bool active = false;
    bool fly_by = true;
    bool continuous = false;
    std::uint32_t stack_id = 0;
    std::uint32_t count = 0;
    double angles[config::kMaxAngles] = {};
    std::int32_t steps[config::kMaxAngles] = {};  // trigger step counts within one turn
    std::uint32_t exposure_ticks = 0;
    std::uint32_t settle_ticks = 0;
    bool strobe = false;
    float strobe_level = 1.0f;
    std::uint32_t strobe_ticks = 0;  // fly-by strobe length (config::kStrobeMaxDeg of turn)
    std::uint32_t speed_sps = 0;
    std::int32_t run_length = 0;  // fly-by: run-up + first to last angle + run-out
    AcqPhase phase = AcqPhase::PreMove;
    std::uint32_t next = 0;
    std::uint32_t last_fire_tick = 0;
    std::uint32_t frames_reported = 0;
  };

  // link::ByteSink / link::PayloadHandler
  void writeBytes(const std::uint8_t* data, std::size_t n) override;
  void onPayload(const std::uint8_t* data, std::size_t n) override;

  // Commands: fill reply, return its status.
  polscan_wire_Status doGetInfo(polscan_wire_Reply& reply);
  polscan_wire_Status doHome(const polscan_wire_Home& cmd, polscan_wire_Reply& reply);
  polscan_wire_Status doMove(polscan_wire_Axis axis, double target, double speed, bool wrap,
                             polscan_wire_Reply& reply);
  polscan_wire_Status doAcquire(const polscan_wire_AcquireStack& cmd, std::uint32_t stack_id,
                                polscan_wire_Reply& reply);
  polscan_wire_Status doSetLed(const polscan_wire_SetLed& cmd, polscan_wire_Reply& reply);
  polscan_wire_Status doGetStatus(polscan_wire_Reply& reply);
  polscan_wire_Status doAbort(polscan_wire_Reply& reply);
  polscan_wire_Status motionAllowed(polscan_wire_Axis axis, polscan_wire_Reply& reply);

  void emit(polscan_wire_DeviceMessage& msg, bool use_reserve = false);
  void emitStackDone(polscan_wire_DeviceMessage& msg, polscan_wire_Status status, bool use_reserve);
  void drainTriggers();
  void stepAcquisition();
  void finishAcquisition(polscan_wire_Status status);
  void checkTimerFaults();
  void checkHostSilence(std::uint64_t now_us);
  void drainOutbox(std::uint64_t now_us);
  void updateTicks();
  std::uint64_t nowUs();
  std::uint64_t tickToUs(std::uint32_t tick) const;
  bool anyAxisBusy() const;
  bool spinning() const { return spin_sps_ != 0 && axes_[0].busy(); }
  // Continuous fly-by: fills next.steps/angles in firing order from the next crossings of the
  // angles (modulo a half turn) at least lead steps ahead of the polarizer.
  void planContinuous(const std::int32_t* st, std::uint32_t n, std::int32_t lead,
                      Acquisition& next) const;
  double polarizerAngle(std::int32_t steps) const;
  std::int32_t nearestPolarizerSteps(std::int32_t target_in_turn) const;
  std::int32_t forwardPolarizerSteps(std::int32_t target_in_turn) const;
  void startSagMove();
  void recordFault(polscan_wire_FaultCode code);

  hal::Board board_;
  InstrumentConfig config_;
  hal::StepperOutput* outputs_[kAxisCount];
  StepperAxis axes_[kAxisCount];
  TriggerSchedule schedule_;
  Outbox outbox_;
  link::ReliableLink link_;
  InstrumentObserver* observer_ = nullptr;

  volatile std::uint32_t ticks_ = 0;  // step-timer ticks since boot (written by the timer)
  std::uint64_t ticks64_ = 0;         // main loop's 64-bit extension of ticks_
  std::uint32_t axis_faults_seen_[kAxisCount] = {};
  std::uint32_t trigger_faults_seen_ = 0;

  Acquisition acq_;
  std::uint32_t spin_sps_ = 0;  // continuous fly-by: the polarizer's spin speed; 0 = none
  float led_level_ = 0.0f;
  bool led_restore_pending_ = false;  // after a strobed stack, once the timer let go of the LED
  std::uint8_t link_resets_ = 0;
  std::uint32_t frames_heard_ = 0;  // link frames received from the host, last seen count
  std::uint64_t last_heard_us_ = 0;
  polscan_wire_FaultCode faults_[8] = {};
  std::size_t faults_count_ = 0;
  bool overflowed_ = false;
  std::uint32_t dropped_ = 0;

  // Big messages live here, not on the main loop's stack.
  polscan_wire_HostMessage rx_ = polscan_wire_HostMessage_init_zero;
  polscan_wire_DeviceMessage tx_ = polscan_wire_DeviceMessage_init_zero;
  polscan_wire_DeviceMessage event_ = polscan_wire_DeviceMessage_init_zero;
  polscan_wire_DeviceMessage fault_msg_ = polscan_wire_DeviceMessage_init_zero;
  bool in_shutdown_ = false;
  bool draining_triggers_ = false;
  std::uint8_t encode_buf_[link::kMaxPayload] = {};
  std::uint8_t drain_buf_[link::kMaxPayload] = {};
};

}  // namespace polscan::fw
