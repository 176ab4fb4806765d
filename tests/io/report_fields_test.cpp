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

TEST(ReportSampleData, MonoUrineCarriesTheHalfWaveCaution) {
  Report r;
  r.sample = "s";
  EXPECT_EQ(reportNotes(r).size(), 1u);  // the apatite statement, always
  EXPECT_EQ(reportNotes(r)[0], apatiteNote());
  r.sample_type = "urine";
  EXPECT_EQ(reportNotes(r).size(), 1u);  // channels unknown: no claim either way
  // One mono field among RGB ones makes the report mono.
  for (int channels : {3, 0, 1, 3})
    r.stack_channels = withFieldChannels(r.stack_channels, channels);
  EXPECT_EQ(r.stack_channels, 1);
  const std::vector<std::string> notes = reportNotes(r);
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_NE(notes[1].find("273 nm at 546 nm"), std::string::npos) << notes[1];
  const Report back = reportFromJson(reportToJson(r));
  EXPECT_EQ(back.stack_channels, 1);
  EXPECT_EQ(reportToJson(r)["notes"].size(), 2u);
  r.stack_channels = withFieldChannels(withFieldChannels(0, 3), 3);
  EXPECT_EQ(r.stack_channels, 3);
  EXPECT_EQ(reportNotes(r).size(), 1u);  // RGB sees the blind crystals
  r.stack_channels = 1;
  r.sample_type = "synovial-fluid";
  EXPECT_EQ(reportNotes(r).size(), 1u);
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
