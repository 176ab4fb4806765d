// Starts the firmware simulator (polscan-fwsim) as a child process and finds its pty.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace polscan {

class FwsimProcess {
 public:
  // Spawns the simulator with extra arguments and waits for its "polscan-fwsim: pty PATH" line.
  // Throws std::runtime_error naming the executable when it cannot start or says nothing.
  explicit FwsimProcess(const std::vector<std::string>& args = {});
  ~FwsimProcess();
  FwsimProcess(const FwsimProcess&) = delete;
  FwsimProcess& operator=(const FwsimProcess&) = delete;

  const std::string& ptyPath() const { return pty_; }
  pid_t pid() const { return pid_; }
  // Kills the simulator now (tests use this to pull the cable).
  void kill();

  // The executable: $POLSCAN_FWSIM, else the one built with this host.
  static std::string executable();

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string pty_;
};

}  // namespace polscan
