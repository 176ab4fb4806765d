// `polscan eval`: scores the analysis pipeline on virtual slides rendered by the optical twin.
#include <fstream>
#include <iostream>
#include <memory>
#include <stdexcept>

#include "app/commands.hpp"
#include "app/progress.hpp"
#include "eval/evaluation.hpp"

namespace polscan {

void addEvalCommand(CLI::App& app, GlobalOptions&) {
  auto cfg = std::make_shared<eval::EvalConfig>();
  auto json_path = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "eval",
      "Evaluate crystal detection and identification on generated virtual slides (twin renderer "
      "at equally spaced polarizer angles, no firmware): confusion matrix, sensitivity, "
      "precision, false crystals per 100 fields, speed");
  cmd->add_option("--slides", cfg->slides, "Number of virtual slides")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--seed", cfg->seed, "Random seed (same seed, same slides and noise)")
      ->capture_default_str();
  cmd->add_option("--fields-per-slide", cfg->fields_per_slide, "Fields analysed per slide")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--sample", cfg->sample, "Slide recipe: synovial, urine or mixed (all classes)")
      ->check(CLI::IsMember({"synovial", "urine", "mixed"}))
      ->capture_default_str();
  cmd->add_option("--angles", cfg->angles, "Polarizer angles per stack (equally spaced)")
      ->check(CLI::Range(3, 64))
      ->capture_default_str();
  cmd->add_flag("--rgb", cfg->rgb,
                "RGB stacks (white LED, RGB camera): render R, G, B at 610/545/465 nm with an "
                "achromatic quarter-wave plate and analyse the real retardance unwrapped from the "
                "three channels (past the 137 nm fold of one wavelength); default: mono 546 nm");
  cmd->add_option("--json", *json_path, "Also write the figures to this JSON file");
  cmd->add_option("--features-csv", cfg->features_csv,
                  "Write every detection's truth, class and features to this CSV (diagnostics)");
  auto fit = std::make_shared<bool>(false);
  cmd->add_flag("--raw-confidence", cfg->raw_confidence,
                "Report the classifier's uncalibrated confidences (reliability table included)");
  cmd->add_flag("--fit-calibration", *fit,
                "Fit the confidence calibration instead: run synovial, urine and mixed with these "
                "--slides/--fields-per-slide/--seed and raw confidences, print the Platt table "
                "for host/analysis/confidence_calibration.cpp");
  cmd->callback([cfg, json_path, fit] {
    if (*fit) {
      Progress progress("fit", 3 * cfg->slides * cfg->fields_per_slide);
      const eval::CalibrationFit f = eval::fitConfidenceCalibration(*cfg, [&](int done, int total) {
        const int step = std::max(1, total / 20);
        if (done % step == 0 || done == total) progress.update(done, "fields");
      });
      eval::EvalResult raw;
      raw.config = *cfg;
      raw.config.raw_confidence = true;
      raw.config.sample = "synovial+urine+mixed";
      raw.counts = f.raw_counts;
      raw.metrics = eval::computeMetrics(f.raw_counts);
      std::cout << eval::formatReport(raw) << "\nFitted table (a, b per class):\n"
                << eval::formatCalibrationTable(f);
      return;
    }
    Progress progress("eval", cfg->slides * cfg->fields_per_slide);
    const eval::EvalResult result = eval::runEvaluation(*cfg, [&](int done, int total) {
      // One line per ~5% keeps logs readable on long runs.
      const int step = std::max(1, total / 20);
      if (done % step == 0 || done == total) progress.update(done, "fields");
    });
    std::cout << eval::formatReport(result);
    if (!json_path->empty()) {
      std::ofstream f(*json_path);
      if (!f) throw std::runtime_error("eval: cannot write " + *json_path);
      f << eval::toJson(result).dump(2) << "\n";
      if (!f) throw std::runtime_error("eval: write failed: " + *json_path);
      std::cout << "Wrote " << *json_path << "\n";
    }
  });
}

}  // namespace polscan
