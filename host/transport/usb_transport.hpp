// USB transport: the instrument's vendor-specific bulk endpoints through libusb-1.0.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>

#include "transport/transport.hpp"

struct libusb_context;
struct libusb_device;
struct libusb_device_handle;
struct libusb_transfer;

namespace polscan {

// The instrument's USB identity (pid.codes test range; see hardware/).
inline constexpr std::uint16_t kPolscanUsbVid = 0x1209;
inline constexpr std::uint16_t kPolscanUsbPid = 0x7A50;

// Why a USB read ended; UsbTransport's ReadHandler errors use this category.
enum class UsbReadError {
  unplugged = 1,  // hotplug LEFT, or a transfer ended with NO_DEVICE
  stalled,        // the device stalled the IN endpoint and clearing the halt failed
  overflow,       // the device sent more than a packet: broken firmware or descriptors
  failed,         // any other transfer error
};
const boost::system::error_category& usbReadCategory();
// Named for Boost's argument-dependent lookup (is_error_code_enum below), hence not camelCase.
boost::system::error_code make_error_code(UsbReadError e);

// Which instrument to open. With neither serial nor bus/address, exactly one must be connected.
struct UsbSelector {
  std::uint16_t vid = kPolscanUsbVid;
  std::uint16_t pid = kPolscanUsbPid;
  std::optional<std::string> serial;
  std::optional<std::uint8_t> bus;
  std::optional<std::uint8_t> address;
  int interface_number = 0;
  std::chrono::milliseconds write_timeout{1000};
};

class UsbTransport final : public Transport {
 public:
  // Opens and claims the instrument. Throws TransportError naming the device and the remedy
  // (permission, busy, not found, ambiguous choice).
  UsbTransport(boost::asio::io_context& io, UsbSelector selector = {});
  ~UsbTransport() override;
  UsbTransport(const UsbTransport&) = delete;
  UsbTransport& operator=(const UsbTransport&) = delete;

  // "usb 1209:7a50 serial PS-0001 (bus 1 address 2)"
  std::string describe() const override { return description_; }
  void asyncRead(std::span<std::uint8_t> buf, ReadHandler handler) override;
  void write(std::span<const std::uint8_t> bytes) override;
  void close() override;

  const std::string& serialNumber() const { return serial_; }
  std::uint8_t inEndpoint() const { return in_ep_; }
  std::uint8_t outEndpoint() const { return out_ep_; }
  std::uint16_t inPacketSize() const { return in_packet_; }

 private:
  struct InSlot {
    UsbTransport* self = nullptr;
    libusb_transfer* transfer = nullptr;
    std::vector<std::uint8_t> buffer;
    bool in_flight = false;
  };

  void openDevice(const UsbSelector& selector);
  void findEndpoints(int interface_number);
  void start();
  void teardown();
  void eventLoop();
  void submitLocked(InSlot& slot);
  void resubmitIdleLocked();
  void deliverLocked();
  void failLocked(UsbReadError why, const std::string& text);
  void onInComplete(InSlot& slot);
  static void inCallback(libusb_transfer* transfer);
  void onDeviceLeft(libusb_device* dev);
  friend struct UsbHotplugThunk;  // the libusb hotplug callback (its signature needs libusb.h)

  boost::asio::io_context& io_;
  libusb_context* ctx_ = nullptr;
  libusb_device_handle* handle_ = nullptr;
  int interface_ = -1;
  bool claimed_ = false;
  int hotplug_handle_ = 0;
  bool hotplug_registered_ = false;
  std::uint16_t vid_ = 0;
  std::uint16_t pid_ = 0;
  std::uint8_t bus_ = 0;
  std::uint8_t address_ = 0;
  std::string serial_;
  std::string description_;
  std::uint8_t in_ep_ = 0;
  std::uint8_t out_ep_ = 0;
  std::uint16_t in_packet_ = 64;
  std::chrono::milliseconds write_timeout_;

  std::mutex close_mutex_;  // serialises close(): it may be called from two threads
  std::mutex write_mutex_;  // held by write() so close() never frees the handle under it
  std::thread event_thread_;
  std::atomic<bool> stop_events_{false};

  std::mutex mutex_;  // guards everything below; the event thread and the io thread share it
  std::condition_variable idle_cv_;  // signalled when an IN transfer stops being in flight
  // Heap slots: libusb keeps a pointer to each as user data, so they never move.
  std::vector<std::unique_ptr<InSlot>> slots_;
  std::deque<std::uint8_t> rx_;  // received, not yet handed to a read
  std::span<std::uint8_t> read_buf_;
  ReadHandler read_handler_;  // the pending read, if any
  std::optional<UsbReadError> failure_;
  int transfer_errors_ = 0;   // consecutive LIBUSB_TRANSFER_ERRORs (retried a few times)
  std::string failure_text_;  // names the device, for write() after a failure
  bool closing_ = false;
  bool leaked_ = false;  // transfers that never completed are leaked rather than freed in use
};

// Text of the error for a failed libusb open/claim of the device at bus/address (exposed for
// tests: root cannot provoke LIBUSB_ERROR_ACCESS through a file mode).
std::string usbOpenErrorText(int libusb_error, std::uint16_t vid, std::uint16_t pid,
                             std::uint8_t bus, std::uint8_t address, const char* action);

// "(bus 1 address 2)": how messages and listings name a USB device's place on the bus.
std::string usbBusAddress(std::uint8_t bus, std::uint8_t address);

}  // namespace polscan

namespace boost::system {
template <>
struct is_error_code_enum<polscan::UsbReadError> : std::true_type {};
}  // namespace boost::system
