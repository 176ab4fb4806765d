// Mechanics and timing of the polscan instrument: the one place these numbers live in firmware.
#pragma once

#include <cstdint>

namespace polscan::fw::config {

// ---- timing ----
// Step timer rate: every step, trigger and strobe edge happens on one of these ticks.
inline constexpr std::uint32_t kStepTimerHz = 20000;
inline constexpr std::uint32_t kUsPerStepTick = 1000000 / kStepTimerHz;
static_assert(1000000 % kStepTimerHz == 0, "tick length must be a whole number of microseconds");

// Host silence: no frame at all (commands, acks, keep-alives) from the host for this long while
// a motor turns or the LED is lit puts the instrument in its safe state (FAULT_HOST_TIMEOUT).
// The host sends a keep-alive every 250 ms when it has nothing else to say.
inline constexpr std::uint32_t kHostSilenceTimeoutMs = 2000;

// ---- polarizer: 1.8 deg motor x 16 microsteps x 3:1 belt ----
inline constexpr std::int32_t kPolStepsPerRev = 200 * 16 * 3;      // 9600
inline constexpr double kPolDegPerStep = 360.0 / kPolStepsPerRev;  // 0.0375
inline constexpr double kPolMaxSpeedDegS = 720.0;
inline constexpr double kPolAccelDegS2 = 7200.0;
inline constexpr double kPolHomeSpeedDegS = 45.0;
// Homing gives up (FAULT_HOMING_INDEX_NOT_FOUND) after this many turns without an index edge.
inline constexpr std::int32_t kPolHomeSearchTurns = 2;
// Default calibration: mechanical angle of the index sensor's rising edge (turning forward).
inline constexpr double kPolIndexOffsetDeg = 0.0;
// An index edge this far from where the step count expects it means lost steps.
inline constexpr std::int32_t kPolMissedStepTolerance = 2;

// ---- X/Y stage: 2 mm lead screw x 200 x 16 ----
inline constexpr double kXyUmPerStep = 2000.0 / (200 * 16);  // 0.625
inline constexpr double kXMaxUm = 75000.0;
inline constexpr double kYMaxUm = 25000.0;
inline constexpr double kXyMaxSpeedUmS = 10000.0;
inline constexpr double kXyAccelUmS2 = 100000.0;
inline constexpr double kXyHomeSpeedUmS = 5000.0;

// ---- Z focus ----
inline constexpr double kZUmPerStep = 0.1;
inline constexpr double kZMaxUm = 5000.0;
inline constexpr double kZMaxSpeedUmS = 1000.0;
inline constexpr double kZAccelUmS2 = 10000.0;
inline constexpr double kZHomeSpeedUmS = 500.0;

// Linear axes: the limit switch closes one microstep below 0, so homing sets the position to -1
// at the switch edge and backs off to 0; soft limits [0, max] then never touch the switch.
inline constexpr std::int32_t kLimitSwitchSteps = -1;

// ---- acquisition ----
inline constexpr std::uint32_t kMaxAngles = 64;
inline constexpr std::uint32_t kDefaultSettleMs = 50;
inline constexpr std::uint32_t kTriggerPulseUs = 20;
// Fly-by speed chosen from the exposure: the closest two angles take this much more than one
// exposure, so the camera is ready for the next trigger.
inline constexpr double kFlyByExposureMargin = 1.25;
inline constexpr double kFlyByMinSpeedDegS = 1.0;
// Fly-by with the LED strobed: the LED is lit from each trigger while the polarizer turns at
// most this far (or for the exposure, if shorter), so a frame integrates over <= 0.5 deg.
inline constexpr double kStrobeMaxDeg = 0.5;
// Extra run-up/run-out beyond the acceleration distance (steps) so every trigger is at cruise.
inline constexpr std::int32_t kFlyByRunMarginSteps = 32;
// Continuous fly-by: the first trigger of a stack on the spinning polarizer is at least this far
// ahead (time at the spin speed, at least kFlyByRunMarginSteps), so the step timer has taken
// the armed schedule before the polarizer gets there even when the main loop runs late.
inline constexpr double kSpinLeadS = 0.010;
// A spin is a forward move this long (about 17 hours at the top speed); Abort ends it.
inline constexpr std::int32_t kSpinSteps = 1 << 30;

// ---- buffers (no heap: fixed at build time) ----
// A port short of RAM may shrink these at build time (the STM32F405 image: 4096 and 64, to stay
// within its 20 KiB static RAM budget; its UART drains events faster than a fly-by makes them).
#ifndef POLSCAN_FW_OUTBOX_BYTES
#define POLSCAN_FW_OUTBOX_BYTES 8192  // about 90 TriggerFired messages
#endif
#ifndef POLSCAN_FW_TRIGGER_RING_SIZE
#define POLSCAN_FW_TRIGGER_RING_SIZE 128
#endif
inline constexpr std::uint32_t kOutboxBytes = POLSCAN_FW_OUTBOX_BYTES;
inline constexpr std::uint32_t kTriggerRingSize = POLSCAN_FW_TRIGGER_RING_SIZE;
// One whole stack's trigger records fit even if the main loop falls behind for the whole stack.
static_assert(kTriggerRingSize >= kMaxAngles, "trigger ring smaller than a stack");

constexpr std::uint32_t stepsPerSecond(double units_per_s, double units_per_step) {
  return static_cast<std::uint32_t>(units_per_s / units_per_step + 0.5);
}

// The DDA emits at most one step per tick per axis.
static_assert(stepsPerSecond(kPolMaxSpeedDegS, kPolDegPerStep) < kStepTimerHz, "polarizer");
static_assert(stepsPerSecond(kXyMaxSpeedUmS, kXyUmPerStep) < kStepTimerHz, "xy");
static_assert(stepsPerSecond(kZMaxSpeedUmS, kZUmPerStep) < kStepTimerHz, "z");

inline constexpr const char* kFirmwareVersion = "0.1.0";

}  // namespace polscan::fw::config
