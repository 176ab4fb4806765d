// SysTick step timer and clock.
#include "firmware/ports/stm32f405/timebase.hpp"

#include "firmware/core/config.hpp"
#include "firmware/ports/stm32f405/regs.hpp"

namespace polscan::fw::stm32 {

void SysTickTimebase::start(std::uint32_t hclk_hz) {
  // 168 MHz / 20 kHz = 8400 exactly; the 24-bit reload holds any clock up to 335 GHz / 20 kHz.
  span_ = (hclk_hz + config::kStepTimerHz / 2) / config::kStepTimerHz;
  reg(systick::kCsr) = 0;
  reg(systick::kRvr) = span_ - 1u;
  reg(systick::kCvr) = 0;
  // Priority 0 (SHPR3 bits 31:24): steps and triggers must not wait for the UART.
  reg(kScbShpr3) = reg(kScbShpr3) & 0x00FFFFFFu;
  reg(systick::kCsr) = systick::kCsrEnable | systick::kCsrTickInt | systick::kCsrClkCpu;
}

std::uint64_t SysTickTimebase::now() {
  // A reload between the two reads is taken at once (SysTick pre-empts thread mode) and changes
  // ticks_, so the pair is read again: the result never goes backwards.
  std::uint32_t ticks;
  std::uint32_t value;
  do {
    ticks = ticks_;
    value = reg(systick::kCvr);
  } while (ticks != ticks_);
  ticks64_ += ticks - last_ticks_;
  last_ticks_ = ticks;
  return ticks64_ * config::kUsPerStepTick + (span_ - 1u - value) * config::kUsPerStepTick / span_;
}

}  // namespace polscan::fw::stm32
