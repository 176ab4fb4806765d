// A polscan instrument on umockdev's emulated usbdevfs: descriptors, URBs, and a device-side link.
#pragma once

#include <umockdev.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "polscan.pb.h"
#include "proto/framing/reliable_link.hpp"
#include "usb_device_backend.hpp"

namespace polscan::testing {

// Creates a umockdev testbed holding one USB device whose ioctls (SUBMITURB, REAPURBNDELAY,
// DISCARDURB, ...) are answered here. Bulk OUT bytes feed a device-side ReliableLink with a
// scripted responder (or a backend, e.g. the firmware core); its replies fill the bulk IN URBs.
// Must run under umockdev-wrapper. One instance per test.
class FakeUsbInstrument : link::ByteSink, link::PayloadHandler {
 public:
  struct Options {
    std::string serial = "PS-0001";
    std::string board = "usb-test";
    std::uint8_t in_ep = 0x81;
    std::uint8_t out_ep = 0x01;
    std::uint16_t packet = 64;
    std::uint8_t bus = 1;
    std::uint8_t devnum = 2;
    // When set, this answers instead of the scripted responder (received() then stays empty).
    std::function<std::unique_ptr<UsbDeviceBackend>(const std::string& serial)> backend;
  };

  FakeUsbInstrument() : FakeUsbInstrument(Options{}) {}
  explicit FakeUsbInstrument(Options options);
  ~FakeUsbInstrument();
  FakeUsbInstrument(const FakeUsbInstrument&) = delete;
  FakeUsbInstrument& operator=(const FakeUsbInstrument&) = delete;

  // The three steps of an unplug under umockdev 0.17: a "remove" uevent while the sysfs entry
  // exists (hotplug LEFT), removal of the entry, and URBs/ioctls failing with ENODEV.
  void unplug(bool uevent = true, bool urbs_fail = true);

  // Commands of this kind get no reply (to keep a host call pending).
  void setSilent(wire::HostMessage::CommandCase command);
  std::vector<wire::HostMessage> received();
  // Largest bulk OUT URB seen (bytes), and IN URBs submitted but not yet reaped.
  std::size_t largestOutUrb();
  std::size_t pendingInUrbs();
  // The file behind /dev/bus/usb/BBB/DDD inside the testbed (to change its mode).
  std::string devnodeFile() const;
  // The testbed's temporary root directory.
  std::string rootDir() const;

 private:
  static gboolean onIoctl(UMockdevIoctlBase* handler, UMockdevIoctlClient* client, gpointer self);
  void handle(UMockdevIoctlClient* client);
  void submit(UMockdevIoctlClient* client, UMockdevIoctlData* arg);
  void reap(UMockdevIoctlClient* client, UMockdevIoctlData* arg);
  void discard(UMockdevIoctlClient* client, UMockdevIoctlData* arg);
  void control(UMockdevIoctlData* urb_data);
  void pumpLocked();
  std::vector<std::uint8_t> descriptors() const;
  std::vector<std::uint8_t> stringDescriptor(int index) const;
  void writeBytes(const std::uint8_t* data, std::size_t n) override;
  void onPayload(const std::uint8_t* data, std::size_t n) override;
  std::uint64_t nowUs() const;

  Options options_;
  UMockdevTestbed* testbed_ = nullptr;
  UMockdevIoctlBase* handler_ = nullptr;
  std::string devnode_;
  std::string syspath_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();

  std::mutex mutex_;  // the ioctl handler runs on umockdev's thread, the ticker on its own
  link::ReliableLink link_{*this, *this, 0x42};
  std::unique_ptr<UsbDeviceBackend> backend_;
  std::deque<UMockdevIoctlData*> in_urbs_;  // submitted bulk IN URBs waiting for data (owned)
  std::deque<UMockdevIoctlData*> done_;     // finished URBs waiting to be reaped (owned)
  std::deque<std::uint8_t> to_host_;
  std::vector<wire::HostMessage> received_;
  std::set<int> silent_;
  std::size_t largest_out_ = 0;
  bool unplugged_ = false;

  std::atomic<bool> stop_{false};
  std::thread ticker_;  // retransmits of the device-side link, the backend's timers
};

}  // namespace polscan::testing
