// Fuzzes the OME-TIFF reader (stacks and mosaics): the input is written to a scratch
// `fuzz.ome.tif` and read back both ways. A refusal (OmeTiffError / StackFormatError naming the
// file) is the expected answer to bad input; any other exception or a crash is a bug.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "io/ome_tiff.hpp"

namespace fs = std::filesystem;

namespace {
const fs::path& scratchFile() {
  static const fs::path file = [] {
    const fs::path d = fs::temp_directory_path() / ("polscan-fuzz-ome-" + std::to_string(getpid()));
    fs::create_directories(d);
    return d / "fuzz.ome.tif";
  }();
  return file;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fs::path& file = scratchFile();
  {
    std::ofstream f(file, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    const polscan::Stack s = polscan::readOmeTiffStack(file);
    if (s.frames.size() != s.angles_deg.size()) std::abort();
    for (const cv::Mat& m : s.frames) {
      if (m.size() != s.frames[0].size() || m.type() != s.frames[0].type()) std::abort();
    }
  } catch (const polscan::StackFormatError&) {
    // Refused with a message naming the file: the expected answer to bad input.
  }
  try {
    const polscan::MosaicImage m = polscan::readOmeTiffMosaic(file);
    if (m.image.empty()) std::abort();
  } catch (const polscan::StackFormatError&) {
  }
  return 0;
}
