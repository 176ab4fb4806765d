// Test bench implementation: deterministic time, real frames both ways.
#include "bench.hpp"

namespace polscan::fw::test {

namespace {
InstrumentConfig benchConfig(const BenchOptions& o) {
  InstrumentConfig c;
  c.board = "test";
  c.serial_number = "T-1";
  c.index_offset_deg = o.index_offset_deg;
  c.session_nonce = 0x31;
  c.fly_by = o.fly_by;
  return c;
}
}  // namespace

Bench::Bench(const BenchOptions& o)
    : pol(0),
      x(o.x_start),
      y(o.y_start),
      z(o.z_start),
      index(pol, o.start_angle_deg, o.index_offset_deg, o.index_present),
      limit_x(x),
      limit_y(y),
      limit_z(z),
      board{clock, pol, x, y, z, index, limit_x, limit_y, limit_z, trigger, led, wire},
      inst(std::make_unique<Instrument>(board, benchConfig(o))),
      host(*this, *this, 0x5A) {
  pol.on_step = [this](std::int32_t p) { pol_steps.push_back({inst->stepTicks(), p}); };
  x.on_step = [this](std::int32_t p) { x_steps.push_back({inst->stepTicks(), p}); };
  trigger.on_pulse = [this] {
    trigger_ticks.push_back(inst->stepTicks());
    trigger_mech_angles.push_back(index.mechanicalAngle());
  };
}

void Bench::writeBytes(const std::uint8_t* data, std::size_t n) {
  wire.rx.insert(wire.rx.end(), data, data + n);
}

void Bench::onPayload(const std::uint8_t* data, std::size_t n) {
  polscan_wire_DeviceMessage m = polscan_wire_DeviceMessage_init_zero;
  pb_istream_t is = pb_istream_from_buffer(data, n);
  if (pb_decode(&is, polscan_wire_DeviceMessage_fields, &m)) received.push_back(m);
}

void Bench::pump() {
  inst->poll();
  if (deliver_to_host) {
    host.receive(wire.tx.data(), wire.tx.size(), clock.us);
  }
  wire.tx.clear();
  host.poll(clock.us);
  // As DeviceClient does: an idle host says it is alive, so the host-silence timeout stays quiet.
  if (host_keepalive && clock.us % 250000 == 0) host.keepAlive();
}

void Bench::run(std::uint64_t us) {
  const std::uint64_t end = clock.us + us;
  while (clock.us < end) {
    clock.us += config::kUsPerStepTick;
    inst->onStepTimer();
    if (clock.us % 1000 == 0) pump();
  }
}

std::uint32_t Bench::send(polscan_wire_HostMessage msg) {
  msg.protocol_version = 1;
  msg.request_id = next_id_++;
  std::uint8_t buf[link::kMaxPayload];
  pb_ostream_t os = pb_ostream_from_buffer(buf, sizeof(buf));
  pb_encode(&os, polscan_wire_HostMessage_fields, &msg);
  host.send(buf, os.bytes_written, clock.us);
  return msg.request_id;
}

std::uint32_t Bench::sendRaw(const std::uint8_t* payload, std::size_t n) {
  host.send(payload, n, clock.us);
  return 0;
}

polscan_wire_Reply Bench::reply(std::uint32_t id, std::uint64_t timeout_us) {
  polscan_wire_Reply found = polscan_wire_Reply_init_zero;
  found.status = static_cast<polscan_wire_Status>(-1);
  runUntil(
      [&] {
        for (const auto& m : received) {
          if (m.which_body == polscan_wire_DeviceMessage_reply_tag &&
              m.body.reply.request_id == id) {
            found = m.body.reply;
            return true;
          }
        }
        return false;
      },
      timeout_us);
  return found;
}

bool Bench::idle() {
  for (int a = 0; a < 4; ++a) {
    if (inst->axis(static_cast<polscan_wire_Axis>(a)).busy()) return false;
  }
  return !inst->acquiring();
}

polscan_wire_Reply Bench::home(polscan_wire_Axis axis) {
  auto m = makeCommand(polscan_wire_HostMessage_home_tag);
  m.command.home.axis = axis;
  const auto r = call(m);
  runUntil([&] { return idle(); }, 60'000'000);
  return r;
}

polscan_wire_DeviceStatus Bench::status() {
  return call(makeCommand(polscan_wire_HostMessage_get_status_tag)).result.device_status;
}

std::vector<polscan_wire_TriggerFired> Bench::triggers(std::uint32_t stack_id) const {
  std::vector<polscan_wire_TriggerFired> out;
  for (const auto& m : received) {
    if (m.which_body == polscan_wire_DeviceMessage_trigger_tag &&
        m.body.trigger.stack_id == stack_id) {
      out.push_back(m.body.trigger);
    }
  }
  return out;
}

const polscan_wire_StackDone* Bench::stackDone(std::uint32_t stack_id) const {
  for (const auto& m : received) {
    if (m.which_body == polscan_wire_DeviceMessage_stack_done_tag &&
        m.body.stack_done.stack_id == stack_id) {
      return &m.body.stack_done;
    }
  }
  return nullptr;
}

std::vector<polscan_wire_Fault> Bench::faults() const {
  std::vector<polscan_wire_Fault> out;
  for (const auto& m : received) {
    if (m.which_body == polscan_wire_DeviceMessage_fault_tag) out.push_back(m.body.fault);
  }
  return out;
}

polscan_wire_HostMessage makeCommand(pb_size_t tag) {
  polscan_wire_HostMessage m = polscan_wire_HostMessage_init_zero;
  m.which_command = tag;
  return m;
}

}  // namespace polscan::fw::test
