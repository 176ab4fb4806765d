// The STM32F405 port's USB descriptors, parsed like a host would, against the identity in
// hardware/README.md and hardware/udev/70-polscan.rules.
#include "firmware/ports/stm32f405/usb_descriptors.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace usb = polscan::fw::usb;

namespace {

std::string readRepoFile(const std::string& rel) {
  std::ifstream in(std::string(POLSCAN_SOURCE_DIR) + "/" + rel);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

unsigned word(const std::uint8_t* p) {
  return static_cast<unsigned>(p[0]) | (static_cast<unsigned>(p[1]) << 8);
}

struct Endpoint {
  unsigned address;
  unsigned attributes;
  unsigned max_packet;
};

struct Interface {
  unsigned number;
  unsigned cls;
  unsigned endpoints_declared;
  std::vector<Endpoint> endpoints;
};

// Walks the configuration block descriptor by descriptor (bLength, bDescriptorType), as the USB
// core of an OS does.
std::vector<Interface> parseConfiguration(const std::uint8_t* d, std::size_t n) {
  std::vector<Interface> out;
  std::size_t i = 0;
  while (i + 2 <= n) {
    const std::size_t len = d[i];
    EXPECT_GE(len, 2u);
    EXPECT_LE(i + len, n);
    if (len < 2 || i + len > n) break;
    const std::uint8_t type = d[i + 1];
    if (type == 0x04) {
      EXPECT_EQ(len, 9u);
      out.push_back({d[i + 2], d[i + 5], d[i + 4], {}});
    } else if (type == 0x05) {
      EXPECT_EQ(len, 7u);
      EXPECT_FALSE(out.empty());
      if (!out.empty()) out.back().endpoints.push_back({d[i + 2], d[i + 3], word(d + i + 4)});
    }
    i += len;
  }
  EXPECT_EQ(i, n);
  return out;
}

std::string stringOf(const std::uint8_t* d, std::size_t n) {
  EXPECT_EQ(d[0], n);
  EXPECT_EQ(d[1], 0x03);
  std::string s;
  for (std::size_t i = 2; i + 1 < n; i += 2) {
    EXPECT_EQ(d[i + 1], 0) << "non-ASCII UTF-16 unit";
    s += static_cast<char>(d[i]);
  }
  return s;
}

}  // namespace

TEST(UsbDescriptors, DeviceDescriptorCarriesTheDocumentedVidPid) {
  const auto& d = usb::kDeviceDescriptor;
  ASSERT_EQ(d[0], d.size());
  EXPECT_EQ(d[1], 0x01);
  EXPECT_EQ(word(&d[2]), 0x0200u);  // USB 2.0
  EXPECT_EQ(d[7], 64);              // EP0 packet size at full speed
  EXPECT_EQ(d[17], 1);              // one configuration

  // The identity the documents give, read from them rather than restated here.
  const std::string readme = readRepoFile("hardware/README.md");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(readme, m,
                                std::regex(R"(VID (0x[0-9A-Fa-f]{4}) / PID (0x[0-9A-Fa-f]{4}))")))
      << "hardware/README.md no longer states 'VID 0x.... / PID 0x....'";
  const unsigned vid = std::stoul(m[1].str(), nullptr, 16);
  const unsigned pid = std::stoul(m[2].str(), nullptr, 16);
  EXPECT_EQ(word(&d[8]), vid);
  EXPECT_EQ(word(&d[10]), pid);

  const std::string rules = readRepoFile("hardware/udev/70-polscan.rules");
  ASSERT_TRUE(std::regex_search(
      rules, m,
      std::regex(
          R"|(ATTR\{idVendor\}=="([0-9a-fA-F]{4})", ATTR\{idProduct\}=="([0-9a-fA-F]{4})")|")));
  EXPECT_EQ(std::stoul(m[1].str(), nullptr, 16), vid);
  EXPECT_EQ(std::stoul(m[2].str(), nullptr, 16), pid);
}

TEST(UsbDescriptors, OneVendorInterfaceWithBulkOutAndIn) {
  const auto& c = usb::kConfigurationDescriptor;
  ASSERT_EQ(c[0], 9);
  EXPECT_EQ(c[1], 0x02);
  EXPECT_EQ(word(&c[2]), c.size());  // wTotalLength
  EXPECT_EQ(c[4], 1);                // bNumInterfaces
  EXPECT_EQ(c[5], 1);                // bConfigurationValue

  const auto interfaces = parseConfiguration(c.data(), c.size());
  ASSERT_EQ(interfaces.size(), 1u);
  const Interface& itf = interfaces[0];
  EXPECT_EQ(itf.number, 0u);
  EXPECT_EQ(itf.cls, 0xFFu);
  ASSERT_EQ(itf.endpoints_declared, itf.endpoints.size());
  ASSERT_EQ(itf.endpoints.size(), 2u);
  EXPECT_EQ(itf.endpoints[0].address, 0x01u);
  EXPECT_EQ(itf.endpoints[1].address, 0x81u);
  for (const Endpoint& ep : itf.endpoints) {
    EXPECT_EQ(ep.attributes & 0x3u, 0x2u) << "bulk";
    EXPECT_EQ(ep.max_packet, 64u);
  }
}

TEST(UsbDescriptors, StringsNameTheMakerAndTheChipSerial) {
  EXPECT_EQ(usb::kLanguagesDescriptor[0], 4);
  EXPECT_EQ(word(&usb::kLanguagesDescriptor[2]), 0x0409u);
  EXPECT_EQ(stringOf(usb::kManufacturerDescriptor.data(), usb::kManufacturerDescriptor.size()),
            "polscan");
  EXPECT_NE(
      stringOf(usb::kProductDescriptor.data(), usb::kProductDescriptor.size()).find("polscan"),
      std::string::npos);

  constexpr std::uint32_t uid[3] = {0x0012ABCDu, 0x3456789Au, 0xDEADBEEFu};
  constexpr auto serial = usb::serialDescriptor(uid);  // constexpr: usable at compile time
  EXPECT_EQ(stringOf(serial.data(), serial.size()), "0012ABCD3456789ADEADBEEF");
}
