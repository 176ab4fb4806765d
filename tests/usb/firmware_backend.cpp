// Firmware core backend: the real command dispatch and nanopb codec answer the host's frames.
#include "firmware_backend.hpp"

#include <algorithm>
#include <chrono>
#include <vector>

#include "firmware/core/config.hpp"
#include "firmware/core/instrument.hpp"
#include "firmware/hal/board.hpp"
#include "firmware/ports/sim/sim_machine.hpp"

namespace polscan::testing {

namespace {

namespace fw = polscan::fw;

class FirmwareBackend final : public UsbDeviceBackend, fw::hal::ByteLink, fw::hal::Clock {
 public:
  explicit FirmwareBackend(const std::string& serial) : serial_(serial) {
    fw::InstrumentConfig cfg;
    cfg.board = "usb-fw";
    cfg.serial_number = serial_.c_str();
    cfg.session_nonce = 0x17;
    instrument_ = std::make_unique<fw::Instrument>(board_, cfg);  // ~30 KB: not on a stack
  }

  void fromHost(const std::uint8_t* data, std::size_t n,
                std::deque<std::uint8_t>& to_host) override {
    rx_.insert(rx_.end(), data, data + n);
    run(to_host);
  }
  void poll(std::deque<std::uint8_t>& to_host) override { run(to_host); }

 private:
  // The sim port's loop in miniature: catch the step timer up with real time, then the main loop.
  void run(std::deque<std::uint8_t>& to_host) {
    const std::uint64_t due = now() / fw::config::kUsPerStepTick;
    while (ticks_ < due) {
      instrument_->onStepTimer();
      ++ticks_;
    }
    out_ = &to_host;
    instrument_->poll();
    out_ = nullptr;
  }

  std::size_t read(std::uint8_t* buf, std::size_t cap) override {
    const std::size_t n = std::min(cap, rx_.size());
    std::copy_n(rx_.begin(), n, buf);
    rx_.erase(rx_.begin(), rx_.begin() + static_cast<std::ptrdiff_t>(n));
    return n;
  }
  void write(const std::uint8_t* data, std::size_t n) override {
    if (out_ != nullptr) out_->insert(out_->end(), data, data + n);
  }
  std::uint64_t now() override {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                          std::chrono::steady_clock::now() - start_)
                                          .count());
  }
  std::uint32_t tickHz() const override { return 1000000; }

  std::string serial_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::uint64_t ticks_ = 0;
  std::vector<std::uint8_t> rx_;
  std::deque<std::uint8_t>* out_ = nullptr;
  fw::sim::SimStepper pol_;
  fw::sim::SimStepper x_{1600};
  fw::sim::SimStepper y_{1600};
  fw::sim::SimStepper z_{5000};
  fw::sim::SimIndexSensor index_{pol_, 123.4, 0.0, true};
  fw::sim::SimLimitSwitch limit_x_{x_};
  fw::sim::SimLimitSwitch limit_y_{y_};
  fw::sim::SimLimitSwitch limit_z_{z_};
  fw::sim::SimTrigger trigger_;
  fw::sim::SimLed led_;
  fw::hal::Board board_{*this,    pol_,     x_,       y_,       z_,   index_,
                        limit_x_, limit_y_, limit_z_, trigger_, led_, *this};
  std::unique_ptr<fw::Instrument> instrument_;
};

}  // namespace

std::unique_ptr<UsbDeviceBackend> makeFirmwareBackend(const std::string& serial) {
  return std::make_unique<FirmwareBackend>(serial);
}

}  // namespace polscan::testing
