// Outlines and profiles of the twin's object shapes (anti-aliasing works from the signed distance).
#include "hardware/twin/shapes.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "hardware/twin/rng.hpp"

namespace polscan::twin {
namespace {

double boxSd(double u, double v, double a, double b) {
  const double qu = std::abs(u) - a, qv = std::abs(v) - b;
  const double ou = std::max(qu, 0.0), ov = std::max(qv, 0.0);
  return std::sqrt(ou * ou + ov * ov) + std::min(std::max(qu, qv), 0.0);
}

double roundedBoxSd(double u, double v, double a, double b, double r) {
  return boxSd(u, v, a - r, b - r) - r;
}

// First-order distance to an ellipse: exact on the outline, good enough for a pixel-wide ramp.
double ellipseSd(double u, double v, double a, double b, double* k_out = nullptr) {
  const double k = std::sqrt((u / a) * (u / a) + (v / b) * (v / b));
  if (k_out) *k_out = k;
  if (k < 1e-9) return -std::min(a, b);
  const double gu = u / (a * a * k), gv = v / (b * b * k);
  return (k - 1.0) / std::sqrt(gu * gu + gv * gv);
}

double lens(double k) {
  return k < 1 ? std::sqrt(1 - k * k) : 0.0;
}

}  // namespace

ShapeModel::ShapeModel(const CrystalSpec& spec)
    : spec_(spec),
      a_(std::max(spec.length_um, 1e-3) / 2),
      b_(std::max(spec.width_um, 1e-3) / 2),
      r0_(spec.retardance_nm()),
      t0_(std::clamp(1.0 - spec.absorption, 0.0, 1.0)),
      bound_(std::hypot(a_, b_)) {
  Rng rng(combineSeeds(static_cast<std::uint64_t>(spec.id), static_cast<int>(spec.shape) + 77));
  auto addEdge = [&](double u0, double v0, double u1, double v1) {
    // Vertices counter-clockwise: the outward normal is the edge direction turned clockwise.
    const double du = u1 - u0, dv = v1 - v0, len = std::hypot(du, dv);
    const double nu = dv / len, nv = -du / len;
    polygon_.push_back({nu, nv, nu * u0 + nv * v0});
  };
  auto addPolygon = [&](const std::vector<std::pair<double, double>>& pts) {
    for (std::size_t i = 0; i < pts.size(); ++i) {
      const auto& p = pts[i];
      const auto& q = pts[(i + 1) % pts.size()];
      addEdge(p.first, p.second, q.first, q.second);
    }
  };
  switch (spec.shape) {
    case Shape::Needle: {
      taper_ =
          std::min(0.45 * spec_.length_um, std::max(3.0 * spec_.width_um, 0.15 * spec_.length_um));
      const double t = std::min(taper_, a_);
      addPolygon({{a_, 0}, {a_ - t, b_}, {-a_ + t, b_}, {-a_, 0}, {-a_ + t, -b_}, {a_ - t, -b_}});
      taper_ = t;
      break;
    }
    case Shape::Rhomboid: {
      // A parallelogram whose acute angle (55-80 deg) is drawn from the object's id.
      const double angle = rng.uniform(55.0, 80.0) * std::numbers::pi / 180.0;
      double shear = std::min(2 * b_ / std::tan(angle), a_);
      if (rng.chance(0.5)) shear = -shear;
      const double ha = a_ - std::abs(shear) / 2;
      addPolygon({{-ha - shear / 2, -b_},
                  {ha - shear / 2, -b_},
                  {ha + shear / 2, b_},
                  {-ha + shear / 2, b_}});
      break;
    }
    case Shape::Clump: {
      // Sub-micron crystals aggregate into a lumpy coin: a union of discs inside the box.
      const int n = rng.uniformInt(7, 13);
      const double m = std::min(a_, b_);
      for (int i = 0; i < n; ++i) {
        const double r = m * rng.uniform(0.3, 0.5);
        const double ang = rng.uniform(0.0, 2 * std::numbers::pi), rad = std::sqrt(rng.uniform());
        discs_.push_back({(a_ - r) * rad * std::cos(ang), (b_ - r) * rad * std::sin(ang), r});
      }
      discs_.push_back({0, 0, m * 0.5});
      break;
    }
    case Shape::Debris: {
      double sum = 0;
      for (auto& h : harmonics_) {
        h[0] = rng.uniform(-0.18, 0.18);
        h[1] = rng.uniform(0.0, 2 * std::numbers::pi);
        sum += std::abs(h[0]);
      }
      harmonic_norm_ = 1 + sum;  // keeps the outline inside the length x width box
      break;
    }
    default:
      break;
  }
}

double ShapeModel::polygonSd(double u, double v) const {
  double sd = -1e30;
  for (const HalfPlane& h : polygon_) sd = std::max(sd, h.nu * u + h.nv * v - h.d);
  return sd;
}

ShapePoint ShapeModel::at(double u, double v) const {
  ShapePoint p;
  p.transmission = t0_;
  p.retardance_nm = r0_;
  switch (spec_.shape) {
    case Shape::Needle: {
      p.sd_um = polygonSd(u, v);
      // Round cross-section: thickness follows the local width, thickest on the axis.
      const double hw = b_ * std::clamp((a_ - std::abs(u)) / taper_, 0.0, 1.0);
      const double k = hw > 0 ? std::abs(v) / hw : 1.0;
      p.retardance_nm = r0_ * (hw / b_) * lens(k);
      break;
    }
    case Shape::Rhomboid:
      p.sd_um = polygonSd(u, v);  // a plate of even thickness
      break;
    case Shape::Rod:
      p.sd_um = roundedBoxSd(u, v, a_, b_, 0.3 * b_);
      break;
    case Shape::Bipyramid: {
      p.sd_um = boxSd(u, v, a_, b_);
      // The envelope's four facets: thicker towards the apex, and the two pairs of facets
      // present different retardance, so the X between them shows; the facet edges scatter.
      const double fu = std::abs(u) / a_, fv = std::abs(v) / b_;
      const double h = 1.0 - 0.5 * std::max(fu, fv);
      p.retardance_nm = r0_ * h * (fu >= fv ? 1.0 : 0.55);
      const double d = std::abs(std::abs(u) * b_ - std::abs(v) * a_) / std::hypot(a_, b_);
      p.transmission = t0_ * (1.0 - 0.3 * std::exp(-(d * d) / (0.35 * 0.35)));
      break;
    }
    case Shape::Ovoid: {
      double k = 0;
      p.sd_um = ellipseSd(u, v, a_, b_, &k);
      p.retardance_nm = r0_ * lens(k);
      break;
    }
    case Shape::Dumbbell: {
      const double c = std::max(a_ - b_, 0.0);
      const double d1 = std::hypot(u - c, v), d2 = std::hypot(u + c, v);
      const double waist_b = 0.55 * b_;
      p.sd_um = std::min({d1 - b_, d2 - b_, boxSd(u, v, c, waist_b)});
      double h = std::max(lens(d1 / b_), lens(d2 / b_));
      if (std::abs(u) <= c) h = std::max(h, 0.6 * lens(std::abs(v) / waist_b));
      p.retardance_nm = r0_ * h;
      break;
    }
    case Shape::NotchedPlate: {
      const double na = 0.3 * a_, nb = 0.4 * b_;
      p.sd_um = std::max(boxSd(u, v, a_, b_), -boxSd(u - a_, v - b_, na, nb));
      break;
    }
    case Shape::Clump: {
      double sd = 1e30, h = 0;
      for (const Disc& d : discs_) {
        const double dist = std::hypot(u - d.u, v - d.v);
        sd = std::min(sd, dist - d.r);
        h = std::max(h, lens(dist / d.r));
      }
      p.sd_um = sd;
      p.retardance_nm = r0_ * h;
      // Thicker lumps scatter more.
      p.transmission = 1.0 - (1.0 - t0_) * (0.6 + 0.4 * h);
      break;
    }
    case Shape::Cell: {
      p.sd_um = ellipseSd(u, v, a_, b_);
      double k = 0;
      ellipseSd(u - 0.15 * a_, v + 0.1 * b_, 0.45 * a_, 0.4 * b_, &k);
      if (k < 1) p.transmission = t0_ * (1.0 - 0.25 * lens(k));  // the nucleus absorbs more
      break;
    }
    case Shape::Debris: {
      const double nu = u / a_, nv = v / b_;
      const double rho = std::hypot(nu, nv), ang = std::atan2(nv, nu);
      double r = 1;
      for (int k = 0; k < 4; ++k)
        r += harmonics_[k][0] * std::cos((k + 2) * ang + harmonics_[k][1]);
      r /= harmonic_norm_;
      p.sd_um = (rho - r) * std::min(a_, b_);
      break;
    }
    case Shape::Bubble: {
      double k = 0;
      p.sd_um = ellipseSd(u, v, a_, b_, &k);
      // Total reflection near the rim makes the dark ring; the centre stays clear.
      const double x = (1.0 - std::min(k, 1.0)) / 0.12;
      p.transmission = 1.0 - std::clamp(spec_.absorption, 0.0, 1.0) * std::exp(-x * x);
      break;
    }
  }
  return p;
}

}  // namespace polscan::twin
