// Acquires a stack across link drops: reconnect, restore the instrument, acquire the stack again.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "acquisition/stack_acquirer.hpp"

namespace polscan {

struct RecoveryPolicy {
  int max_attempts = 3;                            // acquisitions of one stack, the first included
  std::chrono::milliseconds reconnect_wait{5000};  // how long the device may stay away
};

// What the recovery did, for logs and tests.
struct RecoveryReport {
  int attempts = 0;
  int reconnects = 0;
  int rehomed_axes = 0;             // axes homed again after the firmware's safe state
  std::vector<std::string> errors;  // the LinkError of each failed attempt
};

// Runs acquireStack(); when the link drops (LinkError: unplug, cable fault, lost frames) it
// reconnects, waits for the firmware to be idle, clears a FAULT_HOST_TIMEOUT safe state (caused by
// the drop itself) by homing the axes the firmware forgot, puts the stage back where the stack was
// asked for, and acquires the whole stack again. Nothing of a failed attempt is kept: a stack
// either completes with every frame paired or is not returned. Any other error (an instrument
// fault, a refused command, a camera or pairing error) is thrown as it is, never retried; after
// max_attempts link drops the last LinkError is thrown with the attempt count.
Stack acquireStackRecovering(DeviceClient& device, Camera& camera,
                             const AcquisitionSettings& settings, const RecoveryPolicy& policy = {},
                             RecoveryReport* report = nullptr);

}  // namespace polscan
