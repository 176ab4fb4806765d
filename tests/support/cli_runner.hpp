// Runs the polscan executable as a user would and captures what it printed (tests only).
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace polscan::testing {

struct CliResult {
  int status;          // exit code, -1 when the program did not exit normally
  std::string output;  // stdout and stderr
};

// exe: the polscan executable; args: its command line, shell-quoted by the caller.
inline CliResult runCli(const std::string& exe, const std::string& args) {
  const std::string cmd = exe + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[512];
  while (p != nullptr && std::fgets(buf, sizeof(buf), p)) out += buf;
  const int rc = p != nullptr ? ::pclose(p) : -1;
  return CliResult{WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out};
}

}  // namespace polscan::testing
