// Boots the STM32F405 firmware image in qemu (netduinoplus2) with USART1 on a pty, for tests.
#pragma once

#include <sys/types.h>

#include <string>

namespace polscan::test {

class QemuMachine {
 public:
  // Starts qemu-system-arm on elf and waits (up to 10 s) for "char device redirected to
  // /dev/pts/N". ok() false and error() say why when it did not come up.
  explicit QemuMachine(const std::string& elf);
  ~QemuMachine();  // SIGTERM, then SIGKILL: no qemu outlives the test
  QemuMachine(const QemuMachine&) = delete;
  QemuMachine& operator=(const QemuMachine&) = delete;

  bool ok() const { return !pty_.empty(); }
  const std::string& pty() const { return pty_; }
  const std::string& error() const { return error_; }
  // Everything qemu printed so far (for failure messages).
  const std::string& output() const { return output_; }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int hold_fd_ = -1;
  std::string pty_;
  std::string error_;
  std::string output_;
};

}  // namespace polscan::test
