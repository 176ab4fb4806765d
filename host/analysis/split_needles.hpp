// Rejoins the two ends of a strong needle whose middle reads zero at the half-wave fold.
#pragma once

#include <vector>

#include "analysis/crystal_features.hpp"

namespace polscan::analysis {

// With one wavelength, sin(delta) returns to zero at a half wave (273 nm at 546 nm): a needle of
// even thickness near that retardance (MSU: 0.3 x 0.5-1 um) vanishes except for its tapered ends,
// which show up as two short, strong, collinear pieces with the same slow axis, often with weak
// pieces of the middle between them (just under the half wave they read the same slow axis, just
// over it the axis turned by 90 deg). A second, independent crystal lined up on the same axis,
// parallel and with the same slow axis, is rare; the same crystal counted twice or three times
// (and parts of it placed off the crystal) is not. Pieces link pairwise (collinear, parallel, gap
// rule); a chain of links is one needle when strong pieces end it on both sides, every piece lies
// on the line through them and the whole is no longer than a needle.
struct SplitNeedleOptions {
  double min_peak_of_quarter_wave = 0.35;  // strong pieces (a chain's ends) approach the fold
  double min_aspect = 2.0;                 // both pieces elongated
  double max_axis_diff_deg = 15.0;         // long axes and slow axes parallel within this
  double max_offset_um = 0.5;              // off the common axis beyond the half widths
  double max_gap_lengths = 4.0;            // tip-to-tip gap up to this many piece lengths ...
  double max_gap_um = 25.0;                // ... and at most a long needle
  double max_length_um = 40.0;             // a joined needle tip to tip (MSU: 2-25, up to 40 um)
};

// Merges split needles in place: the largest strong piece gets the span of its chain (centre
// between the far tips, length tip to tip, widest width, highest peak); the returned flags mark
// the pieces merged into another (not reported).
std::vector<bool> mergeSplitNeedles(std::vector<CrystalFeatures>& regions, double quarter_wave_nm,
                                    const SplitNeedleOptions& options = {});

}  // namespace polscan::analysis
