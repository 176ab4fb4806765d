// Run-time support the toolchain expects, mapped onto the firmware's halt path: Boost's
// throw_exception (BOOST_NO_EXCEPTIONS), pure virtual calls, abort.
#include <boost/throw_exception.hpp>

#include "firmware/ports/stm32f405/platform.hpp"

namespace boost {

// Boost's CRC never throws in practice; if a Boost header ever does, the instrument must not run
// on: motors off and halt until the watchdog resets the chip.
void throw_exception(const std::exception&) {
  polscan::fw::stm32::halt();
}

void throw_exception(const std::exception&, const boost::source_location&) {
  polscan::fw::stm32::halt();
}

}  // namespace boost

extern "C" void __cxa_pure_virtual() {
  polscan::fw::stm32::halt();
}

extern "C" void abort() {
  polscan::fw::stm32::halt();
}
