// Fuzzes the stack folder reader: the input becomes stack.json (up to the first 0xFF 0xFF pair)
// and frame_000.png (the rest) in a scratch folder. The reader may refuse with StackFormatError;
// any other exception or a crash is a bug.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "io/stack_folder.hpp"

namespace fs = std::filesystem;

namespace {
const fs::path& scratch() {
  static const fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("polscan-fuzz-stack-" + std::to_string(getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

void put(const fs::path& p, const std::uint8_t* data, std::size_t n) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(n));
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::size_t split = size;
  for (std::size_t i = 0; i + 1 < size; ++i) {
    if (data[i] == 0xFF && data[i + 1] == 0xFF) {
      split = i;
      break;
    }
  }
  const fs::path& dir = scratch();
  put(dir / "stack.json", data, split);
  const std::size_t img = split + 2 <= size ? split + 2 : size;
  put(dir / "frame_000.png", data + img, size - img);
  try {
    const polscan::Stack s = polscan::readStackFolder(dir);
    if (s.frames.size() != s.angles_deg.size()) std::abort();
  } catch (const polscan::StackFormatError&) {
    // A refusal naming the file: the expected answer to bad input.
  }
  return 0;
}
