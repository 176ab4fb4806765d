// A small end-to-end evaluation on twin slides: floors that break if classification breaks.
#include <gtest/gtest.h>

#include "eval/evaluation.hpp"

namespace polscan::eval {
namespace {

using C = polscan::CrystalClass;

TEST(Evaluation, SmallMixedRunMeetsFloors) {
  EvalConfig cfg;
  cfg.slides = 2;
  cfg.fields_per_slide = 3;
  cfg.seed = 11;
  cfg.sample = "mixed";
  int calls = 0;
  const EvalResult r = runEvaluation(cfg, [&](int done, int total) {
    ++calls;
    EXPECT_EQ(total, 6);
    EXPECT_EQ(done, calls);
  });
  EXPECT_EQ(calls, 6);
  EXPECT_EQ(r.counts.fields, 6);
  const auto& cf = r.counts.confusion;
  std::int64_t cppd = 0;
  for (auto v : cf[int(C::CPPD)]) cppd += v;
  ASSERT_GE(cppd, 5) << "too few CPPD for the floor to mean anything";
  EXPECT_GT(cf[int(C::CPPD)][int(C::CPPD)], 0.8 * cppd) << formatReport(r);
  EXPECT_GE(cf[int(C::CaOxDihydrate)][int(C::CaOxDihydrate)], 1) << formatReport(r);
  EXPECT_GT(r.metrics.class_accuracy, 0.85) << formatReport(r);
  // Cells (~3 per field) claimed as crystals would push this far above; the debris that look like
  // apatite clumps keep it above zero (polarized light alone cannot tell them apart).
  EXPECT_LT(r.metrics.false_crystals_per_100_fields, 150.0) << formatReport(r);
  EXPECT_LT(r.metrics.false_birefringent_per_100_fields, 20.0) << formatReport(r);
  EXPECT_GT(r.counts.confusion[int(C::Artefact)][int(C::Artefact)], 5) << formatReport(r);
  const nlohmann::json j = toJson(r);
  EXPECT_EQ(j["fields"], 6);
  EXPECT_TRUE(j.contains("confusion"));
}

TEST(Evaluation, RejectsUnknownSample) {
  EvalConfig cfg;
  cfg.sample = "blood";
  EXPECT_THROW(runEvaluation(cfg), std::invalid_argument);
}

}  // namespace
}  // namespace polscan::eval
