// Stack folder reader and writer: JSON metadata (nlohmann) and 16-bit images (OpenCV codecs).
#include "io/stack_folder.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

namespace polscan {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string frameName(std::size_t i) {
  char name[32];
  std::snprintf(name, sizeof(name), "frame_%03zu.png", i);
  return name;
}

// Writes bytes to path through a temporary file renamed into place, so a full disk or a crash
// never leaves a half-written file under the final name. Throws StackFormatError naming path and
// the system's reason (ENOSPC "No space left on device", EFBIG "File too large", ...).
[[noreturn]] void writeFailed(const fs::path& path, const fs::path& tmp, int err) {
  std::error_code ignored;  // the tmp may not exist; the write error is what is reported
  fs::remove(tmp, ignored);
  throw StackFormatError("cannot write " + path.string() + ": " + std::strerror(err));
}

void writeWhole(const fs::path& path, const void* data, std::size_t n) {
  const fs::path tmp = path.string() + ".tmp";
  auto fail = [&](int err) { writeFailed(path, tmp, err); };
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) writeFailed(path, tmp, errno);
  const std::size_t written = std::fwrite(data, 1, n, f);
  const int write_err = errno;
  if (written != n) {
    std::fclose(f);
    fail(write_err != 0 ? write_err : EIO);
  }
  if (std::fflush(f) != 0) {
    const int err = errno;
    std::fclose(f);
    fail(err);
  }
  if (std::fclose(f) != 0) fail(errno);
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) fail(ec.value());
}

template <typename T>
T field(const json& j, const char* key, const fs::path& file) {
  if (!j.contains(key)) {
    throw StackFormatError(file.string() + ": missing field \"" + key + "\"");
  }
  try {
    return j.at(key).get<T>();
  } catch (const json::exception& e) {
    throw StackFormatError(file.string() + ": field \"" + key + "\" has the wrong type (" +
                           e.what() + ")");
  }
}

// An optional field: absent gives the fallback, present must have the right type.
template <typename T>
T optionalField(const json& j, const char* key, T fallback, const fs::path& file) {
  return j.contains(key) ? field<T>(j, key, file) : fallback;
}

}  // namespace

void writeStackFolder(const Stack& stack, const fs::path& dir) {
  if (stack.frames.size() != stack.angles_deg.size()) {
    throw StackFormatError("cannot write " + dir.string() + ": " +
                           std::to_string(stack.frames.size()) + " frames but " +
                           std::to_string(stack.angles_deg.size()) + " angles");
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw StackFormatError("cannot create " + dir.string() + ": " + ec.message());
  json j;
  j["format"] = "polscan-stack";
  j["version"] = 1;
  j["angles_deg"] = stack.angles_deg;
  j["optical_train"] = std::string(opticalTrainName(stack.train));
  j["wavelengths_nm"] = stack.wavelengths_nm;
  j["pixel_um"] = stack.pixel_um;
  j["exposure_us"] = stack.exposure_us;
  j["bit_depth"] = stack.bit_depth;
  if (stack.stage) {
    j["stage_um"] = {{"x", stack.stage->x_um}, {"y", stack.stage->y_um}, {"z", stack.stage->z_um}};
  }
  if (stack.blank) j["blank"] = stack.blank->string();
  if (stack.calibration) j["calibration"] = stack.calibration->string();
  json frames = json::array();
  for (std::size_t i = 0; i < stack.frames.size(); ++i) {
    const std::string name = frameName(i);
    frames.push_back(name);
    // Encoded in memory, written with every error checked (an encoder writing to a full disk
    // may report success), then renamed into place.
    std::vector<std::uint8_t> png;
    if (!cv::imencode(".png", stack.frames[i], png)) {
      throw StackFormatError("cannot encode " + (dir / name).string() + " as PNG");
    }
    writeWhole(dir / name, png.data(), png.size());
  }
  j["frames"] = frames;
  const std::string text = j.dump(2) + "\n";
  writeWhole(dir / "stack.json", text.data(), text.size());
}

Stack readStackFolder(const fs::path& dir) {
  const fs::path meta = dir / "stack.json";
  std::ifstream in(meta);
  if (!in) {
    throw StackFormatError(meta.string() + ": cannot open (is " + dir.string() +
                           " a stack folder?)");
  }
  json j;
  try {
    in >> j;
  } catch (const json::exception& e) {
    throw StackFormatError(meta.string() + ": not valid JSON: " + e.what());
  }
  Stack stack;
  stack.angles_deg = field<std::vector<double>>(j, "angles_deg", meta);
  const auto train_name = optionalField<std::string>(j, "optical_train", "circular", meta);
  const auto train = opticalTrainFromName(train_name);
  if (!train) {
    throw StackFormatError(meta.string() + ": unknown optical_train \"" + train_name +
                           "\" (circular, crossed, fixed-analyser, compensated)");
  }
  stack.train = *train;
  stack.wavelengths_nm = j.contains("wavelengths_nm")
                             ? field<std::vector<double>>(j, "wavelengths_nm", meta)
                             : std::vector<double>{546.0};
  stack.pixel_um = field<double>(j, "pixel_um", meta);
  if (!(stack.pixel_um > 0)) {
    throw StackFormatError(meta.string() + ": pixel_um must be > 0 (got " +
                           std::to_string(stack.pixel_um) + ")");
  }
  stack.exposure_us = optionalField<double>(j, "exposure_us", 0.0, meta);
  if (j.contains("bit_depth")) {
    // Checked as a JSON integer first: a huge number converted to int is undefined behaviour.
    const json& b = j["bit_depth"];
    if (!b.is_number_integer() || b.get<std::int64_t>() < 1 || b.get<std::int64_t>() > 16) {
      throw StackFormatError(meta.string() + ": bit_depth must be an integer 1..16 (got " +
                             b.dump() + ")");
    }
    stack.bit_depth = b.get<int>();
  }
  if (j.contains("stage_um")) {
    const json& s = j["stage_um"];
    stack.stage = StagePosition{field<double>(s, "x", meta), field<double>(s, "y", meta),
                                optionalField<double>(s, "z", 0.0, meta)};
  }
  if (j.contains("blank")) {
    fs::path blank = field<std::string>(j, "blank", meta);
    stack.blank = blank.is_absolute() ? blank : dir / blank;
  }
  if (j.contains("calibration")) {
    fs::path cal = field<std::string>(j, "calibration", meta);
    stack.calibration = cal.is_absolute() ? cal : dir / cal;
  }
  std::vector<std::string> names;
  if (j.contains("frames")) {
    names = field<std::vector<std::string>>(j, "frames", meta);
  } else {
    for (std::size_t i = 0; i < stack.angles_deg.size(); ++i) names.push_back(frameName(i));
  }
  if (names.size() != stack.angles_deg.size()) {
    throw StackFormatError(meta.string() + ": " + std::to_string(names.size()) + " frames but " +
                           std::to_string(stack.angles_deg.size()) + " angles");
  }
  for (std::size_t i = 0; i < names.size(); ++i) {
    const fs::path file = dir / names[i];
    cv::Mat img = cv::imread(file.string(), cv::IMREAD_UNCHANGED);
    if (img.empty()) {
      throw StackFormatError(file.string() + ": missing or not a readable image (frame " +
                             std::to_string(i) + ")");
    }
    if (img.depth() == CV_8U) {
      img.convertTo(img, CV_16U, 256.0);  // 8-bit images are accepted, scaled to 16 bits
    }
    if (img.depth() != CV_16U || (img.channels() != 1 && img.channels() != 3)) {
      throw StackFormatError(file.string() + ": expected a 1- or 3-channel 8/16-bit image");
    }
    if (!stack.frames.empty() &&
        (img.size() != stack.frames[0].size() || img.type() != stack.frames[0].type())) {
      std::ostringstream s;
      s << file.string() << ": frame " << i << " is " << img.cols << "x" << img.rows << "x"
        << img.channels() << " but frame 0 is " << stack.frames[0].cols << "x"
        << stack.frames[0].rows << "x" << stack.frames[0].channels();
      throw StackFormatError(s.str());
    }
    stack.frames.push_back(std::move(img));
  }
  return stack;
}

}  // namespace polscan
