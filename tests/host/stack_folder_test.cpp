// Stack folders: round trip of frames and metadata; bad folders give errors naming the problem.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <opencv2/imgcodecs.hpp>

#include "io/stack_folder.hpp"

using namespace polscan;
namespace fs = std::filesystem;

namespace {
fs::path tempDir(const std::string& name) {
  const fs::path d =
      fs::temp_directory_path() / ("polscan_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  return d;
}

Stack sampleStack() {
  Stack s;
  for (int i = 0; i < 4; ++i) {
    cv::Mat m(6, 8, CV_16UC1);
    for (int r = 0; r < m.rows; ++r)
      for (int c = 0; c < m.cols; ++c)
        m.at<std::uint16_t>(r, c) = static_cast<std::uint16_t>(1000 * i + 10 * r + c + 40000);
    s.frames.push_back(m);
    s.angles_deg.push_back(45.0 * i + 0.0375);
  }
  s.pixel_um = 0.4;
  s.exposure_us = 12000;
  s.bit_depth = 12;
  s.stage = StagePosition{300.0, -150.5, 12.0};
  return s;
}

std::string errorReading(const fs::path& d) {
  try {
    readStackFolder(d);
  } catch (const StackFormatError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(StackFolder, RoundTripKeepsPixelsAndMetadata) {
  const fs::path d = tempDir("roundtrip");
  const Stack in = sampleStack();
  writeStackFolder(in, d);
  const Stack out = readStackFolder(d);
  ASSERT_EQ(out.frames.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(cv::norm(in.frames[i], out.frames[i], cv::NORM_INF), 0.0) << "frame " << i;
    EXPECT_DOUBLE_EQ(out.angles_deg[i], in.angles_deg[i]);
  }
  EXPECT_EQ(out.frames[0].type(), CV_16UC1);
  EXPECT_DOUBLE_EQ(out.pixel_um, 0.4);
  EXPECT_EQ(out.bit_depth, 12);
  ASSERT_TRUE(out.stage.has_value());
  EXPECT_DOUBLE_EQ(out.stage->y_um, -150.5);
  EXPECT_EQ(out.train, OpticalTrain::Circular);
  fs::remove_all(d);
}

TEST(StackFolder, MissingFolderOrMetadataIsNamed) {
  const fs::path d = tempDir("missing");
  EXPECT_NE(errorReading(d).find("stack.json: cannot open"), std::string::npos);
}

TEST(StackFolder, BrokenJsonAndMissingFieldsAreNamed) {
  const fs::path d = tempDir("broken");
  writeStackFolder(sampleStack(), d);
  std::ofstream(d / "stack.json") << "{\"angles_deg\": [0, 45,";
  EXPECT_NE(errorReading(d).find("not valid JSON"), std::string::npos);
  std::ofstream(d / "stack.json") << R"({"angles_deg": [0, 45, 90, 135]})";
  EXPECT_NE(errorReading(d).find("missing field \"pixel_um\""), std::string::npos);
  std::ofstream(d / "stack.json") << R"({"angles_deg": "zero", "pixel_um": 0.4})";
  EXPECT_NE(errorReading(d).find("\"angles_deg\" has the wrong type"), std::string::npos);
  std::ofstream(d / "stack.json")
      << R"({"angles_deg": [0, 45, 90, 135], "pixel_um": 0.4, "optical_train": "magic"})";
  EXPECT_NE(errorReading(d).find("unknown optical_train \"magic\""), std::string::npos);
  fs::remove_all(d);
}

TEST(StackFolder, WrongImageSizeNamesTheFrameAndBothSizes) {
  const fs::path d = tempDir("size");
  writeStackFolder(sampleStack(), d);
  cv::imwrite((d / "frame_002.png").string(), cv::Mat(5, 8, CV_16UC1, cv::Scalar(1)));
  const std::string e = errorReading(d);
  EXPECT_NE(e.find("frame 2 is 8x5x1 but frame 0 is 8x6x1"), std::string::npos) << e;
  fs::remove(d / "frame_003.png");
  cv::imwrite((d / "frame_002.png").string(), cv::Mat(6, 8, CV_16UC1, cv::Scalar(1)));
  EXPECT_NE(errorReading(d).find("frame_003.png: missing"), std::string::npos);
  fs::remove_all(d);
}

TEST(StackFolder, WritingIntoAnUncreatableFolderIsAClearError) {
  const fs::path file = tempDir("file");
  std::ofstream(file) << "x";  // a file where the folder's parent should be
  try {
    writeStackFolder(sampleStack(), file / "stack");
    FAIL() << "expected an error";
  } catch (const StackFormatError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot create"), std::string::npos) << e.what();
  }
  fs::remove(file);
}
