#include <lightning/metrics/classification.h>

#include <lightning/diagnostics/diagnostic.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include "metrics/metrics_test_support.h"

namespace lightning::metrics {
namespace {

using testing::expect_near;
using testing::SklearnReference;
using testing::update_in_batches;

TEST(AUROC, ExactAndBinnedMatchTheirReferencesForEachTask) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(23);
  // Binary scores with ties (rounded to two decimals) and some signal.
  const at::Tensor target = at::randint(0, 2, {240}, gen, at::kLong);
  const at::Tensor scores = ((at::rand({240}, gen, at::kDouble) + target.to(at::kDouble) * 0.4) / 1.4).round_(2);
  // Multiclass logits and labels.
  const at::Tensor labels = at::randint(0, 3, {240}, gen, at::kLong);
  const at::Tensor logits = at::randn({240, 3}, gen, at::kDouble) + at::one_hot(labels, 3).to(at::kDouble);
  const at::Tensor probs = logits.softmax(1);
  // Multilabel probabilities.
  const at::Tensor label_target = at::randint(0, 2, {240, 4}, gen, at::kLong);
  const at::Tensor label_probs = (at::rand({240, 4}, gen, at::kDouble) + label_target.to(at::kDouble) * 0.3) / 1.3;
  SklearnReference reference;
  reference.add("auroc", "roc_auc_score", {target, scores});
  reference.add("ap", "average_precision_score", {target, scores});
  reference.add("auroc_binned", "binned_curve_metric", {target, scores}, {{"thresholds", 11}, {"kind", "auroc"}});
  reference.add("ap_binned", "binned_curve_metric", {target, scores}, {{"thresholds", 11}, {"kind", "ap"}});
  for (const char* average : {"macro", "weighted"}) {
    reference.add(std::string("auroc_mc_") + average, "roc_auc_score", {labels, probs},
                  {{"multi_class", "ovr"}, {"average", average}});
    reference.add(std::string("ap_mc_") + average, "one_vs_rest_ap", {labels, probs}, {{"average", average}});
    reference.add(std::string("auroc_ml_") + average, "roc_auc_score", {label_target, label_probs}, {{"average", average}});
    reference.add(std::string("ap_ml_") + average, "average_precision_score", {label_target, label_probs},
                  {{"average", average}});
  }
  reference.add("auroc_ml_micro", "roc_auc_score", {label_target, label_probs}, {{"average", "micro"}});
  reference.add("ap_mc_none", "one_vs_rest_ap", {labels, probs}, {{"average", "none"}});
  const auto expected = reference.compute();

  AUROC auroc({.task = "binary"});
  AveragePrecision ap({.task = "binary"});
  AUROC auroc_binned({.task = "binary", .thresholds = 11});
  AveragePrecision ap_binned({.task = "binary", .thresholds = 11});
  for (Metric* m : std::initializer_list<Metric*>{&auroc, &ap, &auroc_binned, &ap_binned}) update_in_batches(*m, scores, target, 50);
  expect_near(auroc.compute(), expected.at("auroc"), "auroc");
  expect_near(ap.compute(), expected.at("ap"), "ap");
  expect_near(auroc_binned.compute(), expected.at("auroc_binned"), "auroc_binned");
  expect_near(ap_binned.compute(), expected.at("ap_binned"), "ap_binned");
  for (const char* average : {"macro", "weighted"}) {
    const std::string a = average;
    AUROC mc({.task = "multiclass", .num_classes = 3, .average = a});
    AveragePrecision mc_ap({.task = "multiclass", .num_classes = 3, .average = a});
    update_in_batches(mc, logits, labels);  // logits: a softmax first
    update_in_batches(mc_ap, logits, labels);
    expect_near(mc.compute(), expected.at("auroc_mc_" + a), "auroc_mc_" + a);
    expect_near(mc_ap.compute(), expected.at("ap_mc_" + a), "ap_mc_" + a);
    AUROC ml({.task = "multilabel", .num_labels = 4, .average = a});
    AveragePrecision ml_ap({.task = "multilabel", .num_labels = 4, .average = a});
    update_in_batches(ml, label_probs, label_target);
    update_in_batches(ml_ap, label_probs, label_target);
    expect_near(ml.compute(), expected.at("auroc_ml_" + a), "auroc_ml_" + a);
    expect_near(ml_ap.compute(), expected.at("ap_ml_" + a), "ap_ml_" + a);
  }
  AUROC micro({.task = "multilabel", .num_labels = 4, .average = "micro"});
  update_in_batches(micro, label_probs, label_target);
  expect_near(micro.compute(), expected.at("auroc_ml_micro"), "auroc_ml_micro");
  AveragePrecision none({.task = "multiclass", .num_classes = 3, .average = "none"});
  update_in_batches(none, probs, labels);
  expect_near(none.compute(), expected.at("ap_mc_none"), "ap_mc_none");
}

TEST(AUROC, ManyBinsApproachTheExactValueAndTheBinnedStateHasAFixedSize) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(29);
  const at::Tensor target = at::randint(0, 2, {500}, gen, at::kLong);
  const at::Tensor scores = (at::rand({500}, gen, at::kDouble) + target.to(at::kDouble) * 0.5) / 1.5;
  AUROC exact({.task = "binary"});
  AUROC binned({.task = "binary", .thresholds = 1001});
  update_in_batches(exact, scores, target);
  update_in_batches(binned, scores, target);
  EXPECT_NEAR(binned.compute().item<double>(), exact.compute().item<double>(), 2e-3);
  for (const auto& state : binned.states()) EXPECT_TRUE(state.parts.empty()) << state.name;
  EXPECT_EQ(binned.states()[0].value.sizes(), (at::IntArrayRef{1, 1001}));
}

TEST(AUROC, BadOptionsAndLabelPredictionsAreCoded) {
  try {
    AUROC({.task = "multiclass", .num_classes = 3, .thresholds = 1, .average = "micro"});
    FAIL() << "expected MisconfigurationException";
  } catch (const MisconfigurationException& e) {
    ASSERT_EQ(e.diagnostics().size(), 2u) << e.what();
    EXPECT_EQ(e.diagnostics()[0].message, "AUROC option `average` has an unknown value \"micro\"");
    EXPECT_EQ(e.diagnostics()[0].expected, "one of: \"macro\", \"weighted\", \"none\"");
    EXPECT_EQ(e.diagnostics()[1].message, "AUROC option `thresholds` must be at least 2");
  }
  AveragePrecision ap({.task = "binary"});
  try {
    ap.update(at::tensor({0, 1, 1}, at::kLong), at::tensor({0, 1, 0}, at::kLong));
    FAIL() << "expected MisconfigurationException";
  } catch (const MisconfigurationException& e) {
    EXPECT_EQ(e.diagnostics().at(0).code, "LC0802");
    EXPECT_EQ(e.diagnostics().at(0).message, "AveragePrecision (task \"binary\"): ranking needs scores, not labels");
  }
}

}  // namespace
}  // namespace lightning::metrics
