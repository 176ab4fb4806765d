// polscan-fwsim end to end: start the real executable, open its pty, ask GetInfo over frames.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "pb_decode.h"
#include "pb_encode.h"
#include "polscan.pb.h"
#include "proto/framing/reliable_link.hpp"

namespace {

using namespace polscan::link;

std::uint64_t nowUs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000u + ts.tv_nsec / 1000u;
}

struct FdSink : ByteSink {
  int fd = -1;
  void writeBytes(const std::uint8_t* d, std::size_t n) override {
    while (n > 0) {
      const ssize_t w = ::write(fd, d, n);
      if (w <= 0) return;
      d += w;
      n -= static_cast<std::size_t>(w);
    }
  }
};

struct Replies : PayloadHandler {
  std::vector<polscan_wire_DeviceMessage> got;
  void onPayload(const std::uint8_t* d, std::size_t n) override {
    polscan_wire_DeviceMessage m = polscan_wire_DeviceMessage_init_zero;
    pb_istream_t is = pb_istream_from_buffer(d, n);
    if (pb_decode(&is, polscan_wire_DeviceMessage_fields, &m)) got.push_back(m);
  }
};

// The sim as a child process with its stdout on a pipe; killed at the end of the test.
struct SimProcess {
  pid_t pid = -1;
  FILE* out = nullptr;
  ~SimProcess() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    if (out != nullptr) fclose(out);
  }
  bool start(const std::vector<std::string>& args) {
    int p[2];
    if (pipe(p) != 0) return false;
    pid = fork();
    if (pid == 0) {
      dup2(p[1], STDOUT_FILENO);
      close(p[0]);
      close(p[1]);
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(POLSCAN_FWSIM_PATH));
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(POLSCAN_FWSIM_PATH, argv.data());
      _exit(127);
    }
    close(p[1]);
    out = fdopen(p[0], "r");
    return pid > 0 && out != nullptr;
  }
  int stop() {
    kill(pid, SIGTERM);
    int st = 0;
    waitpid(pid, &st, 0);
    pid = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }
};

// Sends GetInfo on fd and waits (real time) for its Reply.
bool getInfo(int fd, std::uint32_t request_id, polscan_wire_Reply& reply) {
  FdSink sink;
  sink.fd = fd;
  Replies replies;
  ReliableLink link(sink, replies, static_cast<std::uint8_t>(0x40 + request_id));
  polscan_wire_HostMessage msg = polscan_wire_HostMessage_init_zero;
  msg.protocol_version = 1;
  msg.request_id = request_id;
  msg.which_command = polscan_wire_HostMessage_get_info_tag;
  std::uint8_t buf[kMaxPayload];
  pb_ostream_t os = pb_ostream_from_buffer(buf, sizeof(buf));
  if (!pb_encode(&os, polscan_wire_HostMessage_fields, &msg)) return false;
  link.send(buf, os.bytes_written, nowUs());
  const std::uint64_t deadline = nowUs() + 5'000'000;
  while (nowUs() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 10) > 0 && (p.revents & POLLIN) != 0) {
      std::uint8_t in[512];
      const ssize_t n = read(fd, in, sizeof(in));
      if (n > 0) link.receive(in, static_cast<std::size_t>(n), nowUs());
    }
    link.poll(nowUs());
    for (const auto& m : replies.got) {
      if (m.which_body == polscan_wire_DeviceMessage_reply_tag &&
          m.body.reply.request_id == request_id) {
        reply = m.body.reply;
        return true;
      }
    }
  }
  return false;
}

int openRaw(const std::string& path) {
  const int fd = open(path.c_str(), O_RDWR | O_NOCTTY);
  if (fd < 0) return -1;
  termios tio{};
  tcgetattr(fd, &tio);
  cfmakeraw(&tio);
  tcsetattr(fd, TCSANOW, &tio);
  return fd;
}

}  // namespace

TEST(FwSim, AnswersGetInfoOnItsPtyAndSurvivesAReconnect) {
  SimProcess sim;
  ASSERT_TRUE(sim.start({"--serial", "SN-42"}));
  char line[256] = {};
  ASSERT_NE(fgets(line, sizeof(line), sim.out), nullptr);
  const std::string prefix = "polscan-fwsim: pty ";
  std::string text(line);
  ASSERT_EQ(text.rfind(prefix, 0), 0u) << text;
  const std::string path = text.substr(prefix.size(), text.find('\n') - prefix.size());

  for (std::uint32_t round = 1; round <= 2; ++round) {  // the second host reconnects
    const int fd = openRaw(path);
    ASSERT_GE(fd, 0) << path;
    polscan_wire_Reply reply = polscan_wire_Reply_init_zero;
    const bool ok = getInfo(fd, round, reply);
    close(fd);
    ASSERT_TRUE(ok) << "no reply in round " << round;
    EXPECT_EQ(reply.status, polscan_wire_Status_STATUS_OK);
    ASSERT_EQ(reply.which_result, polscan_wire_Reply_info_tag);
    EXPECT_STREQ(reply.result.info.board, "sim");
    EXPECT_EQ(reply.result.info.protocol_version, 1u);
    EXPECT_STREQ(reply.result.info.serial_number, "SN-42");
  }
  EXPECT_EQ(sim.stop(), 0);  // clean exit on SIGTERM
}

TEST(FwSim, AnswersOnLoopbackTcpWhenAsked) {
  SimProcess sim;
  ASSERT_TRUE(sim.start({"--port", "0"}));
  char line[256] = {};
  ASSERT_NE(fgets(line, sizeof(line), sim.out), nullptr);  // the pty line
  ASSERT_NE(fgets(line, sizeof(line), sim.out), nullptr);
  const std::string prefix = "polscan-fwsim: tcp 127.0.0.1:";
  const std::string text(line);
  ASSERT_EQ(text.rfind(prefix, 0), 0u) << text;
  const int port = std::stoi(text.substr(prefix.size()));
  ASSERT_GT(port, 0);
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  polscan_wire_Reply reply = polscan_wire_Reply_init_zero;
  const bool ok = getInfo(fd, 7, reply);
  close(fd);
  ASSERT_TRUE(ok);
  EXPECT_STREQ(reply.result.info.board, "sim");
  EXPECT_EQ(reply.result.info.protocol_version, 1u);
  EXPECT_EQ(sim.stop(), 0);
}
