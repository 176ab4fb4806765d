// ClockSync: recovers offset and drift from delayed samples; maps device time to host time.
#include <gtest/gtest.h>

#include <random>

#include "device/clock_sync.hpp"

using polscan::ClockSync;

TEST(ClockSync, RecoversOffsetAndDriftDespiteTransmissionDelays) {
  // Device clock runs 200 ppm fast and started 12.5 s before the host's epoch.
  const double rate = 1.0 / (1.0 + 200e-6);  // host seconds per device second
  const double offset = -12.5;
  std::mt19937 rng(11);
  std::exponential_distribution<double> delay(1.0 / 0.002);  // 2 ms mean, always positive
  ClockSync sync;
  for (int i = 0; i < 200; ++i) {
    const std::uint64_t device_us = 12'500'000 + static_cast<std::uint64_t>(i) * 20'000;
    const double host = offset + device_us * 1e-6 * rate + delay(rng);
    sync.addSample(device_us, host);
  }
  EXPECT_NEAR(sync.driftPpm(), 200.0, 40.0);
  const std::uint64_t probe = 12'500'000 + 150 * 20'000 + 7'000;
  const double truth = offset + probe * 1e-6 * rate;
  // The lower envelope of the delays is within a fraction of a millisecond of zero delay.
  EXPECT_NEAR(sync.toHostSeconds(probe), truth, 0.0005);
}

TEST(ClockSync, OneSampleGivesAnOffsetOnly) {
  ClockSync sync;
  sync.addSample(5'000'000, 100.0);
  EXPECT_DOUBLE_EQ(sync.toHostSeconds(6'000'000), 101.0);
  EXPECT_EQ(sync.samples(), 1u);
}

TEST(ClockSync, RefusesToMapWithoutSamples) {
  ClockSync sync;
  EXPECT_THROW(sync.toHostSeconds(1), std::logic_error);
}
