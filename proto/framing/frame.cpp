// Frame encoding, CRC and the byte-wise frame decoder with resynchronisation.
#include "proto/framing/frame.hpp"

#include <cstring>

#include <boost/crc.hpp>

namespace polscan::link {

std::uint16_t frameCrc(const std::uint8_t* data, std::size_t n) {
  boost::crc_ccitt_false_t crc;
  crc.process_bytes(data, n);
  return static_cast<std::uint16_t>(crc.checksum());
}

std::size_t encodeFrame(const FrameHeader& h, const std::uint8_t* payload, std::size_t n,
                        std::uint8_t* out, std::size_t cap) {
  if (n > kMaxPayload) return 0;
  std::uint8_t raw[kMaxRawFrame];
  raw[0] = h.flags;
  raw[1] = h.session;
  raw[2] = h.seq;
  raw[3] = h.ack;
  raw[4] = h.ack_session;
  if (n > 0) std::memcpy(raw + kHeaderSize, payload, n);
  const std::uint16_t crc = frameCrc(raw, kHeaderSize + n);
  raw[kHeaderSize + n] = static_cast<std::uint8_t>(crc >> 8);
  raw[kHeaderSize + n + 1] = static_cast<std::uint8_t>(crc & 0xFF);
  if (cap < 1) return 0;
  const std::size_t len = cobsEncode(raw, kHeaderSize + n + kCrcSize, out, cap - 1);
  if (len == 0) return 0;
  out[len] = 0x00;
  return len + 1;
}

const char* decodeErrorName(DecodeError e) {
  switch (e) {
    case DecodeError::None:
      return "none";
    case DecodeError::BadCobs:
      return "bad byte stuffing";
    case DecodeError::TooShort:
      return "frame too short";
    case DecodeError::TooLong:
      return "frame over the size limit";
    case DecodeError::CrcMismatch:
      return "CRC mismatch";
  }
  return "unknown";
}

FrameDecoder::Result FrameDecoder::push(std::uint8_t byte) {
  if (byte != 0x00) {
    if (fill_ < sizeof(wire_)) {
      wire_[fill_++] = byte;
    } else {
      overflow_ = true;
    }
    return Result::NeedMore;
  }
  // A delimiter: whatever was collected is one frame candidate.
  const std::size_t n = fill_;
  const bool overflow = overflow_;
  fill_ = 0;
  overflow_ = false;
  if (n == 0 && !overflow) return Result::NeedMore;  // idle delimiters between frames
  if (overflow) {
    error_ = DecodeError::TooLong;
    return Result::Error;
  }
  const long len = cobsDecode(wire_, n, raw_, sizeof(raw_));
  if (len < 0) {
    error_ = DecodeError::BadCobs;
    return Result::Error;
  }
  const auto size = static_cast<std::size_t>(len);
  if (size < kHeaderSize + kCrcSize) {
    error_ = DecodeError::TooShort;
    return Result::Error;
  }
  const std::uint16_t want = static_cast<std::uint16_t>((raw_[size - 2] << 8) | raw_[size - 1]);
  if (frameCrc(raw_, size - kCrcSize) != want) {
    error_ = DecodeError::CrcMismatch;
    return Result::Error;
  }
  header_ = FrameHeader{raw_[0], raw_[1], raw_[2], raw_[3], raw_[4]};
  payload_size_ = size - kHeaderSize - kCrcSize;
  error_ = DecodeError::None;
  return Result::Frame;
}

}  // namespace polscan::link
