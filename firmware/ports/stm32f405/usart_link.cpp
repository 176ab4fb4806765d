// USART1 host link: register-level driver for the STM32F405 (and qemu's model of it).
#include "firmware/ports/stm32f405/usart_link.hpp"

#include "firmware/ports/stm32f405/board_io.hpp"
#include "firmware/ports/stm32f405/regs.hpp"
#include "polscan_pinmap.hpp"

namespace polscan::fw::stm32 {

namespace {
constexpr std::uintptr_t kSr = kUsart1 + usart::kSr;
constexpr std::uintptr_t kDr = kUsart1 + usart::kDr;
}  // namespace

std::uint8_t UsartLink::rx_[UsartLink::kRxSize];
std::uint8_t UsartLink::tx_[UsartLink::kTxSize];

void UsartLink::init(std::uint32_t pclk_hz) {
  reg(rcc::kApb2Enr) |= rcc::kApb2Usart1;
  Pin(pinmap::kUsart1Tx).configureAltFunction(pinmap::kUsart1Tx.af);
  Pin(pinmap::kUsart1Rx).configureAltFunction(pinmap::kUsart1Rx.af);
  // 16x oversampling: BRR holds pclk / baud in 12.4 fixed point, rounded.
  reg(kUsart1 + usart::kBrr) = (pclk_hz + kBaud / 2) / kBaud;
  reg(kUsart1 + usart::kCr1) = usart::kCr1Ue | usart::kCr1Te | usart::kCr1Re | usart::kCr1RxneIe;
  nvicPriority(kIrqUsart1, 1);
  nvicEnable(kIrqUsart1);
}

void UsartLink::onInterrupt() {
  // Reading SR then DR clears RXNE and an overrun alike.
  for (;;) {
    const std::uint32_t sr = reg(kSr);
    if ((sr & (usart::kSrRxne | usart::kSrOre)) == 0) break;
    const auto byte = static_cast<std::uint8_t>(reg(kDr));
    if (sr & usart::kSrOre) ++rx_overruns_;
    const std::uint32_t head = rx_head_;
    if (head - rx_tail_ < kRxSize) {
      rx_[head % kRxSize] = byte;
      rx_head_ = head + 1;
    } else {
      ++rx_overruns_;  // ring full: the link layer will see a bad frame and recover
    }
  }
}

std::size_t UsartLink::read(std::uint8_t* buf, std::size_t cap) {
  std::size_t n = 0;
  std::uint32_t tail = rx_tail_;
  const std::uint32_t head = rx_head_;
  while (n < cap && tail != head) buf[n++] = rx_[tail++ % kRxSize];
  rx_tail_ = tail;
  return n;
}

void UsartLink::write(const std::uint8_t* data, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    if (tx_count_ == kTxSize) {
      pump();  // room may have appeared since (qemu's transmitter is always empty)
      if (tx_count_ == kTxSize) {
        tx_dropped_ += static_cast<std::uint32_t>(n - i);
        return;
      }
    }
    tx_[(tx_first_ + tx_count_) % kTxSize] = data[i];
    ++tx_count_;
  }
  pump();
}

void UsartLink::pump() {
  while (tx_count_ > 0 && (reg(kSr) & usart::kSrTxe)) {
    reg(kDr) = tx_[tx_first_];
    tx_first_ = (tx_first_ + 1) % kTxSize;
    --tx_count_;
  }
}

}  // namespace polscan::fw::stm32
