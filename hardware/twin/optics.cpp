// Fast Mueller-linear model of every optical train (checked against the Jones engine in tests).
#include "hardware/twin/optics.hpp"

#include <cmath>
#include <numbers>

#include "hardware/twin/degrees.hpp"

namespace polscan::twin {
namespace {

double leakOf(double extinction_ratio) {
  return std::isfinite(extinction_ratio) && extinction_ratio > 0 ? 1.0 / extinction_ratio : 0.0;
}

std::array<double, 4> rowTimes(const std::array<double, 4>& row, const Mueller& m) {
  std::array<double, 4> out{};
  for (int j = 0; j < 4; ++j) {
    for (int i = 0; i < 4; ++i) out[j] += row[i] * m[i][j];
  }
  return out;
}

}  // namespace

SampleMueller sampleMueller(double retardance_nm, double wavelength_nm, double slow_axis_deg,
                            double transmission) {
  const double d = 2.0 * std::numbers::pi * retardance_nm / wavelength_nm;
  const double a2 = 2.0 * slow_axis_deg * kDeg;
  SampleMueller s;
  s.t = transmission;
  s.m1 = transmission * std::sin(d) * std::cos(a2);
  s.m2 = transmission * std::sin(d) * std::sin(a2);
  s.q0 = transmission * (1.0 - std::cos(d)) / 2.0;
  s.q1 = s.q0 * std::cos(2 * a2);
  s.q2 = s.q0 * std::sin(2 * a2);
  return s;
}

Mueller muellerRetarder(double delta, double slow_axis_deg) {
  const double c = std::cos(2 * slow_axis_deg * kDeg), s = std::sin(2 * slow_axis_deg * kDeg);
  const double cd = std::cos(delta), sd = std::sin(delta);
  return {{{1, 0, 0, 0},
           {0, c * c + s * s * cd, c * s * (1 - cd), -s * sd},
           {0, c * s * (1 - cd), s * s + c * c * cd, c * sd},
           {0, s * sd, -c * sd, cd}}};
}

std::array<double, 4> analyserRow(double axis_deg, double extinction_ratio) {
  const double e = leakOf(extinction_ratio);
  return {0.5 * (1 + e), 0.5 * (1 - e) * std::cos(2 * axis_deg * kDeg),
          0.5 * (1 - e) * std::sin(2 * axis_deg * kDeg), 0.0};
}

TrainCoefficients trainCoefficients(const OpticsConfig& optics, double polarizer_deg,
                                    double wavelength_nm) {
  const double e = leakOf(optics.extinction_ratio);
  const double analyser_er = optics.analyser_extinction_ratio > 0 ? optics.analyser_extinction_ratio
                                                                  : optics.extinction_ratio;
  polarizer_deg += optics.polarizer_offset_deg;
  // Stokes vector leaving the (partial) polarizer, in units of I0.
  const double s0 = 1 + e, s1 = (1 - e) * std::cos(2 * polarizer_deg * kDeg),
               s2 = (1 - e) * std::sin(2 * polarizer_deg * kDeg);
  // What the optics after the sample do to a Stokes vector, reduced to the detected row.
  std::array<double, 4> a{};
  switch (optics.train) {
    case OpticalTrain::Circular: {
      const double qwp =
          optics.qwp_retardance_nm > 0 ? optics.qwp_retardance_nm : wavelength_nm / 4;
      a = analyserRow(0.0, analyser_er);
      if (optics.qwp_in_path) {
        a = rowTimes(a, muellerRetarder(2 * std::numbers::pi * qwp / wavelength_nm,
                                        45.0 + optics.qwp_axis_error_deg));
      }
      break;
    }
    case OpticalTrain::Crossed:
      a = analyserRow(polarizer_deg + 90.0, analyser_er);
      break;
    case OpticalTrain::FixedAnalyser:
      a = analyserRow(90.0, analyser_er);
      break;
    case OpticalTrain::Compensated:
      a = rowTimes(
          analyserRow(polarizer_deg + 90.0, analyser_er),
          muellerRetarder(2 * std::numbers::pi * optics.red_plate_nm / wavelength_nm, 45.0));
      break;
  }
  // Expand a . M(sample) . s with M written in terms of SampleMueller (see optics.hpp).
  TrainCoefficients k;
  k.t = a[0] * s0 + a[1] * s1 + a[2] * s2;
  k.q0 = -(a[1] * s1 + a[2] * s2);
  k.q1 = a[1] * s1 - a[2] * s2;
  k.q2 = a[1] * s2 + a[2] * s1;
  k.m1 = -a[3] * s2;
  k.m2 = a[3] * s1;
  return k;
}

double fastIntensity(const OpticsConfig& optics, double polarizer_deg, double wavelength_nm,
                     double retardance_nm, double slow_axis_deg, double transmission) {
  return trainCoefficients(optics, polarizer_deg, wavelength_nm)
      .apply(sampleMueller(retardance_nm, wavelength_nm, slow_axis_deg, transmission));
}

}  // namespace polscan::twin
