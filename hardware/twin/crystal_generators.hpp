// Random crystals and distractors per class, with the sizes and optics of shared/domain.md.
#pragma once

#include "common/crystal_class.hpp"
#include "hardware/twin/rng.hpp"
#include "hardware/twin/slide.hpp"

namespace polscan::twin {

// A crystal of the class at the origin, random size, thickness, orientation and birefringence.
// cls must not be Artefact or Unknown (use makeDistractor).
CrystalSpec makeCrystal(polscan::CrystalClass cls, Rng& rng);
// A distractor (class Artefact): Shape::Cell, Shape::Debris or Shape::Bubble.
CrystalSpec makeDistractor(Shape shape, Rng& rng);

double normalizeAxisDeg(double deg);  // into [0, 180)

}  // namespace polscan::twin
