// Greedy one-to-one centre-distance matching (see matcher.hpp for why greedy).
#include "eval/matcher.hpp"

#include <algorithm>
#include <cmath>

namespace polscan::eval {

MatchResult matchByDistance(const std::vector<TruthPoint>& truth,
                            const std::vector<DetectionPoint>& detections, double max_distance_um) {
  MatchResult out;
  out.truth_to_detection.assign(truth.size(), -1);
  out.detection_to_truth.assign(detections.size(), -1);
  std::vector<Match> pairs;
  for (std::size_t t = 0; t < truth.size(); ++t) {
    const double limit = std::min(truth[t].radius_um, max_distance_um);
    for (std::size_t d = 0; d < detections.size(); ++d) {
      const double dist =
          std::hypot(truth[t].x_um - detections[d].x_um, truth[t].y_um - detections[d].y_um);
      if (dist <= limit) pairs.push_back({static_cast<int>(t), static_cast<int>(d), dist});
    }
  }
  // Ties broken by index so the result does not depend on the sort's stability.
  std::sort(pairs.begin(), pairs.end(), [](const Match& a, const Match& b) {
    if (a.distance_um != b.distance_um) return a.distance_um < b.distance_um;
    if (a.truth != b.truth) return a.truth < b.truth;
    return a.detection < b.detection;
  });
  for (const Match& m : pairs) {
    if (out.truth_to_detection[m.truth] >= 0 || out.detection_to_truth[m.detection] >= 0) continue;
    out.truth_to_detection[m.truth] = m.detection;
    out.detection_to_truth[m.detection] = m.truth;
    out.matches.push_back(m);
  }
  return out;
}

}  // namespace polscan::eval
