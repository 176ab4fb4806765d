// ReliableLink: in-order exactly-once delivery across drops, corruption, duplicates and restarts.
#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "proto/framing/reliable_link.hpp"

using namespace polscan::link;

namespace {

// One direction of a cable: whole writes are frames; the test decides what happens to each.
struct Wire : ByteSink {
  std::deque<std::vector<std::uint8_t>> in_transit;
  std::function<bool(std::vector<std::uint8_t>&)> tamper;  // return false to drop
  void writeBytes(const std::uint8_t* d, std::size_t n) override {
    std::vector<std::uint8_t> chunk(d, d + n);
    if (tamper && !tamper(chunk)) return;
    in_transit.push_back(std::move(chunk));
  }
};

struct Inbox : PayloadHandler {
  std::vector<std::string> got;
  void onPayload(const std::uint8_t* d, std::size_t n) override {
    got.emplace_back(reinterpret_cast<const char*>(d), n);
  }
};

struct Pair {
  Wire a_to_b, b_to_a;
  Inbox a_in, b_in;
  ReliableLink a{a_to_b, a_in, 0x11};
  ReliableLink b{b_to_a, b_in, 0x22};
  std::uint64_t now = 0;

  // Delivers everything in flight both ways, advancing time, until quiet.
  void pump(int max_rounds = 1000) {
    for (int i = 0; i < max_rounds; ++i) {
      bool moved = false;
      while (!a_to_b.in_transit.empty()) {
        auto c = std::move(a_to_b.in_transit.front());
        a_to_b.in_transit.pop_front();
        b.receive(c.data(), c.size(), now);
        moved = true;
      }
      while (!b_to_a.in_transit.empty()) {
        auto c = std::move(b_to_a.in_transit.front());
        b_to_a.in_transit.pop_front();
        a.receive(c.data(), c.size(), now);
        moved = true;
      }
      now += 5000;
      a.poll(now);
      b.poll(now);
      if (!moved && a.inFlight() == 0 && b.inFlight() == 0) return;
    }
  }

  bool sendA(const std::string& s) {
    return a.send(reinterpret_cast<const std::uint8_t*>(s.data()), s.size(), now);
  }
};

}  // namespace

TEST(ReliableLink, DeliversInOrderBothWays) {
  Pair p;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(p.sendA("cmd" + std::to_string(i)));
  const std::string reply = "reply";
  ASSERT_TRUE(p.b.send(reinterpret_cast<const std::uint8_t*>(reply.data()), reply.size(), p.now));
  p.pump();
  EXPECT_EQ(p.b_in.got, (std::vector<std::string>{"cmd0", "cmd1", "cmd2", "cmd3", "cmd4"}));
  EXPECT_EQ(p.a_in.got, (std::vector<std::string>{"reply"}));
  EXPECT_EQ(p.a.inFlight(), 0u);
  EXPECT_EQ(p.a.stats().retransmits, 0u);
}

TEST(ReliableLink, RetransmitsAfterADroppedFrame) {
  Pair p;
  int data_frames = 0;
  p.a_to_b.tamper = [&](std::vector<std::uint8_t>&) { return ++data_frames != 2; };  // lose #2
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(p.sendA("m" + std::to_string(i)));
  p.pump();
  EXPECT_EQ(p.b_in.got, (std::vector<std::string>{"m0", "m1", "m2", "m3"}));
  EXPECT_GE(p.a.stats().retransmits, 1u);
  EXPECT_GE(p.b.stats().duplicates + p.b.stats().out_of_order, 1u);
}

TEST(ReliableLink, LostAckLeadsToADuplicateThatIsNotDeliveredTwice) {
  Pair p;
  int acks = 0;
  p.b_to_a.tamper = [&](std::vector<std::uint8_t>&) { return ++acks > 1; };  // lose first ack
  ASSERT_TRUE(p.sendA("once"));
  p.pump();
  EXPECT_EQ(p.b_in.got, (std::vector<std::string>{"once"}));
  EXPECT_EQ(p.b.stats().duplicates, 1u);
}

TEST(ReliableLink, CorruptedBytesAreCountedAndRecovered) {
  Pair p;
  std::mt19937 rng(3);
  p.a_to_b.tamper = [&](std::vector<std::uint8_t>& c) {
    if (rng() % 3 == 0) c[rng() % (c.size() - 1)] ^= static_cast<std::uint8_t>(1 + rng() % 255);
    return true;
  };
  std::vector<std::string> sent;
  for (int i = 0; i < 40; ++i) {
    sent.push_back("payload-" + std::to_string(i));
    while (!p.sendA(sent.back())) p.pump(1);
  }
  p.pump();
  EXPECT_EQ(p.b_in.got, sent);
  EXPECT_GT(p.b.stats().crc_errors + p.b.stats().framing_errors, 0u);
}

TEST(ReliableLink, WindowFullRefusesUntilAcked) {
  Pair p;
  for (std::size_t i = 0; i < ReliableLink::kWindow; ++i) ASSERT_TRUE(p.sendA("x"));
  EXPECT_TRUE(p.a.windowFull());
  EXPECT_FALSE(p.sendA("overflow"));
  p.pump();
  EXPECT_FALSE(p.a.windowFull());
  EXPECT_TRUE(p.sendA("after"));
}

TEST(ReliableLink, DeclaresTheLinkLostWhenThePeerIsGone) {
  Pair p;
  p.a_to_b.tamper = [](std::vector<std::uint8_t>&) { return false; };  // cable cut
  ASSERT_TRUE(p.sendA("hello?"));
  EXPECT_FALSE(p.a.lost());
  p.pump(1000);
  EXPECT_TRUE(p.a.lost());
  EXPECT_EQ(p.a.stats().retransmits, LinkConfig{}.max_retries);
}

TEST(ReliableLink, PeerRestartStartsANewSessionAndTrafficFlowsAgain) {
  Pair p;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(p.sendA("old" + std::to_string(i)));
  p.pump();
  ASSERT_EQ(p.b_in.got.size(), 3u);
  // The host restarts: new session nonce, numbering from scratch.
  p.a.reset(0x77);
  ASSERT_TRUE(p.sendA("new0"));
  ASSERT_TRUE(p.sendA("new1"));
  p.pump();
  EXPECT_EQ(p.b_in.got, (std::vector<std::string>{"old0", "old1", "old2", "new0", "new1"}));
  EXPECT_EQ(p.b.stats().sessions, 2u);
  // And the other way round, the restarted host hears the device.
  const std::string ev = "event";
  ASSERT_TRUE(p.b.send(reinterpret_cast<const std::uint8_t*>(ev.data()), ev.size(), p.now));
  p.pump();
  EXPECT_EQ(p.a_in.got, (std::vector<std::string>{"event"}));
}

TEST(ReliableLink, NewPeerWaitsForTheOldestFrameBeforeCounting) {
  Pair p;
  int n = 0;
  p.a_to_b.tamper = [&](std::vector<std::uint8_t>&) { return ++n != 1; };  // first frame lost
  ASSERT_TRUE(p.sendA("first"));
  ASSERT_TRUE(p.sendA("second"));
  p.pump();
  EXPECT_EQ(p.b_in.got, (std::vector<std::string>{"first", "second"}));
}
