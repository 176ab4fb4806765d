// qemu launcher: fork/exec with a pipe on stdout+stderr, pty discovery, guaranteed teardown.
#include "qemu_machine.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <vector>

namespace polscan::test {

QemuMachine::QemuMachine(const std::string& elf) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    error_ = "pipe failed";
    return;
  }
  // -icount shift=auto,sleep=on: the guest's clock follows executed instructions while it runs
  // and real time while it sleeps (WFI), so a guest that falls behind 20 kHz of SysTick work
  // slows its own clock consistently instead of dropping ticks.
  std::vector<std::string> args = {POLSCAN_QEMU, "-M",   "netduinoplus2", "-nographic",
                                   "-kernel",    elf,    "-serial",       "pty",
                                   "-monitor",   "none", "-icount",       "shift=auto,sleep=on"};
  pid_ = ::fork();
  if (pid_ == 0) {
    // qemu waits for its 50 us SysTick deadlines in ppoll(); the default 50 us timer slack would
    // double every wait. The slack is inherited across exec.
    ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // a crashed test leaves no qemu behind
    ::dup2(fds[1], STDOUT_FILENO);
    ::dup2(fds[1], STDERR_FILENO);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  out_fd_ = fds[0];
  if (pid_ < 0) {
    error_ = "fork failed";
    return;
  }
  const std::regex pty_re("char device redirected to (/dev/pts/[0-9]+)");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{out_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[512];
    const ssize_t n = ::read(out_fd_, buf, sizeof(buf));
    if (n <= 0) break;  // qemu exited
    output_.append(buf, static_cast<std::size_t>(n));
    std::smatch m;
    if (std::regex_search(output_, m, pty_re)) {
      // qemu's pty backend drops the guest's output until it notices a reader, which it polls
      // for once a second; a host that opened the pty first could give up before that. Hold
      // the slave open from here on (never read: the host gets every byte) and let qemu see it.
      hold_fd_ = ::open(m[1].str().c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
      ::usleep(1200000);
      pty_ = m[1].str();
      return;
    }
  }
  error_ = "qemu did not report its pty: " + output_;
}

QemuMachine::~QemuMachine() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    bool reaped = false;
    for (int i = 0; i < 50 && !reaped; ++i) {
      reaped = ::waitpid(pid_, &status, WNOHANG) == pid_;
      if (!reaped) ::usleep(20000);
    }
    if (!reaped) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
  }
  if (out_fd_ >= 0) ::close(out_fd_);
  if (hold_fd_ >= 0) ::close(hold_fd_);
}

}  // namespace polscan::test
