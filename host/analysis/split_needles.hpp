// Rejoins the two ends of a strong needle whose middle reads zero at the half-wave fold.
#pragma once

#include <vector>

#include "analysis/crystal_features.hpp"

namespace polscan::analysis {

// With one wavelength, sin(delta) returns to zero at a half wave (273 nm at 546 nm): a needle of
// even thickness near that retardance (MSU: 0.3 x 0.5-1 um) vanishes except for its tapered ends,
// which show up as two short, strong, collinear pieces with the same slow axis. A second,
// independent crystal lined up on the same axis, parallel and with the same slow axis, is rare;
// the same crystal counted twice (and half of it placed off the crystal) is not.
struct SplitNeedleOptions {
  double min_peak_of_quarter_wave = 0.35;  // only crystals that approach the fold are cut by it
  double min_aspect = 2.0;                 // both pieces elongated
  double max_axis_diff_deg = 15.0;         // long axes and slow axes parallel within this
  double max_offset_um = 0.5;              // off the common axis beyond the half widths
  double max_gap_lengths = 4.0;            // tip-to-tip gap up to this many piece lengths ...
  double max_gap_um = 25.0;                // ... and at most a long needle
};

// Merges split pairs in place: the larger piece gets the span of both (centre between the far
// tips, length tip to tip); the returned flags mark the pieces merged into another (not reported).
std::vector<bool> mergeSplitNeedles(std::vector<CrystalFeatures>& regions, double quarter_wave_nm,
                                    const SplitNeedleOptions& options = {});

}  // namespace polscan::analysis
