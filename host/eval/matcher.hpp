// One-to-one matching of detected crystals to ground-truth objects by centre distance.
#pragma once

#include <vector>

namespace polscan::eval {

struct TruthPoint {
  double x_um = 0.0, y_um = 0.0;
  // Largest centre distance accepted for this object: large plates are found with their centroid
  // a few um off (notch, cut facets), small crystals must be hit closely.
  double radius_um = 5.0;
};

struct DetectionPoint {
  double x_um = 0.0, y_um = 0.0;
};

struct Match {
  int truth = -1;
  int detection = -1;
  double distance_um = 0.0;
};

struct MatchResult {
  std::vector<Match> matches;           // ascending distance
  std::vector<int> truth_to_detection;  // -1: missed
  std::vector<int> detection_to_truth;  // -1: a detection of nothing in the truth
};

// Greedy by ascending distance over all pairs within the truth's radius (and max_distance_um):
// each truth and each detection is used once. With crystals placed apart, greedy equals the
// optimal assignment except in contrived ties, and it is O(n m log(n m)) with no surprises.
MatchResult matchByDistance(const std::vector<TruthPoint>& truth,
                            const std::vector<DetectionPoint>& detections, double max_distance_um);

}  // namespace polscan::eval
