// Fuzzes the frame layer both ends share: COBS round trip, FrameDecoder and ReliableLink on
// arbitrary bytes (what a noisy cable or a confused peer delivers).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "proto/framing/cobs.hpp"
#include "proto/framing/reliable_link.hpp"

namespace {

using namespace polscan::link;

struct Sink : ByteSink {
  void writeBytes(const std::uint8_t* data, std::size_t n) override {
    // Everything a link writes must be one well-formed frame: ends in its only 0x00.
    if (n == 0 || data[n - 1] != 0 || std::memchr(data, 0, n - 1) != nullptr) std::abort();
  }
};

struct Handler : PayloadHandler {
  void onPayload(const std::uint8_t* data, std::size_t n) override {
    if (n > kMaxPayload) std::abort();
    volatile std::uint8_t sum = 0;
    for (std::size_t i = 0; i < n; ++i) sum = static_cast<std::uint8_t>(sum + data[i]);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // COBS: whatever goes in comes out, and no 0x00 in the encoding.
  if (size <= kMaxRawFrame) {
    std::vector<std::uint8_t> enc(cobsMaxEncodedSize(size));
    const std::size_t e = cobsEncode(data, size, enc.data(), enc.size());
    if (e == 0 && size > 0) std::abort();
    if (std::memchr(enc.data(), 0, e) != nullptr) std::abort();
    std::vector<std::uint8_t> dec(size + 1);
    const long d = cobsDecode(enc.data(), e, dec.data(), dec.size());
    if (d != static_cast<long>(size) || std::memcmp(dec.data(), data, size) != 0) std::abort();
  }
  // Raw decoder: any verdict is fine, a crash or an out-of-range frame is not.
  FrameDecoder decoder;
  for (std::size_t i = 0; i < size; ++i) {
    if (decoder.push(data[i]) == FrameDecoder::Result::Frame &&
        decoder.payloadSize() > kMaxPayload) {
      std::abort();
    }
  }
  // A link fed the bytes in two chunks, with time moving so retransmission paths run too.
  Sink sink;
  Handler handler;
  ReliableLink link(sink, handler, 0x42);
  const std::uint8_t hello[3] = {1, 2, 3};
  link.send(hello, sizeof(hello), 0);
  link.receive(data, size / 2, 1000);
  link.poll(50000);
  link.receive(data + size / 2, size - size / 2, 60000);
  link.poll(120000);
  if (link.inFlight() > ReliableLink::kWindow) std::abort();
  return 0;
}
