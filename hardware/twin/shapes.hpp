// Geometry of each object shape: signed distance and thickness/retardance/transmission profiles.
#pragma once

#include <vector>

#include "hardware/twin/slide.hpp"

namespace polscan::twin {

// What the sample looks like at one point of an object (local frame of the object).
struct ShapePoint {
  double sd_um = 1;          // signed distance to the outline, negative inside
  double retardance_nm = 0;  // local retardance (thickness profile x birefringence)
  double transmission = 1;   // local intensity transmission
};

// Built once per object (irregular shapes draw their outline from the object's id), then
// evaluated per pixel. u runs along the long axis, v across it, both in um from the centre.
class ShapeModel {
 public:
  explicit ShapeModel(const CrystalSpec& spec);

  ShapePoint at(double u, double v) const;
  // Every point with sd <= 0 lies within this distance of the centre.
  double boundingRadius() const { return bound_; }

 private:
  struct Disc {
    double u, v, r;
  };
  struct HalfPlane {
    double nu, nv, d;  // outward normal and offset: signed distance = nu*u + nv*v - d
  };

  double polygonSd(double u, double v) const;

  CrystalSpec spec_;
  double a_, b_;  // half length, half width
  double r0_;     // retardance of the object (nm)
  double t0_;     // transmission of the body
  double bound_;
  double taper_ = 0;                // needle: length of the pointed ends
  std::vector<HalfPlane> polygon_;  // convex outlines (needle, rhomboid)
  std::vector<Disc> discs_;         // clumps
  double harmonics_[4][2] = {};     // debris outline: amplitude, phase for k = 2..5
  double harmonic_norm_ = 1;
};

}  // namespace polscan::twin
