// The firmware's portable core (polscan_fw_core) on simulated mechanics, behind the fake's URBs.
#pragma once

#include <memory>
#include <string>

#include "usb_device_backend.hpp"

namespace polscan::testing {

// board "usb-fw", the given serial; the polarizer starts unhomed, as after power-up.
std::unique_ptr<UsbDeviceBackend> makeFirmwareBackend(const std::string& serial);

}  // namespace polscan::testing
