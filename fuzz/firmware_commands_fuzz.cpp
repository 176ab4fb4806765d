// Fuzzes the firmware's command path: each input is a sequence of HostMessage payloads, sent in
// valid link frames (so they pass the CRC and reach nanopb and the dispatcher), interleaved with
// step-timer time so motions, stacks and faults run. The instrument must never crash, and must
// answer every command it received.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "bench.hpp"

using namespace polscan::fw;
using namespace polscan::fw::test;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Input: repeated [length][payload bytes][time byte]; time byte * 0.5 ms of simulated time.
  BenchOptions o;
  o.start_angle_deg = 350.0;  // index close by: homing completes within a short input
  Bench b(o);
  std::size_t i = 0;
  int sent = 0;
  while (i < size && sent < 32) {
    const std::size_t n = data[i++];
    if (i + n > size) break;
    if (!b.host.windowFull()) {
      b.sendRaw(data + i, n);
      ++sent;
    }
    i += n;
    const std::uint64_t half_ms = i < size ? data[i++] : 0;
    b.run(1000 + half_ms * 500);
  }
  b.run(100000);  // let replies settle
  // Every command is answered exactly once (a reply, whatever its status).
  int replies = 0;
  for (const auto& m : b.received) {
    if (m.which_body == polscan_wire_DeviceMessage_reply_tag) ++replies;
  }
  if (replies != sent) std::abort();
  return 0;
}
