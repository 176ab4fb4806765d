// Generic 2x2 complex Jones calculus: the slow, obviously-correct reference for the twin's optics.
#pragma once

#include <complex>
#include <limits>

#include "common/optical_train.hpp"

namespace polscan::twin {

using Complex = std::complex<double>;

struct JonesVector {
  Complex x, y;
};

// [[a, b], [c, d]] acting on column vectors (x, y); y is up, angles CCW from +x.
struct JonesMatrix {
  Complex a, b, c, d;

  JonesMatrix operator*(const JonesMatrix& o) const;
  JonesVector operator*(const JonesVector& v) const;
};

double intensity(const JonesVector& v);

JonesMatrix jonesIdentity();
JonesMatrix jonesRotation(double deg);
// Linear polarizer; a finite extinction ratio leaks sqrt(1/ratio) of the crossed amplitude.
JonesMatrix jonesPolarizer(double axis_deg,
                           double extinction_ratio = std::numeric_limits<double>::infinity());
// Linear retarder (optical path difference retardance_nm, slow axis azimuth) with an isotropic
// intensity transmission.
JonesMatrix jonesRetarder(double retardance_nm, double wavelength_nm, double slow_axis_deg,
                          double transmission = 1.0);

// One pixel of sample seen through a whole train, built element by element.
struct JonesTrainParams {
  OpticalTrain train = OpticalTrain::Circular;
  double polarizer_deg = 0.0;
  double wavelength_nm = 546.0;
  double retardance_nm = 0.0;                                         // sample
  double slow_axis_deg = 0.0;                                         // sample
  double transmission = 1.0;                                          // sample
  double extinction_ratio = std::numeric_limits<double>::infinity();  // polarizer and analyser
  double qwp_retardance_nm = 0.0;  // 0: an ideal quarter wave at every wavelength
  double red_plate_nm = 530.0;     // compensated train
};

// Detected intensity for an unpolarised source, normalised so that the polarised light leaving
// an ideal polarizer has intensity 1 (the I0 of domain.md).
double jonesTrainIntensity(const JonesTrainParams& p);

// The ideal closed forms of domain.md (perfect polarizers, ideal quarter-wave plate), for tests
// and for readers; delta in radians, angles in degrees.
double closedFormCircular(double theta_deg, double delta, double phi_deg);
double closedFormCrossed(double theta_deg, double delta, double phi_deg);
double closedFormFixedAnalyser(double theta_deg, double delta, double phi_deg);
double closedFormCompensated(double theta_deg, double delta, double phi_deg, double plate_delta);

}  // namespace polscan::twin
