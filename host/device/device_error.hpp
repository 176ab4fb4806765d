// Errors from the instrument: a refused command (with the firmware's status) or a lost link.
#pragma once

#include <stdexcept>
#include <string>

#include "polscan.pb.h"

namespace polscan {

class DeviceError : public std::runtime_error {
 public:
  DeviceError(wire::Status status, const std::string& what)
      : std::runtime_error(what), status_(status) {}
  // STATUS_OK for errors on the host side (timeout, link lost, protocol violation).
  wire::Status status() const { return status_; }

 private:
  wire::Status status_;
};

// The link is gone (unplugged, simulator died, too many retransmits) or a reply never came.
class LinkError : public DeviceError {
 public:
  explicit LinkError(const std::string& what) : DeviceError(wire::STATUS_OK, what) {}
};

}  // namespace polscan
