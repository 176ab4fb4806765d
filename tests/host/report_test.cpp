// report.json: the schema's keys, counts for every class, and a lossless round trip.
#include <gtest/gtest.h>

#include <sstream>

#include "io/report.hpp"

using namespace polscan;

namespace {
Report sampleReport() {
  Report r;
  r.sample = "knee-42";
  r.fields = 3;
  CrystalRecord a;
  a.id = 1;
  a.cls = CrystalClass::CPPD;
  a.confidence = 0.93;
  a.x_um = 12.5;
  a.y_um = -3.25;
  a.length_um = 8.0;
  a.width_um = 2.5;
  a.retardance_nm = 18.0;
  a.slow_axis_deg = 31.0;
  a.elongation = Elongation::Positive;
  CrystalRecord b = a;
  b.id = 2;
  b.cls = CrystalClass::CaOxDihydrate;
  b.elongation = Elongation::None;
  CrystalRecord c = a;
  c.id = 3;
  c.cls = CrystalClass::CPPD;
  c.confidence = 0.41;
  r.crystals = {a, b, c};
  r.needs_review = {3};
  return r;
}
}  // namespace

TEST(Report, JsonHasTheSchemaKeysAndCountsForEveryClass) {
  const auto j = reportToJson(sampleReport());
  EXPECT_EQ(j["sample"], "knee-42");
  EXPECT_EQ(j["fields"], 3);
  EXPECT_EQ(j["counts"]["CPPD"], 2);
  EXPECT_EQ(j["counts"]["CaOx-dihydrate"], 1);
  EXPECT_EQ(j["counts"]["MSU"], 0);
  EXPECT_EQ(j["counts"].size(), kAllCrystalClasses.size());
  const auto& c = j["crystals"][0];
  for (const char* key : {"id", "class", "confidence", "x_um", "y_um", "length_um", "width_um",
                          "retardance_nm", "slow_axis_deg", "elongation"}) {
    EXPECT_TRUE(c.contains(key)) << key;
  }
  EXPECT_EQ(c["class"], "CPPD");
  EXPECT_EQ(c["elongation"], "positive");
  EXPECT_EQ(j["crystals"][1]["elongation"], "none");
  EXPECT_EQ(j["needs_review"], nlohmann::json::array({3}));
  EXPECT_NE(j["notes"][0].get<std::string>().find("apatite"), std::string::npos);
}

TEST(Report, RoundTrip) {
  const Report in = sampleReport();
  const Report out = reportFromJson(reportToJson(in));
  ASSERT_EQ(out.crystals.size(), 3u);
  EXPECT_EQ(out.crystals[1].cls, CrystalClass::CaOxDihydrate);
  EXPECT_DOUBLE_EQ(out.crystals[0].y_um, -3.25);
  EXPECT_EQ(out.crystals[0].elongation, Elongation::Positive);
  EXPECT_EQ(out.needs_review, in.needs_review);
}

TEST(Report, TableShowsUnitsCountsAndReviewList) {
  std::ostringstream s;
  printReportTable(sampleReport(), s);
  const std::string t = s.str();
  EXPECT_NE(t.find("R [nm]"), std::string::npos);
  EXPECT_NE(t.find("x [um]"), std::string::npos);
  EXPECT_NE(t.find("CPPD 2"), std::string::npos);
  EXPECT_NE(t.find("Needs review (low confidence): ids 3"), std::string::npos);
}
