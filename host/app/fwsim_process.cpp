// FwsimProcess: posix_spawn with stdout on a pipe; the first line names the pty.
#include "app/fwsim_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace polscan {

std::string FwsimProcess::executable() {
  if (const char* env = std::getenv("POLSCAN_FWSIM"); env != nullptr && *env != '\0') return env;
  return POLSCAN_FWSIM_PATH;
}

FwsimProcess::FwsimProcess(const std::vector<std::string>& args) {
  const std::string exe = executable();
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("cannot create a pipe: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], STDOUT_FILENO);
  std::vector<std::string> argv_store{exe};
  argv_store.insert(argv_store.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_store) argv.push_back(a.data());
  argv.push_back(nullptr);
  // Its own process group: a Ctrl-C meant for polscan (a scan stops after the current tile)
  // must not reach the simulator through the terminal.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  const int rc = ::posix_spawn(&pid_, exe.c_str(), &actions, &attr, argv.data(), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipefd[1]);
  out_fd_ = pipefd[0];
  if (rc != 0) {
    ::close(out_fd_);
    throw std::runtime_error("cannot start the firmware simulator " + exe + ": " +
                             std::strerror(rc));
  }
  // Read until the pty line; the simulator prints it once its link is ready.
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  const std::string tag = "polscan-fwsim: pty ";
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{out_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char c;
    const ssize_t n = ::read(out_fd_, &c, 1);
    if (n <= 0) break;
    if (c != '\n') {
      line += c;
      continue;
    }
    if (line.starts_with(tag)) {
      pty_ = line.substr(tag.size());
      return;
    }
    line.clear();
  }
  kill();
  throw std::runtime_error("the firmware simulator " + exe + " did not report its pty");
}

void FwsimProcess::kill() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      ::usleep(10000);
    }
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
  }
  if (out_fd_ >= 0) {
    ::close(out_fd_);
    out_fd_ = -1;
  }
}

FwsimProcess::~FwsimProcess() {
  kill();
}

}  // namespace polscan
