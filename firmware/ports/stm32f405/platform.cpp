// STM32F405 platform services: clock tree set-up with bounded waits, qemu detection, watchdog,
// per-boot nonce and the hardware halt path.
#include "firmware/ports/stm32f405/platform.hpp"

#include "firmware/ports/stm32f405/board_io.hpp"
#include "firmware/ports/stm32f405/regs.hpp"

#ifndef POLSCAN_HSE_HZ
#define POLSCAN_HSE_HZ 25000000  // Netduino Plus 2 crystal
#endif

namespace polscan::fw::stm32 {

namespace {

ClockTree g_clocks;

// Reset counter in RAM that start-up does not clear; the magic tells a warm reset (counter
// valid) from power-up (garbage).
struct BootRecord {
  std::uint32_t magic;
  std::uint32_t count;
};
__attribute__((section(".noinit"))) BootRecord g_boot;
constexpr std::uint32_t kBootMagic = 0x706F6C73;  // "pols"

// Spins until (reg & mask) == want or the budget runs out. Counted in loop iterations: this
// runs before any timer is set up, and the bound only has to be long enough (HSE start-up is
// specified at up to 100 ms, PLL lock well under 1 ms; ~2 M iterations at 16 MHz is >250 ms).
bool waitFor(std::uintptr_t addr, std::uint32_t mask, std::uint32_t want) {
  for (std::uint32_t i = 0; i < 2000000u; ++i) {
    if ((reg(addr) & mask) == want) return true;
  }
  return false;
}

// PLL from the selected source: input divided to 1 MHz, VCO 336 MHz, /2 = 168 MHz, /7 = 48 MHz.
bool startPll(bool from_hse, std::uint32_t input_hz) {
  const std::uint32_t m = input_hz / 1000000u;
  const std::uint32_t n = 336;
  const std::uint32_t p_bits = 0;  // P = 2
  const std::uint32_t q = 7;
  reg(rcc::kPllCfgr) =
      m | (n << 6) | (p_bits << 16) | (from_hse ? rcc::kPllSrcHse : 0u) | (q << 24);
  reg(rcc::kCr) |= rcc::kCrPllOn;
  return waitFor(rcc::kCr, rcc::kCrPllRdy, rcc::kCrPllRdy);
}

}  // namespace

bool runningInQemu() {
  return reg(rcc::kCr) == 0;
}

ClockTree initClocks() {
  ClockTree t;
  if (runningInQemu()) {
    // qemu's netduinoplus2: SYSCLK 168 MHz feeds the CPU and SysTick; TIM2..5 count at a fixed
    // 1 GHz whatever the RCC says; the USART ignores its baud rate.
    t.qemu = true;
    t.hclk_hz = 168000000;
    t.apb1_timer_hz = 1000000000;
    t.apb2_hz = 84000000;
    g_clocks = t;
    return t;
  }
  // Regulator scale 1 and flash wait states before raising the clock.
  reg(rcc::kApb1Enr) |= rcc::kApb1Pwr;
  reg(pwr::kCr) |= pwr::kCrVos;
  reg(rcc::kCr) |= rcc::kCrHseOn;
  t.hse = waitFor(rcc::kCr, rcc::kCrHseRdy, rcc::kCrHseRdy);
  if (!t.hse) reg(rcc::kCr) &= ~rcc::kCrHseOn;
  t.pll = startPll(t.hse, t.hse ? POLSCAN_HSE_HZ : 16000000u);
  if (t.pll) {
    reg(flash::kAcr) = flash::kAcr168MHz;
    reg(rcc::kCfgr) = rcc::kCfgrPpre1Div4 | rcc::kCfgrPpre2Div2 | rcc::kCfgrSwPll;
    if (waitFor(rcc::kCfgr, rcc::kCfgrSwsMask, rcc::kCfgrSwsPll)) {
      t.hclk_hz = 168000000;
      t.apb1_timer_hz = 84000000;  // APB1 42 MHz, timers x2 because its prescaler is not 1
      t.apb2_hz = 84000000;
    } else {
      t.pll = false;
      reg(rcc::kCfgr) = 0;  // back to the HSI, all prescalers 1
    }
  }
  g_clocks = t;
  return t;
}

const ClockTree& clocks() {
  return g_clocks;
}

void startWatchdog() {
  // qemu maps no DBGMCU (and no IWDG: the writes below go to an unimplemented device).
  if (!clocks().qemu) reg(dbgmcu::kApb1Fz) |= dbgmcu::kIwdgStop;
  reg(iwdg::kKr) = iwdg::kKeyStart;  // starts the LSI too
  reg(iwdg::kKr) = iwdg::kKeyUnlock;
  reg(iwdg::kPr) = 3;  // LSI (~32 kHz) / 32 = 1 kHz
  reg(iwdg::kRlr) = 500;
  reg(iwdg::kKr) = iwdg::kKeyFeed;
}

void uniqueId(std::uint32_t out[3]) {
  const bool emulated = clocks().qemu || runningInQemu();
  for (unsigned i = 0; i < 3; ++i) out[i] = emulated ? 0u : reg(kUid + 4u * i);
}

std::uint8_t sessionNonce() {
  if (g_boot.magic != kBootMagic) {
    g_boot.magic = kBootMagic;
    g_boot.count = 0;
  }
  ++g_boot.count;
  std::uint32_t id[3];
  uniqueId(id);
  // The SysTick phase after the (variable-length) clock and link start-up, and the reset flags.
  std::uint32_t h = 2166136261u;
  const std::uint32_t words[] = {g_boot.count, id[0],          id[1],
                                 id[2],        reg(rcc::kCsr), reg(systick::kCvr)};
  for (std::uint32_t w : words) {
    for (int b = 0; b < 4; ++b) {
      h ^= (w >> (8 * b)) & 0xFFu;
      h *= 16777619u;
    }
  }
  const auto n = static_cast<std::uint8_t>(h ^ (h >> 8) ^ (h >> 16) ^ (h >> 24));
  return n == 0 ? 1 : n;
}

void halt() {
  disableInterrupts();
  safeOutputs();
  for (;;) {
    __asm volatile("wfi");
  }
}

}  // namespace polscan::fw::stm32
