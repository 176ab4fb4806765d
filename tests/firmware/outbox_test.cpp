// Outbox: FIFO order across wrap-around, capacity and the reserve kept for the overflow Fault.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "firmware/core/outbox.hpp"

using polscan::fw::Outbox;

TEST(Outbox, KeepsOrderAcrossWrapAround) {
  static Outbox box;
  std::uint32_t pushed = 0;
  std::uint32_t popped = 0;
  std::uint8_t msg[100];
  std::uint8_t out[200];
  for (int round = 0; round < 500; ++round) {
    // Push a few, pop fewer, then drain: the ring wraps many times.
    for (int k = 0; k < 3; ++k) {
      const std::size_t n = 1 + (pushed * 37) % 99;
      for (std::size_t i = 0; i < n; ++i) msg[i] = static_cast<std::uint8_t>(pushed + i);
      if (!box.push(msg, n)) break;
      ++pushed;
    }
    while (box.count() > (round % 7 == 0 ? 0u : 2u)) {
      const std::size_t n = box.front(out, sizeof(out));
      ASSERT_EQ(n, 1 + (popped * 37) % 99);
      for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(out[i], static_cast<std::uint8_t>(popped + i));
      box.pop();
      ++popped;
    }
  }
  EXPECT_GT(popped, 1000u);
}

TEST(Outbox, RefusesWhenFullButKeepsReserveForTheFault) {
  static Outbox box;
  std::vector<std::uint8_t> msg(80, 0xAB);
  std::size_t n = 0;
  while (box.push(msg.data(), msg.size())) ++n;
  EXPECT_EQ(n, (Outbox::kCapacity - Outbox::kReserveBytes) / 82);
  EXPECT_FALSE(box.push(msg.data(), msg.size()));
  EXPECT_TRUE(box.push(msg.data(), msg.size(), true));  // the Fault still fits
  EXPECT_EQ(box.count(), n + 1);
}
