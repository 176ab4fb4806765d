// COBS (consistent overhead byte stuffing): removes every 0x00 from a frame so 0x00 can delimit.
#pragma once

#include <cstddef>
#include <cstdint>

namespace polscan::link {

// Worst-case encoded size of n input bytes (without the trailing 0x00 delimiter).
constexpr std::size_t cobsMaxEncodedSize(std::size_t n) {
  return n + n / 254 + 1;
}

// Encodes in[0..n) into out (capacity cap). Returns the encoded length, or 0 if cap is too small.
std::size_t cobsEncode(const std::uint8_t* in, std::size_t n, std::uint8_t* out, std::size_t cap);

// Decodes in[0..n) (no delimiter) into out. Returns the decoded length, or -1 when the input is
// not valid COBS (a zero byte, a code running past the end) or out is too small.
long cobsDecode(const std::uint8_t* in, std::size_t n, std::uint8_t* out, std::size_t cap);

}  // namespace polscan::link
