// Slides: generators' figures, determinism, JSON files and errors, ground truth, demo layout.
#include <cmath>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "hardware/twin/crystal_generators.hpp"
#include "hardware/twin/slide.hpp"

namespace polscan::twin {
namespace {

SlideRecipe busyRecipe() {
  SlideRecipe r;
  r.width_mm = r.height_mm = 2;
  r.per_mm2 = {{CrystalClass::CPPD, 20},           {CrystalClass::MSU, 15},
               {CrystalClass::CaOxMonohydrate, 5}, {CrystalClass::CaOxDihydrate, 5},
               {CrystalClass::UricAcid, 2},        {CrystalClass::Cholesterol, 1},
               {CrystalClass::NonBirefringent, 3}};
  r.cells_per_mm2 = 10;
  r.debris_per_mm2 = 5;
  r.bubbles_per_mm2 = 1;
  return r;
}

TEST(Slide, MakeSlideIsDeterministicBySeed) {
  const SlideRecipe r = busyRecipe();
  EXPECT_EQ(toJson(makeSlide(r, 42)), toJson(makeSlide(r, 42)));
  EXPECT_NE(toJson(makeSlide(r, 42)), toJson(makeSlide(r, 43)));
}

TEST(Slide, CountsFollowTheRecipeDensities) {
  const Slide s = makeSlide(busyRecipe(), 1);
  std::map<CrystalClass, int> n;
  int cells = 0, bubbles = 0;
  for (const CrystalSpec& o : s.objects) {
    ++n[o.cls];
    cells += o.shape == Shape::Cell;
    bubbles += o.shape == Shape::Bubble;
    EXPECT_LE(std::abs(o.x_um), 1000.0);
    EXPECT_LE(std::abs(o.y_um), 1000.0);
  }
  EXPECT_NEAR(n[CrystalClass::CPPD], 80, 5 * std::sqrt(80));
  EXPECT_NEAR(n[CrystalClass::MSU], 60, 5 * std::sqrt(60));
  EXPECT_NEAR(cells, 40, 5 * std::sqrt(40));
  EXPECT_NEAR(bubbles, 4, 10);
  EXPECT_EQ(n[CrystalClass::Unknown], 0);
}

TEST(Generators, FiguresFollowDomainNotes) {
  Rng rng(8);
  for (int i = 0; i < 300; ++i) {
    const CrystalSpec msu = makeCrystal(CrystalClass::MSU, rng);
    EXPECT_EQ(msu.shape, Shape::Needle);
    EXPECT_EQ(elongationOf(msu), Elongation::Negative);
    EXPECT_GE(msu.length_um, 2.0);
    EXPECT_LE(msu.length_um, 40.0);
    EXPECT_GE(msu.width_um, 0.5);
    EXPECT_LE(msu.width_um, 1.0);
    EXPECT_GE(msu.retardance_nm(), 110.0);
    EXPECT_LE(msu.retardance_nm(), 320.0);

    const CrystalSpec cppd = makeCrystal(CrystalClass::CPPD, rng);
    EXPECT_TRUE(cppd.shape == Shape::Rhomboid || cppd.shape == Shape::Rod);
    EXPECT_EQ(elongationOf(cppd), Elongation::Positive);
    EXPECT_GE(cppd.length_um, 2.0);
    EXPECT_LE(cppd.length_um, 20.0);
    EXPECT_GE(cppd.width_um, 1.0);
    EXPECT_LE(cppd.width_um, 4.0);
    EXPECT_LE(cppd.retardance_nm(), 30.0 * cppd.thickness_um + 1e-9);
    EXPECT_GE(cppd.retardance_nm(), 10.0 * cppd.thickness_um - 1e-9);

    const CrystalSpec mono = makeCrystal(CrystalClass::CaOxMonohydrate, rng);
    EXPECT_TRUE(mono.shape == Shape::Ovoid || mono.shape == Shape::Dumbbell);
    EXPECT_GE(mono.retardance_nm(), 100.0);
    EXPECT_LE(mono.retardance_nm(), 450.0);

    const CrystalSpec di = makeCrystal(CrystalClass::CaOxDihydrate, rng);
    EXPECT_EQ(di.shape, Shape::Bipyramid);
    EXPECT_EQ(elongationOf(di), Elongation::Positive);
    EXPECT_GE(di.length_um, 5.0);
    EXPECT_LE(di.length_um, 40.0);

    const CrystalSpec apatite = makeCrystal(CrystalClass::NonBirefringent, rng);
    EXPECT_EQ(apatite.retardance_nm(), 0.0);
    EXPECT_EQ(elongationOf(apatite), Elongation::None);

    for (const CrystalSpec* c : {&msu, &cppd, &mono, &di, &apatite}) {
      EXPECT_GE(c->long_axis_deg, 0.0);
      EXPECT_LT(c->long_axis_deg, 180.0);
      EXPECT_GE(c->slow_axis_deg, 0.0);
      EXPECT_LT(c->slow_axis_deg, 180.0);
      EXPECT_LE(c->width_um, c->length_um);
    }
  }
}

TEST(SlideJson, RoundTripsThroughJsonAndFiles) {
  const Slide s = makeSlide(busyRecipe(), 5);
  const nlohmann::json j = toJson(s);
  const Slide back = slideFromJson(j);
  EXPECT_EQ(toJson(back), j);
  ASSERT_EQ(back.objects.size(), s.objects.size());
  EXPECT_EQ(back.seed, s.seed);
  EXPECT_EQ(back.objects[3].cls, s.objects[3].cls);
  EXPECT_EQ(back.objects[3].shape, s.objects[3].shape);
  EXPECT_DOUBLE_EQ(back.objects[3].slow_axis_deg, s.objects[3].slow_axis_deg);

  const auto path = std::filesystem::temp_directory_path() / "polscan_twin_slide_test.json";
  saveSlide(s, path);
  EXPECT_EQ(toJson(loadSlide(path)), j);
  std::filesystem::remove(path);
}

void expectErrorNaming(const nlohmann::json& j, const std::string& field) {
  try {
    slideFromJson(j);
    ADD_FAILURE() << "accepted bad JSON, expected error naming " << field;
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("'" + field + "'"), std::string::npos) << e.what();
  }
}

TEST(SlideJson, BadFieldsGiveErrorsNamingTheField) {
  const nlohmann::json good = toJson(demoSlide());
  nlohmann::json j = good;
  j["objects"][1].erase("x_um");
  expectErrorNaming(j, "objects[1].x_um");
  j = good;
  j["objects"][0]["class"] = "kryptonite";
  expectErrorNaming(j, "objects[0].class");
  j = good;
  j["objects"][2]["shape"] = 3;
  expectErrorNaming(j, "objects[2].shape");
  j = good;
  j["objects"][4]["width_um"] = -1;
  expectErrorNaming(j, "objects[4].width_um");
  j = good;
  j["objects"][0]["absorption"] = 1.5;
  expectErrorNaming(j, "objects[0].absorption");
  j = good;
  j["objects"][3]["birefringence"] = "strong";
  expectErrorNaming(j, "objects[3].birefringence");
  j = good;
  j.erase("width_mm");
  expectErrorNaming(j, "width_mm");
  j = good;
  j["objects"] = 5;
  expectErrorNaming(j, "objects");
  j = good;
  j["seed"] = -3;
  expectErrorNaming(j, "seed");
  EXPECT_NO_THROW(slideFromJson(good));
}

TEST(SlideJson, LoadingAMissingOrBrokenFileFails) {
  EXPECT_THROW(loadSlide("/nonexistent/polscan/slide.json"), std::runtime_error);
  const auto path = std::filesystem::temp_directory_path() / "polscan_twin_broken.json";
  {
    std::ofstream f(path);
    f << "{ not json";
  }
  EXPECT_THROW(loadSlide(path), std::runtime_error);
  std::filesystem::remove(path);
}

TEST(Slide, ObjectsInFieldIncludesPartlyInsideAndExcludesOutside) {
  CrystalSpec a;  // 20 um rod at 45 deg, centre just outside the field's right border
  a.id = 1;
  a.length_um = 20;
  a.width_um = 2;
  a.long_axis_deg = 45;
  a.x_um = 55;
  CrystalSpec b = a;  // far away
  b.id = 2;
  b.x_um = 80;
  CrystalSpec c = a;  // across the field's corner: its axis-aligned box overlaps, it does not
  c.id = 3;
  c.long_axis_deg = 135;
  c.x_um = 56;
  c.y_um = 56;
  Slide s;
  s.objects = {a, b, c};
  const auto in = objectsInField(s, 0, 0, 100, 100);
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(in[0]->id, 1);
  const nlohmann::json gt = groundTruthJson(s, FieldWindow{0, 0, 100, 100});
  ASSERT_EQ(gt["crystals"].size(), 1u);
  EXPECT_TRUE(gt["crystals"][0]["cut_by_border"].get<bool>());
  EXPECT_DOUBLE_EQ(gt["crystals"][0]["offset_x_um"].get<double>(), 55.0);
}

TEST(Slide, GroundTruthNamesClassesAndGivesCrystalFigures) {
  const Slide s = demoSlide();
  const nlohmann::json all = groundTruthJson(s);
  ASSERT_EQ(all["crystals"].size(), s.objects.size());
  const nlohmann::json& first = all["crystals"][0];
  EXPECT_EQ(first["class"], "CPPD");
  EXPECT_EQ(first["elongation"], "positive");
  EXPECT_NEAR(first["retardance_nm"].get<double>(), s.objects[0].retardance_nm(), 1e-9);
  EXPECT_EQ(first["slow_axis_deg"].get<double>(), s.objects[0].slow_axis_deg);
  const nlohmann::json crystals_only = groundTruthJson(s, std::nullopt, false);
  for (const auto& c : crystals_only["crystals"]) EXPECT_NE(c["class"], "artefact");
  EXPECT_LT(crystals_only["crystals"].size(), all["crystals"].size());
}

TEST(DemoSlide, EveryFieldHoldsTwoSeparatedWholeCrystalsAndBothKindsAppear) {
  const Slide s = demoSlide();
  const double w = 1024 * 0.4, h = 768 * 0.4;
  const std::pair<double, double> centres[] = {{0, 0}, {300, 0}, {0, 300}, {300, 300}};
  bool cppd = false, caox = false;
  for (const auto& [cx, cy] : centres) {
    const FieldWindow field{cx, cy, w, h};
    std::vector<const CrystalSpec*> crystals;
    for (const CrystalSpec* o : objectsInField(s, cx, cy, w, h)) {
      EXPECT_TRUE(objectInsideRect(*o, field))
          << "object " << o->id << " cut by field " << cx << "," << cy;
      if (o->cls != CrystalClass::Artefact) crystals.push_back(o);
      cppd = cppd || o->cls == CrystalClass::CPPD;
      caox =
          caox || o->cls == CrystalClass::CaOxDihydrate || o->cls == CrystalClass::CaOxMonohydrate;
    }
    EXPECT_GE(crystals.size(), 2u) << "field " << cx << "," << cy;
    for (std::size_t i = 0; i < crystals.size(); ++i) {
      for (std::size_t j = i + 1; j < crystals.size(); ++j) {
        const double gap = std::hypot(crystals[i]->x_um - crystals[j]->x_um,
                                      crystals[i]->y_um - crystals[j]->y_um) -
                           std::hypot(crystals[i]->length_um, crystals[i]->width_um) / 2 -
                           std::hypot(crystals[j]->length_um, crystals[j]->width_um) / 2;
        EXPECT_GT(gap, 20.0) << crystals[i]->id << " vs " << crystals[j]->id;
      }
    }
  }
  EXPECT_TRUE(cppd);
  EXPECT_TRUE(caox);
  for (const CrystalSpec& o : s.objects) {
    if (o.cls == CrystalClass::CPPD) {
      EXPECT_GE(o.retardance_nm(), 10.0);
      EXPECT_LE(o.retardance_nm(), 30.0);
      EXPECT_TRUE(o.shape == Shape::Rhomboid || o.shape == Shape::Rod);
    }
  }
}

}  // namespace
}  // namespace polscan::twin
