// A virtual slide: the objects (crystals and distractors) the twin renders, and their files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/crystal_class.hpp"

namespace polscan::twin {

enum class Shape {
  Needle,
  Rhomboid,
  Rod,
  Bipyramid,
  Ovoid,
  Dumbbell,
  NotchedPlate,
  Clump,
  Cell,
  Debris,
  Bubble
};

std::string_view shapeName(Shape s);
std::optional<Shape> shapeFromName(std::string_view name);

// One object on the slide (crystals and distractors alike).
struct CrystalSpec {
  int id = 0;
  polscan::CrystalClass cls = polscan::CrystalClass::Artefact;  // distractors: Artefact
  Shape shape = Shape::Rod;
  double x_um = 0, y_um = 0;            // centre, slide coordinates (x right, y up)
  double z_um = 0;                      // height in the chamber (focus)
  double length_um = 10, width_um = 2;  // along / across the long axis
  double long_axis_deg = 0;             // CCW from +x, [0, 180)
  double thickness_um = 1, birefringence = 0;
  double slow_axis_deg = 0;  // [0, 180): long axis (positive elongation) or long axis + 90
  double absorption = 0;     // fraction of light lost (bubbles: at the dark ring)
  double retardance_nm() const { return thickness_um * 1000.0 * birefringence; }
};

struct SlideRecipe {
  double width_mm = 10, height_mm = 10, chamber_depth_um = 20;
  std::map<polscan::CrystalClass, double> per_mm2;
  double cells_per_mm2 = 0, debris_per_mm2 = 0, bubbles_per_mm2 = 0;
  std::string sample = "synovial-fluid";  // addition: copied to Slide::sample
};

// The slide's origin is its centre: x in [-width/2, width/2] mm, likewise y.
struct Slide {
  std::uint64_t seed = 0;
  std::string sample;
  double width_mm = 10, height_mm = 10, chamber_depth_um = 20;
  std::vector<CrystalSpec> objects;
};

Slide makeSlide(const SlideRecipe& recipe, std::uint64_t seed);  // deterministic by seed
// The slide of `polscan demo`: CPPD and calcium oxalate in the four fields centred at stage
// (0,0), (300,0), (0,300), (300,300) um of 1024x768 px at 0.4 um/px, none cut by a field border.
Slide demoSlide();

nlohmann::json toJson(const Slide& slide);
Slide slideFromJson(const nlohmann::json& j);  // throws std::runtime_error naming the bad field
void saveSlide(const Slide& slide, const std::filesystem::path& path);
Slide loadSlide(const std::filesystem::path& path);

// A rectangular field of view in slide coordinates.
struct FieldWindow {
  double centre_x_um = 0, centre_y_um = 0, width_um = 0, height_um = 0;
};

// Ground truth: class names from crystalClassName(), centre, size, retardance, axes. With a
// window, only objects fully or partly inside it, each with its offset from the field's centre
// and whether the border cuts it.
nlohmann::json groundTruthJson(const Slide& slide,
                               const std::optional<FieldWindow>& field = std::nullopt,
                               bool include_artefacts = true);

std::vector<const CrystalSpec*> objectsInField(const Slide& slide, double centre_x_um,
                                               double centre_y_um, double width_um,
                                               double height_um);

// Extent of an object: the oriented rectangle length x width around its centre.
bool objectIntersectsRect(const CrystalSpec& o, const FieldWindow& w);
bool objectInsideRect(const CrystalSpec& o, const FieldWindow& w);

// Sign of elongation the object was built with (none when it has no retardance).
polscan::Elongation elongationOf(const CrystalSpec& o);

}  // namespace polscan::twin
