// The matcher pairs each truth with at most one detection, nearest first, within its radius.
#include <gtest/gtest.h>

#include "eval/matcher.hpp"

namespace polscan::eval {
namespace {

TEST(Matcher, OneToOneNearestFirst) {
  // Two detections near truth 0: the nearer one wins it, the other may still take truth 1.
  const std::vector<TruthPoint> truth = {{0, 0, 5}, {6, 0, 5}};
  const std::vector<DetectionPoint> det = {{1, 0}, {4, 0}};
  const MatchResult m = matchByDistance(truth, det, 100.0);
  ASSERT_EQ(m.matches.size(), 2u);
  EXPECT_EQ(m.truth_to_detection[0], 0);
  EXPECT_EQ(m.truth_to_detection[1], 1);
  EXPECT_EQ(m.detection_to_truth[0], 0);
  EXPECT_EQ(m.detection_to_truth[1], 1);
  EXPECT_DOUBLE_EQ(m.matches[0].distance_um, 1.0);
}

TEST(Matcher, EachDetectionUsedOnce) {
  // One detection between two truths: only one of them is found.
  const std::vector<TruthPoint> truth = {{0, 0, 5}, {4, 0, 5}};
  const std::vector<DetectionPoint> det = {{1.5, 0}};
  const MatchResult m = matchByDistance(truth, det, 100.0);
  ASSERT_EQ(m.matches.size(), 1u);
  EXPECT_EQ(m.truth_to_detection[0], 0);  // 1.5 um beats 2.5 um
  EXPECT_EQ(m.truth_to_detection[1], -1);
}

TEST(Matcher, DistanceLimits) {
  const std::vector<TruthPoint> truth = {{0, 0, 3}, {100, 0, 50}};
  const std::vector<DetectionPoint> det = {{3.5, 0}, {120, 0}};
  // Truth 0's own radius (3 um) rejects the detection 3.5 um away.
  MatchResult m = matchByDistance(truth, det, 100.0);
  EXPECT_EQ(m.truth_to_detection[0], -1);
  EXPECT_EQ(m.truth_to_detection[1], 1);
  EXPECT_EQ(m.detection_to_truth[0], -1);
  // The global limit caps large radii.
  m = matchByDistance(truth, det, 10.0);
  EXPECT_EQ(m.truth_to_detection[1], -1);
  EXPECT_TRUE(m.matches.empty());
}

TEST(Matcher, EmptyInputs) {
  EXPECT_TRUE(matchByDistance({}, {{0, 0}}, 10).matches.empty());
  const MatchResult m = matchByDistance({{0, 0, 5}}, {}, 10);
  ASSERT_EQ(m.truth_to_detection.size(), 1u);
  EXPECT_EQ(m.truth_to_detection[0], -1);
}

}  // namespace
}  // namespace polscan::eval
