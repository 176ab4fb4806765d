// STM32F405 platform services: clock tree, qemu detection, interrupts, the hardware halt path.
#pragma once

#include <cstdint>

namespace polscan::fw::stm32 {

// The clocks the port runs from, as set up by initClocks().
struct ClockTree {
  std::uint32_t hclk_hz = 16000000;        // core, SysTick
  std::uint32_t apb1_timer_hz = 16000000;  // TIM2..TIM7, TIM12..TIM14
  std::uint32_t apb2_hz = 16000000;        // USART1
  bool hse = false;                        // external crystal running
  bool pll = false;                        // PLL locked and selected
  bool qemu = false;                       // emulated SoC (see runningInQemu)
};

// True under qemu's netduinoplus2 machine. Its RCC is an unimplemented device that reads 0,
// while on silicon RCC_CR always shows the HSI on and ready after reset (we never stop it).
bool runningInQemu();

// HSE (POLSCAN_HSE_HZ) -> PLL -> 168 MHz, APB1 42 MHz (timers 84 MHz), APB2 84 MHz, 48 MHz for
// USB. Falls back to the HSI through the PLL when the crystal does not start, and to the bare
// HSI (16 MHz) when the PLL does not lock; every wait is bounded. Under qemu nothing is
// programmed: the emulated clocks are fixed (core 168 MHz, timers 1 GHz).
ClockTree initClocks();
const ClockTree& clocks();

inline void disableInterrupts() {
  __asm volatile("cpsid i" ::: "memory");
}
inline void enableInterrupts() {
  __asm volatile("cpsie i" ::: "memory");
}

// Last resort (hard fault, a boost::throw_exception, main returning): motor drivers disabled,
// LED and trigger off, interrupts off, then wait for the independent watchdog to reset the chip
// (forever under qemu, which has no IWDG). The core's own fault path is Instrument::shutdown.
[[noreturn]] void halt();

// Independent watchdog: about 0.5 s from the LSI; started once, fed from the main loop.
void startWatchdog();
inline void feedWatchdog();

// Varies per boot where the hardware allows: a reset counter kept in uninitialised RAM, the
// reset cause, the chip's unique ID (silicon only) and the phase of free-running counters.
std::uint8_t sessionNonce();

// The 96-bit unique device ID (silicon), or zeros under qemu (which does not map it).
void uniqueId(std::uint32_t out[3]);

}  // namespace polscan::fw::stm32

#include "firmware/ports/stm32f405/regs.hpp"

namespace polscan::fw::stm32 {
inline void feedWatchdog() {
  reg(iwdg::kKr) = iwdg::kKeyFeed;
}
}  // namespace polscan::fw::stm32
