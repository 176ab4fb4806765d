// UsbTransport: libusb bulk endpoints, IN transfers completed on a libusb event thread and
// handed to the io_context; unplug and permission problems become errors that name the device.
#include "transport/usb_transport.hpp"

#include <libusb.h>

#include <algorithm>
#include <cstdio>

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>

namespace polscan {

namespace {

// Several IN transfers stay queued so the device never waits for the host between packets.
constexpr std::size_t kInTransfers = 4;
// Received bytes nobody has read yet; beyond this the IN transfers pause (backpressure).
constexpr std::size_t kMaxQueued = 64 * 1024;
// Close waits this long for cancelled transfers; after that they are leaked, never freed in use.
constexpr auto kCancelWait = std::chrono::seconds(2);
// Transient transfer errors (a glitch on the cable) are retried this many times in a row.
constexpr int kMaxTransferErrors = 3;

std::string hex4(std::uint16_t v) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%04x", v);
  return buf;
}

std::string usbId(std::uint16_t vid, std::uint16_t pid) {
  return hex4(vid) + ":" + hex4(pid);
}

std::string errorName(int libusb_error) {
  return std::string(libusb_error_name(libusb_error)) + " (" + libusb_strerror(libusb_error) + ")";
}

class UsbReadCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "polscan.usb"; }
  std::string message(int ev) const override {
    switch (static_cast<UsbReadError>(ev)) {
      case UsbReadError::unplugged:
        return "USB instrument unplugged";
      case UsbReadError::stalled:
        return "USB IN endpoint stalled and could not be cleared";
      case UsbReadError::overflow:
        return "USB IN transfer overflow (device sent more than a packet)";
      case UsbReadError::failed:
        return "USB IN transfer failed";
    }
    return "unknown USB read error";
  }
};

// The serial number string, or "" when the device has none or does not answer.
std::string readSerial(libusb_device_handle* h, const libusb_device_descriptor& desc) {
  if (desc.iSerialNumber == 0) return {};
  unsigned char buf[128] = {};
  const int n = libusb_get_string_descriptor_ascii(h, desc.iSerialNumber, buf, sizeof(buf));
  if (n <= 0) return {};
  return std::string(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(n));
}

struct Candidate {
  libusb_device* dev = nullptr;
  libusb_device_descriptor desc{};
  std::uint8_t bus = 0;
  std::uint8_t address = 0;
};

}  // namespace

struct UsbHotplugThunk {
  static int left(libusb_context*, libusb_device* dev, libusb_hotplug_event event, void* user) {
    if (event == LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT)
      static_cast<UsbTransport*>(user)->onDeviceLeft(dev);
    return 0;  // stay registered; close() deregisters
  }
};

const boost::system::error_category& usbReadCategory() {
  static const UsbReadCategory category;
  return category;
}

boost::system::error_code make_error_code(UsbReadError e) {
  return {static_cast<int>(e), usbReadCategory()};
}

std::string usbBusAddress(std::uint8_t bus, std::uint8_t address) {
  return "(bus " + std::to_string(bus) + " address " + std::to_string(address) + ")";
}

std::string usbOpenErrorText(int libusb_error, std::uint16_t vid, std::uint16_t pid,
                             std::uint8_t bus, std::uint8_t address, const char* action) {
  const std::string device = "USB device " + usbId(vid, pid) + " " + usbBusAddress(bus, address);
  switch (libusb_error) {
    case LIBUSB_ERROR_ACCESS:
      return "permission denied opening " + device +
             ": install hardware/udev/70-polscan.rules and re-plug (or run as root)";
    case LIBUSB_ERROR_BUSY:
      return device + " is claimed by another program (another polscan session?)";
    case LIBUSB_ERROR_NO_DEVICE:
      return device + " was unplugged while opening it";
    default:
      return std::string("cannot ") + action + " " + device + ": " + errorName(libusb_error);
  }
}

UsbTransport::UsbTransport(boost::asio::io_context& io, UsbSelector selector)
    : io_(io), vid_(selector.vid), pid_(selector.pid), write_timeout_(selector.write_timeout) {
  const int r = libusb_init(&ctx_);
  if (r != LIBUSB_SUCCESS) {
    ctx_ = nullptr;
    throw TransportError("cannot initialise libusb: " + errorName(r));
  }
  try {
    openDevice(selector);
    findEndpoints(selector.interface_number);
    start();
  } catch (...) {
    teardown();
    throw;
  }
}

UsbTransport::~UsbTransport() {
  close();
}

void UsbTransport::openDevice(const UsbSelector& selector) {
  libusb_device** list = nullptr;
  const ssize_t count = libusb_get_device_list(ctx_, &list);
  if (count < 0) {
    throw TransportError("cannot list USB devices: " + errorName(static_cast<int>(count)));
  }
  // Frees the list (and drops its references) however this function ends.
  struct ListGuard {
    libusb_device** list;
    ~ListGuard() { libusb_free_device_list(list, 1); }
  } guard{list};

  const std::string what = "polscan instrument (USB " + usbId(vid_, pid_) + ")";
  std::vector<Candidate> candidates;
  std::vector<std::string> elsewhere;  // same VID/PID, other bus/address: for the message
  for (ssize_t i = 0; i < count; ++i) {
    Candidate c;
    c.dev = list[i];
    if (libusb_get_device_descriptor(c.dev, &c.desc) != LIBUSB_SUCCESS) continue;
    if (c.desc.idVendor != vid_ || c.desc.idProduct != pid_) continue;
    c.bus = libusb_get_bus_number(c.dev);
    c.address = libusb_get_device_address(c.dev);
    if ((selector.bus && *selector.bus != c.bus) ||
        (selector.address && *selector.address != c.address)) {
      elsewhere.push_back(usbBusAddress(c.bus, c.address));
      continue;
    }
    candidates.push_back(c);
  }

  if (candidates.empty()) {
    if (selector.bus || selector.address) {
      std::string text = "no " + what + " at bus " +
                         (selector.bus ? std::to_string(*selector.bus) : "?") + " address " +
                         (selector.address ? std::to_string(*selector.address) : "?");
      if (!elsewhere.empty()) {
        text += " (connected:";
        for (const auto& e : elsewhere) text += " " + e;
        text += ")";
      }
      throw TransportError(text);
    }
    throw TransportError("no " + what + " is connected");
  }

  // Opens a candidate; throws the clear error for permission/busy problems.
  auto open = [&](const Candidate& c) {
    libusb_device_handle* h = nullptr;
    const int r = libusb_open(c.dev, &h);
    if (r != LIBUSB_SUCCESS) {
      throw TransportError(usbOpenErrorText(r, vid_, pid_, c.bus, c.address, "open"));
    }
    return h;
  };

  const Candidate* chosen = nullptr;
  if (selector.serial) {
    std::vector<std::string> seen;
    std::optional<std::string> open_error;
    for (const auto& c : candidates) {
      libusb_device_handle* h = nullptr;
      try {
        h = open(c);
      } catch (const TransportError& e) {
        // Another instrument we may not open must not hide the one asked for: keep looking.
        if (!open_error) open_error = e.what();
        continue;
      }
      const std::string serial = readSerial(h, c.desc);
      if (serial == *selector.serial) {
        handle_ = h;
        serial_ = serial;
        chosen = &c;
        break;
      }
      seen.push_back(serial.empty() ? "(no serial) " + usbBusAddress(c.bus, c.address) : serial);
      libusb_close(h);
    }
    if (chosen == nullptr) {
      if (open_error) throw TransportError(*open_error);
      std::string text = "no " + what + " with serial '" + *selector.serial + "' is connected";
      if (!seen.empty()) {
        text += " (found:";
        for (const auto& s : seen) text += " " + s;
        text += ")";
      }
      throw TransportError(text);
    }
  } else {
    if (candidates.size() > 1) {
      // Driving the wrong microscope is worse than asking: make the user choose.
      std::string text = std::to_string(candidates.size()) + " polscan instruments (USB " +
                         usbId(vid_, pid_) + ") are connected:";
      for (const auto& c : candidates) {
        std::string serial;
        libusb_device_handle* h = nullptr;
        if (libusb_open(c.dev, &h) == LIBUSB_SUCCESS) {
          serial = readSerial(h, c.desc);
          libusb_close(h);
        }
        text += " " + (serial.empty() ? std::string("?") : serial) + " " +
                usbBusAddress(c.bus, c.address) + ";";
      }
      throw TransportError(text + " choose one with usb:SERIAL or usb:BUS:ADDR");
    }
    chosen = &candidates.front();
    handle_ = open(*chosen);
    serial_ = readSerial(handle_, chosen->desc);
  }

  bus_ = chosen->bus;
  address_ = chosen->address;
  description_ = "usb " + usbId(vid_, pid_) + (serial_.empty() ? "" : " serial " + serial_) + " " +
                 usbBusAddress(bus_, address_);
}

void UsbTransport::findEndpoints(int interface_number) {
  libusb_device* dev = libusb_get_device(handle_);
  libusb_config_descriptor* config = nullptr;
  int r = libusb_get_active_config_descriptor(dev, &config);
  if (r == LIBUSB_ERROR_NOT_FOUND) r = libusb_get_config_descriptor(dev, 0, &config);
  if (r != LIBUSB_SUCCESS) {
    throw TransportError("cannot read the configuration descriptor of " + description_ + ": " +
                         errorName(r));
  }
  for (int i = 0; i < config->bNumInterfaces; ++i) {
    const libusb_interface& iface = config->interface[i];
    if (iface.num_altsetting < 1) continue;
    const libusb_interface_descriptor& alt = iface.altsetting[0];
    if (alt.bInterfaceNumber != interface_number) continue;
    for (int e = 0; e < alt.bNumEndpoints; ++e) {
      const libusb_endpoint_descriptor& ep = alt.endpoint[e];
      if ((ep.bmAttributes & LIBUSB_TRANSFER_TYPE_MASK) != LIBUSB_TRANSFER_TYPE_BULK) continue;
      if ((ep.bEndpointAddress & LIBUSB_ENDPOINT_DIR_MASK) == LIBUSB_ENDPOINT_IN) {
        if (in_ep_ == 0) {
          in_ep_ = ep.bEndpointAddress;
          // Bits 10..0 are the size; high-speed high-bandwidth bits do not apply to bulk.
          in_packet_ = static_cast<std::uint16_t>(ep.wMaxPacketSize & 0x7FF);
        }
      } else if (out_ep_ == 0) {
        out_ep_ = ep.bEndpointAddress;
      }
    }
  }
  libusb_free_config_descriptor(config);
  if (in_ep_ == 0 || out_ep_ == 0) {
    throw TransportError(description_ + ": interface " + std::to_string(interface_number) +
                         " has no bulk IN/OUT endpoint pair (is this polscan firmware?)");
  }
  if (in_packet_ == 0) in_packet_ = 64;

  r = libusb_kernel_driver_active(handle_, interface_number);
  if (r == 1) {
    r = libusb_detach_kernel_driver(handle_, interface_number);
    if (r != LIBUSB_SUCCESS && r != LIBUSB_ERROR_NOT_FOUND) {
      throw TransportError(
          usbOpenErrorText(r, vid_, pid_, bus_, address_, "detach the kernel driver from"));
    }
  }
  r = libusb_claim_interface(handle_, interface_number);
  if (r != LIBUSB_SUCCESS) {
    throw TransportError(usbOpenErrorText(r, vid_, pid_, bus_, address_, "claim"));
  }
  interface_ = interface_number;
  claimed_ = true;
}

void UsbTransport::start() {
  if (libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG) != 0) {
    // No ENUMERATE flag: only departures matter, and they are filtered to our bus/address.
    const int r = libusb_hotplug_register_callback(ctx_, LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT, 0, vid_,
                                                   pid_, LIBUSB_HOTPLUG_MATCH_ANY,
                                                   &UsbHotplugThunk::left, this, &hotplug_handle_);
    hotplug_registered_ = r == LIBUSB_SUCCESS;
  }
  event_thread_ = std::thread([this] { eventLoop(); });

  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < kInTransfers; ++i) {
    auto slot = std::make_unique<InSlot>();
    slot->self = this;
    slot->transfer = libusb_alloc_transfer(0);
    if (slot->transfer == nullptr) throw TransportError("libusb_alloc_transfer failed");
    // One packet per transfer: every packet completes its transfer, so a frame whose last
    // packet is exactly full arrives without waiting for a zero-length packet from the device.
    slot->buffer.resize(in_packet_);
    slots_.push_back(std::move(slot));
  }
  for (auto& slot : slots_) {
    submitLocked(*slot);
    if (failure_) throw TransportError(failure_text_);
  }
}

void UsbTransport::eventLoop() {
  while (!stop_events_.load()) {
    timeval tv{0, 100000};
    libusb_handle_events_timeout_completed(ctx_, &tv, nullptr);
  }
}

void UsbTransport::submitLocked(InSlot& slot) {
  libusb_fill_bulk_transfer(slot.transfer, handle_, in_ep_, slot.buffer.data(),
                            static_cast<int>(slot.buffer.size()), &UsbTransport::inCallback, &slot,
                            0);
  const int r = libusb_submit_transfer(slot.transfer);
  if (r == LIBUSB_SUCCESS) {
    slot.in_flight = true;
  } else if (r == LIBUSB_ERROR_NO_DEVICE) {
    failLocked(UsbReadError::unplugged, description_ + " was unplugged");
  } else {
    failLocked(UsbReadError::failed,
               "cannot start a USB read from " + description_ + ": " + errorName(r));
  }
}

void UsbTransport::resubmitIdleLocked() {
  for (auto& slot : slots_) {
    if (closing_ || failure_ || rx_.size() >= kMaxQueued) return;
    if (!slot->in_flight) submitLocked(*slot);
  }
}

void UsbTransport::deliverLocked() {
  if (!read_handler_) return;
  boost::system::error_code ec;
  std::size_t n = 0;
  if (!rx_.empty()) {
    n = std::min(read_buf_.size(), rx_.size());
    std::copy_n(rx_.begin(), n, read_buf_.begin());
    rx_.erase(rx_.begin(), rx_.begin() + static_cast<std::ptrdiff_t>(n));
  } else if (failure_) {
    ec = make_error_code(*failure_);
  } else if (closing_) {
    ec = boost::asio::error::operation_aborted;
  } else {
    return;
  }
  // Never call the handler here: this may be the event thread, and asio handlers run on io_.
  boost::asio::post(io_, [h = std::move(read_handler_), ec, n] { h(ec, n); });
  read_handler_ = nullptr;
  read_buf_ = {};
}

void UsbTransport::failLocked(UsbReadError why, const std::string& text) {
  if (failure_) return;
  failure_ = why;
  failure_text_ = text;
  deliverLocked();
}

void UsbTransport::asyncRead(std::span<std::uint8_t> buf, ReadHandler handler) {
  std::lock_guard lock(mutex_);
  if (read_handler_) {
    // One read at a time, as on a serial port; a second one is a caller bug.
    boost::asio::post(io_, [h = std::move(handler)] { h(boost::asio::error::in_progress, 0); });
    return;
  }
  read_buf_ = buf;
  read_handler_ = std::move(handler);
  deliverLocked();
  resubmitIdleLocked();
}

void UsbTransport::inCallback(libusb_transfer* transfer) {
  auto* slot = static_cast<InSlot*>(transfer->user_data);
  slot->self->onInComplete(*slot);
}

void UsbTransport::onInComplete(InSlot& slot) {
  std::lock_guard lock(mutex_);
  slot.in_flight = false;
  libusb_transfer* t = slot.transfer;
  switch (t->status) {
    case LIBUSB_TRANSFER_COMPLETED:
      transfer_errors_ = 0;
      rx_.insert(rx_.end(), slot.buffer.begin(), slot.buffer.begin() + t->actual_length);
      deliverLocked();
      if (!closing_ && !failure_ && rx_.size() < kMaxQueued) submitLocked(slot);
      break;
    case LIBUSB_TRANSFER_CANCELLED:
      break;  // close() cancelled it
    case LIBUSB_TRANSFER_NO_DEVICE:
      failLocked(UsbReadError::unplugged, description_ + " was unplugged");
      break;
    case LIBUSB_TRANSFER_TIMED_OUT:  // no timeout is set; harmless if a backend reports one
      if (!closing_ && !failure_) submitLocked(slot);
      break;
    case LIBUSB_TRANSFER_STALL:
      if (closing_ || failure_) break;
      if (libusb_clear_halt(handle_, in_ep_) == LIBUSB_SUCCESS) {
        submitLocked(slot);
      } else {
        failLocked(UsbReadError::stalled, description_ + ": IN endpoint stalled");
      }
      break;
    case LIBUSB_TRANSFER_OVERFLOW:
      failLocked(UsbReadError::overflow, description_ + ": IN transfer overflow");
      break;
    case LIBUSB_TRANSFER_ERROR:
    default:
      // During an unplug the host controller may report a protocol error before the device
      // is gone; a retry then fails with NO_DEVICE and the user reads "unplugged".
      if (closing_ || failure_) break;
      if (++transfer_errors_ <= kMaxTransferErrors) {
        submitLocked(slot);
      } else {
        failLocked(UsbReadError::failed, description_ + ": USB IN transfers keep failing");
      }
      break;
  }
  idle_cv_.notify_all();
}

void UsbTransport::onDeviceLeft(libusb_device* dev) {
  if (libusb_get_bus_number(dev) != bus_ || libusb_get_device_address(dev) != address_) return;
  std::lock_guard lock(mutex_);
  failLocked(UsbReadError::unplugged, description_ + " was unplugged");
}

void UsbTransport::write(std::span<const std::uint8_t> bytes) {
  std::lock_guard write_lock(write_mutex_);
  {
    std::lock_guard lock(mutex_);
    if (failure_) throw TransportError("cannot write to " + description_ + ": " + failure_text_);
    if (closing_ || handle_ == nullptr) throw TransportError(description_ + " is closed");
  }
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    int done = 0;
    // libusb takes a mutable pointer for both directions; an OUT transfer only reads it.
    auto* data = const_cast<unsigned char*>(bytes.data() + sent);
    const int r =
        libusb_bulk_transfer(handle_, out_ep_, data, static_cast<int>(bytes.size() - sent), &done,
                             static_cast<unsigned>(write_timeout_.count()));
    sent += static_cast<std::size_t>(std::max(done, 0));
    if (r == LIBUSB_ERROR_NO_DEVICE) {
      std::lock_guard lock(mutex_);
      failLocked(UsbReadError::unplugged, description_ + " was unplugged");
      throw TransportError("cannot write to " + description_ + ": " + failure_text_);
    }
    if (r != LIBUSB_SUCCESS) {
      throw TransportError("write of " + std::to_string(bytes.size()) + " bytes to " +
                           description_ + " failed after " + std::to_string(sent) +
                           " bytes: " + errorName(r));
    }
  }
}

void UsbTransport::close() {
  teardown();
}

void UsbTransport::teardown() {
  std::lock_guard close_lock(close_mutex_);
  if (ctx_ == nullptr) return;
  {
    std::unique_lock lock(mutex_);
    closing_ = true;
    deliverLocked();
    for (auto& slot : slots_) {
      if (slot->in_flight) libusb_cancel_transfer(slot->transfer);
    }
    // The event thread completes the cancellations; freeing a transfer before that is a
    // use-after-free inside libusb.
    const bool idle = idle_cv_.wait_for(lock, kCancelWait, [&] {
      return std::none_of(slots_.begin(), slots_.end(), [](const auto& s) { return s->in_flight; });
    });
    leaked_ = !idle;
  }
  {
    std::lock_guard write_lock(write_mutex_);
    if (hotplug_registered_) libusb_hotplug_deregister_callback(ctx_, hotplug_handle_);
    hotplug_registered_ = false;
    if (claimed_) libusb_release_interface(handle_, interface_);  // fails once unplugged: fine
    claimed_ = false;
    if (handle_ != nullptr) libusb_close(handle_);
    handle_ = nullptr;
  }
  stop_events_ = true;
  libusb_interrupt_event_handler(ctx_);
  if (event_thread_.joinable()) event_thread_.join();

  std::lock_guard lock(mutex_);
  for (auto& slot : slots_) {
    if (leaked_ && slot->in_flight) {
      // libusb may still write into it: leak the transfer and its buffer instead of freeing.
      (void)slot.release();
      continue;
    }
    libusb_free_transfer(slot->transfer);
  }
  slots_.clear();
  libusb_exit(ctx_);
  ctx_ = nullptr;
}

}  // namespace polscan
