// OME-TIFF writer and reader: pages through libtiff, OME-XML through Boost.PropertyTree.
#include "io/ome_tiff.hpp"

#include <tiffio.h>

#include <algorithm>
#include <cctype>
#include <cstdarg>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <vector>

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>

namespace polscan {

namespace fs = std::filesystem;
using boost::property_tree::ptree;

namespace {

constexpr const char* kOmeNs = "http://www.openmicroscopy.org/Schemas/OME/2016-06";
constexpr const char* kMicrometre = "\xC2\xB5m";  // "µm" in UTF-8, the OME unit symbol
constexpr const char* kPolscanNs = "polscan/stack";
constexpr const char* kAngleNs = "polscan/polarizer-angle";

// ---- libtiff handle with its errors collected (per handle, no global handler) ----------------

struct TiffMessages {
  std::string errors;
};

int collectError(TIFF*, void* user, const char* module, const char* fmt, va_list ap) {
  char buf[512];
  std::vsnprintf(buf, sizeof(buf), fmt, ap);
  auto* m = static_cast<TiffMessages*>(user);
  if (!m->errors.empty()) m->errors += "; ";
  if (module != nullptr && *module != '\0') m->errors += std::string(module) + ": ";
  m->errors += buf;
  return 1;
}

int ignoreWarning(TIFF*, void*, const char*, const char*, va_list) {
  return 1;  // warnings (unknown tags from other writers) are not errors; keep stderr clean
}

class TiffFile {
 public:
  TiffFile(const fs::path& file, const char* mode) {
    std::unique_ptr<TIFFOpenOptions, void (*)(TIFFOpenOptions*)> opts(TIFFOpenOptionsAlloc(),
                                                                      TIFFOpenOptionsFree);
    TIFFOpenOptionsSetErrorHandlerExtR(opts.get(), collectError, &messages_);
    TIFFOpenOptionsSetWarningHandlerExtR(opts.get(), ignoreWarning, nullptr);
    tif_ = TIFFOpenExt(file.c_str(), mode, opts.get());
  }
  ~TiffFile() { close(); }
  TiffFile(const TiffFile&) = delete;
  TiffFile& operator=(const TiffFile&) = delete;

  TIFF* get() const { return tif_; }
  void close() {
    if (tif_ != nullptr) TIFFClose(tif_);
    tif_ = nullptr;
  }
  // libtiff's own words for the last failure(s), or a fallback when it said nothing.
  std::string why(const std::string& fallback) const {
    return messages_.errors.empty() ? fallback : "libtiff: " + messages_.errors;
  }

 private:
  TiffMessages messages_;
  TIFF* tif_ = nullptr;
};

// ---- OME-XML -----------------------------------------------------------------------------------

std::string number(double v) {
  std::ostringstream s;
  s.precision(10);
  s << v;
  return s.str();
}

ptree& attr(ptree& node, const std::string& name, const std::string& value) {
  node.put("<xmlattr>." + name, value);
  return node;
}

ptree mapAnnotation(const std::string& id, const std::string& ns,
                    const std::vector<std::pair<std::string, std::string>>& values) {
  ptree a;
  attr(a, "ID", id);
  attr(a, "Namespace", ns);
  ptree& v = a.add_child("Value", ptree());
  for (const auto& [k, val] : values) {
    ptree m(val);
    attr(m, "K", k);
    v.add_child("M", m);
  }
  return a;
}

std::string trainDescription(OpticalTrain t) {
  switch (t) {
    case OpticalTrain::Circular:
      return "rotating linear polarizer, sample, quarter-wave plate (slow axis 45 deg), "
             "linear analyser at 0 deg";
    case OpticalTrain::Crossed:
      return "rotating linear polarizer and analyser crossed at +90 deg, rotated together";
    case OpticalTrain::FixedAnalyser:
      return "rotating linear polarizer, sample, linear analyser fixed at 90 deg";
    case OpticalTrain::Compensated:
      return "crossed polarizers with a first-order red plate (530 nm, slow axis 45 deg)";
  }
  return "";
}

struct PlaneLayout {
  int size_x = 0, size_y = 0, size_c = 1, size_t_ = 1;
  bool bits16 = true;
  int significant_bits = 16;
  double pixel_um = 1.0;
};

// The OME-XML of a stack (angles non-empty) or a mosaic (angles empty, one plane per channel).
std::string omeXml(const PlaneLayout& layout, const std::vector<double>& angles_deg,
                   const std::vector<double>& wavelengths_nm, OpticalTrain train,
                   double exposure_us, const std::optional<StagePosition>& stage,
                   const OmeInstrument& ins,
                   const std::vector<std::pair<std::string, std::string>>& polscan_values) {
  ptree ome;
  attr(ome, "xmlns", kOmeNs);
  attr(ome, "xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance");
  attr(ome, "xsi:schemaLocation", std::string(kOmeNs) + " " + kOmeNs + "/ome.xsd");
  attr(ome, "Creator", "polscan");

  ptree instrument;
  attr(instrument, "ID", "Instrument:0");
  ptree microscope;
  attr(microscope, "Manufacturer", "polscan");
  attr(microscope, "Model", ins.microscope);
  if (!ins.serial_number.empty()) attr(microscope, "SerialNumber", ins.serial_number);
  attr(microscope, "Type", "Upright");
  instrument.add_child("Microscope", microscope);
  ptree led;
  attr(led, "ID", "LightSource:0");
  attr(led, "Model", wavelengths_nm.size() == 3 ? "white LED" : "LED");
  instrument.add_child("LightEmittingDiode", led);
  ptree detector;
  attr(detector, "ID", "Detector:0");
  attr(detector, "Model", ins.camera.empty() ? "camera" : ins.camera);
  attr(detector, "Type", "CMOS");
  instrument.add_child("Detector", detector);
  ptree polarizer;
  attr(polarizer, "ID", "Filter:Polarizer");
  attr(polarizer, "Type", "Other");
  attr(polarizer, "Model", "rotating linear polarizer");
  attr(polarizer, "FilterWheel", "polarizer stepper (angle per plane in the annotations)");
  instrument.add_child("Filter", polarizer);
  ptree analyser;
  attr(analyser, "ID", "Filter:Analyser");
  attr(analyser, "Type", "Other");
  attr(analyser, "Model",
       "optical train " + std::string(opticalTrainName(train)) + ": " + trainDescription(train));
  instrument.add_child("Filter", analyser);
  ome.add_child("Instrument", instrument);

  ptree image;
  attr(image, "ID", "Image:0");
  attr(image, "Name", ins.sample.empty() ? "polscan" : ins.sample);
  ptree iref;
  attr(iref, "ID", "Instrument:0");
  image.add_child("InstrumentRef", iref);

  ptree pixels;
  attr(pixels, "ID", "Pixels:0");
  attr(pixels, "DimensionOrder", "XYCZT");
  attr(pixels, "Type", layout.bits16 ? "uint16" : "uint8");
  attr(pixels, "SignificantBits", std::to_string(layout.significant_bits));
  attr(pixels, "Interleaved", "false");
  attr(pixels, "BigEndian", "false");
  attr(pixels, "SizeX", std::to_string(layout.size_x));
  attr(pixels, "SizeY", std::to_string(layout.size_y));
  attr(pixels, "SizeZ", "1");
  attr(pixels, "SizeC", std::to_string(layout.size_c));
  attr(pixels, "SizeT", std::to_string(layout.size_t_));
  attr(pixels, "PhysicalSizeX", number(layout.pixel_um));
  attr(pixels, "PhysicalSizeXUnit", kMicrometre);
  attr(pixels, "PhysicalSizeY", number(layout.pixel_um));
  attr(pixels, "PhysicalSizeYUnit", kMicrometre);
  static const char* kRgb[] = {"R", "G", "B"};
  for (int c = 0; c < layout.size_c; ++c) {
    ptree ch;
    attr(ch, "ID", "Channel:0:" + std::to_string(c));
    std::string name = layout.size_c == 3 ? kRgb[c] : "mono";
    if (static_cast<std::size_t>(c) < wavelengths_nm.size()) {
      name += " " + number(wavelengths_nm[c]) + " nm";
    }
    attr(ch, "Name", name);
    attr(ch, "SamplesPerPixel", "1");
    attr(ch, "IlluminationType", "Transmitted");
    attr(ch, "ContrastMethod", "PolarizedLight");
    if (static_cast<std::size_t>(c) < wavelengths_nm.size()) {
      ptree ls;
      attr(ls, "ID", "LightSource:0");
      attr(ls, "Wavelength", number(wavelengths_nm[c]));
      attr(ls, "WavelengthUnit", "nm");
      ch.add_child("LightSourceSettings", ls);
    }
    ptree dref;
    attr(dref, "ID", "Detector:0");
    ch.add_child("DetectorSettings", dref);
    pixels.add_child("Channel", ch);
  }
  for (int t = 0; t < layout.size_t_; ++t) {
    for (int c = 0; c < layout.size_c; ++c) {
      ptree td;
      attr(td, "IFD", std::to_string(t * layout.size_c + c));
      attr(td, "FirstC", std::to_string(c));
      attr(td, "FirstT", std::to_string(t));
      attr(td, "FirstZ", "0");
      attr(td, "PlaneCount", "1");
      pixels.add_child("TiffData", td);
    }
  }
  for (int t = 0; t < layout.size_t_; ++t) {
    for (int c = 0; c < layout.size_c; ++c) {
      ptree plane;
      attr(plane, "TheZ", "0");
      attr(plane, "TheT", std::to_string(t));
      attr(plane, "TheC", std::to_string(c));
      if (exposure_us > 0) {
        attr(plane, "ExposureTime", number(exposure_us / 1000.0));
        attr(plane, "ExposureTimeUnit", "ms");
      }
      if (stage) {
        attr(plane, "PositionX", number(stage->x_um));
        attr(plane, "PositionXUnit", kMicrometre);
        attr(plane, "PositionY", number(stage->y_um));
        attr(plane, "PositionYUnit", kMicrometre);
        attr(plane, "PositionZ", number(stage->z_um));
        attr(plane, "PositionZUnit", kMicrometre);
      }
      if (!angles_deg.empty()) {
        ptree aref;
        attr(aref, "ID", "Annotation:Angle:" + std::to_string(t));
        plane.add_child("AnnotationRef", aref);
      }
      pixels.add_child("Plane", plane);
    }
  }
  image.add_child("Pixels", pixels);
  ptree pref;
  attr(pref, "ID", "Annotation:polscan");
  image.add_child("AnnotationRef", pref);
  ome.add_child("Image", image);

  ptree annotations;
  annotations.add_child("MapAnnotation",
                        mapAnnotation("Annotation:polscan", kPolscanNs, polscan_values));
  for (std::size_t t = 0; t < angles_deg.size(); ++t) {
    annotations.add_child(
        "MapAnnotation",
        mapAnnotation("Annotation:Angle:" + std::to_string(t), kAngleNs,
                      {{"PolarizerAngle", number(angles_deg[t])}, {"PolarizerAngleUnit", "deg"}}));
  }
  ome.add_child("StructuredAnnotations", annotations);

  ptree doc;
  doc.add_child("OME", ome);
  std::ostringstream out;
  boost::property_tree::write_xml(out, doc);
  return out.str();
}

// ---- writing pages -----------------------------------------------------------------------------

// planes[i]: single-channel CV_16U or CV_8U images in IFD order.
void writePages(const std::vector<cv::Mat>& planes, const std::string& description, double pixel_um,
                const fs::path& file) {
  const fs::path tmp = file.string() + ".tmp";
  std::size_t bytes = 0;
  for (const cv::Mat& p : planes) bytes += p.total() * p.elemSize();
  {
    // Classic TIFF addresses 4 GiB; big mosaics need BigTIFF (tifffile and Bio-Formats read it).
    TiffFile tif(tmp, bytes > (std::size_t{3} << 30) ? "w8" : "w");
    if (tif.get() == nullptr) {
      throw OmeTiffError("cannot write " + file.string() + ": " + tif.why("cannot create file"));
    }
    for (std::size_t i = 0; i < planes.size(); ++i) {
      const cv::Mat& p = planes[i];
      TIFF* t = tif.get();
      TIFFSetField(t, TIFFTAG_IMAGEWIDTH, static_cast<std::uint32_t>(p.cols));
      TIFFSetField(t, TIFFTAG_IMAGELENGTH, static_cast<std::uint32_t>(p.rows));
      TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, p.depth() == CV_16U ? 16 : 8);
      TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
      TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_UINT);
      TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
      TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
      TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_NONE);
      // Strips of about 256 kB: few enough that reading is a handful of large reads.
      const std::size_t row_bytes = p.cols * p.elemSize();
      const int rows_per_strip =
          std::clamp(static_cast<int>((std::size_t{256} << 10) / row_bytes), 1, p.rows);
      TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, static_cast<std::uint32_t>(rows_per_strip));
      TIFFSetField(t, TIFFTAG_RESOLUTIONUNIT, RESUNIT_CENTIMETER);
      TIFFSetField(t, TIFFTAG_XRESOLUTION, static_cast<float>(1e4 / pixel_um));
      TIFFSetField(t, TIFFTAG_YRESOLUTION, static_cast<float>(1e4 / pixel_um));
      TIFFSetField(t, TIFFTAG_SOFTWARE, "polscan");
      if (i == 0) TIFFSetField(t, TIFFTAG_IMAGEDESCRIPTION, description.c_str());
      const cv::Mat rows = p.isContinuous() ? p : p.clone();
      for (int r0 = 0, strip = 0; r0 < rows.rows; r0 += rows_per_strip, ++strip) {
        const int n = std::min(rows_per_strip, rows.rows - r0);
        if (TIFFWriteEncodedStrip(t, static_cast<std::uint32_t>(strip),
                                  const_cast<uchar*>(rows.ptr(r0)),
                                  static_cast<tmsize_t>(n * row_bytes)) < 0) {
          throw OmeTiffError("cannot write " + file.string() + " (plane " + std::to_string(i) +
                             "): " + tif.why("write error"));
        }
      }
      if (!TIFFWriteDirectory(t)) {
        throw OmeTiffError("cannot write " + file.string() + " (plane " + std::to_string(i) +
                           "): " + tif.why("write error"));
      }
    }
    tif.close();
  }
  std::error_code ec;
  fs::rename(tmp, file, ec);
  if (ec) throw OmeTiffError("cannot write " + file.string() + ": " + ec.message());
}

// Channel c of an image in OME order (R, G, B for colour images stored B, G, R by OpenCV).
cv::Mat channelPlane(const cv::Mat& img, int c) {
  if (img.channels() == 1) return img;
  cv::Mat plane;
  cv::extractChannel(img, plane, 2 - c);
  return plane;
}

// ---- reading -----------------------------------------------------------------------------------

struct ParsedOme {
  PlaneLayout layout;
  std::vector<double> angles_deg;  // per T, may be empty (mosaic)
  std::vector<double> wavelengths_nm;
  std::map<std::string, std::string> polscan;  // the polscan MapAnnotation
  double exposure_us = 0;
  std::optional<StagePosition> stage;
  std::vector<int> ifd;  // IFD of plane (t * C + c)
};

template <typename T>
T requiredAttr(const ptree& node, const std::string& name, const std::string& element,
               const fs::path& file) {
  const auto v = node.get_optional<T>("<xmlattr>." + name);
  if (!v) {
    throw OmeTiffError(file.string() + ": OME-XML " + element + " has no valid " + name +
                       " attribute");
  }
  return *v;
}

double lengthToUm(double v, const std::string& unit, const std::string& what,
                  const fs::path& file) {
  if (unit.empty() || unit == kMicrometre || unit == "um" || unit == "\xCE\xBCm") return v;
  if (unit == "nm") return v / 1000.0;
  if (unit == "mm") return v * 1000.0;
  if (unit == "cm") return v * 1e4;
  if (unit == "m") return v * 1e6;
  throw OmeTiffError(file.string() + ": OME-XML " + what + " has unit \"" + unit +
                     "\" (expected a length such as um or nm)");
}

double timeToUs(double v, const std::string& unit) {
  if (unit.empty() || unit == "s") return v * 1e6;
  if (unit == "ms") return v * 1e3;
  if (unit == "ns") return v / 1e3;
  return v;  // "µs" / "us"
}

std::map<std::string, std::string> mapValues(const ptree& annotation) {
  std::map<std::string, std::string> values;
  const auto v = annotation.get_child_optional("Value");
  if (!v) return values;
  for (const auto& [name, m] : *v) {
    if (name == "M") values[m.get<std::string>("<xmlattr>.K", "")] = m.data();
  }
  return values;
}

ParsedOme parseOme(const std::string& xml, const fs::path& file) {
  ptree doc;
  try {
    std::istringstream in(xml);
    boost::property_tree::read_xml(in, doc);
  } catch (const boost::property_tree::xml_parser_error& e) {
    throw OmeTiffError(file.string() +
                       ": the OME-XML in the first page's ImageDescription is "
                       "not well-formed XML (" +
                       e.message() + ", line " + std::to_string(e.line()) + ")");
  }
  const auto ome = doc.get_child_optional("OME");
  if (!ome) throw OmeTiffError(file.string() + ": ImageDescription holds XML but no <OME> element");
  const auto image = ome->get_child_optional("Image");
  if (!image) throw OmeTiffError(file.string() + ": OME-XML has no <Image>");
  const auto pixels = image->get_child_optional("Pixels");
  if (!pixels) throw OmeTiffError(file.string() + ": OME-XML <Image> has no <Pixels>");

  ParsedOme p;
  PlaneLayout& l = p.layout;
  l.size_x = requiredAttr<int>(*pixels, "SizeX", "Pixels", file);
  l.size_y = requiredAttr<int>(*pixels, "SizeY", "Pixels", file);
  l.size_c = requiredAttr<int>(*pixels, "SizeC", "Pixels", file);
  l.size_t_ = requiredAttr<int>(*pixels, "SizeT", "Pixels", file);
  const int size_z = requiredAttr<int>(*pixels, "SizeZ", "Pixels", file);
  if (l.size_x <= 0 || l.size_y <= 0 || l.size_t_ <= 0 || size_z != 1 ||
      (l.size_c != 1 && l.size_c != 3)) {
    throw OmeTiffError(file.string() + ": OME-XML Pixels size " + std::to_string(l.size_x) + "x" +
                       std::to_string(l.size_y) + ", C=" + std::to_string(l.size_c) +
                       ", Z=" + std::to_string(size_z) + ", T=" + std::to_string(l.size_t_) +
                       " is not a polscan stack or mosaic (C must be 1 or 3, Z 1)");
  }
  const std::string type = requiredAttr<std::string>(*pixels, "Type", "Pixels", file);
  if (type != "uint16" && type != "uint8") {
    throw OmeTiffError(file.string() + ": pixel type " + type + " (expected uint16 or uint8)");
  }
  l.bits16 = type == "uint16";
  l.significant_bits = pixels->get<int>("<xmlattr>.SignificantBits", l.bits16 ? 16 : 8);
  const auto px = pixels->get_optional<double>("<xmlattr>.PhysicalSizeX");
  if (!px || !(*px > 0)) {
    throw OmeTiffError(file.string() +
                       ": OME-XML Pixels has no PhysicalSizeX > 0 (the pixel size at the "
                       "sample plane is required)");
  }
  l.pixel_um = lengthToUm(*px, pixels->get<std::string>("<xmlattr>.PhysicalSizeXUnit", ""),
                          "PhysicalSizeX", file);

  std::map<std::string, std::map<std::string, std::string>> annotations;
  if (const auto sa = ome->get_child_optional("StructuredAnnotations")) {
    for (const auto& [name, a] : *sa) {
      if (name == "MapAnnotation")
        annotations[a.get<std::string>("<xmlattr>.ID", "")] = mapValues(a);
    }
  }
  if (auto it = annotations.find("Annotation:polscan"); it != annotations.end()) {
    p.polscan = it->second;
  }

  p.angles_deg.assign(static_cast<std::size_t>(l.size_t_),
                      std::numeric_limits<double>::quiet_NaN());
  const std::string order = pixels->get<std::string>("<xmlattr>.DimensionOrder", "XYCZT");
  // Default page order from DimensionOrder; TiffData elements (one per plane) override it.
  p.ifd.assign(static_cast<std::size_t>(l.size_c * l.size_t_), -1);
  const int c_first = order.find('C') < order.find('T');
  for (int t = 0; t < l.size_t_; ++t) {
    for (int c = 0; c < l.size_c; ++c) {
      p.ifd[t * l.size_c + c] = c_first ? t * l.size_c + c : c * l.size_t_ + t;
    }
  }
  bool first_plane = true;
  for (const auto& [name, node] : *pixels) {
    if (name == "Channel") {
      if (const auto ls = node.get_child_optional("LightSourceSettings")) {
        if (const auto w = ls->get_optional<double>("<xmlattr>.Wavelength")) {
          p.wavelengths_nm.push_back(*w);
        }
      }
    } else if (name == "TiffData") {
      const auto count = node.get<int>("<xmlattr>.PlaneCount", 0);
      const int c = node.get<int>("<xmlattr>.FirstC", 0), t = node.get<int>("<xmlattr>.FirstT", 0);
      if (count == 1 && c >= 0 && c < l.size_c && t >= 0 && t < l.size_t_) {
        p.ifd[t * l.size_c + c] = node.get<int>("<xmlattr>.IFD", 0);
      }
    } else if (name == "Plane") {
      const int t = node.get<int>("<xmlattr>.TheT", 0);
      if (first_plane) {
        if (const auto e = node.get_optional<double>("<xmlattr>.ExposureTime")) {
          p.exposure_us = timeToUs(*e, node.get<std::string>("<xmlattr>.ExposureTimeUnit", "s"));
        }
        if (const auto x = node.get_optional<double>("<xmlattr>.PositionX")) {
          StagePosition s;
          s.x_um = lengthToUm(*x, node.get<std::string>("<xmlattr>.PositionXUnit", ""), "PositionX",
                              file);
          s.y_um =
              lengthToUm(node.get<double>("<xmlattr>.PositionY", 0.0),
                         node.get<std::string>("<xmlattr>.PositionYUnit", ""), "PositionY", file);
          s.z_um =
              lengthToUm(node.get<double>("<xmlattr>.PositionZ", 0.0),
                         node.get<std::string>("<xmlattr>.PositionZUnit", ""), "PositionZ", file);
          p.stage = s;
        }
        first_plane = false;
      }
      for (const auto& [child, ref] : node) {
        if (child != "AnnotationRef") continue;
        const auto it = annotations.find(ref.get<std::string>("<xmlattr>.ID", ""));
        if (it == annotations.end()) continue;
        const auto angle = it->second.find("PolarizerAngle");
        if (angle == it->second.end() || t < 0 || t >= l.size_t_) continue;
        try {
          p.angles_deg[t] = std::stod(angle->second);
        } catch (const std::exception&) {
          throw OmeTiffError(file.string() + ": polarizer angle \"" + angle->second +
                             "\" of plane T=" + std::to_string(t) + " is not a number");
        }
      }
    }
  }
  if (std::all_of(p.angles_deg.begin(), p.angles_deg.end(),
                  [](double a) { return std::isnan(a); })) {
    p.angles_deg.clear();
  }
  return p;
}

// Reads page `ifd` into a single-channel image of the expected size and depth.
cv::Mat readPage(TiffFile& tif, int ifd, const PlaneLayout& l, const fs::path& file,
                 const std::string& plane_name) {
  TIFF* t = tif.get();
  const std::string where =
      file.string() + ": " + plane_name + " (page " + std::to_string(ifd) + ")";
  if (!TIFFSetDirectory(t, static_cast<tdir_t>(ifd))) {
    throw OmeTiffError(where + " cannot be read, the file is truncated or damaged (" +
                       tif.why("no such page") + ")");
  }
  std::uint32_t w = 0, h = 0;
  std::uint16_t bps = 0, spp = 1, config = PLANARCONFIG_CONTIG;
  TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w);
  TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h);
  TIFFGetFieldDefaulted(t, TIFFTAG_BITSPERSAMPLE, &bps);
  TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLESPERPIXEL, &spp);
  TIFFGetFieldDefaulted(t, TIFFTAG_PLANARCONFIG, &config);
  const int want_bits = l.bits16 ? 16 : 8;
  if (static_cast<int>(w) != l.size_x || static_cast<int>(h) != l.size_y || bps != want_bits ||
      spp != 1) {
    throw OmeTiffError(where + " is " + std::to_string(w) + "x" + std::to_string(h) + ", " +
                       std::to_string(bps) + " bit x " + std::to_string(spp) +
                       " samples, but the OME-XML says " + std::to_string(l.size_x) + "x" +
                       std::to_string(l.size_y) + ", " + std::to_string(want_bits) + " bit x 1");
  }
  if (TIFFIsTiled(t)) throw OmeTiffError(where + " is tiled (only strip TIFFs are read)");
  cv::Mat img(l.size_y, l.size_x, l.bits16 ? CV_16UC1 : CV_8UC1);
  std::uint32_t rows_per_strip = 0;
  TIFFGetFieldDefaulted(t, TIFFTAG_ROWSPERSTRIP, &rows_per_strip);
  rows_per_strip =
      std::clamp<std::uint32_t>(rows_per_strip, 1, static_cast<std::uint32_t>(img.rows));
  const std::size_t row_bytes = img.cols * img.elemSize();
  // Strips decode straight into the image's rows (contiguous), whatever their compression.
  for (int r0 = 0, strip = 0; r0 < img.rows; r0 += static_cast<int>(rows_per_strip), ++strip) {
    const int n = std::min(static_cast<int>(rows_per_strip), img.rows - r0);
    const tmsize_t want = static_cast<tmsize_t>(n * row_bytes);
    if (TIFFReadEncodedStrip(t, static_cast<std::uint32_t>(strip), img.ptr(r0), want) != want) {
      throw OmeTiffError(where + ": rows " + std::to_string(r0) + "-" + std::to_string(r0 + n - 1) +
                         " cannot be read, the file is truncated or damaged (" +
                         tif.why("short read") + ")");
    }
  }
  return img;
}

struct OmeContents {
  ParsedOme ome;
  std::vector<cv::Mat> frames;  // per T: CV_16UC1/CV_8UC1, or 3-channel (B, G, R) when C = 3
};

OmeContents readOme(const fs::path& file) {
  if (!fs::exists(file)) throw OmeTiffError(file.string() + ": no such file");
  // "m": plain reads instead of mapping the file; the strips are read once, straight into the
  // frames, and a map only adds page faults.
  TiffFile tif(file, "rm");
  if (tif.get() == nullptr) {
    throw OmeTiffError(file.string() + ": not a readable TIFF file (" + tif.why("cannot open") +
                       ")");
  }
  char* desc = nullptr;
  if (!TIFFGetField(tif.get(), TIFFTAG_IMAGEDESCRIPTION, &desc) || desc == nullptr ||
      std::string_view(desc).find("<OME") == std::string_view::npos) {
    throw OmeTiffError(file.string() +
                       ": no OME-XML in the first page's ImageDescription (a plain TIFF, not "
                       "an OME-TIFF)");
  }
  OmeContents out;
  out.ome = parseOme(desc, file);
  const PlaneLayout& l = out.ome.layout;
  const int pages = TIFFNumberOfDirectories(tif.get());
  const int needed = l.size_c * l.size_t_;
  if (pages < needed) {
    throw OmeTiffError(file.string() + ": holds " + std::to_string(pages) +
                       " image pages but its OME-XML describes " + std::to_string(needed) +
                       " planes: the file is truncated or incomplete");
  }
  for (int t = 0; t < l.size_t_; ++t) {
    std::vector<cv::Mat> channels;
    for (int c = 0; c < l.size_c; ++c) {
      std::string name = "plane T=" + std::to_string(t) + " C=" + std::to_string(c);
      if (!out.ome.angles_deg.empty()) {
        name += " (polarizer " + number(out.ome.angles_deg[t]) + " deg)";
      }
      channels.push_back(readPage(tif, out.ome.ifd[t * l.size_c + c], l, file, name));
    }
    if (l.size_c == 1) {
      out.frames.push_back(channels[0]);
    } else {
      cv::Mat bgr;
      cv::merge(std::vector<cv::Mat>{channels[2], channels[1], channels[0]}, bgr);
      out.frames.push_back(bgr);
    }
  }
  return out;
}

}  // namespace

bool isOmeTiffPath(const fs::path& file) {
  std::string name = file.filename().string();
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  auto ends = [&](std::string_view s) {
    return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  return ends(".ome.tif") || ends(".ome.tiff");
}

bool isOmeTiffMosaic(const fs::path& file) {
  TiffFile tif(file, "r");
  char* desc = nullptr;
  if (tif.get() == nullptr || !TIFFGetField(tif.get(), TIFFTAG_IMAGEDESCRIPTION, &desc) ||
      desc == nullptr) {
    return false;
  }
  const std::string_view d(desc);
  return d.find("<OME") != std::string_view::npos &&
         d.find("PolarizerAngle") == std::string_view::npos;
}

void writeOmeTiffStack(const Stack& stack, const fs::path& file, const OmeInstrument& instrument) {
  if (stack.frames.empty() || stack.frames.size() != stack.angles_deg.size()) {
    throw OmeTiffError("cannot write " + file.string() + ": " +
                       std::to_string(stack.frames.size()) + " frames but " +
                       std::to_string(stack.angles_deg.size()) + " angles");
  }
  const cv::Mat& f0 = stack.frames[0];
  if (f0.depth() != CV_16U || (f0.channels() != 1 && f0.channels() != 3)) {
    throw OmeTiffError("cannot write " + file.string() +
                       ": frames must be 16-bit, 1 or 3 channels");
  }
  PlaneLayout l;
  l.size_x = f0.cols;
  l.size_y = f0.rows;
  l.size_c = f0.channels();
  l.size_t_ = static_cast<int>(stack.frames.size());
  l.significant_bits = stack.bit_depth;
  l.pixel_um = stack.pixel_um;
  std::vector<std::pair<std::string, std::string>> values = {
      {"format", "polscan-stack"},
      {"optical_train", std::string(opticalTrainName(stack.train))},
      {"bit_depth", std::to_string(stack.bit_depth)},
      {"angles_deg", [&] {
         std::string s;
         for (double a : stack.angles_deg) s += (s.empty() ? "" : ",") + number(a);
         return s;
       }()}};
  if (stack.blank) values.emplace_back("blank", stack.blank->string());
  if (stack.calibration) values.emplace_back("calibration", stack.calibration->string());
  if (!instrument.firmware_version.empty()) {
    values.emplace_back("firmware_version", instrument.firmware_version);
  }
  const std::string xml = omeXml(l, stack.angles_deg, stack.wavelengths_nm, stack.train,
                                 stack.exposure_us, stack.stage, instrument, values);
  std::vector<cv::Mat> planes;
  for (std::size_t t = 0; t < stack.frames.size(); ++t) {
    const cv::Mat& f = stack.frames[t];
    if (f.size() != f0.size() || f.type() != f0.type()) {
      throw OmeTiffError("cannot write " + file.string() + ": frame " + std::to_string(t) +
                         " differs in size or type from frame 0");
    }
    for (int c = 0; c < l.size_c; ++c) planes.push_back(channelPlane(f, c));
  }
  writePages(planes, xml, stack.pixel_um, file);
}

Stack readOmeTiffStack(const fs::path& file) {
  OmeContents in = readOme(file);
  ParsedOme& o = in.ome;
  if (o.angles_deg.empty()) {
    throw OmeTiffError(file.string() +
                       ": no polarizer angle per plane (PolarizerAngle map annotations): an "
                       "image, not a polarizer-angle stack");
  }
  for (std::size_t t = 0; t < o.angles_deg.size(); ++t) {
    if (std::isnan(o.angles_deg[t])) {
      throw OmeTiffError(file.string() + ": plane T=" + std::to_string(t) +
                         " has no polarizer angle");
    }
  }
  Stack s;
  s.angles_deg = o.angles_deg;
  s.pixel_um = o.layout.pixel_um;
  s.exposure_us = o.exposure_us;
  s.stage = o.stage;
  s.bit_depth = o.layout.significant_bits;
  if (!o.wavelengths_nm.empty()) s.wavelengths_nm = o.wavelengths_nm;
  if (auto it = o.polscan.find("optical_train"); it != o.polscan.end()) {
    const auto train = opticalTrainFromName(it->second);
    if (!train) {
      throw OmeTiffError(file.string() + ": unknown optical_train \"" + it->second + "\"");
    }
    s.train = *train;
  }
  if (auto it = o.polscan.find("blank"); it != o.polscan.end()) {
    const fs::path blank = it->second;
    s.blank = blank.is_absolute() ? blank : file.parent_path() / blank;
  }
  if (auto it = o.polscan.find("calibration"); it != o.polscan.end()) {
    const fs::path cal = it->second;
    s.calibration = cal.is_absolute() ? cal : file.parent_path() / cal;
  }
  for (cv::Mat& f : in.frames) {
    if (f.depth() == CV_8U) f.convertTo(f, CV_16U, 256.0);  // as for 8-bit stack folders
  }
  s.frames = std::move(in.frames);
  return s;
}

void writeOmeTiffMosaic(const MosaicImage& mosaic, const fs::path& file,
                        const OmeInstrument& instrument) {
  const cv::Mat& img = mosaic.image;
  if (img.empty() || (img.depth() != CV_8U && img.depth() != CV_16U) ||
      (img.channels() != 1 && img.channels() != 3) || !(mosaic.pixel_um > 0)) {
    throw OmeTiffError("cannot write " + file.string() +
                       ": a mosaic must be a non-empty 8/16-bit, 1- or 3-channel image with a "
                       "pixel size > 0 um");
  }
  PlaneLayout l;
  l.size_x = img.cols;
  l.size_y = img.rows;
  l.size_c = img.channels();
  l.bits16 = img.depth() == CV_16U;
  l.significant_bits = l.bits16 ? 16 : 8;
  l.pixel_um = mosaic.pixel_um;
  const StagePosition centre{mosaic.x_um, mosaic.y_um, 0.0};
  const std::string xml = omeXml(l, {}, {}, OpticalTrain::Circular, 0.0, centre, instrument,
                                 {{"format", "polscan-mosaic"}});
  std::vector<cv::Mat> planes;
  for (int c = 0; c < l.size_c; ++c) planes.push_back(channelPlane(img, c));
  writePages(planes, xml, mosaic.pixel_um, file);
}

MosaicImage readOmeTiffMosaic(const fs::path& file) {
  OmeContents in = readOme(file);
  if (in.frames.size() != 1) {
    throw OmeTiffError(file.string() + ": holds " + std::to_string(in.frames.size()) +
                       " time points; a mosaic is one 2-D image (SizeT = 1)");
  }
  MosaicImage m;
  m.image = in.frames[0];
  m.pixel_um = in.ome.layout.pixel_um;
  if (in.ome.stage) {
    m.x_um = in.ome.stage->x_um;
    m.y_um = in.ome.stage->y_um;
  }
  return m;
}

}  // namespace polscan
