// COBS: round trips over the awkward lengths, no zero in the output, broken input refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "proto/framing/cobs.hpp"

using polscan::link::cobsDecode;
using polscan::link::cobsEncode;
using polscan::link::cobsMaxEncodedSize;

namespace {
std::vector<std::uint8_t> roundTrip(const std::vector<std::uint8_t>& in) {
  std::vector<std::uint8_t> enc(cobsMaxEncodedSize(in.size()));
  const std::size_t n = cobsEncode(in.data(), in.size(), enc.data(), enc.size());
  EXPECT_GT(n, 0u);
  EXPECT_EQ(std::count(enc.begin(), enc.begin() + n, 0), 0) << "encoded data holds a zero";
  std::vector<std::uint8_t> dec(in.size() + 1);
  const long m = cobsDecode(enc.data(), n, dec.data(), dec.size());
  EXPECT_GE(m, 0);
  dec.resize(m < 0 ? 0 : static_cast<std::size_t>(m));
  return dec;
}
}  // namespace

TEST(Cobs, RoundTripsAllLengthsAroundBlockBoundaries) {
  std::mt19937 rng(7);
  for (std::size_t len : {0u, 1u, 2u, 253u, 254u, 255u, 256u, 508u, 509u, 700u}) {
    for (int zeros : {0, 1, 3}) {
      std::vector<std::uint8_t> in(len);
      for (auto& b : in) b = static_cast<std::uint8_t>(1 + rng() % 255);
      for (int z = 0; z < zeros && len > 0; ++z) in[rng() % len] = 0;
      EXPECT_EQ(roundTrip(in), in) << "length " << len << " zeros " << zeros;
    }
  }
}

TEST(Cobs, KnownEncoding) {
  const std::vector<std::uint8_t> in{0x11, 0x22, 0x00, 0x33};
  std::uint8_t out[8];
  const std::size_t n = cobsEncode(in.data(), in.size(), out, sizeof(out));
  ASSERT_EQ(n, 5u);
  EXPECT_EQ(std::vector<std::uint8_t>(out, out + n),
            (std::vector<std::uint8_t>{0x03, 0x11, 0x22, 0x02, 0x33}));
}

TEST(Cobs, RefusesZeroInsideAndCodeRunningPastTheEnd) {
  std::uint8_t out[16];
  const std::uint8_t zero_inside[] = {0x03, 0x11, 0x00};
  EXPECT_EQ(cobsDecode(zero_inside, sizeof(zero_inside), out, sizeof(out)), -1);
  const std::uint8_t past_end[] = {0x05, 0x11, 0x22};
  EXPECT_EQ(cobsDecode(past_end, sizeof(past_end), out, sizeof(out)), -1);
}

TEST(Cobs, EncodeRefusesTooSmallOutput) {
  const std::uint8_t in[4] = {1, 2, 3, 4};
  std::uint8_t out[4];
  EXPECT_EQ(cobsEncode(in, sizeof(in), out, sizeof(out)), 0u);
}
