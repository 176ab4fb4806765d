// Generic Jones calculus and the ideal closed forms of each optical train.
#include "hardware/twin/jones.hpp"

#include <cmath>
#include <numbers>

#include "hardware/twin/degrees.hpp"

namespace polscan::twin {

JonesMatrix JonesMatrix::operator*(const JonesMatrix& o) const {
  return {a * o.a + b * o.c, a * o.b + b * o.d, c * o.a + d * o.c, c * o.b + d * o.d};
}

JonesVector JonesMatrix::operator*(const JonesVector& v) const {
  return {a * v.x + b * v.y, c * v.x + d * v.y};
}

double intensity(const JonesVector& v) {
  return std::norm(v.x) + std::norm(v.y);
}

JonesMatrix jonesIdentity() {
  return {1.0, 0.0, 0.0, 1.0};
}

JonesMatrix jonesRotation(double deg) {
  const double c = std::cos(deg * kDeg), s = std::sin(deg * kDeg);
  return {c, -s, s, c};
}

JonesMatrix jonesPolarizer(double axis_deg, double extinction_ratio) {
  const double leak = std::isfinite(extinction_ratio) ? std::sqrt(1.0 / extinction_ratio) : 0.0;
  const JonesMatrix local{1.0, 0.0, 0.0, leak};
  return jonesRotation(axis_deg) * local * jonesRotation(-axis_deg);
}

JonesMatrix jonesRetarder(double retardance_nm, double wavelength_nm, double slow_axis_deg,
                          double transmission) {
  const double delta = 2.0 * std::numbers::pi * retardance_nm / wavelength_nm;
  const double amp = std::sqrt(transmission);
  // The slow axis gets +delta/2, the fast -delta/2: with this phase convention the circular
  // train reproduces domain.md's I = I0/2 (1 + sin(delta) sin(2(theta - phi))).
  const JonesMatrix local{amp * std::polar(1.0, delta / 2), 0.0, 0.0,
                          amp * std::polar(1.0, -delta / 2)};
  return jonesRotation(slow_axis_deg) * local * jonesRotation(-slow_axis_deg);
}

double jonesTrainIntensity(const JonesTrainParams& p) {
  const double er = p.extinction_ratio;
  const JonesMatrix polarizer = jonesPolarizer(p.polarizer_deg, er);
  const JonesMatrix sample =
      jonesRetarder(p.retardance_nm, p.wavelength_nm, p.slow_axis_deg, p.transmission);
  JonesMatrix after = jonesIdentity();
  switch (p.train) {
    case OpticalTrain::Circular: {
      const double qwp = p.qwp_retardance_nm > 0 ? p.qwp_retardance_nm : p.wavelength_nm / 4;
      after = jonesPolarizer(0.0, er) * jonesRetarder(qwp, p.wavelength_nm, 45.0);
      break;
    }
    case OpticalTrain::Crossed:
      after = jonesPolarizer(p.polarizer_deg + 90.0, er);
      break;
    case OpticalTrain::FixedAnalyser:
      after = jonesPolarizer(90.0, er);
      break;
    case OpticalTrain::Compensated:
      after = jonesPolarizer(p.polarizer_deg + 90.0, er) *
              jonesRetarder(p.red_plate_nm, p.wavelength_nm, 45.0);
      break;
  }
  const JonesMatrix system = after * sample * polarizer;
  // Unpolarised light = equal incoherent parts along x and y; each carries half the source, and
  // the source is scaled so an ideal polarizer passes intensity 1.
  return intensity(system * JonesVector{1.0, 0.0}) + intensity(system * JonesVector{0.0, 1.0});
}

double closedFormCircular(double theta_deg, double delta, double phi_deg) {
  return 0.5 * (1.0 + std::sin(delta) * std::sin(2.0 * (theta_deg - phi_deg) * kDeg));
}

double closedFormCrossed(double theta_deg, double delta, double phi_deg) {
  const double s = std::sin(delta / 2), t = std::sin(2.0 * (theta_deg - phi_deg) * kDeg);
  return s * s * t * t;
}

double closedFormFixedAnalyser(double theta_deg, double delta, double phi_deg) {
  // General linear retarder between polarizer theta and analyser alpha:
  // cos^2(theta - alpha) - sin(2(theta - phi)) sin(2(alpha - phi)) sin^2(delta/2), alpha = 90.
  const double malus = std::cos((theta_deg - 90.0) * kDeg);
  const double s = std::sin(delta / 2);
  return malus * malus - std::sin(2.0 * (theta_deg - phi_deg) * kDeg) *
                             std::sin(2.0 * (90.0 - phi_deg) * kDeg) * s * s;
}

double closedFormCompensated(double theta_deg, double delta, double phi_deg, double plate_delta) {
  // Retarders as unit quaternions: U = c0 - i c.sigma (components along Stokes S1, S2, S3). Plate
  // after sample: c = a0 b + b0 a + a x b. Between crossed polarizers at theta the transmitted
  // fraction is |c|^2 - (c.s)^2 with s the input's Stokes direction.
  const double a0 = std::cos(plate_delta / 2), as = std::sin(plate_delta / 2);
  const double a[3] = {0.0, as, 0.0};  // plate axis at 45 deg: 2*45 = 90 -> S2
  const double b0 = std::cos(delta / 2), bs = std::sin(delta / 2);
  const double b[3] = {bs * std::cos(2 * phi_deg * kDeg), bs * std::sin(2 * phi_deg * kDeg), 0.0};
  const double c[3] = {a0 * b[0] + b0 * a[0] + (a[1] * b[2] - a[2] * b[1]),
                       a0 * b[1] + b0 * a[1] + (a[2] * b[0] - a[0] * b[2]),
                       a0 * b[2] + b0 * a[2] + (a[0] * b[1] - a[1] * b[0])};
  const double s[3] = {std::cos(2 * theta_deg * kDeg), std::sin(2 * theta_deg * kDeg), 0.0};
  const double cs = c[0] * s[0] + c[1] * s[1] + c[2] * s[2];
  return c[0] * c[0] + c[1] * c[1] + c[2] * c[2] - cs * cs;
}

}  // namespace polscan::twin
