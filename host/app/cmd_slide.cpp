// `polscan slide make`: write a virtual slide description (deterministic by seed).
#include <iostream>
#include <memory>

#include "app/commands.hpp"
#include "hardware/twin/slide.hpp"

namespace polscan {

namespace {
struct SlideOptions {
  std::uint64_t seed = 1;
  std::string out;
  double width_mm = 10;
  double height_mm = 10;
  std::string sample = "synovial";
};
}  // namespace

void addSlideCommands(CLI::App& app, GlobalOptions&) {
  auto opt = std::make_shared<SlideOptions>();
  auto* slide = app.add_subcommand("slide", "Virtual slides for the virtual instrument");
  slide->require_subcommand(1);
  auto* make = slide->add_subcommand(
      "make", "Generate a virtual slide (crystals, cells, debris; ground truth included)");
  make->add_option("--seed", opt->seed, "Random seed (same seed, same slide)")
      ->capture_default_str();
  make->add_option("--out", opt->out, "Output slide.json")->required();
  make->add_option("--width-mm", opt->width_mm, "Slide region width in mm")->capture_default_str();
  make->add_option("--height-mm", opt->height_mm, "Slide region height in mm")
      ->capture_default_str();
  make->add_option("--sample", opt->sample,
                   "synovial (CPPD, MSU, some calcium oxalate) or urine (calcium oxalate, uric "
                   "acid)")
      ->check(CLI::IsMember({"synovial", "urine"}))
      ->capture_default_str();
  make->callback([opt] {
    twin::SlideRecipe recipe;
    recipe.width_mm = opt->width_mm;
    recipe.height_mm = opt->height_mm;
    if (opt->sample == "synovial") {
      recipe.per_mm2 = {{CrystalClass::CPPD, 20},
                        {CrystalClass::MSU, 10},
                        {CrystalClass::CaOxDihydrate, 2},
                        {CrystalClass::NonBirefringent, 3}};
    } else {
      recipe.per_mm2 = {{CrystalClass::CaOxDihydrate, 15},
                        {CrystalClass::CaOxMonohydrate, 10},
                        {CrystalClass::UricAcid, 8},
                        {CrystalClass::Cholesterol, 1}};
    }
    twin::Slide slide = twin::makeSlide(recipe, opt->seed);
    slide.sample = opt->sample + "-seed" + std::to_string(opt->seed);
    twin::saveSlide(slide, opt->out);
    std::cout << "Wrote " << opt->out << ": " << slide.objects.size() << " objects on "
              << slide.width_mm << " x " << slide.height_mm << " mm\n";
  });
}

}  // namespace polscan
