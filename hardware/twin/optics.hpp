// Optics of the twin: instrument configuration and the fast per-pixel intensity model.
#pragma once

#include <array>
#include <vector>

#include "common/optical_train.hpp"

namespace polscan::twin {

struct OpticsConfig {
  polscan::OpticalTrain train = polscan::OpticalTrain::Circular;
  std::vector<double> wavelengths_nm{546};  // one (mono) or three (R, G, B)
  double full_well_e = 20000;
  double led_level = 0.8;  // I0 (light leaving the polarizer) as a fraction of the full well,
                           // at the centre of the field, at reference_exposure_us
  double read_noise_e = 3;
  bool shot_noise = true;
  int bit_depth = 12;
  double vignetting = 0.1;  // relative flat-field loss at the field's corners (quadratic in radius)
  double led_drift = 0.0;   // relative per-frame std of the source
  double polarizer_wobble_deg = 0.0;  // per-frame std of the polarizer angle error
  double focus_z_um = 0;              // stage z of best focus for an object at z = 0
  double blur_um_per_um = 0.05;       // Gaussian sigma of the defocus blur per um of defocus
  double extinction_ratio = 1e4;      // of the polarizer and of the analyser, each
  // Additions beyond the shared interface:
  double reference_exposure_us = 10000;  // exposure at which led_level holds (signal ~ exposure)
  double qwp_retardance_nm = 0;  // 0: ideal quarter wave at every wavelength (domain.md's model);
                                 // e.g. 136.5 models a zero-order WPQ10E-546 used off 546 nm
  double red_plate_nm = 530;     // first-order red plate of the compensated train
  // Misalignments and faults (calibration tests); the defaults are the ideal instrument.
  double polarizer_offset_deg = 0;       // real transmission axis minus the index (commanded) angle
  double qwp_axis_error_deg = 0;         // quarter-wave plate slow axis at 45 deg + this
  bool qwp_in_path = true;               // circular train: false = plate swung out (a Malus stack)
  double analyser_extinction_ratio = 0;  // 0: same as extinction_ratio; ~1: analyser missing
  double black_level_dn = 0;             // camera offset added to every sample (DN)
};

// The sample at one pixel and wavelength, reduced to the six Mueller-matrix quantities every
// train depends on (the sample has no diattenuation and the light leaving the polarizer carries
// no circular part):
//   t = T, m1 = T sin(d) cos(2phi), m2 = T sin(d) sin(2phi),
//   q0 = T (1 - cos d)/2, q1 = q0 cos(4phi), q2 = q0 sin(4phi).
// Intensity is linear in them, so area coverage (anti-aliasing) and defocus blur, both averages
// of intensity over the sample, are exact when applied to these maps.
struct SampleMueller {
  double t = 1, m1 = 0, m2 = 0, q0 = 0, q1 = 0, q2 = 0;
};

SampleMueller sampleMueller(double retardance_nm, double wavelength_nm, double slow_axis_deg,
                            double transmission);

// I / I0 = k . sample, for one polarizer angle and wavelength; I0 = intensity of the polarised
// light an ideal polarizer would pass.
struct TrainCoefficients {
  double t = 0, m1 = 0, m2 = 0, q0 = 0, q1 = 0, q2 = 0;
  double apply(const SampleMueller& s) const {
    return t * s.t + m1 * s.m1 + m2 * s.m2 + q0 * s.q0 + q1 * s.q1 + q2 * s.q2;
  }
};

TrainCoefficients trainCoefficients(const OpticsConfig& optics, double polarizer_deg,
                                    double wavelength_nm);

// Convenience: the fast path for one uniform pixel (what the renderer computes per pixel).
double fastIntensity(const OpticsConfig& optics, double polarizer_deg, double wavelength_nm,
                     double retardance_nm, double slow_axis_deg, double transmission);

// Mueller matrices (4x4, Stokes S0..S3 with S1 along x) used to build the coefficients.
using Mueller = std::array<std::array<double, 4>, 4>;
Mueller muellerRetarder(double delta, double slow_axis_deg);
// Row 0 of a partial linear polarizer with intensity transmittances 1 and 1/extinction_ratio.
std::array<double, 4> analyserRow(double axis_deg, double extinction_ratio);

}  // namespace polscan::twin
