// Confusion counts and derived figures on a hand-made field whose answers are worked out below.
#include <cmath>

#include <gtest/gtest.h>

#include "eval/metrics.hpp"

namespace polscan::eval {
namespace {

using C = polscan::CrystalClass;

const ClassMetrics& of(const EvalMetrics& m, C c) {
  for (const ClassMetrics& cm : m.classes) {
    if (cm.cls == c) return cm;
  }
  throw std::runtime_error("class missing");
}

TEST(Metrics, RetardanceBins) {
  EXPECT_EQ(retardanceBin(0.0), 0);
  EXPECT_EQ(retardanceBin(4.99), 0);
  EXPECT_EQ(retardanceBin(5.0), 1);
  EXPECT_EQ(retardanceBin(19.9), 2);
  EXPECT_EQ(retardanceBin(20.0), 3);
  EXPECT_EQ(retardanceBin(300.0), 4);
}

// One wavelength reads R as (lambda / 2 pi) asin|sin(2 pi R / lambda)|: 0 at every half wave.
TEST(Metrics, BlindAtTheWavelengthNearMultiplesOfTheHalfWave) {
  EXPECT_NEAR(firstOrderReadingNm(100.0, 546.0), 100.0, 1e-9);  // first quarter wave: as is
  EXPECT_NEAR(firstOrderReadingNm(200.0, 546.0), 73.0, 1e-9);   // folded at 136.5
  EXPECT_NEAR(firstOrderReadingNm(280.0, 546.0), 7.0, 1e-9);    // 7 nm past the half wave
  EXPECT_NEAR(firstOrderReadingNm(819.0, 546.0), 0.0, 1e-9);    // three half waves
  EXPECT_TRUE(readsUnderAtWavelength(280.0, 546.0));
  EXPECT_TRUE(readsUnderAtWavelength(545.0, 546.0));
  EXPECT_FALSE(readsUnderAtWavelength(200.0, 546.0));
  EXPECT_FALSE(readsUnderAtWavelength(6.0, 546.0));    // weak, not blind: it reads what it is
  EXPECT_FALSE(readsUnderAtWavelength(280.0, 610.0));  // another wavelength sees it

  // Blind crystals stay in the accuracy base and are also counted on their own.
  const std::vector<TruthItem> truth = {{C::UricAcid, 20, 275, true, true},
                                        {C::UricAcid, 20, 400, true, false},
                                        {C::UricAcid, 2, 546, true, true}};
  const std::vector<C> reported = {C::Artefact, C::UricAcid};
  MatchResult m;
  m.truth_to_detection = {0, 1, -1};
  m.detection_to_truth = {0, 1};
  EvalCounts counts;
  counts.addField(truth, reported, m);
  EXPECT_EQ(counts.birefringent_3um.truth, 2);
  EXPECT_EQ(counts.birefringent_3um.correct, 1);
  EXPECT_EQ(counts.birefringent_3um_blind.truth, 1);  // the 2 um one is under 3 um
  EXPECT_EQ(counts.birefringent_3um_blind.detected, 1);
  EXPECT_EQ(counts.birefringent_3um_blind.correct, 0);
  EvalCounts twice = counts;
  twice.merge(counts);
  EXPECT_EQ(twice.birefringent_3um_blind.truth, 2);
}

TEST(Metrics, HandMadeField) {
  // Truth: CPPD x3 (8 nm, 15 nm, 2.5 um long at 25 nm), MSU (200 nm), cell, cut CPPD.
  const std::vector<TruthItem> truth = {{C::CPPD, 10, 8, true},     {C::CPPD, 12, 15, true},
                                        {C::CPPD, 2.5, 25, true},   {C::MSU, 15, 200, true},
                                        {C::Artefact, 10, 0, true}, {C::CPPD, 10, 20, false}};
  // Detections: 0 -> CPPD (right), 1 -> MSU (wrong), truth 2 missed, 3 -> MSU (right),
  // 4 (cell) -> non-birefringent (a false crystal), 5 on the cut CPPD (ignored),
  // 6 on nothing -> CPPD (false), 7 on nothing -> unknown (not a crystal claim).
  const std::vector<C> reported = {C::CPPD, C::MSU,  C::MSU,    C::NonBirefringent,
                                   C::CPPD, C::CPPD, C::Unknown};
  MatchResult m;
  m.truth_to_detection = {0, 1, -1, 2, 3, 4};
  m.detection_to_truth = {0, 1, 3, 4, 5, -1, -1};
  EvalCounts counts;
  counts.addField(truth, reported, m);
  counts.seconds = 2.0;

  const auto& cf = counts.confusion;
  EXPECT_EQ(cf[int(C::CPPD)][int(C::CPPD)], 1);
  EXPECT_EQ(cf[int(C::CPPD)][int(C::MSU)], 1);
  EXPECT_EQ(cf[int(C::CPPD)][kMissedCol], 1);
  EXPECT_EQ(cf[int(C::MSU)][int(C::MSU)], 1);
  EXPECT_EQ(cf[int(C::Artefact)][int(C::NonBirefringent)], 1);
  EXPECT_EQ(cf[kNoneRow][int(C::CPPD)], 1);
  EXPECT_EQ(cf[kNoneRow][int(C::Unknown)], 1);
  std::int64_t total = 0;
  for (const auto& row : cf) {
    for (auto v : row) total += v;
  }
  EXPECT_EQ(total, 7);  // 5 scored truths + 2 detections of nothing; the cut CPPD is not counted
  EXPECT_EQ(counts.false_crystals, 2);
  EXPECT_EQ(counts.false_birefringent, 1);  // the CPPD on nothing; non-birefringent is not
  // The artefact reported as non-birefringent; the unknown on nothing is not a claim at all.
  EXPECT_EQ(counts.false_non_birefringent, 1);

  // Retardance bins: 8 nm -> 5-10 (found, right); 15 -> 10-20 (found, wrong);
  // 25 -> 20-50 (missed); 200 -> >= 50 (found, right).
  EXPECT_EQ(counts.retardance[1].truth, 1);
  EXPECT_EQ(counts.retardance[1].correct, 1);
  EXPECT_EQ(counts.retardance[2].detected, 1);
  EXPECT_EQ(counts.retardance[2].correct, 0);
  EXPECT_EQ(counts.retardance[3].detected, 0);
  EXPECT_EQ(counts.cppd_retardance[4].truth, 0);
  EXPECT_EQ(counts.retardance[4].correct, 1);

  const EvalMetrics met = computeMetrics(counts);
  // CPPD: 1 right of 3 scored -> sensitivity 1/3; reported CPPD twice (one on nothing) -> 1/2.
  EXPECT_NEAR(of(met, C::CPPD).sensitivity, 1.0 / 3.0, 1e-12);
  EXPECT_NEAR(of(met, C::CPPD).precision, 0.5, 1e-12);
  // MSU: 1 of 1 found; reported MSU twice (one was a CPPD) -> precision 1/2.
  EXPECT_NEAR(of(met, C::MSU).sensitivity, 1.0, 1e-12);
  EXPECT_NEAR(of(met, C::MSU).precision, 0.5, 1e-12);
  EXPECT_TRUE(std::isnan(of(met, C::UricAcid).sensitivity));
  // Birefringent >= 3 um: CPPD 8 nm (right), CPPD 15 nm (wrong), MSU (right): 3 truths, all
  // detected, 2 right; the 2.5 um CPPD is below the size limit.
  EXPECT_EQ(counts.birefringent_3um.truth, 3);
  EXPECT_NEAR(met.class_accuracy, 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(met.detection_sensitivity, 1.0, 1e-12);
  EXPECT_NEAR(met.false_crystals_per_100_fields, 200.0, 1e-9);
  EXPECT_NEAR(met.false_birefringent_per_100_fields, 100.0, 1e-9);
  EXPECT_NEAR(met.false_non_birefringent_per_100_fields, 100.0, 1e-9);
  EXPECT_NEAR(met.fields_per_s, 0.5, 1e-12);
}

TEST(Metrics, MergeAdds) {
  EvalCounts a, b;
  const std::vector<TruthItem> truth = {{C::CPPD, 10, 8, true}};
  MatchResult m;
  m.truth_to_detection = {0};
  m.detection_to_truth = {0};
  a.addField(truth, {C::CPPD}, m);
  b.addField(truth, {C::CPPD}, m);
  a.merge(b);
  EXPECT_EQ(a.fields, 2);
  EXPECT_EQ(a.confusion[int(C::CPPD)][int(C::CPPD)], 2);
  EXPECT_EQ(a.cppd_retardance[1].correct, 2);
}

TEST(Metrics, ReliabilityBinsAndExpectedCalibrationError) {
  // Truth: CPPD, MSU, artefact, a cut CPPD. Best guesses: CPPD 0.95 (right), CPPD 0.92 on the MSU
  // (wrong), non-birefringent 0.35 on the artefact (wrong), artefact guess on nothing (no class
  // claim: skipped), MSU 0.9 on the cut CPPD (not scored: skipped), MSU 0.65 on nothing (wrong).
  const std::vector<TruthItem> truth = {{C::CPPD, 10, 8, true},
                                        {C::MSU, 10, 200, true},
                                        {C::Artefact, 10, 0, true},
                                        {C::CPPD, 10, 8, false}};
  MatchResult m;
  m.truth_to_detection = {0, 1, 2, 4};
  m.detection_to_truth = {0, 1, 2, -1, 3, -1};
  const std::vector<C> best = {C::CPPD, C::CPPD, C::NonBirefringent, C::Artefact, C::MSU, C::MSU};
  const std::vector<double> conf = {0.95, 0.92, 0.35, 0.7, 0.9, 0.65};
  const std::vector<double> raw = {0.9, 0.8, 0.2, 0.7, 0.8, 0.5};
  EvalCounts counts;
  counts.addConfidences(truth, best, conf, raw, m);
  EXPECT_EQ(counts.reliability[9].n, 2);
  EXPECT_EQ(counts.reliability[9].correct, 1);
  EXPECT_EQ(counts.reliability[3].n, 1);
  EXPECT_EQ(counts.reliability[6].n, 1);
  EXPECT_EQ(counts.reliability[7].n, 0);  // the artefact guess carries no class claim
  ASSERT_EQ(counts.calibration_samples.size(), 4u);
  EXPECT_DOUBLE_EQ(counts.calibration_samples[0].raw, 0.9);
  EXPECT_TRUE(counts.calibration_samples[0].correct);
  EXPECT_FALSE(counts.calibration_samples[1].correct);
  // ECE = (|1 - 1.87| + |0 - 0.35| + |0 - 0.65|) / 4 = 1.87 / 4.
  const EvalMetrics met = computeMetrics(counts);
  EXPECT_NEAR(met.expected_calibration_error, 1.87 / 4.0, 1e-12);
  EvalCounts twice = counts;
  twice.merge(counts);
  EXPECT_EQ(twice.reliability[9].n, 4);
  EXPECT_EQ(twice.calibration_samples.size(), 8u);
  EXPECT_NEAR(computeMetrics(twice).expected_calibration_error, 1.87 / 4.0, 1e-12);
  EXPECT_TRUE(std::isnan(computeMetrics(EvalCounts{}).expected_calibration_error));
}

}  // namespace
}  // namespace polscan::eval
