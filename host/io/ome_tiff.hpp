// OME-TIFF files for stacks (one plane per polarizer angle) and mosaics (one 2-D plane).
#pragma once

#include <filesystem>
#include <string>

#include <opencv2/core.hpp>

#include "common/stack.hpp"
#include "io/stack_folder.hpp"

namespace polscan {

// An OME-TIFF file could not be read or written; the message names the file and the problem.
class OmeTiffError : public StackFormatError {
 public:
  using StackFormatError::StackFormatError;
};

// Who took the images: written to the OME-XML Instrument (and read back where present).
struct OmeInstrument {
  std::string microscope = "polscan";  // microscope model (e.g. the board name of the controller)
  std::string serial_number;
  std::string firmware_version;
  std::string camera;  // detector description
  std::string sample;  // image name
};

// A 2-D image of the slide with its scale: a mosaic of fields or one field's overview.
struct MosaicImage {
  cv::Mat image;          // CV_8UC1, CV_16UC1, CV_8UC3 or CV_16UC3 (B, G, R)
  double pixel_um = 1.0;  // sample-plane pixel size
  double x_um = 0.0;      // slide coordinates of the image's centre (x right, y up)
  double y_um = 0.0;
};

// True for names ending in .ome.tif or .ome.tiff (case-insensitive).
bool isOmeTiffPath(const std::filesystem::path& file);

// True when the file is a readable OME-TIFF image without polarizer angles (a mosaic); reads
// only the first page's description. Unreadable files give false (reading them says why).
bool isOmeTiffMosaic(const std::filesystem::path& file);

// One TIFF page (IFD) per polarizer angle and colour channel, 16-bit grayscale, dimension order
// XYCZT with the angles along T and R, G, B along C; OME-XML in the first page's
// ImageDescription. Written to a temporary name and renamed. Throws OmeTiffError.
void writeOmeTiffStack(const Stack& stack, const std::filesystem::path& file,
                       const OmeInstrument& instrument = {});
Stack readOmeTiffStack(const std::filesystem::path& file);

void writeOmeTiffMosaic(const MosaicImage& mosaic, const std::filesystem::path& file,
                        const OmeInstrument& instrument = {});
MosaicImage readOmeTiffMosaic(const std::filesystem::path& file);

}  // namespace polscan
