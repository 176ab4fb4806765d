// A program started in the background with its output in a log file (tests only): `polscan
// serve` and chromium in the web UI test, a `polscan scan` to be killed in the resume tests.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

extern char** environ;

namespace polscan::testing {

// The exit code of a wait status; -1 when the process did not exit by itself (a signal).
inline int exitCode(int wait_status) {
  return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
}

class ChildProcess {
 public:
  // argv[0]: the program, looked up on PATH unless it holds a '/'. stdout and stderr go to log
  // (created or emptied). pid() <= 0 when it could not be started.
  ChildProcess(std::vector<std::string> argv, const std::filesystem::path& log) {
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    if (::posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  // A process still running (a test that failed half-way) is SIGTERMed and reaped.
  ~ChildProcess() { stop(SIGTERM); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // The process id while it runs (not yet reaped by stop() / wait()); <= 0 otherwise.
  pid_t pid() const { return pid_; }

  // Sends sig (nothing when 0), then waits for the process to end. Returns its wait status as
  // waitpid gives it (see exitCode); the same status again when it was already reaped.
  int stop(int sig) {
    if (pid_ <= 0) return status_;
    if (sig != 0) ::kill(pid_, sig);
    int st = 0;
    if (::waitpid(pid_, &st, 0) == pid_) status_ = st;
    pid_ = -1;
    return status_;
  }
  // Waits for the process to end by itself; its wait status.
  int wait() { return stop(0); }

 private:
  pid_t pid_ = -1;
  int status_ = -1;  // not a valid exit: WIFEXITED(-1) is false
};

}  // namespace polscan::testing
