// Disk full while writing a stack folder, produced for real with a file-size limit
// (RLIMIT_FSIZE: the kernel refuses to grow a file past it, EFBIG): the error names the file, and
// the frames written before it stay intact and readable.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/resource.h>

#include <filesystem>
#include <random>

#include <opencv2/imgcodecs.hpp>

#include "io/stack_folder.hpp"

using namespace polscan;
namespace fs = std::filesystem;

namespace {

// Flat frames compress to a few hundred bytes; a noise frame stays ~2 bytes per pixel.
Stack stackWithALargeFourthFrame() {
  Stack s;
  s.pixel_um = 0.4;
  std::mt19937 rng(7);
  for (int i = 0; i < 6; ++i) {
    cv::Mat m(96, 128, CV_16UC1, cv::Scalar(1000 * (i + 1)));
    if (i == 3) cv::randu(m, cv::Scalar(0), cv::Scalar(65535));
    s.frames.push_back(m);
    s.angles_deg.push_back(30.0 * i);
  }
  return s;
}

// Limits the size of every file this process writes, for the scope of the object.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &old_);
    old_handler_ = signal(SIGXFSZ, SIG_IGN);  // EFBIG instead of the default kill
    rlimit l = old_;
    l.rlim_cur = bytes;
    EXPECT_EQ(setrlimit(RLIMIT_FSIZE, &l), 0);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &old_);
    signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit old_{};
  sighandler_t old_handler_ = nullptr;
};

}  // namespace

TEST(DiskFull, WritingAStackFolderNamesTheFileAndKeepsEarlierFramesIntact) {
  const fs::path dir = fs::temp_directory_path() / ("polscan-diskfull-" + std::to_string(getpid()));
  fs::remove_all(dir);
  const Stack stack = stackWithALargeFourthFrame();
  std::string error;
  {
    FileSizeLimit limit(8 * 1024);  // flat frames fit, the noise frame (~24 KB) does not
    try {
      writeStackFolder(stack, dir);
    } catch (const StackFormatError& e) {
      error = e.what();
    }
  }
  ASSERT_FALSE(error.empty()) << "the write should have failed";
  EXPECT_NE(error.find((dir / "frame_003.png").string()), std::string::npos) << error;
  EXPECT_NE(error.find("File too large"), std::string::npos) << error;
  // Frames 0..2 are complete and hold what was acquired; nothing half-written is left behind.
  for (int i = 0; i < 3; ++i) {
    const fs::path f = dir / ("frame_00" + std::to_string(i) + ".png");
    const cv::Mat back = cv::imread(f.string(), cv::IMREAD_UNCHANGED);
    ASSERT_FALSE(back.empty()) << f;
    EXPECT_EQ(cv::norm(back, stack.frames[i], cv::NORM_INF), 0.0) << f;
  }
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    EXPECT_EQ(name.find(".tmp"), std::string::npos) << "left behind: " << name;
    EXPECT_NE(name, "frame_003.png");
  }
  EXPECT_FALSE(fs::exists(dir / "stack.json"));  // the folder is not claimed complete
  // With room again, the same stack writes and reads back whole.
  writeStackFolder(stack, dir);
  const Stack back = readStackFolder(dir);
  ASSERT_EQ(back.frames.size(), stack.frames.size());
  EXPECT_EQ(cv::norm(back.frames[3], stack.frames[3], cv::NORM_INF), 0.0);
  fs::remove_all(dir);
}
