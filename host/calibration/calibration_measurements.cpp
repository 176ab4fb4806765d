// Calibration measurements: least-squares harmonic fits, phase correlation, analysis' own fit.
#include "calibration/calibration_measurements.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "analysis/reconstruction.hpp"
#include "calibration/calibration_error.hpp"

namespace polscan::calibration {

namespace {
constexpr double kDeg = std::numbers::pi / 180.0;

double wrapHalfTurn(double deg) {  // to (-90, 90]
  double d = std::fmod(deg, 180.0);
  if (d <= -90) d += 180;
  if (d > 90) d -= 180;
  return d;
}

void requireFrames(const Stack& s, std::size_t min, const char* what) {
  if (s.frames.size() < min || s.frames.size() != s.angles_deg.size()) {
    throw CalibrationError(std::string(what) + " needs at least " + std::to_string(min) +
                           " frames with their angles; got " + std::to_string(s.frames.size()));
  }
}

cv::Mat meanImage(const Stack& s) {
  cv::Mat acc(s.frames[0].size(), CV_64FC(s.frames[0].channels()), cv::Scalar::all(0));
  for (const auto& f : s.frames) cv::accumulate(f, acc);
  cv::Mat out;
  acc.convertTo(out, CV_32F, 1.0 / s.frames.size());
  if (out.channels() > 1) cv::cvtColor(out, out, cv::COLOR_BGR2GRAY);
  return out;
}
}  // namespace

DarkMeasurement measureDark(const Stack& dark_stack) {
  requireFrames(dark_stack, 2, "the dark stack");
  DarkMeasurement d;
  d.dark = meanImage(dark_stack);
  d.offset_dn = cv::mean(d.dark)[0];
  cv::Mat a, b, diff;
  dark_stack.frames[0].convertTo(a, CV_32F);
  dark_stack.frames[1].convertTo(b, CV_32F);
  cv::subtract(a, b, diff);
  cv::Scalar mean, sd;
  cv::meanStdDev(diff.reshape(1), mean, sd);
  d.read_noise_dn = sd[0] / std::sqrt(2.0);
  return d;
}

Harmonics fitFieldHarmonics(const Stack& stack, double dark_offset_dn) {
  requireFrames(stack, 3, "a harmonic fit");
  cv::Mat A(static_cast<int>(stack.frames.size()), 3, CV_64F), y(A.rows, 1, CV_64F);
  for (int i = 0; i < A.rows; ++i) {
    const double t = 2 * stack.angles_deg[i] * kDeg;
    A.at<double>(i, 0) = 1;
    A.at<double>(i, 1) = std::cos(t);
    A.at<double>(i, 2) = std::sin(t);
    cv::Scalar m = cv::mean(stack.frames[i]);
    double sum = 0;
    for (int c = 0; c < stack.frames[i].channels(); ++c) sum += m[c];
    y.at<double>(i) = sum / stack.frames[i].channels() - dark_offset_dn;
  }
  cv::Mat x;
  if (!cv::solve(A, y, x, cv::DECOMP_SVD)) {
    throw CalibrationError("harmonic fit failed: the angles do not span a half turn");
  }
  return Harmonics{x.at<double>(0), x.at<double>(1), x.at<double>(2)};
}

MalusMeasurement measureMalus(const Stack& malus, double dark_offset_dn) {
  const Harmonics h = fitFieldHarmonics(malus, dark_offset_dn);
  if (!(h.a0 > 0)) {
    throw CalibrationError("the Malus stack is dark (mean " + std::to_string(h.a0) +
                           " DN above the dark offset): is the LED on?");
  }
  const double m = std::hypot(h.a, h.b);
  MalusMeasurement out;
  out.contrast = m / h.a0;
  // A minimum at or below zero means an extinction beyond what the noise lets us measure.
  out.extinction_ratio = h.a0 - m > 1e-9 * h.a0 ? (h.a0 + m) / (h.a0 - m) : 1e9;
  // a cos 2t + b sin 2t = m cos(2t - psi): the maximum is at t = psi / 2, where the real axis
  // (index + offset) is parallel to the analyser at 0 deg.
  out.polarizer_offset_deg = wrapHalfTurn(-std::atan2(h.b, h.a) / 2 / kDeg);
  return out;
}

QwpMeasurement measureQwp(const Stack& blank, double dark_offset_dn, double polarizer_offset_deg,
                          double contrast, double wavelength_nm) {
  const Harmonics h = fitFieldHarmonics(blank, dark_offset_dn);
  if (!(h.a0 > 0)) throw CalibrationError("the blank stack is dark: is the LED on?");
  if (!(contrast > 0)) throw CalibrationError("polarizer contrast must be > 0");
  // Rotate the harmonics from the index frame to the real polarizer frame (u = 2 theta_real):
  // there the plate at 45 + e gives A cos u + B sin u with A = s^2, B = -s cos(2e), s = sin 2e.
  const double c2 = std::cos(2 * polarizer_offset_deg * kDeg),
               s2 = std::sin(2 * polarizer_offset_deg * kDeg);
  const double A = (h.a * c2 - h.b * s2) / h.a0 / contrast;
  const double B = (h.a * s2 + h.b * c2) / h.a0 / contrast;
  QwpMeasurement q;
  // (A, B) = s (s, -cos 2e): 2e = atan2(s, cos 2e) with the sign of s carried by -B.
  const double s = std::clamp(-B >= 0 ? std::hypot(A, B) : -std::hypot(A, B), -1.0, 1.0);
  q.axis_error_deg = std::asin(s) / 2 / kDeg;
  q.background_retardance_nm =
      wavelength_nm / (2 * std::numbers::pi) * std::asin(std::min(1.0, std::hypot(A, B)));
  return q;
}

FlatMeasurement measureFlat(const Stack& blank, const cv::Mat& dark) {
  requireFrames(blank, 1, "the flat field");
  FlatMeasurement f;
  cv::Mat img = meanImage(blank);
  if (!dark.empty()) {
    if (dark.size() != img.size()) {
      throw CalibrationError("dark frame and blank differ in size");
    }
    cv::subtract(img, dark, img);
  }
  cv::GaussianBlur(img, img, cv::Size(0, 0), 2.0);  // the flat is smooth; noise is not
  const double mean = cv::mean(img)[0];
  if (!(mean > 0)) throw CalibrationError("the blank is no brighter than the dark frame");
  img.convertTo(f.flat, CV_32F, 1.0 / mean);
  const int w = img.cols, h = img.rows, k = std::max(2, std::min(w, h) / 16);
  auto box = [&](int x, int y) { return cv::mean(f.flat(cv::Rect(x, y, k, k)))[0]; };
  const double corners = (box(0, 0) + box(w - k, 0) + box(0, h - k) + box(w - k, h - k)) / 4;
  const double centre = box(w / 2 - k / 2, h / 2 - k / 2);
  f.corner_falloff = 1.0 - corners / centre;
  return f;
}

Stack subtractDark(const Stack& stack, double dark_offset_dn) {
  Stack out = stack;
  for (auto& f : out.frames) {
    cv::Mat d;
    cv::subtract(f, cv::Scalar::all(dark_offset_dn), d);  // saturates at 0 for CV_16U
    f = d;
  }
  return out;
}

BlankNoise measureBlankNoise(const Stack& blank_a, const Stack& blank_b, double dark_offset_dn) {
  const Stack a = subtractDark(blank_a, dark_offset_dn);
  const Stack b = subtractDark(blank_b, dark_offset_dn);
  const analysis::RetardanceMap m = analysis::reconstruct(b, &a);
  BlankNoise n;
  n.noise_floor_nm = m.noise_floor_nm;
  // Coherent part: the field mean of the retardance vector (R cos 2phi, R sin 2phi).
  cv::Mat r, phi, c, s;
  m.retardance_nm.convertTo(r, CV_64F);
  m.slow_axis_deg.convertTo(phi, CV_64F, 2 * kDeg);
  cv::polarToCart(r, phi, c, s);
  n.residual_background_nm = std::hypot(cv::mean(c)[0], cv::mean(s)[0]);
  return n;
}

PixelSizeMeasurement measurePixelSize(const cv::Mat& before, const cv::Mat& after, double move_x_um,
                                      double move_y_um) {
  if (before.size() != after.size() || before.empty()) {
    throw CalibrationError("pixel size: the two frames must be non-empty and the same size");
  }
  const double move = std::hypot(move_x_um, move_y_um);
  if (!(move > 0)) throw CalibrationError("pixel size: the stage move must be > 0 um");
  cv::Mat a, b;
  before.convertTo(a, CV_64F);
  after.convertTo(b, CV_64F);
  if (a.channels() > 1) cv::cvtColor(a, a, cv::COLOR_BGR2GRAY);
  if (b.channels() > 1) cv::cvtColor(b, b, cv::COLOR_BGR2GRAY);
  cv::Mat window;
  cv::createHanningWindow(window, a.size(), CV_64F);
  PixelSizeMeasurement p;
  const cv::Point2d shift = cv::phaseCorrelate(a, b, window, &p.response);
  p.shift_px = std::hypot(shift.x, shift.y);
  if (!(p.shift_px > 0.5)) {
    throw CalibrationError("pixel size: the frames did not move (shift " +
                           std::to_string(p.shift_px) + " px): did the stage move?");
  }
  p.pixel_um = move / p.shift_px;
  // Moving the stage +x brings the sample's content -x in the image; +y (up) brings it down,
  // i.e. towards larger row numbers.
  const double expected = std::atan2(move_y_um, -move_x_um);
  double rot = (std::atan2(shift.y, shift.x) - expected) / kDeg;
  rot = std::fmod(rot + 540.0, 360.0) - 180.0;
  p.camera_rotation_deg = rot;
  return p;
}

namespace {
// Sub-pixel position of a peak from its two neighbours (parabola through three samples).
double parabolicPeak(const std::vector<double>& v, int i) {
  const double l = v[static_cast<std::size_t>(i - 1)], c = v[static_cast<std::size_t>(i)],
               r = v[static_cast<std::size_t>(i + 1)];
  const double den = l - 2 * c + r;
  return i + (den < 0 ? 0.5 * (l - r) / den : 0.0);
}

// The lag of the highest autocorrelation value in [lo, hi], or -1 when it sits on an end
// (no peak inside: nothing periodic there).
int peakIn(const std::vector<double>& ac, int lo, int hi) {
  lo = std::max(lo, 1);
  hi = std::min(hi, static_cast<int>(ac.size()) - 2);
  if (hi <= lo) return -1;
  int best = lo;
  for (int k = lo; k <= hi; ++k) {
    if (ac[static_cast<std::size_t>(k)] > ac[static_cast<std::size_t>(best)]) best = k;
  }
  return best == lo || best == hi ? -1 : best;
}
}  // namespace

MicrometerMeasurement measureMicrometer(const cv::Mat& image, double pitch_um,
                                        double min_periodicity) {
  if (!(pitch_um > 0)) throw CalibrationError("micrometer: the ruling pitch must be > 0 um");
  if (image.empty()) throw CalibrationError("micrometer: the image is empty");
  cv::Mat g;
  image.convertTo(g, CV_32F);
  if (g.channels() > 1) cv::cvtColor(g, g, cv::COLOR_BGR2GRAY);
  const int w = g.cols, h = g.rows;
  if (w < 16 || h < 16) throw CalibrationError("micrometer: the image is too small");

  // Direction of the rulings: the strongest spectral peak away from DC (periods of at most a
  // third of the field; slower terms are illumination falloff).
  cv::Mat win, centred, spectrum, planes[2], mag;
  cv::createHanningWindow(win, g.size(), CV_32F);
  cv::subtract(g, cv::Scalar::all(cv::mean(g)[0]), centred);
  cv::multiply(centred, win, centred);
  cv::dft(centred, spectrum, cv::DFT_COMPLEX_OUTPUT);
  cv::split(spectrum, planes);
  cv::magnitude(planes[0], planes[1], mag);
  double best = -1, fx = 0, fy = 0;
  for (int r = 0; r < h; ++r) {
    const float* m = mag.ptr<float>(r);
    const int ky = r <= h / 2 ? r : r - h;
    for (int c = 0; c <= w / 2; ++c) {
      const double u = static_cast<double>(c) / w, v = static_cast<double>(ky) / h;
      if (std::max(std::abs(c), std::abs(ky)) < 3) continue;
      if (m[c] > best) {
        best = m[c];
        fx = u;
        fy = v;
      }
    }
  }
  MicrometerMeasurement out;
  out.lines_along_y = std::abs(fx) >= std::abs(fy);

  // Profile across the rulings (the mean along them), its trend-free autocorrelation.
  cv::Mat profile;
  cv::reduce(g, profile, out.lines_along_y ? 0 : 1, cv::REDUCE_AVG, CV_64F);
  profile = profile.reshape(1, 1).clone();
  const int n = profile.cols;
  cv::subtract(profile, cv::Scalar::all(cv::mean(profile)[0]), profile);
  cv::Mat padded = cv::Mat::zeros(1, cv::getOptimalDFTSize(2 * n), CV_64F), f, power, acm;
  profile.copyTo(padded(cv::Rect(0, 0, n, 1)));
  cv::dft(padded, f, cv::DFT_COMPLEX_OUTPUT);
  cv::mulSpectrums(f, f, power, 0, true);
  cv::dft(power, acm, cv::DFT_INVERSE | cv::DFT_REAL_OUTPUT | cv::DFT_SCALE);
  const int max_lag = n / 2;
  std::vector<double> ac(static_cast<std::size_t>(max_lag + 2));
  for (int k = 0; k < static_cast<int>(ac.size()); ++k) {
    ac[static_cast<std::size_t>(k)] = acm.at<double>(0, k) / (n - k);  // unbiased
  }
  const auto refuse = [&](const std::string& why) {
    throw CalibrationError("micrometer: " + why +
                           ": image a stage micrometer's ruling in focus, lines across the "
                           "field, and give its pitch (--micrometer-pitch-um)");
  };
  if (!(ac[0] > 1e-9)) refuse("the image is uniform, no ruled lines");
  for (double& v : ac) v /= ac[0];

  // Coarse period from the spectral peak, refined at the first autocorrelation peak, then read
  // at the farthest whole number of periods (the error divides by that number).
  const double f0 = out.lines_along_y ? std::abs(fx) : std::abs(fy);
  if (!(f0 > 0)) refuse("no ruled lines found");
  const double p0 = 1.0 / f0;
  if (p0 > max_lag / 1.5) refuse("fewer than three ruled periods across the field");
  int k1 =
      peakIn(ac, static_cast<int>(std::floor(0.6 * p0)), static_cast<int>(std::ceil(1.4 * p0)));
  if (k1 < 0) refuse("no regular ruling found (no autocorrelation peak at one period)");
  const double p1 = parabolicPeak(ac, k1);
  const int half = static_cast<int>(std::lround(p1 / 2));
  out.periodicity = (ac[static_cast<std::size_t>(k1)] - ac[static_cast<std::size_t>(half)]) / 2;
  if (out.periodicity < min_periodicity) {
    refuse("no regular ruling found (periodicity " + std::to_string(out.periodicity) + ", below " +
           std::to_string(min_periodicity) + ")");
  }
  if (p1 < 2.5) refuse("the ruling is finer than 2.5 px per period, below the camera's sampling");
  const int periods = std::max(1, static_cast<int>(std::floor((max_lag - 0.5 * p1) / p1)));
  const int kn = peakIn(ac, static_cast<int>(std::floor(periods * p1 - p1 / 2)),
                        static_cast<int>(std::ceil(periods * p1 + p1 / 2)));
  out.pitch_px = kn < 0 ? p1 : parabolicPeak(ac, kn) / periods;
  out.pixel_um = pitch_um / out.pitch_px;
  return out;
}

}  // namespace polscan::calibration
