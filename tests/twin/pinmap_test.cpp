// The generated pin-map header says exactly what hardware/pinmap.json says, and bad maps fail.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "polscan_pinmap.hpp"

namespace {

namespace pm = polscan::pinmap;

nlohmann::json loadPinmap() {
  std::ifstream f(POLSCAN_PINMAP_JSON);
  return nlohmann::json::parse(f);
}

TEST(Pinmap, GeneratedHeaderMatchesTheJson) {
  const nlohmann::json doc = loadPinmap();
  const nlohmann::json& pins = doc["pins"];
  ASSERT_EQ(pm::kPinCount, pins.size());
  EXPECT_EQ(pm::kMcu, doc["mcu"].get<std::string>());
  for (std::size_t i = 0; i < pins.size(); ++i) {
    const std::string signal = pins[i]["signal"], pin = pins[i]["pin"], mode = pins[i]["mode"];
    const pm::PinAssignment& p = pm::kPins[i];
    EXPECT_EQ(p.signal, signal);
    EXPECT_EQ(std::string(1, 'P') + p.port + std::to_string(p.pin), pin) << signal;
    const pm::PinMode expect = mode == "input"    ? pm::PinMode::Input
                               : mode == "output" ? pm::PinMode::Output
                               : mode == "af"     ? pm::PinMode::AltFunction
                                                  : pm::PinMode::Analog;
    EXPECT_EQ(p.mode, expect) << signal;
    EXPECT_EQ(p.af, mode == "af" ? pins[i]["af"].get<int>() : 0) << signal;
    ASSERT_NE(pm::findPin(signal), nullptr);
    EXPECT_EQ(pm::findPin(signal), &pm::kPins[i]);
  }
  EXPECT_EQ(pm::findPin("no.such"), nullptr);
}

TEST(Pinmap, CarriesTheSignalsTheFirmwareNeeds) {
  for (const char* s :
       {"polarizer.step", "polarizer.dir", "polarizer.enable", "polarizer.index", "x.step", "x.dir",
        "x.limit", "y.step", "y.dir", "y.limit", "z.step", "z.dir", "z.limit", "camera.trigger",
        "led.pwm", "usart1.tx", "usart1.rx", "usb.dm", "usb.dp"}) {
    EXPECT_NE(pm::findPin(s), nullptr) << s;
  }
  static_assert(pm::kUsart1Tx.port == 'A' && pm::kUsart1Tx.pin == 9);
  static_assert(pm::kUsart1Rx.port == 'A' && pm::kUsart1Rx.pin == 10);
  static_assert(pm::kUsbDm.pin == 11 && pm::kUsbDp.pin == 12);
  static_assert(pm::findPin("led.pwm")->mode == pm::PinMode::AltFunction);
}

int runGenerator(const nlohmann::json& doc) {
  const auto dir = std::filesystem::temp_directory_path() / "polscan_pinmap_test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "pinmap.json") << doc.dump();
  const std::string cmd = std::string(POLSCAN_PYTHON) + " " + POLSCAN_PINMAP_GENERATOR +
                          " --json " + (dir / "pinmap.json").string() + " --header " +
                          (dir / "out.hpp").string() + " 2>/dev/null";
  return std::system(cmd.c_str());
}

TEST(Pinmap, GeneratorRejectsBadMaps) {
  const nlohmann::json good = loadPinmap();
  EXPECT_EQ(runGenerator(good), 0);
  nlohmann::json bad = good;
  bad["pins"][1]["pin"] = good["pins"][0]["pin"];  // one pin, two signals
  EXPECT_NE(runGenerator(bad), 0);
  bad = good;
  bad["pins"][2]["signal"] = good["pins"][0]["signal"];  // duplicate signal
  EXPECT_NE(runGenerator(bad), 0);
  bad = good;
  bad["pins"][0]["pin"] = "PA13";  // SWD
  EXPECT_NE(runGenerator(bad), 0);
  bad = good;
  bad["pins"][0]["pin"] = "PJ17";
  EXPECT_NE(runGenerator(bad), 0);
}

}  // namespace
