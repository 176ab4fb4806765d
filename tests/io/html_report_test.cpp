// The HTML report and crystals.csv from a field rendered by the virtual instrument and analysed:
// counts, the apatite statement, one gallery entry per crystal, no external resources.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <boost/archive/iterators/binary_from_base64.hpp>
#include <boost/archive/iterators/transform_width.hpp>
#include <opencv2/imgcodecs.hpp>

#include "analysis/compensator_view.hpp"
#include "analysis/field_analysis.hpp"
#include "io/field_overview.hpp"
#include "io/html_report.hpp"
#include "io/report_csv.hpp"
#include "io_test_util.hpp"

using namespace polscan;
using polscan::testing::renderedStack;

namespace {

std::size_t countOf(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + what.size())) ++n;
  return n;
}

std::vector<unsigned char> fromBase64(std::string s) {
  using namespace boost::archive::iterators;
  while (!s.empty() && s.back() == '=') s.pop_back();
  using It = transform_width<binary_from_base64<std::string::const_iterator>, 8, 6>;
  return {It(s.begin()), It(s.end())};
}

struct AnalysedField {
  Report report;
  Gallery gallery;
  MosaicImage mosaic;
};

// A 640 x 480 field of the demo slide (CPPD and calcium oxalate) through the real analysis.
AnalysedField analysedField() {
  const Stack stack = renderedStack({0, 22.5, 45, 67.5, 90, 112.5, 135, 157.5}, false, 640, 480);
  const analysis::FieldResult result = analysis::analyzeField(stack);
  AnalysedField f;
  f.report.sample = "knee <left> & right";
  f.report.sample_id = "S-42";
  f.report.sample_type = "synovial-fluid";
  f.report.fields = 1;
  f.report.crystals = result.crystals;
  f.report.needs_review = result.needs_review;
  f.report.scanned_area_mm2 = 640 * 480 * 0.4 * 0.4 * 1e-6;
  f.report.chamber_depth_um = 20;
  const cv::Mat view = analysis::compensatorView(result.map);
  for (std::size_t i = 0; i < result.crystals.size(); ++i) {
    const auto& c = result.crystals[i];
    f.gallery[c.id] = cropCrystal(result.map, view, result.features[i].cx_px,
                                  result.features[i].cy_px, c.length_um, c.retardance_nm);
  }
  FieldOverview overview;
  overview.addField(result.map.intensity, result.map.pixel_um, *stack.stage);
  f.mosaic = overview.mosaic();
  return f;
}

}  // namespace

TEST(HtmlReport, HasCountsStatementOneGalleryEntryPerCrystalAndNoExternalResources) {
  const AnalysedField f = analysedField();
  const Report& r = f.report;
  ASSERT_GE(r.crystals.size(), 3u) << "the field should hold several crystals";
  HtmlReportInput in;
  in.report = &r;
  in.gallery = &f.gallery;
  in.mosaic = f.mosaic;
  const std::string html = htmlReport(in);

  EXPECT_EQ(countOf(html, "<figure class=\"crystal\""), r.crystals.size());
  EXPECT_EQ(countOf(html, "class=\"crop-compensator\""), r.crystals.size());
  EXPECT_EQ(countOf(html, "class=\"crop-retardance\""), r.crystals.size());
  EXPECT_EQ(countOf(html, "<img class=\"mosaic\""), 1u);
  // Each caption gives the crystal's focus (edge sharpness) per um.
  ASSERT_TRUE(r.crystals[0].focus_per_um.has_value());
  char focus[64];
  std::snprintf(focus, sizeof(focus), "focus %.2f /&micro;m", *r.crystals[0].focus_per_um);
  EXPECT_NE(html.find(focus), std::string::npos) << focus;
  // ... and the full scale of its retardance crop.
  EXPECT_EQ(countOf(html, " /&micro;m<br>retardance scale 0-"), r.crystals.size());
  for (const auto& [cls, n] : countsByClass(r)) {
    const std::string name(crystalClassName(cls));
    EXPECT_NE(html.find("<tr data-class=\"" + name + "\"><td>" + name +
                        "</td><td class=\"count\">" + std::to_string(n) + "</td>"),
              std::string::npos)
        << name;
  }
  // Concentration of CPPD per mm2 as printed.
  const int cppd = countsByClass(r)[0].second;
  ASSERT_GT(cppd, 0);
  char per_mm2[32];
  std::snprintf(per_mm2, sizeof(per_mm2), "<td>%.1f</td>", cppd / r.scanned_area_mm2);
  EXPECT_NE(html.find(per_mm2), std::string::npos) << per_mm2;
  EXPECT_NE(html.find(apatiteNote()), std::string::npos);
  EXPECT_NE(html.find("apatite (basic calcium phosphate) cannot be confirmed by polarized light"),
            std::string::npos);
  EXPECT_EQ(countOf(html, "<li><a href=\"#crystal-"), r.needs_review.size());
  EXPECT_NE(html.find("knee &lt;left&gt; &amp; right"), std::string::npos);  // escaped
  EXPECT_NE(html.find("<svg class=\"histogram\""), std::string::npos);
  EXPECT_GE(countOf(html, "<rect "), 1u);

  // Self-contained: no URL to fetch, every image inline.
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  // (std::regex recurses per character: no use on 100 kB data URIs.)
  std::vector<std::string> uris;
  const std::string src = "src=\"";
  for (auto p = html.find(src); p != std::string::npos; p = html.find(src, p + 1)) {
    const auto begin = p + src.size();
    uris.push_back(html.substr(begin, html.find('"', begin) - begin));
  }
  EXPECT_EQ(uris.size(), 2 * r.crystals.size() + 1);
  const std::string png = "data:image/png;base64,";
  for (const std::string& uri : uris) ASSERT_EQ(uri.rfind(png, 0), 0u) << uri.substr(0, 60);

  // The first crop decodes back to the crystal's compensator image.
  const auto first = html.find("class=\"crop-compensator\"");
  ASSERT_NE(first, std::string::npos);
  const auto begin = html.find(src + png, first) + src.size() + png.size();
  const std::string b64 = html.substr(begin, html.find('"', begin) - begin);
  const cv::Mat decoded = cv::imdecode(fromBase64(b64), cv::IMREAD_UNCHANGED);
  const cv::Mat& expected = f.gallery.at(r.crystals[0].id).compensator;
  ASSERT_EQ(decoded.size(), expected.size());
  EXPECT_EQ(cv::norm(decoded, expected, cv::NORM_INF), 0.0);
}

TEST(HtmlReport, ZeroCrystalsStillReportsSampleCountsAndStatement) {
  Report r;
  r.sample = "empty slide";
  r.fields = 3;
  HtmlReportInput in;
  in.report = &r;
  const std::string html = htmlReport(in);
  EXPECT_EQ(countOf(html, "<figure class=\"crystal\""), 0u);
  EXPECT_NE(html.find("No crystals found"), std::string::npos);
  EXPECT_EQ(countOf(html, "<td class=\"count\">0</td>"), kAllCrystalClasses.size());
  EXPECT_NE(html.find(apatiteNote()), std::string::npos);
  EXPECT_NE(html.find("Nothing to review"), std::string::npos);
  EXPECT_EQ(countOf(html, "<rect "), 0u);
  EXPECT_NE(html.find("<td>unknown</td>"), std::string::npos);  // no area: no concentration
  EXPECT_EQ(html.find("src=\""), std::string::npos);
  EXPECT_EQ(crystalsCsv(r).find('\n') + 1, crystalsCsv(r).size());  // header only
}

TEST(CrystalsCsv, OneRowPerCrystalWithUnitsInTheHeader) {
  const AnalysedField f = analysedField();
  Report r = f.report;
  ASSERT_FALSE(r.crystals.empty());
  r.needs_review = {r.crystals.back().id};
  const std::string csv = crystalsCsv(r);
  EXPECT_EQ(countOf(csv, "\n"), r.crystals.size() + 1);
  const std::string header = csv.substr(0, csv.find('\n'));
  for (const char* col :
       {"x (um)", "length (um)", "retardance (nm)", "slow axis (deg)", "confidence (0-1)"}) {
    EXPECT_NE(header.find(col), std::string::npos) << col;
  }
  const auto& c = r.crystals[0];
  char row[256];
  std::snprintf(row, sizeof(row), "\n%d,%s,%.3f,%.2f,%.2f,%.2f,%.2f,%.1f,", c.id,
                std::string(crystalClassName(c.cls)).c_str(), c.confidence, c.x_um, c.y_um,
                c.length_um, c.width_um, c.retardance_nm);
  EXPECT_NE(csv.find(row), std::string::npos) << row << "\n" << csv;
  EXPECT_EQ(countOf(csv, ",yes\n"), 1u);
  EXPECT_EQ(countOf(csv, ",no\n"), r.crystals.size() - 1);
  // Focus (edge sharpness per um) as measured, before the review column.
  EXPECT_NE(header.find(",focus (1/um),needs review"), std::string::npos) << header;
  ASSERT_TRUE(c.focus_per_um.has_value());
  std::snprintf(row, sizeof(row), ",%d,%.3f,%s\n", c.field, *c.focus_per_um,
                r.needs_review[0] == c.id ? "yes" : "no");
  EXPECT_NE(csv.find(row), std::string::npos) << row << "\n" << csv;
}

TEST(FieldOverview, UnionAreaCountsOverlapsOnce) {
  EXPECT_DOUBLE_EQ(unionArea({}), 0.0);
  EXPECT_DOUBLE_EQ(unionArea({{0, 0, 10, 10}}), 100.0);
  EXPECT_DOUBLE_EQ(unionArea({{0, 0, 10, 10}, {5, 5, 10, 10}}), 175.0);
  EXPECT_DOUBLE_EQ(unionArea({{0, 0, 10, 10}, {20, 0, 10, 10}}), 200.0);
  EXPECT_DOUBLE_EQ(unionArea({{0, 0, 10, 10}, {2, 2, 3, 3}}), 100.0);
  // The four demo fields: 409.6 x 307.2 um at 300 um spacing.
  const double w = 409.6, h = 307.2;
  std::vector<cv::Rect2d> demo;
  for (auto [x, y] : {std::pair{0, 0}, {300, 0}, {0, 300}, {300, 300}}) {
    demo.emplace_back(x - w / 2, y - h / 2, w, h);
  }
  EXPECT_NEAR(unionArea(demo), (300 + w) * (300 + h), 1e-6);
}

TEST(FieldOverview, PastesFieldsAtTheirStagePositions) {
  FieldOverview o(100);
  o.addField(cv::Mat(50, 100, CV_32F, cv::Scalar(1.0)), 1.0, {0, 0, 0});
  o.addField(cv::Mat(50, 100, CV_32F, cv::Scalar(1.0)), 1.0, {200, 100, 0});
  const MosaicImage m = o.mosaic();
  EXPECT_EQ(m.image.cols, 300);
  EXPECT_EQ(m.image.rows, 150);
  EXPECT_DOUBLE_EQ(m.x_um, 100);
  EXPECT_DOUBLE_EQ(m.y_um, 50);
  // Field 2 (y up) is top right, field 1 bottom left; the gap between them stays black.
  EXPECT_GT(m.image.at<std::uint8_t>(10, 290), 100);
  EXPECT_GT(m.image.at<std::uint8_t>(140, 10), 100);
  EXPECT_EQ(m.image.at<std::uint8_t>(10, 10), 0);
}
