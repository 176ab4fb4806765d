// polscan-fwsim: the firmware core on a host process with simulated motors, served on a pty/TCP.
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "firmware/core/config.hpp"
#include "firmware/core/instrument.hpp"
#include "firmware/hal/clock.hpp"
#include "firmware/ports/sim/sim_machine.hpp"
#include "firmware/ports/sim/sim_transport.hpp"

namespace {

using namespace polscan::fw;

volatile sig_atomic_t g_stop = 0;
void onSignal(int) {
  g_stop = 1;
}

// Mechanical faults a test injects at a moment of its choosing (kill -USR1 / -USR2 PID).
volatile sig_atomic_t g_usr1 = 0;
volatile sig_atomic_t g_usr2 = 0;
void onUsr1(int) {
  g_usr1 = 1;
}
void onUsr2(int) {
  g_usr2 = 1;
}

std::uint64_t monotonicUs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000u +
         static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
}

// Firmware clock: microseconds since the sim started (its "boot").
class SimClock final : public hal::Clock {
 public:
  SimClock() : start_(monotonicUs()) {}
  std::uint64_t now() override { return monotonicUs() - start_; }
  std::uint32_t tickHz() const override { return 1000000; }

 private:
  std::uint64_t start_;
};

const char* commandName(pb_size_t tag) {
  switch (tag) {
    case polscan_wire_HostMessage_get_info_tag:
      return "GetInfo";
    case polscan_wire_HostMessage_home_tag:
      return "Home";
    case polscan_wire_HostMessage_move_tag:
      return "Move";
    case polscan_wire_HostMessage_rotate_tag:
      return "Rotate";
    case polscan_wire_HostMessage_acquire_stack_tag:
      return "AcquireStack";
    case polscan_wire_HostMessage_set_led_tag:
      return "SetLed";
    case polscan_wire_HostMessage_get_status_tag:
      return "GetStatus";
    case polscan_wire_HostMessage_abort_tag:
      return "Abort";
    default:
      return "(unknown)";
  }
}

class VerboseLog final : public InstrumentObserver {
 public:
  void onCommand(const polscan_wire_HostMessage& m) override {
    std::fprintf(stderr, "polscan-fwsim: <- %s request_id=%u protocol=%u\n",
                 commandName(m.which_command), m.request_id, m.protocol_version);
  }
  void onDeviceMessage(const polscan_wire_DeviceMessage& m) override {
    const double t = static_cast<double>(m.device_time_us) * 1e-6;
    switch (m.which_body) {
      case polscan_wire_DeviceMessage_reply_tag:
        std::fprintf(stderr, "polscan-fwsim: -> [%.6f] Reply request_id=%u status=%d %s\n", t,
                     m.body.reply.request_id, static_cast<int>(m.body.reply.status),
                     m.body.reply.message);
        break;
      case polscan_wire_DeviceMessage_trigger_tag:
        std::fprintf(stderr,
                     "polscan-fwsim: -> [%.6f] TriggerFired stack=%u frame=%u commanded=%.4f "
                     "measured=%.4f t_us=%llu\n",
                     t, m.body.trigger.stack_id, m.body.trigger.frame_index,
                     m.body.trigger.commanded_angle_deg, m.body.trigger.measured_angle_deg,
                     static_cast<unsigned long long>(m.body.trigger.timestamp_us));
        break;
      case polscan_wire_DeviceMessage_stack_done_tag:
        std::fprintf(stderr, "polscan-fwsim: -> [%.6f] StackDone stack=%u frames=%u status=%d\n", t,
                     m.body.stack_done.stack_id, m.body.stack_done.frames,
                     static_cast<int>(m.body.stack_done.status));
        break;
      case polscan_wire_DeviceMessage_fault_tag:
        std::fprintf(stderr, "polscan-fwsim: -> [%.6f] Fault code=%d axis=%d %s\n", t,
                     static_cast<int>(m.body.fault.code), static_cast<int>(m.body.fault.axis),
                     m.body.fault.message);
        break;
      default:
        break;
    }
  }
};

void logTransport(const char* what) {
  std::fprintf(stderr, "polscan-fwsim: %s\n", what);
}

void usage(std::FILE* out) {
  std::fprintf(
      out,
      "usage: polscan-fwsim [options]\n"
      "Simulated polscan firmware: serves the framed protobuf link on a pty (printed as\n"
      "'polscan-fwsim: pty /dev/pts/N') and optionally on 127.0.0.1 TCP.\n"
      "  --port P              also listen on 127.0.0.1:P (0 = any free port; printed as\n"
      "                        'polscan-fwsim: tcp 127.0.0.1:P'); one host at a time\n"
      "  --index-offset-deg D  mechanical angle of the polarizer index edge (default 0)\n"
      "  --no-index            the index never appears (homing fails after 2 turns)\n"
      "  --start-angle-deg D   mechanical polarizer angle at start-up (default 123.4)\n"
      "  --serial SN           serial number reported by GetInfo (default SIM-0001)\n"
      "  --motion-speedup K    mechanics and step timer run K times faster than real time\n"
      "                        (1..50, default 1); the link and its timeouts stay real.\n"
      "                        For fault tests only: trigger timestamps are K times off\n"
      "  --usr1-slip-polarizer STEPS  on SIGUSR1 the polarizer rotor slips STEPS microsteps\n"
      "                        without a pulse (lost steps; 9600 = one turn)\n"
      "  --usr2-push-x STEPS   on SIGUSR2 the X stage is pushed STEPS microsteps without a\n"
      "                        pulse (negative: towards its limit switch; 1 step = 0.625 um)\n"
      "  --no-fly-by           an instrument without fly-by: fly-by stacks are refused\n"
      "                        (BAD_REQUEST), stop-and-go works (host fallback tests)\n"
      "  --verbose             log every command, event and connection to stderr\n"
      "  --help                this text\n");
}

bool parseDouble(const char* s, double& out) {
  char* end = nullptr;
  errno = 0;
  out = std::strtod(s, &end);
  return errno == 0 && end != s && *end == '\0';
}

}  // namespace

int main(int argc, char** argv) {
  double index_offset = 0.0;
  double start_angle = 123.4;
  bool index_present = true;
  bool fly_by = true;
  bool verbose = false;
  std::string serial = "SIM-0001";
  long port = -1;
  long speedup = 1;
  long slip_polarizer = 0;
  long push_x = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else if (a == "--no-index") {
      index_present = false;
    } else if (a == "--no-fly-by") {
      fly_by = false;
    } else if (a == "--verbose" || a == "-v") {
      verbose = true;
    } else if (a == "--index-offset-deg" && has_value) {
      if (!parseDouble(argv[++i], index_offset)) {
        std::fprintf(stderr, "polscan-fwsim: bad --index-offset-deg '%s'\n", argv[i]);
        return 2;
      }
    } else if (a == "--start-angle-deg" && has_value) {
      if (!parseDouble(argv[++i], start_angle)) {
        std::fprintf(stderr, "polscan-fwsim: bad --start-angle-deg '%s'\n", argv[i]);
        return 2;
      }
    } else if ((a == "--motion-speedup" || a == "--usr1-slip-polarizer" || a == "--usr2-push-x") &&
               has_value) {
      char* end = nullptr;
      const long v = std::strtol(argv[++i], &end, 10);
      const bool ok = *end != '\0' ? false : a != "--motion-speedup" || (v >= 1 && v <= 50);
      if (!ok) {
        std::fprintf(stderr, "polscan-fwsim: bad %s '%s'\n", a.c_str(), argv[i]);
        return 2;
      }
      (a == "--motion-speedup"        ? speedup
       : a == "--usr1-slip-polarizer" ? slip_polarizer
                                      : push_x) = v;
    } else if (a == "--serial" && has_value) {
      serial = argv[++i];
    } else if (a == "--port" && has_value) {
      char* end = nullptr;
      port = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || port < 0 || port > 65535) {
        std::fprintf(stderr, "polscan-fwsim: bad --port '%s'\n", argv[i]);
        return 2;
      }
    } else {
      std::fprintf(stderr, "polscan-fwsim: unknown or incomplete option '%s'\n", a.c_str());
      usage(stderr);
      return 2;
    }
  }

  struct sigaction sa {};
  sa.sa_handler = onSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  struct sigaction su1 {};
  su1.sa_handler = onUsr1;
  sigemptyset(&su1.sa_mask);
  sigaction(SIGUSR1, &su1, nullptr);
  struct sigaction su2 {};
  su2.sa_handler = onUsr2;
  sigemptyset(&su2.sa_mask);
  sigaction(SIGUSR2, &su2, nullptr);

  sim::SimTransport transport;
  if (verbose) transport.log = logTransport;
  if (!transport.openPty()) {
    std::fprintf(stderr, "polscan-fwsim: %s\n", transport.error().c_str());
    return 1;
  }
  if (port >= 0 && !transport.listenTcp(static_cast<std::uint16_t>(port))) {
    std::fprintf(stderr, "polscan-fwsim: %s\n", transport.error().c_str());
    return 1;
  }

  // Physical start positions: the polarizer anywhere, the stages a little above their switches.
  SimClock clock;
  sim::SimStepper pol;
  sim::SimStepper x(1600);
  sim::SimStepper y(1600);
  sim::SimStepper z(5000);
  sim::SimIndexSensor index(pol, start_angle, index_offset, index_present);
  sim::SimLimitSwitch limit_x(x);
  sim::SimLimitSwitch limit_y(y);
  sim::SimLimitSwitch limit_z(z);
  sim::SimTrigger trigger;
  sim::SimLed led;
  hal::Board board{clock, pol, x, y, z, index, limit_x, limit_y, limit_z, trigger, led, transport};

  InstrumentConfig cfg;
  cfg.board = "sim";
  cfg.serial_number = serial.c_str();
  cfg.index_offset_deg = index_offset;
  cfg.fly_by = fly_by;
  // A fresh nonce per run tells a connected host that the device restarted.
  const auto nonce =
      static_cast<std::uint8_t>((monotonicUs() ^ static_cast<unsigned>(getpid())) & 0xFF);
  cfg.session_nonce = nonce == 0 ? 1 : nonce;
  static Instrument instrument(board, cfg);  // ~30 KB: keep it off the stack
  VerboseLog log;
  if (verbose) instrument.setObserver(&log);

  std::printf("polscan-fwsim: pty %s\n", transport.ptyPath().c_str());
  if (port >= 0) std::printf("polscan-fwsim: tcp 127.0.0.1:%u\n", transport.boundPort());
  std::fflush(stdout);

  // The step timer runs in batches: every pass catches up with real time, one onStepTimer()
  // per elapsed period, then the main loop runs once and sleeps in poll() for up to 1 ms.
  std::uint64_t ticks_done = 0;
  while (g_stop == 0) {
    const std::uint64_t now = clock.now();
    if (g_usr1 != 0) {
      g_usr1 = 0;
      pol.bump(static_cast<std::int32_t>(slip_polarizer));
      if (verbose)
        std::fprintf(stderr, "polscan-fwsim: polarizer slipped %ld steps\n", slip_polarizer);
    }
    if (g_usr2 != 0) {
      g_usr2 = 0;
      x.bump(static_cast<std::int32_t>(push_x));
      if (verbose) std::fprintf(stderr, "polscan-fwsim: X stage pushed %ld steps\n", push_x);
    }
    const std::uint64_t due = now * static_cast<std::uint64_t>(speedup) / config::kUsPerStepTick;
    // At most 1 s of (sped-up) catch-up per pass.
    std::uint64_t budget = config::kStepTimerHz * static_cast<std::uint64_t>(speedup);
    while (ticks_done < due && budget-- > 0) {
      instrument.onStepTimer();
      ++ticks_done;
    }
    instrument.poll();
    transport.flush();
    pollfd fds[3];
    const int n = transport.pollFds(fds, clock.now());
    const int r = ::poll(fds, static_cast<nfds_t>(n), 1);
    if (r > 0) transport.handle(fds, n);
  }
  if (verbose) std::fprintf(stderr, "polscan-fwsim: stopping\n");
  return 0;
}
