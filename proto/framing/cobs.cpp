// COBS encoder and decoder working on caller-owned buffers (no heap: shared with the firmware).
#include "proto/framing/cobs.hpp"

namespace polscan::link {

std::size_t cobsEncode(const std::uint8_t* in, std::size_t n, std::uint8_t* out, std::size_t cap) {
  if (cap < cobsMaxEncodedSize(n)) return 0;
  std::size_t code_at = 0;  // where the current block's length code goes
  std::size_t o = 1;
  std::uint8_t code = 1;
  for (std::size_t i = 0; i < n; ++i) {
    if (in[i] == 0) {
      out[code_at] = code;
      code_at = o++;
      code = 1;
      continue;
    }
    out[o++] = in[i];
    if (++code == 0xFF) {
      // A full block of 254 non-zero bytes carries no implied zero.
      out[code_at] = code;
      code_at = o++;
      code = 1;
    }
  }
  out[code_at] = code;
  return o;
}

long cobsDecode(const std::uint8_t* in, std::size_t n, std::uint8_t* out, std::size_t cap) {
  std::size_t i = 0;
  std::size_t o = 0;
  while (i < n) {
    const std::uint8_t code = in[i++];
    if (code == 0) return -1;
    if (i + code - 1 > n) return -1;
    for (std::uint8_t k = 1; k < code; ++k) {
      if (in[i] == 0 || o >= cap) return -1;
      out[o++] = in[i++];
    }
    // Every block except a full one and the last implies a zero byte.
    if (code != 0xFF && i < n) {
      if (o >= cap) return -1;
      out[o++] = 0;
    }
  }
  return static_cast<long>(o);
}

}  // namespace polscan::link
