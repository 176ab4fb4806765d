// FaultInjector: rates, seeds and the unplug schedule in virtual time, on plain byte buffers.
#include <gtest/gtest.h>

#include <numeric>

#include "transport/fault_injecting_transport.hpp"

using namespace polscan;
using Dir = FaultInjector::Direction;

namespace {
std::vector<std::uint8_t> ramp(std::size_t n) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(i * 7 + 1);
  return v;
}
}  // namespace

TEST(FaultInjector, CorruptsAboutTheSetShareOfBytesAndOnlyThose) {
  FaultPlan plan;
  plan.from_device.corrupt = 0.01;
  auto inj = FaultInjector::create(plan);
  const auto in = ramp(100000);
  const auto out = inj->mangle(Dir::FromDevice, in.data(), in.size());
  ASSERT_EQ(out.size(), in.size());
  std::size_t differ = 0;
  for (std::size_t i = 0; i < in.size(); ++i) differ += in[i] != out[i];
  EXPECT_EQ(differ, inj->counts().corrupted);
  // 1 % of 100000 = 1000, binomial sd ~31: 5 sd either side.
  EXPECT_NEAR(static_cast<double>(differ), 1000.0, 160.0);
  // The other direction has no faults in this plan.
  const auto clean = inj->mangle(Dir::ToDevice, in.data(), in.size());
  EXPECT_EQ(clean, in);
}

TEST(FaultInjector, DropShortensAndDuplicateLengthensTheStream) {
  FaultPlan plan;
  plan.to_device.drop = 0.05;
  plan.from_device.duplicate = 0.05;
  auto inj = FaultInjector::create(plan);
  const auto in = ramp(20000);
  const auto dropped = inj->mangle(Dir::ToDevice, in.data(), in.size());
  const auto doubled = inj->mangle(Dir::FromDevice, in.data(), in.size());
  const FaultCounts c = inj->counts();
  EXPECT_EQ(dropped.size(), in.size() - c.dropped);
  EXPECT_EQ(doubled.size(), in.size() + c.duplicated);
  EXPECT_NEAR(static_cast<double>(c.dropped), 1000.0, 150.0);
  EXPECT_NEAR(static_cast<double>(c.duplicated), 1000.0, 150.0);
  EXPECT_EQ(c.bytes_to_device, in.size());
  EXPECT_EQ(c.bytes_from_device, in.size());
}

TEST(FaultInjector, SameSeedSameFaultsOtherSeedOtherFaults) {
  FaultPlan plan;
  plan.to_device.corrupt = 0.02;
  plan.seed = 42;
  const auto in = ramp(5000);
  auto a = FaultInjector::create(plan);
  auto b = FaultInjector::create(plan);
  plan.seed = 43;
  auto c = FaultInjector::create(plan);
  const auto ra = a->mangle(Dir::ToDevice, in.data(), in.size());
  EXPECT_EQ(ra, b->mangle(Dir::ToDevice, in.data(), in.size()));
  EXPECT_NE(ra, c->mangle(Dir::ToDevice, in.data(), in.size()));
}

TEST(FaultInjector, UnplugScheduleRunsInVirtualTime) {
  FaultPlan plan;
  plan.unplug.period = std::chrono::seconds(30);
  plan.unplug.down = std::chrono::seconds(3);
  plan.unplug.time_scale = 15.0;
  auto inj = FaultInjector::create(plan);
  using S = std::chrono::duration<double>;
  EXPECT_TRUE(inj->pluggedAt(S(0.0)));
  EXPECT_TRUE(inj->pluggedAt(S(29.9)));
  EXPECT_FALSE(inj->pluggedAt(S(30.0)));
  EXPECT_FALSE(inj->pluggedAt(S(32.9)));
  EXPECT_TRUE(inj->pluggedAt(S(33.1)));
  EXPECT_FALSE(inj->pluggedAt(S(61.0)));
  // 30 virtual seconds at 15x are 2 real seconds: the first unplug is at most that far away.
  EXPECT_LE(inj->untilNextUnplug(), std::chrono::milliseconds(2001));
  EXPECT_GT(inj->untilNextUnplug(), std::chrono::milliseconds(1000));
}

TEST(FaultInjector, RefusesAPlanThatNeverReplugs) {
  FaultPlan plan;
  plan.unplug.period = std::chrono::seconds(1);
  plan.unplug.down = std::chrono::seconds(1);
  EXPECT_THROW(FaultInjector::create(plan), std::invalid_argument);
  plan.unplug.down = std::chrono::milliseconds(100);
  plan.unplug.time_scale = 0.0;
  EXPECT_THROW(FaultInjector::create(plan), std::invalid_argument);
}
