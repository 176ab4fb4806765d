// Slides: random and demo layouts, JSON files, ground truth and field queries.
#include "hardware/twin/slide.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numbers>
#include <stdexcept>
#include <unordered_map>

#include "hardware/twin/crystal_generators.hpp"
#include "hardware/twin/degrees.hpp"
#include "hardware/twin/rng.hpp"

namespace polscan::twin {
namespace {

constexpr std::array<Shape, 11> kAllShapes = {Shape::Needle,       Shape::Rhomboid, Shape::Rod,
                                              Shape::Bipyramid,    Shape::Ovoid,    Shape::Dumbbell,
                                              Shape::NotchedPlate, Shape::Clump,    Shape::Cell,
                                              Shape::Debris,       Shape::Bubble};

[[noreturn]] void fail(const std::string& field, const std::string& why) {
  throw std::runtime_error("slide JSON: field '" + field + "' " + why);
}

const nlohmann::json& member(const nlohmann::json& o, const std::string& path, const char* key) {
  if (!o.is_object()) fail(path, "must be an object");
  const auto it = o.find(key);
  const std::string name = path.empty() ? key : path + "." + key;
  if (it == o.end()) fail(name, "is missing");
  return *it;
}

double number(const nlohmann::json& o, const std::string& path, const char* key) {
  const nlohmann::json& v = member(o, path, key);
  const std::string name = path.empty() ? key : path + "." + key;
  if (!v.is_number()) fail(name, "must be a number");
  const double d = v.get<double>();
  if (!std::isfinite(d)) fail(name, "must be finite");
  return d;
}

double positive(const nlohmann::json& o, const std::string& path, const char* key) {
  const double d = number(o, path, key);
  if (d <= 0) fail(path + "." + key, "must be > 0");
  return d;
}

double nonNegative(const nlohmann::json& o, const std::string& path, const char* key) {
  const double d = number(o, path, key);
  if (d < 0) fail(path.empty() ? key : path + "." + key, "must be >= 0");
  return d;
}

std::string text(const nlohmann::json& o, const std::string& path, const char* key) {
  const nlohmann::json& v = member(o, path, key);
  if (!v.is_string()) fail(path.empty() ? key : path + "." + key, "must be a string");
  return v.get<std::string>();
}

// Half extents along x and y of an object's oriented length x width box.
std::pair<double, double> halfExtents(const CrystalSpec& o) {
  const double c = std::abs(std::cos(o.long_axis_deg * kDeg)),
               s = std::abs(std::sin(o.long_axis_deg * kDeg));
  const double a = o.length_um / 2, b = o.width_um / 2;
  return {a * c + b * s, a * s + b * c};
}

}  // namespace

std::string_view shapeName(Shape s) {
  switch (s) {
    case Shape::Needle:
      return "needle";
    case Shape::Rhomboid:
      return "rhomboid";
    case Shape::Rod:
      return "rod";
    case Shape::Bipyramid:
      return "bipyramid";
    case Shape::Ovoid:
      return "ovoid";
    case Shape::Dumbbell:
      return "dumbbell";
    case Shape::NotchedPlate:
      return "notched-plate";
    case Shape::Clump:
      return "clump";
    case Shape::Cell:
      return "cell";
    case Shape::Debris:
      return "debris";
    case Shape::Bubble:
      return "bubble";
  }
  return "debris";
}

std::optional<Shape> shapeFromName(std::string_view name) {
  for (Shape s : kAllShapes) {
    if (shapeName(s) == name) return s;
  }
  return std::nullopt;
}

polscan::Elongation elongationOf(const CrystalSpec& o) {
  if (o.retardance_nm() <= 0) return polscan::Elongation::None;
  double d = std::abs(normalizeAxisDeg(o.slow_axis_deg) - normalizeAxisDeg(o.long_axis_deg));
  d = std::min(d, 180.0 - d);
  return d < 45.0 ? polscan::Elongation::Positive : polscan::Elongation::Negative;
}

bool objectIntersectsRect(const CrystalSpec& o, const FieldWindow& w) {
  // Separating-axis test between the object's oriented box and the field.
  const double dx = o.x_um - w.centre_x_um, dy = o.y_um - w.centre_y_um;
  const double hw = w.width_um / 2, hh = w.height_um / 2;
  const double a = o.length_um / 2, b = o.width_um / 2;
  const double c = std::cos(o.long_axis_deg * kDeg), s = std::sin(o.long_axis_deg * kDeg);
  const double ac = std::abs(c), as = std::abs(s);
  if (std::abs(dx) > hw + a * ac + b * as) return false;
  if (std::abs(dy) > hh + a * as + b * ac) return false;
  if (std::abs(dx * c + dy * s) > a + hw * ac + hh * as) return false;
  if (std::abs(-dx * s + dy * c) > b + hw * as + hh * ac) return false;
  return true;
}

bool objectInsideRect(const CrystalSpec& o, const FieldWindow& w) {
  const auto [ex, ey] = halfExtents(o);
  return std::abs(o.x_um - w.centre_x_um) + ex <= w.width_um / 2 &&
         std::abs(o.y_um - w.centre_y_um) + ey <= w.height_um / 2;
}

std::vector<const CrystalSpec*> objectsInField(const Slide& slide, double centre_x_um,
                                               double centre_y_um, double width_um,
                                               double height_um) {
  const FieldWindow w{centre_x_um, centre_y_um, width_um, height_um};
  std::vector<const CrystalSpec*> out;
  for (const CrystalSpec& o : slide.objects) {
    if (objectIntersectsRect(o, w)) out.push_back(&o);
  }
  return out;
}

Slide makeSlide(const SlideRecipe& recipe, std::uint64_t seed) {
  Slide slide;
  slide.seed = seed;
  slide.sample = recipe.sample;
  slide.width_mm = recipe.width_mm;
  slide.height_mm = recipe.height_mm;
  slide.chamber_depth_um = recipe.chamber_depth_um;
  Rng rng(seed);
  const double area_mm2 = recipe.width_mm * recipe.height_mm;
  const double half_w = recipe.width_mm * 500.0, half_h = recipe.height_mm * 500.0;

  // Coarse grid of placed objects so that placement can avoid most overlaps (real preparations
  // do overlap, but overlapping truth is ambiguous for scoring).
  constexpr double kCell = 100.0;
  std::unordered_map<std::int64_t, std::vector<int>> grid;
  double max_radius = 0;
  auto key = [](std::int64_t gx, std::int64_t gy) { return gx * 1000003 + gy; };
  auto fits = [&](double x, double y, double r) {
    const int reach = static_cast<int>(std::ceil((r + max_radius + 2) / kCell));
    const auto gx = static_cast<std::int64_t>(std::floor(x / kCell)),
               gy = static_cast<std::int64_t>(std::floor(y / kCell));
    for (std::int64_t i = gx - reach; i <= gx + reach; ++i) {
      for (std::int64_t j = gy - reach; j <= gy + reach; ++j) {
        const auto it = grid.find(key(i, j));
        if (it == grid.end()) continue;
        for (int idx : it->second) {
          const CrystalSpec& o = slide.objects[idx];
          const double ro = std::hypot(o.length_um, o.width_um) / 2;
          if (std::hypot(o.x_um - x, o.y_um - y) < r + ro + 2.0) return false;
        }
      }
    }
    return true;
  };
  auto place = [&](CrystalSpec c) {
    const double r = std::hypot(c.length_um, c.width_um) / 2;
    for (int attempt = 0; attempt < 20; ++attempt) {
      c.x_um = rng.uniform(-half_w + r, half_w - r);
      c.y_um = rng.uniform(-half_h + r, half_h - r);
      if (fits(c.x_um, c.y_um, r)) break;
    }
    c.id = static_cast<int>(slide.objects.size()) + 1;
    const auto gx = static_cast<std::int64_t>(std::floor(c.x_um / kCell)),
               gy = static_cast<std::int64_t>(std::floor(c.y_um / kCell));
    grid[key(gx, gy)].push_back(static_cast<int>(slide.objects.size()));
    max_radius = std::max(max_radius, r);
    slide.objects.push_back(c);
  };

  for (const auto& [cls, density] : recipe.per_mm2) {
    if (cls == polscan::CrystalClass::Artefact || cls == polscan::CrystalClass::Unknown) {
      throw std::invalid_argument("makeSlide: per_mm2 may not name class " +
                                  std::string(crystalClassName(cls)) +
                                  " (use cells/debris/bubbles_per_mm2)");
    }
    const int n = rng.poisson(density * area_mm2);
    for (int i = 0; i < n; ++i) {
      CrystalSpec c = makeCrystal(cls, rng);
      // Crystals sediment: most lie within a few um of the chamber floor.
      const double u = rng.uniform();
      c.z_um = recipe.chamber_depth_um * 0.2 * u * u;
      place(c);
    }
  }
  const std::pair<Shape, double> distractors[] = {{Shape::Cell, recipe.cells_per_mm2},
                                                  {Shape::Debris, recipe.debris_per_mm2},
                                                  {Shape::Bubble, recipe.bubbles_per_mm2}};
  for (const auto& [shape, density] : distractors) {
    const int n = rng.poisson(density * area_mm2);
    for (int i = 0; i < n; ++i) {
      CrystalSpec c = makeDistractor(shape, rng);
      c.z_um = shape == Shape::Bubble ? recipe.chamber_depth_um * rng.uniform(0.5, 0.9)
                                      : recipe.chamber_depth_um * 0.3 * rng.uniform();
      place(c);
    }
  }
  return slide;
}

Slide demoSlide() {
  using polscan::CrystalClass;
  Slide slide;
  slide.seed = 0x504F4C5343414EULL;
  slide.sample = "synovial-fluid (demo)";
  int next_id = 1;
  auto add = [&](CrystalClass cls, Shape shape, double x, double y, double len, double wid,
                 double axis, double thick, double biref, bool positive = true,
                 double absorption = 0.0) {
    CrystalSpec c;
    c.id = next_id++;
    c.cls = cls;
    c.shape = shape;
    c.x_um = x;
    c.y_um = y;
    c.length_um = len;
    c.width_um = wid;
    c.long_axis_deg = axis;
    c.thickness_um = thick;
    c.birefringence = biref;
    c.slow_axis_deg = normalizeAxisDeg(axis + (positive ? 0.0 : 90.0));
    c.absorption = absorption;
    slide.objects.push_back(c);
  };
  // Every crystal sits in the part of one field that no other field overlaps, >= 20 um from all
  // field borders (x = -204.8, 95.2, 204.8, 504.8; y = -153.6, 146.4, 153.6, 453.6).
  // Field (0, 0)
  add(CrystalClass::CPPD, Shape::Rhomboid, -120, 60, 14, 4, 30, 1.0, 0.020);
  add(CrystalClass::CaOxDihydrate, Shape::Bipyramid, -30, -70, 22, 20, 15, 9.0, 0.003);
  add(CrystalClass::CPPD, Shape::Rod, 40, 50, 12, 2.5, 120, 1.2, 0.015);
  add(CrystalClass::Artefact, Shape::Cell, -160, -110, 12, 11.5, 0, 3.0, 0.0, true, 0.12);
  // Field (300, 0)
  add(CrystalClass::CaOxMonohydrate, Shape::Ovoid, 270, 70, 14, 9, 60, 1.5, 0.15);
  add(CrystalClass::CPPD, Shape::Rhomboid, 400, -60, 16, 4, 100, 1.0, 0.025);
  add(CrystalClass::CaOxMonohydrate, Shape::Dumbbell, 440, 80, 16, 7, 150, 1.4, 0.15);
  add(CrystalClass::Artefact, Shape::Debris, 330, -110, 9, 6, 20, 1.0, 0.0, true, 0.15);
  // Field (0, 300)
  add(CrystalClass::CPPD, Shape::Rod, -120, 250, 10, 2.5, 75, 1.0, 0.015);
  add(CrystalClass::CaOxDihydrate, Shape::Bipyramid, 20, 380, 28, 26, 40, 12.0, 0.0025);
  add(CrystalClass::CPPD, Shape::Rhomboid, -150, 400, 18, 4, 160, 1.1, 0.025);
  add(CrystalClass::Artefact, Shape::Cell, 50, 220, 11, 10.5, 0, 3.0, 0.0, true, 0.1);
  // Field (300, 300)
  add(CrystalClass::CaOxMonohydrate, Shape::Ovoid, 260, 260, 12, 8, 10, 1.3, 0.15);
  add(CrystalClass::CPPD, Shape::Rhomboid, 380, 330, 15, 3.5, 50, 1.0, 0.022);
  add(CrystalClass::CaOxDihydrate, Shape::Bipyramid, 440, 410, 20, 19, 70, 8.0, 0.003);
  add(CrystalClass::CPPD, Shape::Rod, 300, 400, 8, 2, 140, 0.8, 0.015);
  add(CrystalClass::Artefact, Shape::Cell, 460, 200, 13, 12, 0, 3.0, 0.0, true, 0.15);
  // Shared by fields (0, 0) and (300, 0), wholly inside both.
  add(CrystalClass::Artefact, Shape::Debris, 150, 0, 7, 4, 70, 1.0, 0.0, true, 0.2);
  return slide;
}

nlohmann::json toJson(const Slide& slide) {
  nlohmann::json objects = nlohmann::json::array();
  for (const CrystalSpec& o : slide.objects) {
    objects.push_back({{"id", o.id},
                       {"class", std::string(crystalClassName(o.cls))},
                       {"shape", std::string(shapeName(o.shape))},
                       {"x_um", o.x_um},
                       {"y_um", o.y_um},
                       {"z_um", o.z_um},
                       {"length_um", o.length_um},
                       {"width_um", o.width_um},
                       {"long_axis_deg", o.long_axis_deg},
                       {"thickness_um", o.thickness_um},
                       {"birefringence", o.birefringence},
                       {"slow_axis_deg", o.slow_axis_deg},
                       {"absorption", o.absorption}});
  }
  return {{"format", "polscan-slide"},
          {"version", 1},
          {"seed", slide.seed},
          {"sample", slide.sample},
          {"width_mm", slide.width_mm},
          {"height_mm", slide.height_mm},
          {"chamber_depth_um", slide.chamber_depth_um},
          {"objects", objects}};
}

Slide slideFromJson(const nlohmann::json& j) {
  if (!j.is_object()) fail("(root)", "must be an object");
  if (j.contains("format") && j["format"] != "polscan-slide")
    fail("format", "must be 'polscan-slide'");
  if (j.contains("version") && j["version"] != 1) fail("version", "must be 1");
  Slide s;
  const nlohmann::json& seed = member(j, "", "seed");
  if (!seed.is_number_integer()) fail("seed", "must be a non-negative integer");
  if (seed.is_number_unsigned()) {
    s.seed = seed.get<std::uint64_t>();
  } else {
    const auto v = seed.get<std::int64_t>();
    if (v < 0) fail("seed", "must be a non-negative integer");
    s.seed = static_cast<std::uint64_t>(v);
  }
  s.sample = j.contains("sample") ? text(j, "", "sample") : std::string();
  s.width_mm = positive(j, "", "width_mm");
  s.height_mm = positive(j, "", "height_mm");
  s.chamber_depth_um = positive(j, "", "chamber_depth_um");
  const nlohmann::json& objects = member(j, "", "objects");
  if (!objects.is_array()) fail("objects", "must be an array");
  for (std::size_t i = 0; i < objects.size(); ++i) {
    const std::string p = "objects[" + std::to_string(i) + "]";
    const nlohmann::json& o = objects[i];
    CrystalSpec c;
    const nlohmann::json& id = member(o, p, "id");
    if (!id.is_number_integer()) fail(p + ".id", "must be an integer");
    c.id = id.get<int>();
    const std::string cls = text(o, p, "class");
    const auto cc = polscan::crystalClassFromName(cls);
    if (!cc) fail(p + ".class", "names no crystal class: '" + cls + "'");
    c.cls = *cc;
    const std::string shape = text(o, p, "shape");
    const auto sh = shapeFromName(shape);
    if (!sh) fail(p + ".shape", "names no shape: '" + shape + "'");
    c.shape = *sh;
    c.x_um = number(o, p, "x_um");
    c.y_um = number(o, p, "y_um");
    c.z_um = number(o, p, "z_um");
    c.length_um = positive(o, p, "length_um");
    c.width_um = positive(o, p, "width_um");
    c.long_axis_deg = normalizeAxisDeg(number(o, p, "long_axis_deg"));
    c.thickness_um = nonNegative(o, p, "thickness_um");
    c.birefringence = nonNegative(o, p, "birefringence");
    c.slow_axis_deg = normalizeAxisDeg(number(o, p, "slow_axis_deg"));
    c.absorption = nonNegative(o, p, "absorption");
    if (c.absorption > 1) fail(p + ".absorption", "must be in [0, 1]");
    s.objects.push_back(c);
  }
  return s;
}

void saveSlide(const Slide& slide, const std::filesystem::path& path) {
  std::ofstream f(path);
  if (!f) throw std::runtime_error("saveSlide: cannot write " + path.string());
  f << toJson(slide).dump(2) << '\n';
  if (!f) throw std::runtime_error("saveSlide: write failed: " + path.string());
}

Slide loadSlide(const std::filesystem::path& path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("loadSlide: cannot read " + path.string());
  nlohmann::json j;
  try {
    f >> j;
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error("loadSlide: " + path.string() + " is not JSON: " + e.what());
  }
  return slideFromJson(j);
}

nlohmann::json groundTruthJson(const Slide& slide, const std::optional<FieldWindow>& field,
                               bool include_artefacts) {
  nlohmann::json crystals = nlohmann::json::array();
  for (const CrystalSpec& o : slide.objects) {
    if (!include_artefacts && o.cls == polscan::CrystalClass::Artefact) continue;
    if (field && !objectIntersectsRect(o, *field)) continue;
    nlohmann::json c = {{"id", o.id},
                        {"class", std::string(crystalClassName(o.cls))},
                        {"shape", std::string(shapeName(o.shape))},
                        {"x_um", o.x_um},
                        {"y_um", o.y_um},
                        {"z_um", o.z_um},
                        {"length_um", o.length_um},
                        {"width_um", o.width_um},
                        {"retardance_nm", o.retardance_nm()},
                        {"slow_axis_deg", o.slow_axis_deg},
                        {"long_axis_deg", o.long_axis_deg},
                        {"elongation", std::string(elongationName(elongationOf(o)))}};
    if (field) {
      c["offset_x_um"] = o.x_um - field->centre_x_um;
      c["offset_y_um"] = o.y_um - field->centre_y_um;
      c["cut_by_border"] = !objectInsideRect(o, *field);
    }
    crystals.push_back(std::move(c));
  }
  nlohmann::json out = {
      {"slide_seed", slide.seed}, {"sample", slide.sample}, {"crystals", crystals}};
  if (field) {
    out["field"] = {{"centre_x_um", field->centre_x_um},
                    {"centre_y_um", field->centre_y_um},
                    {"width_um", field->width_um},
                    {"height_um", field->height_um}};
  }
  return out;
}

}  // namespace polscan::twin
