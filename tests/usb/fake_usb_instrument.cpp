// FakeUsbInstrument: umockdev testbed + ioctl handler emulating usbdevfs for one polscan device.
#include "fake_usb_instrument.hpp"

#include <linux/usbdevice_fs.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace polscan::testing {

namespace {

std::string hexString(const std::vector<std::uint8_t>& bytes) {
  std::string out;
  char buf[4];
  for (std::uint8_t b : bytes) {
    std::snprintf(buf, sizeof(buf), "%02x", b);
    out += buf;
  }
  return out;
}

usbdevfs_urb* urbOf(UMockdevIoctlData* data) {
  return reinterpret_cast<usbdevfs_urb*>(data->data);
}

}  // namespace

FakeUsbInstrument::FakeUsbInstrument(Options options) : options_(std::move(options)) {
  char node[64];
  std::snprintf(node, sizeof(node), "/dev/bus/usb/%03u/%03u", options_.bus, options_.devnum);
  devnode_ = node;
  syspath_ =
      "/sys/devices/usb" + std::to_string(options_.bus) + "/" + std::to_string(options_.bus) + "-1";

  if (options_.backend) backend_ = options_.backend(options_.serial);
  // The testbed first: only then is the preload's mock environment active.
  testbed_ = umockdev_testbed_new();
  handler_ = umockdev_ioctl_base_new();
  g_signal_connect_after(handler_, "handle-ioctl", G_CALLBACK(&FakeUsbInstrument::onIoctl), this);
  GError* error = nullptr;
  // Attached before the device exists, so no client can open the node unanswered.
  if (!umockdev_testbed_attach_ioctl(testbed_, devnode_.c_str(), handler_, &error)) {
    const std::string why = error != nullptr ? error->message : "?";
    g_clear_error(&error);
    throw std::runtime_error("umockdev_testbed_attach_ioctl: " + why);
  }

  char vid[8];
  char pid[8];
  std::snprintf(vid, sizeof(vid), "%04x", 0x1209);
  std::snprintf(pid, sizeof(pid), "%04x", 0x7A50);
  const std::string bus = std::to_string(options_.bus);
  const std::string dev = std::to_string(options_.devnum);
  const std::string description =
      "P: " + syspath_.substr(4) + "\n" + "N: " + devnode_.substr(5) + "\n" +
      "E: SUBSYSTEM=usb\n"
      "E: DEVTYPE=usb_device\n"
      "E: DRIVER=usb\n" +
      "E: BUSNUM=" + std::string(node + 13, 3) + "\n" + "E: DEVNUM=" + std::string(node + 17, 3) +
      "\n" + "E: DEVNAME=" + devnode_ + "\n" + "A: busnum=" + bus + "\\n\n" + "A: devnum=" + dev +
      "\\n\n" + "A: bConfigurationValue=1\\n\n" + "A: speed=12\\n\n" + "A: idVendor=" + vid +
      "\\n\n" + "A: idProduct=" + pid + "\\n\n" + "A: serial=" + options_.serial + "\\n\n" +
      "H: descriptors=" + hexString(descriptors()) + "\n";
  if (!umockdev_testbed_add_from_string(testbed_, description.c_str(), &error)) {
    const std::string why = error != nullptr ? error->message : "?";
    g_clear_error(&error);
    throw std::runtime_error("umockdev_testbed_add_from_string: " + why);
  }
  ticker_ = std::thread([this] {
    while (!stop_) {
      {
        std::lock_guard lock(mutex_);
        if (!unplugged_) {
          if (backend_) {
            backend_->poll(to_host_);
          } else {
            link_.poll(nowUs());
          }
          pumpLocked();
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
}

FakeUsbInstrument::~FakeUsbInstrument() {
  stop_ = true;
  ticker_.join();
  g_signal_handlers_disconnect_by_data(handler_, this);
  {
    std::lock_guard lock(mutex_);
    for (auto* d : in_urbs_) g_object_unref(d);
    for (auto* d : done_) g_object_unref(d);
    in_urbs_.clear();
    done_.clear();
  }
  g_object_unref(testbed_);
  g_object_unref(handler_);
}

std::string FakeUsbInstrument::rootDir() const {
  gchar* root = umockdev_testbed_get_root_dir(testbed_);
  std::string path = root;
  g_free(root);
  return path;
}

std::string FakeUsbInstrument::devnodeFile() const {
  return rootDir() + devnode_;
}

std::uint64_t FakeUsbInstrument::nowUs() const {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                        std::chrono::steady_clock::now() - start_)
                                        .count());
}

std::vector<std::uint8_t> FakeUsbInstrument::descriptors() const {
  const std::uint8_t lo = static_cast<std::uint8_t>(options_.packet & 0xFF);
  const std::uint8_t hi = static_cast<std::uint8_t>(options_.packet >> 8);
  return {// device: USB 2.0, class per interface, EP0 64 bytes, 1209:7a50, bcdDevice 1.00,
          // strings 1 (manufacturer) 2 (product) 3 (serial), one configuration
          18, 1, 0x00, 0x02, 0, 0, 0, 64, 0x09, 0x12, 0x50, 0x7A, 0x00, 0x01, 1, 2, 3, 1,
          // configuration 1: 32 bytes in all, one interface, bus powered, 100 mA
          9, 2, 32, 0, 1, 1, 0, 0x80, 50,
          // interface 0: two endpoints, vendor-specific class
          9, 4, 0, 0, 2, 0xFF, 0, 0, 0,
          // bulk OUT, bulk IN
          7, 5, options_.out_ep, 2, lo, hi, 0, 7, 5, options_.in_ep, 2, lo, hi, 0};
}

std::vector<std::uint8_t> FakeUsbInstrument::stringDescriptor(int index) const {
  if (index == 0) return {4, 3, 0x09, 0x04};  // language: en-US
  std::string text;
  switch (index) {
    case 1:
      text = "polscan";
      break;
    case 2:
      text = "polscan microscope";
      break;
    case 3:
      text = options_.serial;
      break;
    default:
      return {};
  }
  std::vector<std::uint8_t> out{static_cast<std::uint8_t>(2 + 2 * text.size()), 3};
  for (char c : text) {
    out.push_back(static_cast<std::uint8_t>(c));
    out.push_back(0);
  }
  return out;
}

gboolean FakeUsbInstrument::onIoctl(UMockdevIoctlBase*, UMockdevIoctlClient* client,
                                    gpointer self) {
  static_cast<FakeUsbInstrument*>(self)->handle(client);
  return TRUE;
}

void FakeUsbInstrument::handle(UMockdevIoctlClient* client) {
  const unsigned long request = umockdev_ioctl_client_get_request(client);
  UMockdevIoctlData* arg = umockdev_ioctl_client_get_arg(client);
  std::lock_guard lock(mutex_);
  switch (request) {
    case USBDEVFS_REAPURB:
    case USBDEVFS_REAPURBNDELAY:
      reap(client, arg);
      return;
    default:
      break;
  }
  if (unplugged_) {
    umockdev_ioctl_client_complete(client, -1, ENODEV);
    return;
  }
  switch (request) {
    case USBDEVFS_GET_CAPABILITIES: {
      UMockdevIoctlData* caps = umockdev_ioctl_data_resolve(arg, 0, sizeof(std::uint32_t), nullptr);
      const std::uint32_t value = USBDEVFS_CAP_BULK_CONTINUATION | USBDEVFS_CAP_NO_PACKET_SIZE_LIM |
                                  USBDEVFS_CAP_REAP_AFTER_DISCONNECT | USBDEVFS_CAP_ZERO_PACKET;
      std::memcpy(caps->data, &value, sizeof(value));
      g_object_unref(caps);
      umockdev_ioctl_client_complete(client, 0, 0);
      return;
    }
    case USBDEVFS_CLAIMINTERFACE:
    case USBDEVFS_RELEASEINTERFACE:
    case USBDEVFS_CLEAR_HALT:
    case USBDEVFS_RESET:
    case USBDEVFS_RESETEP:
    case USBDEVFS_SETINTERFACE:
      umockdev_ioctl_client_complete(client, 0, 0);
      return;
    case USBDEVFS_GETDRIVER:
      umockdev_ioctl_client_complete(client, -1, ENODATA);  // no kernel driver bound
      return;
    case USBDEVFS_SUBMITURB:
      submit(client, arg);
      return;
    case USBDEVFS_DISCARDURB:
      discard(client, arg);
      return;
    default:
      umockdev_ioctl_client_complete(client, -1, ENOTTY);
      return;
  }
}

void FakeUsbInstrument::submit(UMockdevIoctlClient* client, UMockdevIoctlData* arg) {
  UMockdevIoctlData* urb_data = umockdev_ioctl_data_resolve(arg, 0, sizeof(usbdevfs_urb), nullptr);
  usbdevfs_urb* urb = urbOf(urb_data);
  if (urb->buffer_length > 0) {
    // The parent keeps the resolved buffer; urb->buffer now points at our local copy.
    UMockdevIoctlData* buffer = umockdev_ioctl_data_resolve(
        urb_data, offsetof(usbdevfs_urb, buffer), static_cast<gsize>(urb->buffer_length), nullptr);
    if (buffer != nullptr) g_object_unref(buffer);
  }
  urb->status = 0;
  urb->actual_length = 0;
  if (urb->type == USBDEVFS_URB_TYPE_CONTROL) {
    control(urb_data);
    done_.push_back(urb_data);
  } else if (urb->type == USBDEVFS_URB_TYPE_BULK && urb->endpoint == options_.out_ep) {
    const auto n = static_cast<std::size_t>(urb->buffer_length);
    largest_out_ = std::max(largest_out_, n);
    const auto* bytes = static_cast<const std::uint8_t*>(urb->buffer);
    if (backend_) {
      backend_->fromHost(bytes, n, to_host_);
    } else {
      link_.receive(bytes, n, nowUs());
    }
    urb->actual_length = urb->buffer_length;
    done_.push_back(urb_data);
  } else if (urb->type == USBDEVFS_URB_TYPE_BULK && urb->endpoint == options_.in_ep) {
    in_urbs_.push_back(urb_data);
  } else {
    g_object_unref(urb_data);
    umockdev_ioctl_client_complete(client, -1, EINVAL);
    return;
  }
  pumpLocked();
  umockdev_ioctl_client_complete(client, 0, 0);
}

void FakeUsbInstrument::control(UMockdevIoctlData* urb_data) {
  usbdevfs_urb* urb = urbOf(urb_data);
  auto* buf = static_cast<std::uint8_t*>(urb->buffer);
  if (urb->buffer_length < 8) {
    urb->status = -EPIPE;
    return;
  }
  const int request_type = buf[0];
  const int request = buf[1];
  const int value = buf[2] | (buf[3] << 8);
  const int length = buf[6] | (buf[7] << 8);
  std::vector<std::uint8_t> reply;
  if (request_type == 0x80 && request == 6) {  // GET_DESCRIPTOR, standard, device
    const std::vector<std::uint8_t> all = descriptors();
    switch (value >> 8) {
      case 1:
        reply.assign(all.begin(), all.begin() + 18);
        break;
      case 2:
        reply.assign(all.begin() + 18, all.end());
        break;
      case 3:
        reply = stringDescriptor(value & 0xFF);
        break;
      default:
        break;
    }
  }
  if (reply.empty()) {
    urb->status = -EPIPE;  // a stall, as a real device answers an unknown request
    return;
  }
  const std::size_t n = std::min({reply.size(), static_cast<std::size_t>(length),
                                  static_cast<std::size_t>(urb->buffer_length - 8)});
  std::copy_n(reply.begin(), n, buf + 8);
  urb->actual_length = static_cast<int>(n);  // the setup packet does not count
}

void FakeUsbInstrument::pumpLocked() {
  while (!in_urbs_.empty() && !to_host_.empty()) {
    UMockdevIoctlData* urb_data = in_urbs_.front();
    usbdevfs_urb* urb = urbOf(urb_data);
    const std::size_t n = std::min(static_cast<std::size_t>(urb->buffer_length), to_host_.size());
    std::copy_n(to_host_.begin(), n, static_cast<std::uint8_t*>(urb->buffer));
    to_host_.erase(to_host_.begin(), to_host_.begin() + static_cast<std::ptrdiff_t>(n));
    urb->actual_length = static_cast<int>(n);
    urb->status = 0;
    in_urbs_.pop_front();
    done_.push_back(urb_data);
  }
}

void FakeUsbInstrument::reap(UMockdevIoctlClient* client, UMockdevIoctlData* arg) {
  if (done_.empty()) {
    umockdev_ioctl_client_complete(client, -1, unplugged_ ? ENODEV : EAGAIN);
    return;
  }
  UMockdevIoctlData* urb_data = done_.front();
  done_.pop_front();
  // The argument is the address of the client's URB pointer: point it at the finished URB.
  UMockdevIoctlData* slot = umockdev_ioctl_data_resolve(arg, 0, sizeof(gpointer), nullptr);
  umockdev_ioctl_data_set_ptr(slot, 0, urb_data);
  umockdev_ioctl_client_complete(client, 0, 0);
  g_object_unref(slot);
  g_object_unref(urb_data);
}

void FakeUsbInstrument::discard(UMockdevIoctlClient* client, UMockdevIoctlData* arg) {
  gulong address = 0;
  std::memcpy(&address, arg->data, sizeof(address));  // DISCARDURB passes the URB pointer itself
  const auto it = std::find_if(in_urbs_.begin(), in_urbs_.end(),
                               [&](UMockdevIoctlData* d) { return d->client_addr == address; });
  if (it == in_urbs_.end()) {
    umockdev_ioctl_client_complete(client, -1, EINVAL);  // already finished: reap it
    return;
  }
  urbOf(*it)->status = -ENOENT;
  done_.push_back(*it);
  in_urbs_.erase(it);
  umockdev_ioctl_client_complete(client, 0, 0);
}

void FakeUsbInstrument::unplug(bool uevent, bool urbs_fail) {
  if (uevent) {
    umockdev_testbed_uevent(testbed_, syspath_.c_str(), "remove");
    umockdev_testbed_remove_device(testbed_, syspath_.c_str());
  }
  if (urbs_fail) {
    std::lock_guard lock(mutex_);
    unplugged_ = true;
    for (auto* d : in_urbs_) {
      urbOf(d)->status = -ENODEV;
      done_.push_back(d);
    }
    in_urbs_.clear();
  }
}

void FakeUsbInstrument::setSilent(wire::HostMessage::CommandCase command) {
  std::lock_guard lock(mutex_);
  silent_.insert(static_cast<int>(command));
}

std::vector<wire::HostMessage> FakeUsbInstrument::received() {
  std::lock_guard lock(mutex_);
  return received_;
}

std::size_t FakeUsbInstrument::largestOutUrb() {
  std::lock_guard lock(mutex_);
  return largest_out_;
}

std::size_t FakeUsbInstrument::pendingInUrbs() {
  std::lock_guard lock(mutex_);
  return in_urbs_.size() + done_.size();
}

void FakeUsbInstrument::writeBytes(const std::uint8_t* data, std::size_t n) {
  to_host_.insert(to_host_.end(), data, data + n);  // called with mutex_ held
}

void FakeUsbInstrument::onPayload(const std::uint8_t* data, std::size_t n) {
  wire::HostMessage m;
  if (!m.ParseFromArray(data, static_cast<int>(n))) return;
  received_.push_back(m);
  if (silent_.count(static_cast<int>(m.command_case())) != 0) return;
  wire::DeviceMessage out;
  out.set_protocol_version(wire::PROTOCOL_VERSION_MAJOR);
  out.set_device_time_us(nowUs());
  wire::Reply* reply = out.mutable_reply();
  reply->set_request_id(m.request_id());
  switch (m.command_case()) {
    case wire::HostMessage::kGetInfo: {
      wire::Info* info = reply->mutable_info();
      info->set_firmware_version("fake-usb");
      info->set_protocol_version(wire::PROTOCOL_VERSION_MAJOR);
      info->set_board(options_.board);
      info->set_serial_number(options_.serial);
      info->set_max_angles(64);
      break;
    }
    case wire::HostMessage::kAcquireStack:
      reply->set_frames_scheduled(static_cast<std::uint32_t>(m.acquire_stack().angles_deg_size()));
      break;
    default:
      reply->set_status(wire::STATUS_UNKNOWN_COMMAND);
      reply->set_message("the USB test device only knows GetInfo and AcquireStack");
      break;
  }
  const std::string bytes = out.SerializeAsString();
  link_.send(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), nowUs());
}

}  // namespace polscan::testing
