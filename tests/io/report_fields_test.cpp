// report.json's optional sample data: written only when set, read back.
#include <gtest/gtest.h>

#include "io/report.hpp"

using namespace polscan;

TEST(ReportSampleData, WrittenWhenSetAndReadBack) {
  Report r;
  r.sample = "s";
  EXPECT_FALSE(reportToJson(r).contains("sample_id"));
  EXPECT_FALSE(reportToJson(r).contains("scanned_area_mm2"));
  r.sample_id = "U-7";
  r.sample_type = "urine";
  r.operator_name = "bob";
  r.date = "2026-11-27T08:00:00Z";
  r.scanned_area_mm2 = 0.5;
  r.chamber_depth_um = 100;
  const Report back = reportFromJson(reportToJson(r));
  EXPECT_EQ(back.sample_id, "U-7");
  EXPECT_EQ(back.sample_type, "urine");
  EXPECT_EQ(back.operator_name, "bob");
  EXPECT_EQ(back.date, "2026-11-27T08:00:00Z");
  EXPECT_DOUBLE_EQ(back.scanned_area_mm2, 0.5);
  EXPECT_DOUBLE_EQ(back.chamber_depth_um, 100);
  // 0.5 mm2 x 0.1 mm = 0.05 uL.
  EXPECT_DOUBLE_EQ(*perMicrolitre(r, 2), 40.0);
  EXPECT_DOUBLE_EQ(*perMm2(r, 2), 4.0);
  r.chamber_depth_um = 0;
  EXPECT_FALSE(perMicrolitre(r, 2).has_value());
}

TEST(ReportSampleData, CrystalFocusWrittenInPerMicrometreWhenMeasured) {
  Report r;
  r.sample = "s";
  CrystalRecord c;
  c.id = 1;
  r.crystals.push_back(c);
  EXPECT_FALSE(reportToJson(r)["crystals"][0].contains("focus_per_um"));
  r.crystals[0].focus_per_um = 0.62;
  EXPECT_DOUBLE_EQ(reportToJson(r)["crystals"][0]["focus_per_um"].get<double>(), 0.62);
  const Report back = reportFromJson(reportToJson(r));
  ASSERT_TRUE(back.crystals[0].focus_per_um.has_value());
  EXPECT_DOUBLE_EQ(*back.crystals[0].focus_per_um, 0.62);
}
