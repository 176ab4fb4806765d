// STM32F405 register addresses and bits used by the port (hand-written from RM0090, only these).
#pragma once

#include <cstdint>

namespace polscan::fw::stm32 {

// One 32-bit memory-mapped register; volatile so every access reaches the bus.
inline volatile std::uint32_t& reg(std::uintptr_t addr) {
  return *reinterpret_cast<volatile std::uint32_t*>(addr);
}

// ---- base addresses ----
inline constexpr std::uintptr_t kTim12 = 0x40001800;
inline constexpr std::uintptr_t kIwdg = 0x40003000;
inline constexpr std::uintptr_t kPwr = 0x40007000;
inline constexpr std::uintptr_t kTim1 = 0x40010000;
inline constexpr std::uintptr_t kUsart1 = 0x40011000;
inline constexpr std::uintptr_t kGpioA = 0x40020000;  // + 0x400 per port (A..I)
inline constexpr std::uintptr_t kRcc = 0x40023800;
inline constexpr std::uintptr_t kFlashR = 0x40023C00;
inline constexpr std::uintptr_t kDbgMcu = 0xE0042000;
inline constexpr std::uintptr_t kUid = 0x1FFF7A10;  // 96-bit unique device ID
inline constexpr std::uintptr_t kSysTick = 0xE000E010;
inline constexpr std::uintptr_t kNvicIser = 0xE000E100;
inline constexpr std::uintptr_t kNvicIpr = 0xE000E400;
inline constexpr std::uintptr_t kScbCpacr = 0xE000ED88;
inline constexpr std::uintptr_t kScbAircr = 0xE000ED0C;
inline constexpr std::uintptr_t kScbShpr3 = 0xE000ED20;

// ---- RCC ----
namespace rcc {
inline constexpr std::uintptr_t kCr = kRcc + 0x00;
inline constexpr std::uintptr_t kPllCfgr = kRcc + 0x04;
inline constexpr std::uintptr_t kCfgr = kRcc + 0x08;
inline constexpr std::uintptr_t kAhb1Enr = kRcc + 0x30;
inline constexpr std::uintptr_t kApb1Enr = kRcc + 0x40;
inline constexpr std::uintptr_t kApb2Enr = kRcc + 0x44;
inline constexpr std::uintptr_t kCsr = kRcc + 0x74;
inline constexpr std::uint32_t kCrHsiOn = 1u << 0;
inline constexpr std::uint32_t kCrHsiRdy = 1u << 1;
inline constexpr std::uint32_t kCrHseOn = 1u << 16;
inline constexpr std::uint32_t kCrHseRdy = 1u << 17;
inline constexpr std::uint32_t kCrPllOn = 1u << 24;
inline constexpr std::uint32_t kCrPllRdy = 1u << 25;
inline constexpr std::uint32_t kPllSrcHse = 1u << 22;
inline constexpr std::uint32_t kCfgrSwPll = 2u;
inline constexpr std::uint32_t kCfgrSwsMask = 3u << 2;
inline constexpr std::uint32_t kCfgrSwsPll = 2u << 2;
inline constexpr std::uint32_t kCfgrPpre1Div4 = 5u << 10;
inline constexpr std::uint32_t kCfgrPpre2Div2 = 4u << 13;
inline constexpr std::uint32_t kApb1Tim12 = 1u << 6;
inline constexpr std::uint32_t kApb1Pwr = 1u << 28;
inline constexpr std::uint32_t kApb2Tim1 = 1u << 0;
inline constexpr std::uint32_t kApb2Usart1 = 1u << 4;
inline constexpr std::uint32_t kCsrLsiOn = 1u << 0;
}  // namespace rcc

namespace flash {
inline constexpr std::uintptr_t kAcr = kFlashR + 0x00;
// 5 wait states at 168 MHz / 3.3 V, with prefetch and both caches.
inline constexpr std::uint32_t kAcr168MHz = 5u | (1u << 8) | (1u << 9) | (1u << 10);
}  // namespace flash

namespace pwr {
inline constexpr std::uintptr_t kCr = kPwr + 0x00;
inline constexpr std::uint32_t kCrVos = 1u << 14;  // regulator scale 1 (needed for 168 MHz)
}  // namespace pwr

// ---- GPIO (per port) ----
namespace gpio {
inline constexpr std::uintptr_t port(char letter) {
  return kGpioA + 0x400u * static_cast<std::uintptr_t>(letter - 'A');
}
inline constexpr std::uintptr_t kModer = 0x00;
inline constexpr std::uintptr_t kOspeedr = 0x08;
inline constexpr std::uintptr_t kPupdr = 0x0C;
inline constexpr std::uintptr_t kIdr = 0x10;
inline constexpr std::uintptr_t kBsrr = 0x18;
inline constexpr std::uintptr_t kAfrl = 0x20;
inline constexpr std::uintptr_t kAfrh = 0x24;
}  // namespace gpio

// ---- general-purpose / advanced timers (common layout) ----
namespace tim {
inline constexpr std::uintptr_t kCr1 = 0x00;
inline constexpr std::uintptr_t kDier = 0x0C;
inline constexpr std::uintptr_t kSr = 0x10;
inline constexpr std::uintptr_t kEgr = 0x14;
inline constexpr std::uintptr_t kCcmr1 = 0x18;
inline constexpr std::uintptr_t kCcer = 0x20;
inline constexpr std::uintptr_t kCnt = 0x24;
inline constexpr std::uintptr_t kPsc = 0x28;
inline constexpr std::uintptr_t kArr = 0x2C;
inline constexpr std::uintptr_t kCcr1 = 0x34;
inline constexpr std::uintptr_t kBdtr = 0x44;
inline constexpr std::uint32_t kCr1Cen = 1u << 0;
inline constexpr std::uint32_t kCr1Urs = 1u << 2;
inline constexpr std::uint32_t kCr1Opm = 1u << 3;
inline constexpr std::uint32_t kCr1Arpe = 1u << 7;
inline constexpr std::uint32_t kDierUie = 1u << 0;
inline constexpr std::uint32_t kSrUif = 1u << 0;
inline constexpr std::uint32_t kEgrUg = 1u << 0;
}  // namespace tim

// ---- USART ----
namespace usart {
inline constexpr std::uintptr_t kSr = 0x00;
inline constexpr std::uintptr_t kDr = 0x04;
inline constexpr std::uintptr_t kBrr = 0x08;
inline constexpr std::uintptr_t kCr1 = 0x0C;
inline constexpr std::uint32_t kSrOre = 1u << 3;
inline constexpr std::uint32_t kSrRxne = 1u << 5;
inline constexpr std::uint32_t kSrTxe = 1u << 7;
inline constexpr std::uint32_t kCr1Re = 1u << 2;
inline constexpr std::uint32_t kCr1Te = 1u << 3;
inline constexpr std::uint32_t kCr1RxneIe = 1u << 5;
inline constexpr std::uint32_t kCr1Ue = 1u << 13;
}  // namespace usart

// ---- IWDG ----
namespace iwdg {
inline constexpr std::uintptr_t kKr = kIwdg + 0x00;
inline constexpr std::uintptr_t kPr = kIwdg + 0x04;
inline constexpr std::uintptr_t kRlr = kIwdg + 0x08;
inline constexpr std::uint32_t kKeyUnlock = 0x5555;
inline constexpr std::uint32_t kKeyFeed = 0xAAAA;
inline constexpr std::uint32_t kKeyStart = 0xCCCC;
}  // namespace iwdg

namespace dbgmcu {
inline constexpr std::uintptr_t kApb1Fz = kDbgMcu + 0x08;
inline constexpr std::uint32_t kIwdgStop = 1u << 12;  // watchdog paused while halted in a debugger
}  // namespace dbgmcu

// ---- SysTick ----
namespace systick {
inline constexpr std::uintptr_t kCsr = kSysTick + 0x00;
inline constexpr std::uintptr_t kRvr = kSysTick + 0x04;
inline constexpr std::uintptr_t kCvr = kSysTick + 0x08;
inline constexpr std::uint32_t kCsrEnable = 1u << 0;
inline constexpr std::uint32_t kCsrTickInt = 1u << 1;
inline constexpr std::uint32_t kCsrClkCpu = 1u << 2;
inline constexpr std::uint32_t kCsrCountFlag = 1u << 16;
}  // namespace systick

// ---- interrupt numbers (position in the vector table after the 16 system entries) ----
inline constexpr unsigned kIrqUsart1 = 37;

inline void nvicEnable(unsigned irq) {
  reg(kNvicIser + 4u * (irq / 32u)) = 1u << (irq % 32u);
}
// priority: 0 (highest) .. 15, in the 4 implemented upper bits.
inline void nvicPriority(unsigned irq, unsigned priority) {
  volatile auto* ipr = reinterpret_cast<volatile std::uint8_t*>(kNvicIpr);
  ipr[irq] = static_cast<std::uint8_t>(priority << 4);
}

}  // namespace polscan::fw::stm32
