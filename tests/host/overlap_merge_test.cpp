// Overlap merge: a crystal seen in two fields is counted once, and its uncut view is kept.
#include <gtest/gtest.h>

#include "scan/overlap_merge.hpp"

using namespace polscan;

namespace {
FieldCrystal at(int field, int id, double x, double y, double length, bool border = false) {
  FieldCrystal c;
  c.record.field = field;
  c.record.id = id;
  c.record.x_um = x;
  c.record.y_um = y;
  c.record.length_um = length;
  c.touches_border = border;
  return c;
}
}  // namespace

TEST(OverlapMerge, SameCrystalInTwoFieldsCountsOnce) {
  std::vector<FieldCrystal> all;
  mergeField(all, {at(0, 1, 150.0, 0.0, 6.0), at(0, 2, -100.0, 20.0, 10.0)});
  mergeField(all, {at(1, 1, 150.4, -0.3, 6.2), at(1, 2, 400.0, 20.0, 10.0)});
  ASSERT_EQ(all.size(), 3u);
  EXPECT_DOUBLE_EQ(all[0].record.x_um, 150.0);
  EXPECT_DOUBLE_EQ(all[2].record.x_um, 400.0);
}

TEST(OverlapMerge, TheViewNotCutByAnEdgeWins) {
  std::vector<FieldCrystal> all;
  mergeField(all, {at(0, 1, 204.0, 0.0, 8.0, /*border=*/true)});
  mergeField(all, {at(1, 1, 200.0, 0.0, 16.0, /*border=*/false)});
  ASSERT_EQ(all.size(), 1u);
  EXPECT_DOUBLE_EQ(all[0].record.length_um, 16.0);
  EXPECT_FALSE(all[0].touches_border);
  EXPECT_EQ(all[0].record.field, 1);
}

TEST(OverlapMerge, NeighboursInOneFieldAreNeverMerged) {
  std::vector<FieldCrystal> all;
  mergeField(all, {at(0, 1, 0.0, 0.0, 10.0), at(0, 2, 2.0, 0.0, 10.0)});
  EXPECT_EQ(all.size(), 2u);
  // And distinct crystals of another field farther than the radius stay distinct.
  mergeField(all, {at(1, 1, 12.0, 0.0, 10.0)});
  EXPECT_EQ(all.size(), 3u);
}
