// Scratch folders and whole-file reads for tests that run polscan end to end (tests only).
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

namespace polscan::testing {

// An empty folder "polscan_<name>_<pid>" under the system's temporary directory (emptied first).
inline std::filesystem::path freshTempDir(const std::string& name) {
  const std::filesystem::path d = std::filesystem::temp_directory_path() /
                                  ("polscan_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

// The whole file as text; empty when it cannot be read (logs that a child has not written yet).
inline std::string readTextFile(const std::filesystem::path& f) {
  std::ifstream in(f);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The file parsed as JSON; throws nlohmann::json::parse_error naming the position when it is not.
inline nlohmann::json readJsonFile(const std::filesystem::path& f) {
  std::ifstream in(f);
  return nlohmann::json::parse(in);
}

}  // namespace polscan::testing
