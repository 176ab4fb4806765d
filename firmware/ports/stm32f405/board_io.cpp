// STM32F405 board I/O: GPIO register access for the HAL devices of the port.
#include "firmware/ports/stm32f405/board_io.hpp"

#include "firmware/ports/stm32f405/regs.hpp"

namespace polscan::fw::stm32 {

namespace {
constexpr std::uintptr_t portBase(char port) {
  return gpio::port(port);
}

// Both 2-bit fields (MODER, PUPDR, OSPEEDR) use the same layout.
void setField2(std::uintptr_t addr, std::uint8_t pin, std::uint32_t value) {
  const std::uint32_t shift = 2u * pin;
  reg(addr) = (reg(addr) & ~(3u << shift)) | (value << shift);
}
}  // namespace

void Pin::high() const {
  reg(portBase(port_) + gpio::kBsrr) = 1u << number_;
}

void Pin::low() const {
  reg(portBase(port_) + gpio::kBsrr) = 1u << (number_ + 16u);
}

bool Pin::level() const {
  return (reg(portBase(port_) + gpio::kIdr) >> number_) & 1u;
}

void Pin::configureOutput(bool initial_high) const {
  if (initial_high) {
    high();
  } else {
    low();
  }
  setField2(portBase(port_) + gpio::kOspeedr, number_, 2);  // fast edges for step pulses
  setField2(portBase(port_) + gpio::kModer, number_, 1);
}

void Pin::configureInput(bool pull_up) const {
  setField2(portBase(port_) + gpio::kPupdr, number_, pull_up ? 1u : 0u);
  setField2(portBase(port_) + gpio::kModer, number_, 0);
}

void Pin::configureAltFunction(std::uint8_t af) const {
  const std::uintptr_t afr = portBase(port_) + (number_ < 8 ? gpio::kAfrl : gpio::kAfrh);
  const std::uint32_t shift = 4u * (number_ % 8u);
  reg(afr) = (reg(afr) & ~(0xFu << shift)) | (static_cast<std::uint32_t>(af) << shift);
  setField2(portBase(port_) + gpio::kOspeedr, number_, 2);
  setField2(portBase(port_) + gpio::kModer, number_, 2);
}

// Called from both contexts (main loop Home, timer shutdown): the read-modify-write of the
// users mask runs with interrupts masked.
void SharedEnable::set(std::uint8_t user_bit, bool on) {
  std::uint32_t primask;
  __asm volatile("mrs %0, primask\n cpsid i" : "=r"(primask)::"memory");
  const auto mask = static_cast<std::uint8_t>(1u << user_bit);
  users_ = static_cast<std::uint8_t>(on ? (users_ | mask) : (users_ & ~mask));
  if (users_ != 0) {
    pin_.low();
  } else {
    pin_.high();
  }
  __asm volatile("msr primask, %0" ::"r"(primask) : "memory");
}

void Stm32Stepper::init() const {
  step_.configureOutput(false);
  dir_.configureOutput(false);
}

void Stm32Stepper::step() {
  step_.high();
  // The TMC2209 wants >= 100 ns high: a few bus writes' worth at 168 MHz.
  for (int i = 0; i < 4; ++i) __asm volatile("nop");
  step_.low();
  if (model_ != nullptr) model_->step();
}

void Stm32Stepper::setDirection(bool positive) {
  if (positive) {
    dir_.high();
  } else {
    dir_.low();
  }
  if (model_ != nullptr) model_->setDirection(positive);
}

void Stm32Stepper::enable(bool on) {
  enable_.set(enable_bit_, on);
  if (model_ != nullptr) model_->enable(on);
}

void Stm32Trigger::pulse(std::uint32_t width_us) {
  pin_.high();
  ++pulses_;
  ticks_left_ = (width_us + 49u) / 50u;
  if (ticks_left_ == 0) ticks_left_ = 1;
}

void Stm32Trigger::tick() {
  if (ticks_left_ == 0) return;
  if (--ticks_left_ == 0) pin_.low();
}

void Stm32Led::init(std::uint32_t timer_clock_hz) {
  reg(rcc::kApb1Enr) |= rcc::kApb1Tim12;
  period_ = timer_clock_hz / 20000u;
  const std::uintptr_t t = kTim12;
  reg(t + tim::kPsc) = 0;
  reg(t + tim::kArr) = period_ - 1u;
  reg(t + tim::kCcr1) = 0;
  reg(t + tim::kCcmr1) = (6u << 4) | (1u << 3);  // PWM mode 1, preload
  reg(t + tim::kCcer) = 1u;                      // CC1 output enabled, active high
  reg(t + tim::kEgr) = tim::kEgrUg;
  reg(t + tim::kCr1) = tim::kCr1Cen | tim::kCr1Arpe;
  pin_.configureAltFunction(pinmap::kLedPwm.af);
}

void Stm32Led::setLevel(float level) {
  if (!(level > 0.0f)) level = 0.0f;  // also catches NaN
  if (level > 1.0f) level = 1.0f;
  reg(kTim12 + tim::kCcr1) = static_cast<std::uint32_t>(level * static_cast<float>(period_));
}

void Stm32Led::forceOff() const {
  reg(kTim12 + tim::kCcr1) = 0;
}

void safeOutputs() {
  // Drivers' enable lines are active low: high removes motor current.
  Pin(pinmap::kPolarizerEnable).high();
  Pin(pinmap::kStageEnable).high();
  Pin(pinmap::kCameraTrigger).low();
  reg(kTim12 + tim::kCcr1) = 0;
}

}  // namespace polscan::fw::stm32
