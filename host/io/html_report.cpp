// HTML report writer: PNGs through cv::imencode, base64 through Boost's dataflow iterators.
#include "io/html_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <vector>

#include <boost/archive/iterators/base64_from_binary.hpp>
#include <boost/archive/iterators/transform_width.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "io/report_csv.hpp"

namespace polscan {

namespace {

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string fmt(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

std::string base64(const std::vector<unsigned char>& bytes) {
  using namespace boost::archive::iterators;
  using It = base64_from_binary<transform_width<std::vector<unsigned char>::const_iterator, 6, 8>>;
  std::string out(It(bytes.begin()), It(bytes.end()));
  out.append((3 - bytes.size() % 3) % 3, '=');
  return out;
}

std::string pngDataUri(const cv::Mat& img) {
  std::vector<unsigned char> png;
  if (img.empty() || !cv::imencode(".png", img, png)) {
    throw std::runtime_error("HTML report: cannot encode an image as PNG");
  }
  return "data:image/png;base64," + base64(png);
}

// Colour of a class in the histogram and on the mosaic (B, G, R for OpenCV; CSS from it).
cv::Scalar classColour(CrystalClass c) {
  switch (c) {
    case CrystalClass::CPPD:
      return {255, 144, 30};
    case CrystalClass::MSU:
      return {0, 215, 255};
    case CrystalClass::CaOxMonohydrate:
      return {60, 180, 60};
    case CrystalClass::CaOxDihydrate:
      return {140, 230, 140};
    case CrystalClass::UricAcid:
      return {30, 105, 210};
    case CrystalClass::Cholesterol:
      return {200, 120, 200};
    case CrystalClass::NonBirefringent:
      return {180, 180, 180};
    case CrystalClass::Artefact:
      return {110, 110, 110};
    case CrystalClass::Unknown:
      return {60, 60, 230};
  }
  return {255, 255, 255};
}

std::string css(const cv::Scalar& bgr) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "#%02x%02x%02x", static_cast<int>(bgr[2]),
                static_cast<int>(bgr[1]), static_cast<int>(bgr[0]));
  return buf;
}

std::string sampleSection(const HtmlReportInput& in) {
  const Report& r = *in.report;
  std::string s = "<h2>Sample</h2>\n<table class=\"sample\">\n";
  auto row = [&](const std::string& k, const std::string& v) {
    if (!v.empty()) s += "<tr><th>" + k + "</th><td>" + escape(v) + "</td></tr>\n";
  };
  row("Sample", r.sample);
  row("Sample id", r.sample_id);
  row("Type", r.sample_type);
  row("Operator", r.operator_name);
  row("Date (UTC)", r.date);
  row("Instrument", in.instrument);
  row("Fields analysed", std::to_string(r.fields));
  row("Scanned area (mm&sup2;)", r.scanned_area_mm2 > 0 ? fmt(r.scanned_area_mm2, 4) : "unknown");
  row("Chamber depth (&micro;m)", r.chamber_depth_um > 0 ? fmt(r.chamber_depth_um, 1) : "unknown");
  row("Crystals and particles found", std::to_string(r.crystals.size()));
  return s + "</table>\n";
}

std::string countsSection(const Report& r) {
  std::string s =
      "<h2>Counts and concentrations</h2>\n<table class=\"counts\">\n<tr><th>class</th>"
      "<th>count</th><th>per mm&sup2;</th><th>per &micro;L</th></tr>\n";
  for (const auto& [cls, n] : countsByClass(r)) {
    const auto a = perMm2(r, n);
    const auto v = perMicrolitre(r, n);
    s += "<tr data-class=\"" + std::string(crystalClassName(cls)) + "\"><td>" +
         std::string(crystalClassName(cls)) + "</td><td class=\"count\">" + std::to_string(n) +
         "</td><td>" + (a ? fmt(*a, 1) : "unknown") + "</td><td>" + (v ? fmt(*v, 1) : "unknown") +
         "</td></tr>\n";
  }
  s += "</table>\n<p class=\"help\">Concentrations are counts over the scanned area (overlaps "
       "counted once) and, where the chamber depth is known, over the volume above it.</p>\n";
  return s;
}

std::string mosaicSection(const Report& r, const MosaicImage& m) {
  cv::Mat img;
  if (m.image.depth() == CV_16U) {
    cv::normalize(m.image, img, 0, 255, cv::NORM_MINMAX, CV_8U);
  } else {
    img = m.image.clone();
  }
  if (img.channels() == 1) cv::cvtColor(img, img, cv::COLOR_GRAY2BGR);
  // Large mosaics are shown reduced: a report stays a few MB.
  constexpr int kMaxWidth = 1600;
  double scale = 1.0;
  if (img.cols > kMaxWidth) {
    scale = static_cast<double>(kMaxWidth) / img.cols;
    cv::resize(img, img, cv::Size(), scale, scale, cv::INTER_AREA);
  }
  const double px = m.pixel_um / scale;
  for (const CrystalRecord& c : r.crystals) {
    const double col = (c.x_um - m.x_um) / px + (img.cols - 1) / 2.0;
    const double row = (img.rows - 1) / 2.0 - (c.y_um - m.y_um) / px;
    const int radius = std::max(6, static_cast<int>(std::lround(c.length_um / 2 / px)) + 3);
    const cv::Point p(static_cast<int>(std::lround(col)), static_cast<int>(std::lround(row)));
    cv::circle(img, p, radius, classColour(c.cls), 2, cv::LINE_AA);
    cv::putText(img, std::to_string(c.id), p + cv::Point(radius + 2, -radius),
                cv::FONT_HERSHEY_SIMPLEX, 0.5, classColour(c.cls), 1, cv::LINE_AA);
  }
  return "<h2>Mosaic</h2>\n<figure class=\"mosaic\"><img class=\"mosaic\" alt=\"mosaic with "
         "crystal marks\" src=\"" +
         pngDataUri(img) + "\"><figcaption>" + fmt(img.cols * px / 1000.0, 2) + " &times; " +
         fmt(img.rows * px / 1000.0, 2) + " mm, centre (" + fmt(m.x_um, 0) + ", " + fmt(m.y_um, 0) +
         ") &micro;m; circles mark the crystals by id, coloured by class.</figcaption>"
         "</figure>\n";
}

std::string histogramSection(const Report& r) {
  std::string s = "<h2>Retardance histogram</h2>\n";
  if (r.crystals.empty()) return s + "<p>No crystals: no histogram.</p>\n";
  double max_nm = 0;
  for (const auto& c : r.crystals) max_nm = std::max(max_nm, c.retardance_nm);
  const double bin = max_nm <= 100 ? 5.0 : max_nm <= 300 ? 10.0 : 25.0;
  const int bins = std::max(1, static_cast<int>(std::floor(max_nm / bin)) + 1);
  // counts[bin][class]: bars stacked by class.
  std::vector<std::map<CrystalClass, int>> counts(static_cast<std::size_t>(bins));
  int tallest = 1;
  for (const auto& c : r.crystals) {
    const int b = std::clamp(static_cast<int>(c.retardance_nm / bin), 0, bins - 1);
    ++counts[b][c.cls];
  }
  for (const auto& m : counts) {
    int n = 0;
    for (const auto& [cls, k] : m) n += k;
    tallest = std::max(tallest, n);
  }
  const int w = 640, h = 220, left = 40, bottom = 30, top = 10;
  const double bw = static_cast<double>(w - left - 10) / bins;
  const double unit = static_cast<double>(h - bottom - top) / tallest;
  s += "<svg class=\"histogram\" width=\"" + std::to_string(w) + "\" height=\"" +
       std::to_string(h) + "\" role=\"img\">\n";
  for (int b = 0; b < bins; ++b) {
    double y = h - bottom;
    for (const auto& [cls, k] : counts[b]) {
      const double bh = k * unit;
      y -= bh;
      s += "<rect x=\"" + fmt(left + b * bw + 1, 1) + "\" y=\"" + fmt(y, 1) + "\" width=\"" +
           fmt(bw - 2, 1) + "\" height=\"" + fmt(bh, 1) + "\" fill=\"" + css(classColour(cls)) +
           "\"><title>" + std::string(crystalClassName(cls)) + ": " + std::to_string(k) + " at " +
           fmt(b * bin, 0) + "-" + fmt((b + 1) * bin, 0) + " nm</title></rect>\n";
    }
  }
  s += "<line x1=\"" + std::to_string(left) + "\" y1=\"" + std::to_string(h - bottom) + "\" x2=\"" +
       std::to_string(w - 10) + "\" y2=\"" + std::to_string(h - bottom) + "\" stroke=\"black\"/>\n";
  const int step = std::max(1, bins / 8);
  for (int b = 0; b <= bins; b += step) {
    s += "<text x=\"" + fmt(left + b * bw, 1) + "\" y=\"" + std::to_string(h - bottom + 15) +
         "\" font-size=\"11\" text-anchor=\"middle\">" + fmt(b * bin, 0) + "</text>\n";
  }
  s += "<text x=\"" + std::to_string(w / 2) + "\" y=\"" + std::to_string(h - 2) +
       "\" font-size=\"12\" text-anchor=\"middle\">retardance (nm)</text>\n";
  s += "<text x=\"12\" y=\"" + std::to_string(top + 10) + "\" font-size=\"11\">" +
       std::to_string(tallest) + "</text>\n";
  s += "<text x=\"12\" y=\"" + std::to_string(h - bottom) + "\" font-size=\"11\">0</text>\n";
  s += "</svg>\n<p class=\"legend\">";
  for (CrystalClass c : kAllCrystalClasses) {
    s += "<span style=\"color:" + css(classColour(c)) + "\">&#9632;</span> " +
         std::string(crystalClassName(c)) + " &nbsp; ";
  }
  return s + "</p>\n";
}

std::string crystalCaption(const CrystalRecord& c, const CrystalImages* images) {
  const std::string scale =
      images != nullptr ? "<br>retardance scale 0-" + fmt(images->retardance_scale_nm, 0) + " nm"
                        : "";
  return "#" + std::to_string(c.id) + " " + std::string(crystalClassName(c.cls)) + " (" +
         fmt(c.confidence, 2) + ")<br>" + fmt(c.length_um, 1) + " &times; " + fmt(c.width_um, 1) +
         " &micro;m, " + fmt(c.retardance_nm, 1) + " nm, slow axis " + fmt(c.slow_axis_deg, 0) +
         "&deg;, " + std::string(elongationName(c.elongation)) + "<br>at (" + fmt(c.x_um, 1) +
         ", " + fmt(c.y_um, 1) + ") &micro;m, field " + std::to_string(c.field) +
         (c.focus_per_um ? ", focus " + fmt(*c.focus_per_um, 2) + " /&micro;m" : std::string()) +
         scale;
}

std::string gallerySection(const HtmlReportInput& in) {
  const Report& r = *in.report;
  std::string s = "<h2>Gallery</h2>\n";
  if (r.crystals.empty()) return s + "<p>No crystals found.</p>\n";
  s += "<p class=\"help\">Left: virtual first-order red compensator (530 nm plate, slow axis at "
       "45&deg;); right: retardance, black at 0 nm to pale yellow at the full scale given below "
       "each crystal.</p>\n"
       "<div class=\"gallery\">\n";
  for (const CrystalRecord& c : r.crystals) {
    s += "<figure class=\"crystal\" id=\"crystal-" + std::to_string(c.id) + "\">";
    const CrystalImages* images = nullptr;
    if (in.gallery != nullptr) {
      const auto it = in.gallery->find(c.id);
      if (it != in.gallery->end()) images = &it->second;
    }
    if (images != nullptr) {
      s += "<img class=\"crop-compensator\" alt=\"crystal " + std::to_string(c.id) +
           " with red compensator\" src=\"" + pngDataUri(images->compensator) + "\">";
      s += "<img class=\"crop-retardance\" alt=\"crystal " + std::to_string(c.id) +
           " retardance\" src=\"" + pngDataUri(images->retardance) + "\">";
    } else {
      s += "<div class=\"nocrop\">no image</div>";
    }
    s += "<figcaption>" + crystalCaption(c, images) + "</figcaption></figure>\n";
  }
  return s + "</div>\n";
}

std::string reviewSection(const Report& r) {
  std::string s = "<h2>Needs review</h2>\n";
  if (r.needs_review.empty()) return s + "<p>Nothing to review.</p>\n";
  s += "<p>Low confidence: a person should look at these before the report is used.</p>\n"
       "<ul class=\"needs-review\">\n";
  for (int id : r.needs_review) {
    const auto it = std::find_if(r.crystals.begin(), r.crystals.end(),
                                 [&](const CrystalRecord& c) { return c.id == id; });
    s += "<li><a href=\"#crystal-" + std::to_string(id) + "\">#" + std::to_string(id) + "</a>";
    if (it != r.crystals.end()) {
      s += " " + std::string(crystalClassName(it->cls)) + ", confidence " + fmt(it->confidence, 2) +
           ", " + fmt(it->retardance_nm, 1) + " nm, at (" + fmt(it->x_um, 1) + ", " +
           fmt(it->y_um, 1) + ") &micro;m";
    }
    s += "</li>\n";
  }
  return s + "</ul>\n";
}

}  // namespace

std::string htmlReport(const HtmlReportInput& in) {
  if (in.report == nullptr) throw std::invalid_argument("htmlReport: no report");
  const Report& r = *in.report;
  std::string s =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>polscan "
      "report: " +
      escape(r.sample) +
      "</title>\n<style>\n"
      "body{font-family:sans-serif;margin:2em;max-width:1200px}"
      "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}"
      ".gallery{display:flex;flex-wrap:wrap;gap:12px}"
      "figure.crystal{margin:0;border:1px solid #ddd;padding:6px;font-size:12px;width:230px}"
      "figure.crystal img{width:110px;height:110px;image-rendering:pixelated;margin-right:2px}"
      "img.mosaic{max-width:100%}.statement{border:2px solid #c60;padding:8px;background:#fff4e8}"
      ".help{color:#555;font-size:13px}\n</style>\n</head>\n<body>\n<h1>polscan report: " +
      escape(r.sample) + "</h1>\n";
  s += sampleSection(in);
  s += countsSection(r);
  for (const std::string& note : reportNotes(r)) {
    s += "<p class=\"statement\">" + escape(note) + "</p>\n";
  }
  s += reviewSection(r);
  if (in.mosaic && !in.mosaic->image.empty()) s += mosaicSection(r, *in.mosaic);
  s += histogramSection(r);
  s += gallerySection(in);
  s += "<p class=\"help\">Positions are slide coordinates in &micro;m (x right, y up); angles in "
       "degrees counter-clockwise from +x. Confidence is the probability that the named class is "
       "right. Generated by polscan.</p>\n</body>\n</html>\n";
  return s;
}

void writeHtmlReport(const HtmlReportInput& input, const std::filesystem::path& file) {
  writeTextFile(htmlReport(input), file, "HTML report");
}

}  // namespace polscan
