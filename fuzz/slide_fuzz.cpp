// Fuzzes the slide parser (slide.json: the virtual instrument's sample description) through
// loadSlide, as `polscan --slide FILE` reads it. Refusals are std::runtime_error naming the field;
// any other exception or a crash is a bug.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "hardware/twin/slide.hpp"

namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fs::path file =
      fs::temp_directory_path() / ("polscan-fuzz-slide-" + std::to_string(getpid()) + ".json");
  {
    std::ofstream f(file, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    const polscan::twin::Slide s = polscan::twin::loadSlide(file);
    if (!(s.width_mm > 0) || !(s.height_mm > 0)) std::abort();
  } catch (const std::runtime_error&) {
    // Refused with a message naming the field.
  }
  return 0;
}
