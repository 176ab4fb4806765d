// Time on the STM32F405: SysTick is both the step timer (config::kStepTimerHz interrupt) and,
// with its down-counter for the fraction of a tick, the HAL clock.
#pragma once

#include <cstdint>

#include "firmware/hal/clock.hpp"

namespace polscan::fw::stm32 {

// Why SysTick and not TIM2: qemu 7.2's STM32 timer model re-arms its update interrupt after a
// delay equal to the time at which the timer was enabled, not after one period, so a TIM2 step
// timer would tick at tens of Hz in the emulator. SysTick is a core peripheral, emulated exactly
// and identical on silicon, and running the step timer and the clock from one counter makes the
// core's "same oscillator" rule hold by construction.
class SysTickTimebase final : public hal::Clock {
 public:
  // Periodic interrupt at config::kStepTimerHz from the core clock, highest priority.
  void start(std::uint32_t hclk_hz);
  // Main-loop context only. Microseconds (the tick count times 50 us plus the down-counter's
  // fraction): the core converts now() to microseconds on every loop pass, and a 1 MHz rate
  // spares it 64-bit divisions by 168 MHz.
  std::uint64_t now() override;
  std::uint32_t tickHz() const override { return 1000000; }
  std::uint32_t ticks() const { return ticks_; }
  // SysTick handler: counts the tick (before the instrument's work for it).
  void onInterrupt() { ticks_ = ticks_ + 1; }
  std::uint32_t reload() const { return span_; }

 private:
  std::uint32_t span_ = 1;            // core clocks per step tick
  volatile std::uint32_t ticks_ = 0;  // written by the interrupt
  std::uint32_t last_ticks_ = 0;      // main loop's 64-bit extension
  std::uint64_t ticks64_ = 0;
};

}  // namespace polscan::fw::stm32
