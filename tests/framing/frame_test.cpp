// Frames: round trip, CRC failures detected, resynchronisation after garbage, size limit.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "proto/framing/frame.hpp"

using namespace polscan::link;

namespace {
std::vector<std::uint8_t> encode(const FrameHeader& h, const std::vector<std::uint8_t>& payload) {
  std::vector<std::uint8_t> out(kMaxWireFrame);
  const std::size_t n = encodeFrame(h, payload.data(), payload.size(), out.data(), out.size());
  out.resize(n);
  return out;
}

struct Decoded {
  std::vector<std::vector<std::uint8_t>> payloads;
  std::vector<FrameHeader> headers;
  std::vector<DecodeError> errors;
};

Decoded feed(FrameDecoder& d, const std::vector<std::uint8_t>& bytes) {
  Decoded r;
  for (std::uint8_t b : bytes) {
    switch (d.push(b)) {
      case FrameDecoder::Result::Frame:
        r.payloads.emplace_back(d.payload(), d.payload() + d.payloadSize());
        r.headers.push_back(d.header());
        break;
      case FrameDecoder::Result::Error:
        r.errors.push_back(d.error());
        break;
      case FrameDecoder::Result::NeedMore:
        break;
    }
  }
  return r;
}
}  // namespace

TEST(Frame, RoundTripKeepsHeaderAndPayload) {
  const std::vector<std::uint8_t> payload{0, 1, 2, 0, 0, 255, 7};
  const auto wire = encode(FrameHeader{kFlagData, 0x5A, 200, 17, 0x33}, payload);
  ASSERT_FALSE(wire.empty());
  EXPECT_EQ(wire.back(), 0x00);
  FrameDecoder d;
  const Decoded r = feed(d, wire);
  ASSERT_EQ(r.payloads.size(), 1u);
  EXPECT_EQ(r.payloads[0], payload);
  EXPECT_EQ(r.headers[0].flags, kFlagData);
  EXPECT_EQ(r.headers[0].session, 0x5A);
  EXPECT_EQ(r.headers[0].seq, 200);
  EXPECT_EQ(r.headers[0].ack, 17);
  EXPECT_EQ(r.headers[0].ack_session, 0x33);
  EXPECT_TRUE(r.errors.empty());
}

TEST(Frame, EverySingleBitFlipIsDetected) {
  const std::vector<std::uint8_t> payload{10, 20, 30, 40, 50};
  const auto wire = encode(FrameHeader{kFlagData, 1, 2, 3, 4}, payload);
  int detected = 0;
  int flips = 0;
  for (std::size_t i = 0; i + 1 < wire.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      auto bad = wire;
      bad[i] ^= static_cast<std::uint8_t>(1u << bit);
      FrameDecoder d;
      const Decoded r = feed(d, bad);
      ++flips;
      // A flip may create a 0x00 and split the frame; either way no frame may come out.
      if (r.payloads.empty() && !r.errors.empty()) ++detected;
    }
  }
  EXPECT_EQ(detected, flips);
}

TEST(Frame, CrcMismatchIsNamed) {
  auto wire = encode(FrameHeader{kFlagData, 1, 2, 3, 4}, {1, 2, 3, 4, 5, 6});
  wire[4] ^= 0x01;  // inside the payload, not creating a zero
  ASSERT_NE(wire[4], 0);
  FrameDecoder d;
  const Decoded r = feed(d, wire);
  EXPECT_TRUE(r.payloads.empty());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0], DecodeError::CrcMismatch);
  EXPECT_STREQ(decodeErrorName(r.errors[0]), "CRC mismatch");
}

TEST(Frame, ResynchronisesAfterRandomGarbage) {
  std::mt19937 rng(42);
  FrameDecoder d;
  int delivered = 0;
  for (int round = 0; round < 200; ++round) {
    std::vector<std::uint8_t> stream;
    const std::size_t garbage = rng() % 100;
    for (std::size_t i = 0; i < garbage; ++i) stream.push_back(static_cast<std::uint8_t>(rng()));
    // The garbage may end mid-frame: a delimiter before the real frame closes it off.
    stream.push_back(0x00);
    const std::vector<std::uint8_t> payload{static_cast<std::uint8_t>(round), 0, 9};
    const auto wire =
        encode(FrameHeader{kFlagData, 1, static_cast<std::uint8_t>(round), 0, 0}, payload);
    stream.insert(stream.end(), wire.begin(), wire.end());
    const Decoded r = feed(d, stream);
    // Garbage yields errors (or, at 2^-16 odds, a bogus frame); the real frame is always last.
    ASSERT_FALSE(r.payloads.empty()) << "round " << round;
    EXPECT_EQ(r.payloads.back(), payload);
    EXPECT_EQ(r.headers.back().seq, static_cast<std::uint8_t>(round));
    ++delivered;
  }
  EXPECT_EQ(delivered, 200);
}

TEST(Frame, TruncatedFrameIsAnErrorAndTheNextFrameStillArrives) {
  const auto a = encode(FrameHeader{kFlagData, 1, 0, 0, 0}, {1, 2, 3, 4, 5, 6, 7, 8});
  const auto b = encode(FrameHeader{kFlagData, 1, 1, 0, 0}, {9, 9});
  std::vector<std::uint8_t> stream(a.begin(), a.begin() + 5);  // cut short
  stream.push_back(0x00);
  stream.insert(stream.end(), b.begin(), b.end());
  FrameDecoder d;
  const Decoded r = feed(d, stream);
  ASSERT_EQ(r.errors.size(), 1u);
  ASSERT_EQ(r.payloads.size(), 1u);
  EXPECT_EQ(r.payloads[0], (std::vector<std::uint8_t>{9, 9}));
}

TEST(Frame, OversizePayloadRefusedAndOversizeInputDropped) {
  std::vector<std::uint8_t> big(kMaxPayload + 1, 7);
  std::vector<std::uint8_t> out(kMaxWireFrame * 2);
  EXPECT_EQ(encodeFrame(FrameHeader{}, big.data(), big.size(), out.data(), out.size()), 0u);
  big.resize(kMaxPayload);
  EXPECT_GT(encodeFrame(FrameHeader{}, big.data(), big.size(), out.data(), out.size()), 0u);

  std::vector<std::uint8_t> flood(kMaxWireFrame * 3, 0x41);
  flood.push_back(0x00);
  const auto good = encode(FrameHeader{kFlagData, 1, 5, 0, 0}, {1});
  flood.insert(flood.end(), good.begin(), good.end());
  FrameDecoder d;
  const Decoded r = feed(d, flood);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0], DecodeError::TooLong);
  ASSERT_EQ(r.payloads.size(), 1u);
  EXPECT_EQ(r.headers[0].seq, 5);
}
