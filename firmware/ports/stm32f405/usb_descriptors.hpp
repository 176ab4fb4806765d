// USB identity of the polscan controller: device, configuration and string descriptors as
// constexpr bytes (portable C++17, parsed by a host test against hardware/README.md).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace polscan::fw::usb {

// pid.codes open-source VID and polscan's PID (hardware/README.md, hardware/udev/70-polscan.rules).
inline constexpr std::uint16_t kVendorId = 0x1209;
inline constexpr std::uint16_t kProductId = 0x7A50;
inline constexpr std::uint16_t kDeviceRelease = 0x0010;  // BCD 0.10: firmware 0.1.x
inline constexpr std::uint8_t kMaxPacket = 64;           // full speed: EP0 and both bulk EPs
inline constexpr std::uint8_t kInterface = 0;
inline constexpr std::uint8_t kVendorClass = 0xFF;  // libusb, no kernel driver
inline constexpr std::uint8_t kBulkOut = 0x01;      // host -> device frames
inline constexpr std::uint8_t kBulkIn = 0x81;       // device -> host frames
inline constexpr std::uint16_t kLangEnUs = 0x0409;

enum StringIndex : std::uint8_t {
  kStringLanguages = 0,
  kStringManufacturer = 1,
  kStringProduct = 2,
  kStringSerial = 3,
};

inline constexpr const char kManufacturer[] = "polscan";
inline constexpr const char kProduct[] = "polscan polarized-light microscope controller";

namespace detail {
constexpr std::uint8_t lo(std::uint16_t v) {
  return static_cast<std::uint8_t>(v & 0xFF);
}
constexpr std::uint8_t hi(std::uint16_t v) {
  return static_cast<std::uint8_t>(v >> 8);
}
}  // namespace detail

inline constexpr std::array<std::uint8_t, 18> kDeviceDescriptor = {
    18,    // bLength
    0x01,  // DEVICE
    0x00,
    0x02,  // bcdUSB 2.00
    0x00,  // class per interface
    0x00,
    0x00,        // subclass, protocol
    kMaxPacket,  // EP0
    detail::lo(kVendorId),
    detail::hi(kVendorId),
    detail::lo(kProductId),
    detail::hi(kProductId),
    detail::lo(kDeviceRelease),
    detail::hi(kDeviceRelease),
    kStringManufacturer,
    kStringProduct,
    kStringSerial,
    1,  // one configuration
};

inline constexpr std::size_t kConfigTotal = 9 + 9 + 7 + 7;
inline constexpr std::array<std::uint8_t, kConfigTotal> kConfigurationDescriptor = {
    // configuration
    9,
    0x02,
    detail::lo(kConfigTotal),
    detail::hi(kConfigTotal),
    1,     // one interface
    1,     // bConfigurationValue
    0,     // no string
    0xC0,  // self-powered: the logic runs from the instrument's supply, not the bus
    50,    // 100 mA
    // interface 0: vendor-specific, two bulk endpoints
    9,
    0x04,
    kInterface,
    0,
    2,
    kVendorClass,
    0x00,
    0x00,
    0,
    // bulk OUT
    7,
    0x05,
    kBulkOut,
    0x02,
    kMaxPacket,
    0x00,
    0,
    // bulk IN
    7,
    0x05,
    kBulkIn,
    0x02,
    kMaxPacket,
    0x00,
    0,
};

inline constexpr std::array<std::uint8_t, 4> kLanguagesDescriptor = {4, 0x03, detail::lo(kLangEnUs),
                                                                     detail::hi(kLangEnUs)};

// String descriptor (UTF-16LE) of an ASCII literal, built at compile time.
template <std::size_t N>
constexpr std::array<std::uint8_t, 2 + 2 * (N - 1)> asciiStringDescriptor(const char (&s)[N]) {
  static_assert(2 + 2 * (N - 1) <= 255, "string descriptor too long");
  std::array<std::uint8_t, 2 + 2 * (N - 1)> d{};
  d[0] = static_cast<std::uint8_t>(d.size());
  d[1] = 0x03;
  for (std::size_t i = 0; i + 1 < N; ++i) {
    d[2 + 2 * i] = static_cast<std::uint8_t>(s[i]);
    d[3 + 2 * i] = 0;
  }
  return d;
}

inline constexpr auto kManufacturerDescriptor = asciiStringDescriptor(kManufacturer);
inline constexpr auto kProductDescriptor = asciiStringDescriptor(kProduct);

// Serial number: the chip's 96-bit unique ID as 24 upper-case hex digits (word 0 first, each
// word most significant digit first), so every board is told apart without provisioning.
inline constexpr std::size_t kSerialDigits = 24;
inline constexpr std::size_t kSerialDescriptorSize = 2 + 2 * kSerialDigits;

constexpr void serialText(const std::uint32_t uid[3], char out[kSerialDigits + 1]) {
  constexpr char kHex[] = "0123456789ABCDEF";
  for (std::size_t w = 0; w < 3; ++w) {
    for (std::size_t d = 0; d < 8; ++d) {
      out[8 * w + d] = kHex[(uid[w] >> (28 - 4 * d)) & 0xF];
    }
  }
  out[kSerialDigits] = '\0';
}

constexpr std::array<std::uint8_t, kSerialDescriptorSize> serialDescriptor(
    const std::uint32_t uid[3]) {
  char text[kSerialDigits + 1] = {};
  serialText(uid, text);
  std::array<std::uint8_t, kSerialDescriptorSize> d{};
  d[0] = static_cast<std::uint8_t>(kSerialDescriptorSize);
  d[1] = 0x03;
  for (std::size_t i = 0; i < kSerialDigits; ++i) {
    d[2 + 2 * i] = static_cast<std::uint8_t>(text[i]);
    d[3 + 2 * i] = 0;
  }
  return d;
}

}  // namespace polscan::fw::usb
