// Test bench: the firmware core on simulated mechanics, a test-driven clock and a host-side
// ReliableLink speaking real frames with nanopb-encoded HostMessages.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "firmware/core/instrument.hpp"
#include "firmware/ports/sim/sim_machine.hpp"
#include "pb_decode.h"
#include "pb_encode.h"
#include "polscan.pb.h"
#include "proto/framing/reliable_link.hpp"

namespace polscan::fw::test {

class ManualClock final : public hal::Clock {
 public:
  std::uint64_t now() override { return us; }
  std::uint32_t tickHz() const override { return 1000000; }
  std::uint64_t us = 0;
};

class MemoryLink final : public hal::ByteLink {
 public:
  std::size_t read(std::uint8_t* buf, std::size_t cap) override {
    std::size_t n = 0;
    while (n < cap && !rx.empty()) {
      buf[n++] = rx.front();
      rx.pop_front();
    }
    return n;
  }
  void write(const std::uint8_t* data, std::size_t n) override {
    tx.insert(tx.end(), data, data + n);
  }
  std::deque<std::uint8_t> rx;   // host -> device
  std::vector<std::uint8_t> tx;  // device -> host
};

struct StepEvent {
  std::uint32_t tick;
  std::int32_t position;
};

struct BenchOptions {
  double index_offset_deg = 10.0;
  double start_angle_deg = 123.4;
  bool index_present = true;
  std::int32_t x_start = 1600;
  std::int32_t y_start = 1600;
  std::int32_t z_start = 500;
  bool fly_by = true;  // InstrumentConfig::fly_by
};

class Bench : private link::ByteSink, private link::PayloadHandler {
 public:
  explicit Bench(const BenchOptions& o = {});

  // Advances simulated time by us, one step-timer tick at a time; the main loop and the host
  // end run every millisecond.
  void run(std::uint64_t us);
  // Runs until pred() or timeout; returns pred().
  template <typename Pred>
  bool runUntil(Pred pred, std::uint64_t timeout_us) {
    for (std::uint64_t t = 0; t < timeout_us; t += 1000) {
      if (pred()) return true;
      run(1000);
    }
    return pred();
  }

  std::uint32_t send(polscan_wire_HostMessage msg);  // fills version and request id
  std::uint32_t sendRaw(const std::uint8_t* payload, std::size_t n);
  // Waits for the Reply to request id (up to timeout) and returns it; status -1 if none.
  polscan_wire_Reply reply(std::uint32_t id, std::uint64_t timeout_us = 200000);
  polscan_wire_Reply call(const polscan_wire_HostMessage& msg) { return reply(send(msg)); }

  polscan_wire_Reply home(polscan_wire_Axis axis);  // and wait until homing ends
  polscan_wire_DeviceStatus status();
  bool idle();

  std::vector<polscan_wire_TriggerFired> triggers(std::uint32_t stack_id) const;
  const polscan_wire_StackDone* stackDone(std::uint32_t stack_id) const;
  std::vector<polscan_wire_Fault> faults() const;

  ManualClock clock;
  sim::SimStepper pol;
  sim::SimStepper x;
  sim::SimStepper y;
  sim::SimStepper z;
  sim::SimIndexSensor index;
  sim::SimLimitSwitch limit_x;
  sim::SimLimitSwitch limit_y;
  sim::SimLimitSwitch limit_z;
  sim::SimTrigger trigger;
  sim::SimLed led;
  MemoryLink wire;
  hal::Board board;
  std::unique_ptr<Instrument> inst;
  link::ReliableLink host;

  bool deliver_to_host = true;  // false: the device's bytes are lost (host stops acking)
  bool host_keepalive = true;   // false: the host sends nothing unless the test does
  std::vector<polscan_wire_DeviceMessage> received;
  std::vector<StepEvent> pol_steps;
  std::vector<StepEvent> x_steps;
  std::vector<std::uint32_t> trigger_ticks;
  std::vector<double> trigger_mech_angles;  // physical polarizer angle at each pulse

 private:
  void writeBytes(const std::uint8_t* data, std::size_t n) override;
  void onPayload(const std::uint8_t* data, std::size_t n) override;
  void pump();

  std::uint32_t next_id_ = 100;
};

polscan_wire_HostMessage makeCommand(pb_size_t tag);

}  // namespace polscan::fw::test
