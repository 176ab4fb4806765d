// Integrated contrast-to-noise test of faint birefringent regions against the measured noise.
#pragma once

#include <opencv2/core.hpp>

#include "analysis/retardance_map.hpp"

namespace polscan::analysis {

// The background of a retardance map seen as a vector field z = R (cos 2phi, sin 2phi): near zero
// retardance the circular fit's two 2-theta harmonics are linear in the camera noise, so each
// component of z carries Gaussian noise of one sigma, plus a field-wide offset (LED flicker
// between the frames leaks into the harmonics the same way in every pixel).
struct BackgroundNoise {
  double offset_x_nm = 0.0, offset_y_nm = 0.0;  // median background vector (nm)
  double sigma_nm = 0.0;                        // robust 1-sigma of each component (nm)
  // Var(sum of z over a compact region) / (n sigma^2): 1 for white camera noise; more when the
  // noise is correlated between neighbours (binning, demosaicing, denoising in the camera).
  double variance_inflation = 1.0;
  bool valid = false;  // false: too few background samples (the test then never accepts)
};

// Measured on a sparse grid of 2 x 2 pixel blocks (a few thousand samples at any field size):
// medians and MADs for the offset and sigma, and the correlation of horizontal, vertical and
// diagonal neighbours over the samples within 4 sigma (crystals excluded) for the inflation.
BackgroundNoise measureBackgroundNoise(const RetardanceMap& map);

// Matched-filter style detection of a region whose every pixel is too faint to seed it: the
// vector sum S of (z - offset) over the region and a one-pixel ring around it (the optics' blur
// spreads a crystal's signal over its neighbours), against its standard deviation under "no
// birefringence here". The region's own pixels were selected for |z| > threshold, so under that
// hypothesis each carries E[|z|^2 | |z| > T] = T^2 + 2 sigma^2 (Rayleigh tail; T widened by the
// offset), not 2 sigma^2: the bound that keeps a cluster of noise pixels from passing on its own
// selection. Returns Z = |S| / sd(S); under the hypothesis P(Z > z) <= exp(-z^2 / 2).
double integratedContrastToNoise(const RetardanceMap& map, const cv::Rect& box, const cv::Mat& mask,
                                 double threshold_nm, const BackgroundNoise& noise);

// Z a region needs when `candidates` regions of a field are tested: Bonferroni over them for a
// false-alarm probability of `false_alarms_per_field` per field from noise alone.
double integratedDetectionLevel(int candidates, double false_alarms_per_field);

}  // namespace polscan::analysis
