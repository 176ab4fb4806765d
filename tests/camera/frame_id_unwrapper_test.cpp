// FrameIdUnwrapper: GigE Vision's 16-bit block ids wrap from 65535 to 1, skipping 0.
#include <gtest/gtest.h>

#include "camera/frame_id_unwrapper.hpp"

using polscan::FrameIdUnwrapper;

TEST(FrameIdUnwrapper, CountsAcrossTheSixteenBitWrapWithoutAGap) {
  FrameIdUnwrapper u;
  EXPECT_EQ(u.next(65534), 65534u);
  EXPECT_EQ(u.next(65535), 65535u);
  EXPECT_EQ(u.next(1), 65536u);  // 0 is skipped by the camera: still one step
  EXPECT_EQ(u.next(2), 65537u);
}

TEST(FrameIdUnwrapper, ALostFrameAcrossTheWrapStaysAGapOfTheRightSize) {
  FrameIdUnwrapper u;
  u.next(65535);
  EXPECT_EQ(u.next(2), 65537u);  // frame 1 lost: a gap of two, which pairing reports
}

TEST(FrameIdUnwrapper, RepeatedIdIsNotAStep) {
  FrameIdUnwrapper u;
  u.next(100);
  EXPECT_EQ(u.next(100), 100u);             // pairing calls this an extra frame
  EXPECT_EQ(u.next(70000), 69900u + 100u);  // 64-bit ids (GEV 2) simply count
}
