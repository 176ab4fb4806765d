// Fly-by paced to the camera: the speed from the frame period, and the virtual camera's period.
#include <gtest/gtest.h>

#include "acquisition/stack_acquirer.hpp"
#include "camera/virtual_camera.hpp"
#include "hardware/twin/slide.hpp"

using namespace polscan;

TEST(FlyByPace, SpeedCrossesTheClosestAnglesTwoPercentSlowerThanOneFramePeriod) {
  const double period = 1.0 / 30.0;
  const auto eight = pacedFlyBySpeedDegS(equallySpacedAngles(8), period);
  ASSERT_TRUE(eight.has_value());
  EXPECT_NEAR(*eight, 22.5 / (1.02 * period), 1e-9);  // 661.8 deg/s
  // The closest two angles set the pace, the half-turn wrap included (170 -> 180 + 5).
  const auto wrap = pacedFlyBySpeedDegS({5.0, 90.0, 170.0}, period);
  ASSERT_TRUE(wrap.has_value());
  EXPECT_NEAR(*wrap, 15.0 / (1.02 * period), 1e-9);
  EXPECT_FALSE(pacedFlyBySpeedDegS(equallySpacedAngles(8), std::nullopt).has_value());
  EXPECT_FALSE(pacedFlyBySpeedDegS({0.0}, period).has_value());
}

TEST(FlyByPace, VirtualCameraReportsItsConfiguredFramePeriod) {
  VirtualCameraConfig c;
  c.frame_rate_hz = 50.0;
  const VirtualCamera cam(twin::demoSlide(), twin::OpticsConfig{}, c);
  ASSERT_TRUE(cam.framePeriodS().has_value());
  EXPECT_DOUBLE_EQ(*cam.framePeriodS(), 0.02);
  c.frame_rate_hz = 0.0;
  EXPECT_FALSE(VirtualCamera(twin::demoSlide(), twin::OpticsConfig{}, c).framePeriodS());
}
