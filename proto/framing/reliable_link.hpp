// Acknowledged, retransmitting frame link (go-back-N with a small window), shared by both ends.
#pragma once

#include <cstddef>
#include <cstdint>

#include "proto/framing/frame.hpp"

namespace polscan::link {

// Where encoded frames go (a UART, a USB endpoint, a socket).
class ByteSink {
 public:
  virtual void writeBytes(const std::uint8_t* data, std::size_t n) = 0;

 protected:
  ~ByteSink() = default;
};

// Receives the payload of each in-order data frame exactly once.
class PayloadHandler {
 public:
  virtual void onPayload(const std::uint8_t* data, std::size_t n) = 0;

 protected:
  ~PayloadHandler() = default;
};

struct LinkStats {
  std::uint32_t frames_sent = 0;
  std::uint32_t frames_received = 0;
  std::uint32_t retransmits = 0;
  std::uint32_t duplicates = 0;    // already-delivered frames seen again (their ack was lost)
  std::uint32_t out_of_order = 0;  // a frame after a gap: dropped, the peer resends
  std::uint32_t crc_errors = 0;
  std::uint32_t framing_errors = 0;  // bad stuffing, too short, too long
  std::uint32_t sessions = 0;        // peer (re)started a session
};

struct LinkConfig {
  std::uint32_t retransmit_timeout_us = 40000;
  // After this many retransmits of the oldest frame without progress the link is declared lost.
  std::uint32_t max_retries = 25;
};

// One end of the link. Not thread-safe: the owner serialises calls (the firmware main loop, or
// the host's link strand). Time is passed in (microseconds, monotonic) so tests control it.
class ReliableLink {
 public:
  static constexpr std::size_t kWindow = 8;

  // session: this end's nonce for its first session (non-zero; a random number on the host, a
  // reset counter or timer value on the MCU). reset() moves to a new one.
  ReliableLink(ByteSink& sink, PayloadHandler& handler, std::uint8_t session,
               LinkConfig config = {});

  // Queues and sends one payload. Returns false (nothing sent) when the window is full or the
  // payload is over kMaxPayload: the caller keeps it and tries again after poll()/receive().
  bool send(const std::uint8_t* payload, std::size_t n, std::uint64_t now_us);

  // Feeds received bytes; delivers in-order payloads to the handler and answers with acks.
  void receive(const std::uint8_t* data, std::size_t n, std::uint64_t now_us);

  // Retransmits overdue frames. Call every few milliseconds.
  void poll(std::uint64_t now_us);

  // Sends an ack-only frame: tells a peer that watches for silence (the firmware's host-silence
  // timeout) that this end is alive, without consuming a sequence number.
  void keepAlive() { sendAck(); }

  // Forgets everything in flight and starts a new session (nonce: any value other than the
  // current one; 0 is skipped) with the next frame sent.
  void reset(std::uint8_t session);

  bool windowFull() const { return in_flight_ == kWindow; }
  std::size_t inFlight() const { return in_flight_; }
  // True once max_retries retransmits of one frame went unanswered (cable pulled, peer dead).
  bool lost() const { return lost_; }
  DecodeError lastError() const { return last_error_; }
  const LinkStats& stats() const { return stats_; }

 private:
  struct Slot {
    std::uint8_t seq = 0;
    std::uint16_t size = 0;
    std::uint64_t sent_us = 0;
    std::uint8_t payload[kMaxPayload] = {};
  };

  void transmit(Slot& slot, std::uint64_t now_us);
  void sendAck();
  void handleAck(std::uint8_t ack, std::uint64_t now_us);
  void dropInFlight();
  void handleFrame(const FrameHeader& h, const std::uint8_t* payload, std::size_t n,
                   std::uint64_t now_us);

  ByteSink& sink_;
  PayloadHandler& handler_;
  LinkConfig config_;
  FrameDecoder decoder_;
  Slot slots_[kWindow];
  std::size_t first_ = 0;  // index of the oldest unacked slot
  std::size_t in_flight_ = 0;
  std::uint8_t next_seq_ = 0;  // sequence number of the next new frame
  std::uint8_t rx_expected_ = 0;
  std::uint8_t session_ = 1;       // ours
  std::uint8_t peer_session_ = 0;  // the peer's, 0 until its first frame
  bool rx_started_ = false;        // rx_expected_ counts frames of peer_session_
  std::uint32_t retries_ = 0;
  bool lost_ = false;
  DecodeError last_error_ = DecodeError::None;
  LinkStats stats_;
  std::uint8_t tx_buf_[kMaxWireFrame] = {};
};

}  // namespace polscan::link
