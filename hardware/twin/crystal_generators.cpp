// Per-class crystal and distractor generators (figures from shared/domain.md).
#include "hardware/twin/crystal_generators.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace polscan::twin {

double normalizeAxisDeg(double deg) {
  double a = std::fmod(deg, 180.0);
  if (a < 0) a += 180.0;
  if (a >= 180.0) a -= 180.0;
  return a;
}

namespace {

void setAxes(CrystalSpec& c, Rng& rng, bool positive) {
  c.long_axis_deg = normalizeAxisDeg(rng.uniform(0.0, 180.0));
  c.slow_axis_deg = normalizeAxisDeg(c.long_axis_deg + (positive ? 0.0 : 90.0));
}

}  // namespace

CrystalSpec makeCrystal(polscan::CrystalClass cls, Rng& rng) {
  using polscan::CrystalClass;
  CrystalSpec c;
  c.cls = cls;
  switch (cls) {
    case CrystalClass::MSU:
      // Needles 2-25 um (a few up to 40), 0.5-1 um wide and about as thick; fast axis along the
      // needle; ~0.3 birefringence gives the 150-300 nm of the literature.
      c.shape = Shape::Needle;
      c.length_um = rng.chance(0.1) ? rng.uniform(25.0, 40.0) : rng.logUniform(3.0, 25.0);
      c.width_um = rng.uniform(0.5, 1.0);
      c.thickness_um = c.width_um * rng.uniform(0.85, 1.0);
      c.birefringence = rng.uniform(0.27, 0.31);
      setAxes(c, rng, false);
      break;
    case CrystalClass::CPPD:
      // Rhomboids / parallelepipeds and short blunt rods, 2-20 um long, 1-4 wide; weak: 10-30 nm
      // per um of thickness.
      c.shape = rng.chance(0.6) ? Shape::Rhomboid : Shape::Rod;
      c.length_um = rng.logUniform(3.0, 20.0);
      c.width_um = std::clamp(c.length_um * rng.uniform(0.2, 0.5), 1.0, 4.0);
      c.thickness_um = std::min(c.width_um, rng.uniform(0.6, 1.5));
      c.birefringence = rng.uniform(0.010, 0.030);
      setAxes(c, rng, true);
      break;
    case CrystalClass::CaOxMonohydrate:
      // Whewellite ovoids and dumbbells, 3-20 um, birefringence 0.16: a few hundred nm; mostly
      // positive along the long axis.
      c.shape = rng.chance(0.6) ? Shape::Ovoid : Shape::Dumbbell;
      c.length_um = rng.logUniform(4.0, 20.0);
      c.width_um =
          c.length_um * (c.shape == Shape::Ovoid ? rng.uniform(0.5, 0.75) : rng.uniform(0.4, 0.55));
      c.thickness_um = std::min(c.width_um, rng.uniform(1.0, 2.5));
      c.birefringence = rng.uniform(0.14, 0.16);
      setAxes(c, rng, rng.chance(0.9));
      break;
    case CrystalClass::CaOxDihydrate:
      // Weddellite bipyramids seen as envelopes; viewed near the optic axis the effective
      // birefringence is a small fraction of 0.021.
      c.shape = Shape::Bipyramid;
      c.length_um = rng.logUniform(6.0, 40.0);
      c.width_um = c.length_um * rng.uniform(0.85, 1.0);
      c.thickness_um = c.width_um * rng.uniform(0.35, 0.5);
      c.birefringence = rng.uniform(0.0015, 0.005);
      setAxes(c, rng, true);
      break;
    case CrystalClass::UricAcid:
      // Rhomboid plates, very strong (0.31, polychromatic), yellow-brown; sign variable.
      c.shape = Shape::Rhomboid;
      c.length_um = rng.logUniform(6.0, 50.0);
      c.width_um = c.length_um * rng.uniform(0.45, 0.8);
      c.thickness_um = rng.uniform(0.8, 3.0);
      c.birefringence = 0.31 * rng.uniform(0.5, 1.0);
      c.absorption = rng.uniform(0.1, 0.3);
      setAxes(c, rng, rng.chance(0.5));
      break;
    case CrystalClass::Cholesterol:
      // Thin flat rectangular plates with a notched corner, moderate birefringence.
      c.shape = Shape::NotchedPlate;
      c.length_um = rng.logUniform(10.0, 100.0);
      c.width_um = c.length_um * rng.uniform(0.5, 0.9);
      c.thickness_um = rng.uniform(0.5, 2.0);
      c.birefringence = rng.uniform(0.02, 0.04);
      setAxes(c, rng, rng.chance(0.5));
      break;
    case CrystalClass::NonBirefringent:
      // Apatite: coin-like clumps of sub-micron crystals, randomly oriented so no net
      // retardance; they scatter, so they look slightly dark.
      c.shape = Shape::Clump;
      c.length_um = rng.logUniform(2.0, 30.0);
      c.width_um = c.length_um * rng.uniform(0.65, 1.0);
      c.thickness_um = std::min(c.width_um, rng.uniform(1.0, 3.0));
      c.birefringence = 0.0;
      c.absorption = rng.uniform(0.15, 0.4);
      setAxes(c, rng, true);
      break;
    case CrystalClass::Artefact:
    case CrystalClass::Unknown:
      throw std::invalid_argument("makeCrystal: use makeDistractor for class " +
                                  std::string(crystalClassName(cls)));
  }
  return c;
}

CrystalSpec makeDistractor(Shape shape, Rng& rng) {
  CrystalSpec c;
  c.cls = polscan::CrystalClass::Artefact;
  c.shape = shape;
  switch (shape) {
    case Shape::Cell:
      // Leukocytes and epithelial cells: absorbing, non-birefringent discs.
      c.length_um = rng.uniform(8.0, 15.0);
      c.width_um = c.length_um * rng.uniform(0.9, 1.0);
      c.thickness_um = 3.0;
      c.absorption = rng.uniform(0.05, 0.2);
      setAxes(c, rng, true);
      break;
    case Shape::Debris:
      // Irregular, weakly absorbing, at most a few nm of random retardance.
      c.length_um = rng.logUniform(2.0, 30.0);
      c.width_um = c.length_um * rng.uniform(0.35, 1.0);
      c.thickness_um = rng.uniform(0.5, 3.0);
      c.birefringence = rng.chance(0.5) ? rng.uniform(0.0, 0.003) : 0.0;
      c.absorption = rng.uniform(0.05, 0.3);
      c.long_axis_deg = normalizeAxisDeg(rng.uniform(0.0, 180.0));
      c.slow_axis_deg = normalizeAxisDeg(rng.uniform(0.0, 180.0));
      break;
    case Shape::Bubble:
      // Air bubbles: refraction makes a dark ring; absorption is the loss at the ring.
      c.length_um = rng.logUniform(10.0, 80.0);
      c.width_um = c.length_um;
      c.thickness_um = c.length_um;
      c.absorption = rng.uniform(0.6, 0.9);
      break;
    default:
      throw std::invalid_argument("makeDistractor: not a distractor shape: " +
                                  std::string(shapeName(shape)));
  }
  return c;
}

}  // namespace polscan::twin
