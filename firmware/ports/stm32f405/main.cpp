// polscan firmware for the STM32F405 (Netduino Plus 2 / qemu netduinoplus2): board set-up, the
// step-timer and USART interrupts, and the main loop around the portable Instrument.
#include <cstdint>

#include "firmware/core/config.hpp"
#include "firmware/core/instrument.hpp"
#include "firmware/mechanics/virtual_mechanics.hpp"
#include "firmware/ports/stm32f405/board_io.hpp"
#include "firmware/ports/stm32f405/platform.hpp"
#include "firmware/ports/stm32f405/regs.hpp"
#include "firmware/ports/stm32f405/timebase.hpp"
#include "firmware/ports/stm32f405/usart_link.hpp"
#include "firmware/ports/stm32f405/usb_descriptors.hpp"
#include "polscan_pinmap.hpp"

#ifndef POLSCAN_FW_VIRTUAL_MECHANICS
#define POLSCAN_FW_VIRTUAL_MECHANICS 0  // 1: virtual mechanics on silicon too (a bare board)
#endif

namespace {

using namespace polscan::fw;
namespace pins = polscan::pinmap;

// Every device is a static object: no heap, and the addresses are fixed for the interrupts.
stm32::SysTickTimebase g_clock;
stm32::SharedEnable g_pol_enable{pins::kPolarizerEnable};
stm32::SharedEnable g_stage_enable{pins::kStageEnable};
stm32::Stm32Stepper g_pol{pins::kPolarizerStep, pins::kPolarizerDir, g_pol_enable, 0};
stm32::Stm32Stepper g_x{pins::kXStep, pins::kXDir, g_stage_enable, 0};
stm32::Stm32Stepper g_y{pins::kYStep, pins::kYDir, g_stage_enable, 1};
stm32::Stm32Stepper g_z{pins::kZStep, pins::kZDir, g_stage_enable, 2};
stm32::Stm32Input g_index{pins::kPolarizerIndex};
stm32::Stm32Input g_limit_x{pins::kXLimit};
stm32::Stm32Input g_limit_y{pins::kYLimit};
stm32::Stm32Input g_limit_z{pins::kZLimit};
stm32::Stm32Trigger g_trigger{pins::kCameraTrigger};
stm32::Stm32Led g_led{pins::kLedPwm};
stm32::UsartLink g_link;

// The qemu stand-in for the mechanics (qemu has no GPIO to read): the same virtual motors and
// sensors as polscan-fwsim, with its start positions (polarizer at 123.4 deg, stages a little
// above their switches), fed by the very step pulses the real pins get.
mechanics::PlainStepper g_vpol{0};
mechanics::PlainStepper g_vx{1600};
mechanics::PlainStepper g_vy{1600};
mechanics::PlainStepper g_vz{5000};
mechanics::VirtualIndexSensor g_vindex{g_vpol, 123.4, config::kPolIndexOffsetDeg};
mechanics::VirtualLimitSwitch g_vlimit_x{g_vx};
mechanics::VirtualLimitSwitch g_vlimit_y{g_vy};
mechanics::VirtualLimitSwitch g_vlimit_z{g_vz};

Instrument* volatile g_instrument = nullptr;
char g_serial[usb::kSerialDigits + 1] = {};

void initPins() {
  // GPIOA, GPIOB, GPIOC clocks.
  stm32::reg(stm32::rcc::kAhb1Enr) |= 0x7u;
  g_pol_enable.init();
  g_stage_enable.init();
  g_pol.init();
  g_x.init();
  g_y.init();
  g_z.init();
  g_index.init();
  g_limit_x.init();
  g_limit_y.init();
  g_limit_z.init();
  g_trigger.init();
  stm32::Pin(pins::kStatusLed).configureOutput(false);
}

// Status LED: blinks at 1 Hz while running, steady on while the instrument is faulted. Written
// only on a change: a GPIO write per loop pass is wasted bus traffic (and an exit under qemu).
void heartbeat(const Instrument& inst) {
  static bool shown = false;
  const bool on = inst.faulted() || ((inst.stepTicks() / (config::kStepTimerHz / 2)) & 1u);
  if (on == shown) return;
  shown = on;
  const stm32::Pin led(pins::kStatusLed);
  if (on) {
    led.high();
  } else {
    led.low();
  }
}

}  // namespace

// The step timer (see timebase.hpp for why SysTick).
extern "C" void SysTick_Handler() {
  g_clock.onInterrupt();
  Instrument* inst = g_instrument;
  if (inst == nullptr) return;
  g_trigger.tick();
  inst->onStepTimer();
}

extern "C" void USART1_IRQHandler() {
  g_link.onInterrupt();
}

int main() {
  const stm32::ClockTree clk = stm32::initClocks();
  initPins();
  g_led.init(clk.apb1_timer_hz);
  g_link.init(clk.apb2_hz);
  g_clock.start(clk.hclk_hz);

  const bool virtual_mechanics = clk.qemu || POLSCAN_FW_VIRTUAL_MECHANICS;
  if (virtual_mechanics) {
    g_pol.mirrorInto(&g_vpol);
    g_x.mirrorInto(&g_vx);
    g_y.mirrorInto(&g_vy);
    g_z.mirrorInto(&g_vz);
  }
  auto input = [virtual_mechanics](hal::DigitalInput& real,
                                   hal::DigitalInput& model) -> hal::DigitalInput& {
    return virtual_mechanics ? model : real;
  };
  const hal::Board board{g_clock,
                         g_pol,
                         g_x,
                         g_y,
                         g_z,
                         input(g_index, g_vindex),
                         input(g_limit_x, g_vlimit_x),
                         input(g_limit_y, g_vlimit_y),
                         input(g_limit_z, g_vlimit_z),
                         g_trigger,
                         g_led,
                         g_link};

  std::uint32_t uid[3];
  stm32::uniqueId(uid);
  usb::serialText(uid, g_serial);
  InstrumentConfig cfg;
  cfg.board = "stm32f405";
  cfg.serial_number = clk.qemu ? "QEMU-NETDUINOPLUS2" : g_serial;
  cfg.session_nonce = stm32::sessionNonce();
  // Constructed here, not before main: its constructor powers the drivers, which needs the GPIO
  // clocks above. A function-local static with a trivial destructor: no atexit, no guard.
  static Instrument instrument(board, cfg);
  g_instrument = &instrument;
  stm32::startWatchdog();

  // poll() every kPollTicks step ticks (5 kHz, over the core's 1 kHz minimum) or as soon as
  // bytes arrive: each pass costs a few thousand instructions, too many for every 50 us tick
  // under qemu.
  constexpr std::uint32_t kPollTicks = 4;
  std::uint32_t last_poll = g_clock.ticks();
  for (;;) {
    const std::uint32_t now = g_clock.ticks();
    if (now - last_poll >= kPollTicks || g_link.rxPending()) {
      last_poll = now;
      instrument.poll();
      heartbeat(instrument);
    }
    g_link.pump();
    stm32::feedWatchdog();
    // Sleep until the next interrupt: the step timer wakes the loop every 50 us, a received
    // byte at once. (Under qemu this also frees the host CPU.)
    __asm volatile("wfi");
  }
}
