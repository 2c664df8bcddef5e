#include <lightning/metrics/aggregation.h>
#include <lightning/metrics/regression.h>

#include <lightning/diagnostics/diagnostic.h>
#include <lightning/utilities/console.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include "metrics/metrics_test_support.h"

#include <cmath>
#include <limits>

namespace lightning::metrics {
namespace {

using testing::expect_near;
using testing::SklearnReference;
using testing::update_in_batches;

TEST(RegressionMetrics, MatchScikitLearnOverAnEpochOfBatches) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(17);
  const at::Tensor target = at::randn({301}, gen, at::kFloat) * 3 + 10;
  const at::Tensor preds = target + at::randn({301}, gen, at::kFloat);
  const at::Tensor target2 = at::randn({301, 2}, gen, at::kFloat) * at::tensor({1.0f, 5.0f});
  const at::Tensor preds2 = target2 * 0.8 + at::randn({301, 2}, gen, at::kFloat);
  SklearnReference reference;
  reference.add("mse", "mean_squared_error", {target, preds});
  reference.add("rmse", "mean_squared_error", {target, preds}, {{"squared", false}});
  reference.add("mae", "mean_absolute_error", {target, preds});
  reference.add("r2", "r2_score", {target, preds});
  reference.add("pearson", "pearson", {preds, target});
  reference.add("mse2", "mean_squared_error", {target2, preds2}, {{"multioutput", "raw_values"}});
  reference.add("mae2", "mean_absolute_error", {target2, preds2}, {{"multioutput", "raw_values"}});
  reference.add("r2_uniform", "r2_score", {target2, preds2});
  reference.add("r2_weighted", "r2_score", {target2, preds2}, {{"multioutput", "variance_weighted"}});
  reference.add("r2_raw", "r2_score", {target2, preds2}, {{"multioutput", "raw_values"}});
  reference.add("pearson2", "pearson", {preds2, target2});
  const auto expected = reference.compute();

  std::vector<std::pair<std::string, std::unique_ptr<Metric>>> one;
  one.emplace_back("mse", std::make_unique<MeanSquaredError>());
  one.emplace_back("rmse", std::make_unique<MeanSquaredError>(MeanSquaredErrorOptions{.squared = false}));
  one.emplace_back("mae", std::make_unique<MeanAbsoluteError>());
  one.emplace_back("r2", std::make_unique<R2Score>());
  one.emplace_back("pearson", std::make_unique<PearsonCorrCoef>());
  for (auto& [name, metric] : one) {
    update_in_batches(*metric, preds, target);
    EXPECT_EQ(metric->compute().dim(), 0) << name;
    expect_near(metric->compute(), expected.at(name), name, 1e-5);
  }
  std::vector<std::pair<std::string, std::unique_ptr<Metric>>> two;
  two.emplace_back("mse2", std::make_unique<MeanSquaredError>(MeanSquaredErrorOptions{.num_outputs = 2}));
  two.emplace_back("mae2", std::make_unique<MeanAbsoluteError>(MeanAbsoluteErrorOptions{.num_outputs = 2}));
  two.emplace_back("r2_uniform", std::make_unique<R2Score>(R2ScoreOptions{.num_outputs = 2}));
  two.emplace_back("r2_weighted",
                   std::make_unique<R2Score>(R2ScoreOptions{.num_outputs = 2, .multioutput = "variance_weighted"}));
  two.emplace_back("r2_raw", std::make_unique<R2Score>(R2ScoreOptions{.num_outputs = 2, .multioutput = "raw_values"}));
  two.emplace_back("pearson2", std::make_unique<PearsonCorrCoef>(PearsonCorrCoefOptions{.num_outputs = 2}));
  for (auto& [name, metric] : two) {
    update_in_batches(*metric, preds2, target2);
    expect_near(metric->compute(), expected.at(name), name, 1e-5);
  }
}

TEST(R2Score, ConstantTargetsFollowScikitLearnsRule) {
  R2Score exact, off;
  exact.update(at::full({4}, 2.0), at::full({4}, 2.0));
  off.update(at::tensor({1.0, 2.0, 3.0, 4.0}), at::full({4}, 2.0));
  EXPECT_EQ(exact.compute().item<float>(), 1.0f);
  EXPECT_EQ(off.compute().item<float>(), 0.0f);
}

TEST(RegressionInputs, PredsAndTargetsThatDoNotPairAreLC0802) {
  MeanSquaredError mse;
  try {
    mse.update(at::zeros({8, 3}), at::zeros({8}));
    FAIL() << "expected MisconfigurationException";
  } catch (const MisconfigurationException& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u);
    EXPECT_EQ(e.diagnostics()[0].code, "LC0802");
    EXPECT_EQ(e.diagnostics()[0].message, "MeanSquaredError: preds and target do not pair");
    EXPECT_EQ(e.diagnostics()[0].received, "preds [8, 3] Float, target [8] Float");
    EXPECT_EQ(e.stage(), "in the first batch given to MeanSquaredError");
  }
  try {
    R2Score({.num_outputs = 0, .multioutput = "mean"});
    FAIL() << "expected MisconfigurationException";
  } catch (const MisconfigurationException& e) {
    ASSERT_EQ(e.diagnostics().size(), 2u);
    EXPECT_EQ(e.diagnostics()[0].message, "R2Score option `num_outputs` must be >= 1");
    EXPECT_EQ(e.diagnostics()[1].message, "R2Score option `multioutput` has an unknown value \"mean\"");
  }
}

TEST(Aggregations, MeanSumMaxMinAndCatOverBatches) {
  MeanMetric mean;
  SumMetric sum;
  MaxMetric max;
  MinMetric min;
  CatMetric cat;
  const std::vector<at::Tensor> batches = {at::tensor({1.0, 2.0, 3.0}), at::tensor({-4.0}), at::tensor({10.0, 0.5})};
  for (const auto& b : batches) {
    for (Metric* m : std::initializer_list<Metric*>{&mean, &sum, &max, &min, &cat}) m->update(b);
  }
  // Summed in float64, given as float32.
  EXPECT_EQ(mean.compute().scalar_type(), at::kFloat);
  EXPECT_FLOAT_EQ(mean.compute().item<float>(), static_cast<float>(12.5 / 6));
  EXPECT_FLOAT_EQ(sum.compute().item<float>(), 12.5f);
  EXPECT_EQ(max.compute().item<float>(), 10.0f);
  EXPECT_EQ(min.compute().item<float>(), -4.0f);
  EXPECT_TRUE(cat.compute().equal(at::tensor({1.0f, 2.0f, 3.0f, -4.0f, 10.0f, 0.5f})));

  MeanMetric weighted;
  weighted.update(at::tensor({1.0, 3.0}), at::tensor({3.0, 1.0}));
  weighted.update(5.0, 2.0);
  EXPECT_FLOAT_EQ(weighted.compute().item<float>(), static_cast<float>((3.0 + 3.0 + 10.0) / 6.0));
  EXPECT_EQ(weighted.forward(at::tensor({7.0})).item<float>(), 7.0f) << "forward: the batch alone";
  EXPECT_FLOAT_EQ(weighted.compute().item<float>(), static_cast<float>((16.0 + 7.0) / 7.0));
}

TEST(Aggregations, NaNsAreLeftOutAndCountedInAWarningLC0804) {
  MeanMetric mean;
  mean.update(at::tensor({1.0, std::numeric_limits<double>::quiet_NaN(), 3.0}));
  console::forget_warnings();
  ::testing::internal::CaptureStderr();
  EXPECT_FLOAT_EQ(mean.compute().item<float>(), 2.0f);
  const std::string printed = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(printed.find("warning[LC0804]: MeanMetric left out 1 NaN value"), std::string::npos) << printed;
}

TEST(Metric, StatesMoveWithToAndListTheirReductions) {
  MaxMetric max;
  ASSERT_EQ(max.states().size(), 2u);
  EXPECT_EQ(max.states()[0].name, "nans");
  EXPECT_EQ(max.states()[1].name, "max_value");
  EXPECT_EQ(max.states()[1].reduction, Reduction::kMax);
  max.to(c10::Device(c10::kCPU));
  max.update(at::tensor({2.0}));
  EXPECT_EQ(max.compute().item<float>(), 2.0f);
}

}  // namespace
}  // namespace lightning::metrics
