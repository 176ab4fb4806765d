// Unsolicited messages from the instrument, delivered in arrival order.
#pragma once

#include <variant>

#include "polscan.pb.h"

namespace polscan {

struct TriggerEvent {
  wire::TriggerFired trigger;
  double host_time_s = 0.0;  // trigger time mapped to the host steady clock (ClockSync)
};

using DeviceEvent = std::variant<TriggerEvent, wire::StackDone, wire::Fault>;

}  // namespace polscan
