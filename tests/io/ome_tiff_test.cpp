// OME-TIFF: a stack rendered by the virtual instrument, read back by tifffile and by polscan;
// damaged files give errors naming the file and the problem.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "io/ome_tiff.hpp"
#include "io/stack_file.hpp"
#include "io_test_util.hpp"
#include "tests/support/cli_runner.hpp"

using namespace polscan;
using polscan::testing::renderedStack;
using polscan::testing::tempPath;
namespace fs = std::filesystem;

namespace {

// What Python's tifffile, an independent reader, finds in the file.
nlohmann::json readWithTifffile(const fs::path& file) {
  const auto r =
      polscan::testing::runCli(PYTHON3, std::string(READ_OME_TIFF_PY) + " '" + file.string() + "'");
  EXPECT_EQ(r.status, 0) << r.output;
  return nlohmann::json::parse(r.output);
}

std::string readError(const fs::path& file) {
  try {
    readOmeTiffStack(file);
  } catch (const OmeTiffError& e) {
    return e.what();
  }
  return "";
}

std::vector<char> bytesOf(const fs::path& f) {
  std::ifstream in(f, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void writeBytes(const fs::path& f, const std::vector<char>& b, std::size_t n) {
  std::ofstream out(f, std::ios::binary | std::ios::trunc);
  out.write(b.data(), static_cast<std::streamsize>(n));
}

}  // namespace

TEST(OmeTiff, TifffileSeesPlanesAnglesPixelSizeAndInstrument) {
  const fs::path f = tempPath("mono.ome.tif");
  const Stack s = renderedStack({0.0, 22.5, 45.0, 67.5, 90.0, 112.5, 135.0, 157.625});
  OmeInstrument ins;
  ins.microscope = "sim";
  ins.serial_number = "SIM-0001";
  writeOmeTiffStack(s, f, ins);
  const auto j = readWithTifffile(f);
  EXPECT_EQ(j["axes"], "TYX");
  EXPECT_EQ(j["shape"], nlohmann::json::array({8, 144, 192}));
  EXPECT_EQ(j["dtype"], "uint16");
  EXPECT_EQ(j["angles_deg"].get<std::vector<double>>(), s.angles_deg);
  EXPECT_DOUBLE_EQ(j["pixel_um"].get<double>(), 0.4);
  EXPECT_EQ(j["pixel_unit"], "\xC2\xB5m");
  EXPECT_DOUBLE_EQ(j["exposure"].get<double>(), 12.5);
  EXPECT_EQ(j["exposure_unit"], "ms");
  EXPECT_EQ(j["wavelengths_nm"], nlohmann::json::array({546.0}));
  EXPECT_EQ(j["microscope"], "sim");
  EXPECT_EQ(j["optical_train"], "circular");
  ASSERT_EQ(j["plane_sums"].size(), 8u);
  for (int t = 0; t < 8; ++t) {
    EXPECT_EQ(j["plane_sums"][t].get<std::int64_t>(),
              static_cast<std::int64_t>(cv::sum(s.frames[t])[0]))
        << "plane " << t;
  }
  // The circular train modulates with the angle: planes differ, so a mix-up would show.
  EXPECT_NE(j["plane_sums"][0], j["plane_sums"][2]);
  fs::remove(f);
}

TEST(OmeTiff, RoundTripKeepsPixelsAndMetadata) {
  const fs::path f = tempPath("rt.ome.tiff");
  Stack s = renderedStack({0.0, 45.0, 90.0, 135.0}, false, 96, 64, 300.0, -150.5);
  s.train = OpticalTrain::Crossed;
  s.blank = "blank.ome.tif";
  s.calibration = "/etc/polscan/scope-1/calibration.json";
  writeOmeTiffStack(s, f);
  const Stack r = readOmeTiffStack(f);
  ASSERT_EQ(r.frames.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(r.frames[i].type(), CV_16UC1);
    EXPECT_EQ(cv::norm(s.frames[i], r.frames[i], cv::NORM_INF), 0.0) << "frame " << i;
  }
  EXPECT_EQ(r.angles_deg, s.angles_deg);
  EXPECT_DOUBLE_EQ(r.pixel_um, 0.4);
  EXPECT_DOUBLE_EQ(r.exposure_us, 12500.0);
  EXPECT_EQ(r.bit_depth, s.bit_depth);
  EXPECT_EQ(r.train, OpticalTrain::Crossed);
  ASSERT_TRUE(r.stage.has_value());
  EXPECT_DOUBLE_EQ(r.stage->x_um, 300.0);
  EXPECT_DOUBLE_EQ(r.stage->y_um, -150.5);
  EXPECT_DOUBLE_EQ(r.stage->z_um, 3.5);
  ASSERT_TRUE(r.blank.has_value());
  EXPECT_EQ(*r.blank, f.parent_path() / "blank.ome.tif");
  ASSERT_TRUE(r.calibration.has_value());  // the instrument calibration it was acquired with
  EXPECT_EQ(*r.calibration, "/etc/polscan/scope-1/calibration.json");
  // The generic entry point picks the format by name.
  EXPECT_EQ(cv::norm(readStack(f).frames[3], s.frames[3], cv::NORM_INF), 0.0);
  fs::remove(f);
}

TEST(OmeTiff, RgbStacksAreChannelsInRgbOrder) {
  const fs::path f = tempPath("rgb.ome.tif");
  const Stack s = renderedStack({0.0, 60.0, 120.0}, true, 64, 48);
  ASSERT_EQ(s.frames[0].type(), CV_16UC3);
  writeOmeTiffStack(s, f);
  const auto j = readWithTifffile(f);
  EXPECT_EQ(j["axes"], "TCYX");
  EXPECT_EQ(j["shape"], nlohmann::json::array({3, 3, 48, 64}));
  EXPECT_EQ(j["wavelengths_nm"], nlohmann::json::array({630.0, 546.0, 460.0}));
  std::vector<cv::Mat> bgr;
  cv::split(s.frames[1], bgr);
  // Plane order T major, C minor: T=1 C=0 is red, OpenCV's channel 2.
  EXPECT_EQ(j["plane_sums"][3].get<std::int64_t>(), static_cast<std::int64_t>(cv::sum(bgr[2])[0]));
  EXPECT_EQ(j["plane_sums"][5].get<std::int64_t>(), static_cast<std::int64_t>(cv::sum(bgr[0])[0]));
  const Stack r = readOmeTiffStack(f);
  EXPECT_EQ(r.wavelengths_nm, s.wavelengths_nm);
  ASSERT_EQ(r.frames.size(), 3u);
  EXPECT_EQ(cv::norm(s.frames[1], r.frames[1], cv::NORM_INF), 0.0);
  fs::remove(f);
}

TEST(OmeTiff, MosaicIsOnePlaneWithPixelSizeAndCentre) {
  const fs::path f = tempPath("mosaic.ome.tif");
  MosaicImage m;
  m.image = cv::Mat(50, 70, CV_8UC3);
  cv::randu(m.image, 0, 255);
  m.pixel_um = 1.6;
  m.x_um = 150;
  m.y_um = -20;
  writeOmeTiffMosaic(m, f);
  const auto j = readWithTifffile(f);
  EXPECT_EQ(j["shape"], nlohmann::json::array({3, 50, 70}));
  EXPECT_DOUBLE_EQ(j["pixel_um"].get<double>(), 1.6);
  EXPECT_TRUE(j["angles_deg"].empty());
  const MosaicImage r = readOmeTiffMosaic(f);
  EXPECT_EQ(cv::norm(m.image, r.image, cv::NORM_INF), 0.0);
  EXPECT_DOUBLE_EQ(r.pixel_um, 1.6);
  EXPECT_DOUBLE_EQ(r.x_um, 150);
  EXPECT_DOUBLE_EQ(r.y_um, -20);
  // A mosaic is not a polarizer stack: reading it as one says so.
  EXPECT_NE(readError(f).find("no polarizer angle per plane"), std::string::npos) << readError(f);
  fs::remove(f);
}

TEST(OmeTiff, DamagedFilesGiveErrorsNamingTheFileAndTheProblem) {
  const fs::path f = tempPath("good.ome.tif");
  writeOmeTiffStack(renderedStack({0.0, 45.0, 90.0, 135.0}, false, 64, 48), f);
  const auto bytes = bytesOf(f);
  const fs::path bad = tempPath("bad.ome.tif");

  writeBytes(bad, bytes, bytes.size() / 2);  // truncated: the later pages are gone
  std::string e = readError(bad);
  EXPECT_NE(e.find(bad.string()), std::string::npos) << e;
  EXPECT_NE(e.find("truncated"), std::string::npos) << e;

  writeBytes(bad, bytes, 6);  // only the header survives
  e = readError(bad);
  EXPECT_NE(e.find(bad.string()), std::string::npos) << e;
  EXPECT_NE(e.find("not a readable TIFF"), std::string::npos) << e;

  std::ofstream(bad, std::ios::trunc) << "this is not an image";
  e = readError(bad);
  EXPECT_NE(e.find("not a readable TIFF"), std::string::npos) << e;

  EXPECT_NE(readError(tempPath("absent.ome.tif")).find("no such file"), std::string::npos);

  // OME-XML that disagrees with the pages (edited in place: same length, offsets stay valid).
  auto broken = bytes;
  const std::string tag = "SizeX=\"64\"";
  auto it = std::search(broken.begin(), broken.end(), tag.begin(), tag.end());
  ASSERT_NE(it, broken.end());
  std::copy_n("SizeX=\"65\"", tag.size(), it);
  writeBytes(bad, broken, broken.size());
  e = readError(bad);
  EXPECT_NE(e.find("65x48"), std::string::npos) << e;
  EXPECT_NE(e.find("64x48"), std::string::npos) << e;

  broken = bytes;  // OME-XML whose <Image> element is damaged
  const std::string image = "<Image ";
  it = std::search(broken.begin(), broken.end(), image.begin(), image.end());
  ASSERT_NE(it, broken.end());
  std::copy_n("<Image\"", image.size(), it);
  writeBytes(bad, broken, broken.size());
  e = readError(bad);
  EXPECT_NE(e.find(bad.string()), std::string::npos) << e;
  EXPECT_NE(e.find("OME-XML has no <Image>"), std::string::npos) << e;
  fs::remove(f);
  fs::remove(bad);
}

TEST(OmeTiff, FindStacksListsFoldersAndOmeTiffFiles) {
  const fs::path d = tempPath("find");
  fs::create_directories(d);
  const Stack s = renderedStack({0.0, 90.0}, false, 16, 16);
  writeStack(s, d / "b.ome.tif", StackFileFormat::OmeTiff);
  writeStack(s, d / "a_field", StackFileFormat::Folder);
  std::ofstream(d / "notes.txt") << "x";
  MosaicImage m;
  m.image = cv::Mat(8, 8, CV_8UC1, cv::Scalar(7));
  writeOmeTiffMosaic(m, d / "mosaic.ome.tif");  // an image, not a stack: skipped
  EXPECT_TRUE(isOmeTiffMosaic(d / "mosaic.ome.tif"));
  EXPECT_FALSE(isOmeTiffMosaic(d / "b.ome.tif"));
  const auto found = findStacks(d);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].filename(), "a_field");
  EXPECT_EQ(found[1].filename(), "b.ome.tif");
  EXPECT_EQ(findStacks(d / "b.ome.tif").size(), 1u);
  EXPECT_EQ(stackFormatOf("x/Field.OME.TIFF"), StackFileFormat::OmeTiff);
  EXPECT_EQ(stackFormatOf("x/field"), StackFileFormat::Folder);
  fs::remove_all(d);
}
