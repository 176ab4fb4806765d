// Go-back-N link: cumulative acks piggybacked on every frame, retransmit on timeout, sessions.
#include "proto/framing/reliable_link.hpp"

#include <cstring>

namespace polscan::link {

namespace {
// Distance from a to b in sequence space (mod 256).
std::uint8_t seqDistance(std::uint8_t from, std::uint8_t to) {
  return static_cast<std::uint8_t>(to - from);
}
}  // namespace

ReliableLink::ReliableLink(ByteSink& sink, PayloadHandler& handler, std::uint8_t session,
                           LinkConfig config)
    : sink_(sink), handler_(handler), config_(config), session_(session == 0 ? 1 : session) {}

void ReliableLink::dropInFlight() {
  first_ = 0;
  in_flight_ = 0;
  retries_ = 0;
  lost_ = false;
}

void ReliableLink::reset(std::uint8_t session) {
  dropInFlight();
  if (session == 0 || session == session_) session = static_cast<std::uint8_t>(session_ + 1);
  session_ = session == 0 ? 1 : session;
  peer_session_ = 0;
  rx_started_ = false;
}

bool ReliableLink::send(const std::uint8_t* payload, std::size_t n, std::uint64_t now_us) {
  if (in_flight_ == kWindow || n > kMaxPayload) return false;
  Slot& slot = slots_[(first_ + in_flight_) % kWindow];
  slot.seq = next_seq_++;
  slot.size = static_cast<std::uint16_t>(n);
  if (n > 0) std::memcpy(slot.payload, payload, n);
  ++in_flight_;
  transmit(slot, now_us);
  return true;
}

void ReliableLink::transmit(Slot& slot, std::uint64_t now_us) {
  FrameHeader h;
  h.flags = static_cast<std::uint8_t>(kFlagData | (&slot == &slots_[first_] ? kFlagOldest : 0));
  h.session = session_;
  h.seq = slot.seq;
  h.ack = rx_expected_;
  h.ack_session = peer_session_;
  const std::size_t len = encodeFrame(h, slot.payload, slot.size, tx_buf_, sizeof(tx_buf_));
  slot.sent_us = now_us;
  ++stats_.frames_sent;
  sink_.writeBytes(tx_buf_, len);
}

void ReliableLink::sendAck() {
  FrameHeader h;
  h.flags = 0;
  h.session = session_;
  h.ack = rx_expected_;
  h.ack_session = peer_session_;
  const std::size_t len = encodeFrame(h, nullptr, 0, tx_buf_, sizeof(tx_buf_));
  sink_.writeBytes(tx_buf_, len);
}

void ReliableLink::handleAck(std::uint8_t ack, std::uint64_t now_us) {
  if (in_flight_ == 0) return;
  // ack names the next frame the peer wants: everything before it is delivered.
  const std::uint8_t oldest = slots_[first_].seq;
  const std::uint8_t acked = seqDistance(oldest, ack);
  if (acked == 0 || acked > in_flight_) return;  // nothing new, or not about these frames
  first_ = (first_ + acked) % kWindow;
  in_flight_ -= acked;
  retries_ = 0;
  // The remaining frames get a fresh timeout: the peer is alive and draining.
  for (std::size_t i = 0; i < in_flight_; ++i) slots_[(first_ + i) % kWindow].sent_us = now_us;
}

void ReliableLink::handleFrame(const FrameHeader& h, const std::uint8_t* payload, std::size_t n,
                               std::uint64_t now_us) {
  ++stats_.frames_received;
  if (h.session != peer_session_) {
    // The peer (re)started. Our frames still in flight stay queued: the new peer starts
    // counting at the oldest of them when it arrives (go-back-N resends from the oldest).
    peer_session_ = h.session;
    rx_started_ = false;
    ++stats_.sessions;
  }
  if (h.ack_session == session_) handleAck(h.ack, now_us);
  if ((h.flags & kFlagData) == 0) return;  // ack-only frame
  if (!rx_started_) {
    if ((h.flags & kFlagOldest) == 0) {
      // A frame after one we missed: wait for the resend of the oldest; no ack, since our count
      // means nothing to this session yet.
      ++stats_.out_of_order;
      return;
    }
    rx_expected_ = h.seq;
    rx_started_ = true;
  }
  if (h.seq == rx_expected_) {
    ++rx_expected_;
    handler_.onPayload(payload, n);
  } else if (seqDistance(h.seq, rx_expected_) <= kWindow) {
    ++stats_.duplicates;
  } else {
    ++stats_.out_of_order;
  }
  sendAck();
}

void ReliableLink::receive(const std::uint8_t* data, std::size_t n, std::uint64_t now_us) {
  for (std::size_t i = 0; i < n; ++i) {
    switch (decoder_.push(data[i])) {
      case FrameDecoder::Result::NeedMore:
        break;
      case FrameDecoder::Result::Frame:
        handleFrame(decoder_.header(), decoder_.payload(), decoder_.payloadSize(), now_us);
        break;
      case FrameDecoder::Result::Error:
        last_error_ = decoder_.error();
        if (last_error_ == DecodeError::CrcMismatch) {
          ++stats_.crc_errors;
        } else {
          ++stats_.framing_errors;
        }
        break;
    }
  }
}

void ReliableLink::poll(std::uint64_t now_us) {
  if (in_flight_ == 0) return;
  const Slot& oldest = slots_[first_];
  if (now_us - oldest.sent_us < config_.retransmit_timeout_us) return;
  if (retries_ >= config_.max_retries) {
    lost_ = true;
    return;
  }
  ++retries_;
  // Go-back-N: the receiver dropped everything after the gap, so resend the whole window.
  for (std::size_t i = 0; i < in_flight_; ++i) {
    ++stats_.retransmits;
    transmit(slots_[(first_ + i) % kWindow], now_us);
  }
}

}  // namespace polscan::link
