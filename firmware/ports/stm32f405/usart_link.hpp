// USART1 host link (PA9/PA10, 115200 8N1) as the HAL ByteLink: RX by interrupt into a ring,
// TX from a ring pumped by the main loop.
#pragma once

#include <cstddef>
#include <cstdint>

#include "firmware/hal/byte_link.hpp"
#include "proto/framing/frame.hpp"

namespace polscan::fw::stm32 {

class UsartLink final : public hal::ByteLink {
 public:
  static constexpr std::uint32_t kBaud = 115200;
  // RX: the main loop empties it every step tick (50 us), a byte arrives every 87 us at most.
  static constexpr std::size_t kRxSize = 256;  // a power of two: free-running indices
  // TX: at least one whole wire frame (a 640-byte payload encodes to ~660 bytes) plus acks,
  // since a frame cut short is lost whole.
  static constexpr std::size_t kTxSize = 768;
  static_assert((kRxSize & (kRxSize - 1)) == 0, "free-running RX indices need a power of two");
  static_assert(kTxSize >= link::kMaxWireFrame + 16, "TX ring must hold a whole frame");

  void init(std::uint32_t pclk_hz);
  std::size_t read(std::uint8_t* buf, std::size_t cap) override;
  void write(const std::uint8_t* data, std::size_t n) override;
  // Main loop: moves queued bytes into the transmitter while it has room. The step timer wakes
  // the loop every 50 us, faster than one byte time (87 us), so the line stays busy.
  void pump();
  // USART1 interrupt: received bytes into the ring.
  void onInterrupt();

  bool rxPending() const { return rx_head_ != rx_tail_; }
  std::uint32_t rxOverruns() const { return rx_overruns_; }
  std::uint32_t txDropped() const { return tx_dropped_; }

 private:
  // The rings live in .bss (usart_link.cpp), not in this object: an object with a vtable is
  // initialised from flash (.data), which would copy 1 KiB of zeros at every boot.
  static std::uint8_t rx_[kRxSize];
  static std::uint8_t tx_[kTxSize];
  volatile std::uint32_t rx_head_ = 0;  // free-running; written by the ISR
  volatile std::uint32_t rx_tail_ = 0;  // free-running; written by the main loop
  std::size_t tx_first_ = 0;            // main loop only: oldest queued byte
  std::size_t tx_count_ = 0;
  volatile std::uint32_t rx_overruns_ = 0;
  std::uint32_t tx_dropped_ = 0;
};

}  // namespace polscan::fw::stm32
