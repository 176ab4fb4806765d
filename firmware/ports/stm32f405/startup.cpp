// Cortex-M4 start-up for the STM32F405: vector table, reset handler (.data, .bss, FPU, static
// constructors) and the fault handlers that end in the firmware's halt path.
#include <cstdint>

#include "firmware/ports/stm32f405/platform.hpp"
#include "firmware/ports/stm32f405/regs.hpp"

extern "C" {
// Linker script symbols.
extern std::uint32_t __data_start;
extern std::uint32_t __data_end;
extern std::uint32_t __data_load;
extern std::uint32_t __bss_start;
extern std::uint32_t __bss_end;
extern std::uint32_t _estack;
using InitFn = void (*)();
extern InitFn __preinit_array_start[];
extern InitFn __preinit_array_end[];
extern InitFn __init_array_start[];
extern InitFn __init_array_end[];

int main();
void Reset_Handler();
void Default_Handler();
void HardFault_Handler();
// Handlers the port defines; the rest fall through to Default_Handler.
void SysTick_Handler();
void USART1_IRQHandler();
}

namespace {
using Vector = void (*)();
constexpr unsigned kVectorCount = 16 + 82;  // system exceptions + STM32F405 interrupts

// Word 0 is the initial stack pointer (an address, not a handler), then the handlers.
struct VectorTable {
  const void* sp;
  Vector handlers[kVectorCount - 1];
};

constexpr VectorTable makeTable() {
  VectorTable t{&_estack, {}};
  // handlers[n - 1] is exception number n.
  for (auto& h : t.handlers) h = Default_Handler;
  t.handlers[0] = Reset_Handler;
  for (unsigned n = 3; n <= 6; ++n)
    t.handlers[n - 1] = HardFault_Handler;                         // + MemManage,
                                                                   // BusFault, Usage
  for (unsigned n = 7; n <= 10; ++n) t.handlers[n - 1] = nullptr;  // reserved
  t.handlers[13 - 1] = nullptr;                                    // reserved
  t.handlers[15 - 1] = SysTick_Handler;
  t.handlers[16 + polscan::fw::stm32::kIrqUsart1 - 1] = USART1_IRQHandler;
  return t;
}
}  // namespace

// Placed at 0x08000000 by the linker script (KEEP: nothing references it).
__attribute__((section(".isr_vector"), used)) constexpr VectorTable g_vectors = makeTable();

extern "C" void Reset_Handler() {
  // FPU on first: compiled code (even static constructors) may use FP registers.
  polscan::fw::stm32::reg(polscan::fw::stm32::kScbCpacr) |= (0xFu << 20);
  __asm volatile("dsb\n isb" ::: "memory");

  const std::uint32_t* src = &__data_load;
  for (std::uint32_t* dst = &__data_start; dst < &__data_end;) *dst++ = *src++;
  for (std::uint32_t* dst = &__bss_start; dst < &__bss_end;) *dst++ = 0;

  for (InitFn* f = __preinit_array_start; f < __preinit_array_end; ++f) (*f)();
  for (InitFn* f = __init_array_start; f < __init_array_end; ++f) (*f)();

  main();
  polscan::fw::stm32::halt();
}

extern "C" void Default_Handler() {
  polscan::fw::stm32::halt();
}

extern "C" void HardFault_Handler() {
  polscan::fw::stm32::halt();
}
