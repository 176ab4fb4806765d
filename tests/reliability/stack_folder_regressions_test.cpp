// Regressions found by fuzz/stack_folder_fuzz: metadata of the wrong type escaped the reader as a
// JSON library exception (or, for a huge bit_depth, undefined behaviour) instead of a
// StackFormatError naming the file and the field.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <opencv2/imgcodecs.hpp>

#include "io/stack_folder.hpp"

using namespace polscan;
namespace fs = std::filesystem;

namespace {
fs::path folderWith(const std::string& json) {
  const fs::path d = fs::temp_directory_path() / ("polscan-sfreg-" + std::to_string(getpid()));
  fs::create_directories(d);
  std::ofstream(d / "stack.json") << json;
  cv::imwrite((d / "frame_000.png").string(), cv::Mat(2, 2, CV_16UC1, cv::Scalar(7)));
  return d;
}

void expectRefused(const std::string& json, const std::string& detail) {
  const fs::path d = folderWith(json);
  try {
    readStackFolder(d);
    ADD_FAILURE() << "accepted: " << json;
  } catch (const StackFormatError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find((d / "stack.json").string()), std::string::npos) << what;
    EXPECT_NE(what.find(detail), std::string::npos) << what;
  }
  fs::remove_all(d);
}
}  // namespace

TEST(StackFolderRegressions, WrongTypesAreFormatErrorsNamingTheField) {
  expectRefused(R"({"angles_deg":[0],"pixel_um":1,"exposure_us":"x"})", "\"exposure_us\"");
  expectRefused(R"({"angles_deg":[0],"pixel_um":1,"optical_train":3})", "\"optical_train\"");
  expectRefused(R"({"angles_deg":[0],"pixel_um":1,"stage_um":{"x":1,"y":2,"z":"a"}})", "\"z\"");
  expectRefused(R"({"angles_deg":[0],"pixel_um":1,"bit_depth":1e300})", "bit_depth");
  expectRefused(R"({"angles_deg":[0],"pixel_um":1,"bit_depth":40})", "bit_depth");
}

TEST(StackFolderRegressions, OptionalFieldsStillDefaultWhenAbsent) {
  const fs::path d = folderWith(R"({"angles_deg":[0],"pixel_um":1})");
  const Stack s = readStackFolder(d);
  EXPECT_EQ(s.bit_depth, 16);
  EXPECT_EQ(s.exposure_us, 0.0);
  EXPECT_EQ(s.train, OpticalTrain::Circular);
  fs::remove_all(d);
}
