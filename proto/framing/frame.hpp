// polscan link frame: [flags][session][seq][ack][ack_session][payload][crc16], COBS, 0x00-ended.
#pragma once

#include <cstddef>
#include <cstdint>

#include "proto/framing/cobs.hpp"

namespace polscan::link {

// Largest protobuf payload one frame carries (HostMessage with 64 angles is 616 bytes).
inline constexpr std::size_t kMaxPayload = 640;
inline constexpr std::size_t kHeaderSize = 5;
inline constexpr std::size_t kCrcSize = 2;
inline constexpr std::size_t kMaxRawFrame = kHeaderSize + kMaxPayload + kCrcSize;
// Encoded size on the wire, delimiter included.
inline constexpr std::size_t kMaxWireFrame = cobsMaxEncodedSize(kMaxRawFrame) + 1;

enum FrameFlags : std::uint8_t {
  kFlagData = 0x01,    // carries a payload and consumes a sequence number
  kFlagOldest = 0x02,  // the sender's oldest unacknowledged frame: a receiver that has just met
                       // this session may start counting here
};

struct FrameHeader {
  std::uint8_t flags = 0;
  // Sender's session nonce, chosen at start-up: a new value tells the peer that the sender
  // restarted, so the receiver forgets its count and restarts at the next kFlagOldest frame.
  std::uint8_t session = 0;
  std::uint8_t seq = 0;  // sequence number of this data frame
  std::uint8_t ack = 0;  // next sequence number the sender expects from its peer (cumulative)
  std::uint8_t ack_session = 0;  // the peer session that ack refers to (stale acks are ignored)
};

// CRC-16/CCITT-FALSE over header and payload.
std::uint16_t frameCrc(const std::uint8_t* data, std::size_t n);

// Builds the wire bytes of one frame (delimiter included) into out (capacity cap).
// Returns the number of bytes, or 0 if the payload is over kMaxPayload or cap is too small.
std::size_t encodeFrame(const FrameHeader& h, const std::uint8_t* payload, std::size_t n,
                        std::uint8_t* out, std::size_t cap);

enum class DecodeError : std::uint8_t {
  None,
  BadCobs,      // stuffing broken: bytes lost or garbage between frames
  TooShort,     // fewer bytes than a header and a CRC
  TooLong,      // over the size limit: discarded up to the next delimiter
  CrcMismatch,  // bytes corrupted on the way
};

const char* decodeErrorName(DecodeError e);

// Reassembles frames from a byte stream one byte at a time; resynchronises at every 0x00, so
// garbage costs at most the frame it landed in. No heap: buffers are members.
class FrameDecoder {
 public:
  enum class Result { NeedMore, Frame, Error };

  // Feeds one byte. On Result::Frame, header() and payload() describe the frame until the next
  // call; on Result::Error, error() says why the bytes since the last delimiter were dropped.
  Result push(std::uint8_t byte);

  const FrameHeader& header() const { return header_; }
  const std::uint8_t* payload() const { return raw_ + kHeaderSize; }
  std::size_t payloadSize() const { return payload_size_; }
  DecodeError error() const { return error_; }

 private:
  std::uint8_t wire_[cobsMaxEncodedSize(kMaxRawFrame)] = {};
  std::uint8_t raw_[kMaxRawFrame] = {};
  std::size_t fill_ = 0;
  bool overflow_ = false;
  FrameHeader header_{};
  std::size_t payload_size_ = 0;
  DecodeError error_ = DecodeError::None;
};

}  // namespace polscan::link
