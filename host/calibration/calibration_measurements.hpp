// The measurements a calibration is made of, each from the stack or frames that shows it best.
#pragma once

#include <opencv2/core.hpp>

#include "common/stack.hpp"

namespace polscan::calibration {

// Dark stack (LED off or light path blocked): per-pixel mean, camera offset and read noise.
struct DarkMeasurement {
  cv::Mat dark;              // CV_32F, mean over the frames (DN)
  double offset_dn = 0;      // mean of `dark` over the field
  double read_noise_dn = 0;  // temporal 1-sigma from frame-to-frame differences
};
DarkMeasurement measureDark(const Stack& dark_stack);

// Field-mean fit I(theta) = a0 + a cos(2 theta) + b sin(2 theta), dark offset removed; theta is
// the index (commanded) angle of each frame.
struct Harmonics {
  double a0 = 0, a = 0, b = 0;
};
Harmonics fitFieldHarmonics(const Stack& stack, double dark_offset_dn);

// Malus stack: the quarter-wave plate swung out, polarizer turning against the fixed analyser
// (transmission axis at 0 deg). Its maximum sits where the polarizer's real axis is parallel.
struct MalusMeasurement {
  double extinction_ratio = 0;      // I_max / I_min of the fitted curve
  double polarizer_offset_deg = 0;  // real transmission axis minus index angle, (-90, 90]
  double contrast = 0;              // (I_max - I_min) / (I_max + I_min)
};
MalusMeasurement measureMalus(const Stack& malus, double dark_offset_dn);

// Blank stack with the plate in: an ideal quarter-wave plate at 45 deg leaves no modulation; a
// plate at 45 + e deg modulates the blank by sin(2e) (scaled by the polarizers' contrast) with a
// phase that, once the polarizer offset is known, gives the sign of e.
struct QwpMeasurement {
  double axis_error_deg = 0;            // slow axis minus 45 deg
  double background_retardance_nm = 0;  // the retardance the blank shows before correction
};
QwpMeasurement measureQwp(const Stack& blank, double dark_offset_dn, double polarizer_offset_deg,
                          double contrast, double wavelength_nm);

// Flat field: the blank's mean image (dark removed), normalised to mean 1.
struct FlatMeasurement {
  cv::Mat flat;               // CV_32F, mean 1
  double corner_falloff = 0;  // 1 - (mean of the corners / mean of the centre)
};
FlatMeasurement measureFlat(const Stack& blank, const cv::Mat& dark);

// Two blank stacks: the second corrected with the first (what analysis does with a blank).
struct BlankNoise {
  double noise_floor_nm = 0;          // robust scale of the corrected retardance (analysis')
  double residual_background_nm = 0;  // coherent (field-mean) retardance left after correction
};
BlankNoise measureBlankNoise(const Stack& blank_a, const Stack& blank_b, double dark_offset_dn);

// Pixel size from two frames taken before and after a known stage move (phase correlation).
struct PixelSizeMeasurement {
  double pixel_um = 0;             // sample-plane pixel size
  double camera_rotation_deg = 0;  // image motion direction minus the expected one
  double shift_px = 0;             // measured image shift
  double response = 0;             // phase-correlation peak (0..1): low = no overlap
};
PixelSizeMeasurement measurePixelSize(const cv::Mat& before, const cv::Mat& after, double move_x_um,
                                      double move_y_um);

// Pixel size from an image of a stage micrometer (ruled lines at a known pitch). The rulings'
// direction comes from the strongest peak of the image's 2-D spectrum; the pitch in pixels from
// the autocorrelation of the profile across them (cv::dft), read at the farthest whole number of
// periods within half the profile for sub-pixel precision. Throws CalibrationError when the image
// shows no regular ruling (a blank or defocused field) or fewer than three periods.
struct MicrometerMeasurement {
  double pixel_um = 0;        // sample-plane pixel size
  double pitch_px = 0;        // ruling pitch in the image
  double periodicity = 0;     // (ac(P) - ac(P/2)) / 2 of the normalised autocorrelation, 0..1
  bool lines_along_y = true;  // the profile is taken along x (lines run up the image)
};
MicrometerMeasurement measureMicrometer(const cv::Mat& image, double pitch_um,
                                        double min_periodicity = 0.3);

// Removes the dark offset from every frame (saturating at 0).
Stack subtractDark(const Stack& stack, double dark_offset_dn);

}  // namespace polscan::calibration
