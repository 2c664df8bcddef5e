#include <lightning/metrics/classification.h>

#include <lightning/diagnostics/diagnostic.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include "metrics/metrics_test_support.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace lightning::metrics {
namespace {

using testing::expect_near;
using testing::SklearnReference;
using testing::update_in_batches;

at::Generator seeded(uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

const std::vector<std::string> kAverages = {"micro", "macro", "weighted", "none"};

nlohmann::json sklearn_average(const std::string& average, int64_t classes) {
  nlohmann::json kwargs{{"zero_division", 0}};
  if (average == "none") {
    kwargs["average"] = nullptr;
    std::vector<int64_t> labels;
    for (int64_t c = 0; c < classes; ++c) labels.push_back(c);
    kwargs["labels"] = labels;
  } else {
    kwargs["average"] = average;
  }
  return kwargs;
}

/// Five classes: class 3 is true for some samples but never predicted, class 4 neither true nor
/// predicted (macro averages leave it out, as scikit-learn's labels do).
struct MulticlassData {
  at::Tensor logits, target, labels;
  MulticlassData() {
    auto gen = seeded(11);
    logits = at::randn({300, 5}, gen, at::kFloat);
    logits.select(1, 3).fill_(-50);
    logits.select(1, 4).fill_(-100);
    target = at::randint(0, 4, {300}, gen, at::kLong);
    labels = logits.argmax(1);
  }
};

TEST(MulticlassMetrics, MatchScikitLearnInEveryAverageOverAnEpochOfBatches) {
  const MulticlassData data;
  SklearnReference reference;
  std::vector<std::pair<std::string, std::unique_ptr<Metric>>> metrics;
  for (const auto& average : kAverages) {
    const ClassificationOptions options{.task = "multiclass", .num_classes = 5, .average = average};
    const auto kwargs = sklearn_average(average, 5);
    metrics.emplace_back("precision_" + average, std::make_unique<Precision>(options));
    reference.add("precision_" + average, "precision_score", {data.target, data.labels}, kwargs);
    metrics.emplace_back("recall_" + average, std::make_unique<Recall>(options));
    reference.add("recall_" + average, "recall_score", {data.target, data.labels}, kwargs);
    metrics.emplace_back("f1_" + average, std::make_unique<F1Score>(options));
    reference.add("f1_" + average, "f1_score", {data.target, data.labels}, kwargs);
    metrics.emplace_back("f2_" + average, std::make_unique<FBetaScore>(options, 2.0));
    auto beta = kwargs;
    beta["beta"] = 2.0;
    reference.add("f2_" + average, "fbeta_score", {data.target, data.labels}, beta);
    // torchmetrics' macro and weighted accuracy average the classes' recalls.
    metrics.emplace_back("accuracy_" + average, std::make_unique<Accuracy>(options));
    if (average == "micro") {
      reference.add("accuracy_micro", "accuracy_score", {data.target, data.labels});
    } else {
      reference.add("accuracy_" + average, "recall_score", {data.target, data.labels}, kwargs);
    }
    metrics.emplace_back("specificity_" + average, std::make_unique<Specificity>(options));
    reference.add("specificity_" + average, "specificity", {data.target, data.labels},
                  {{"average", average}, {"labels", {0, 1, 2, 3, 4}}});
  }
  metrics.emplace_back("top2", std::make_unique<Accuracy>(ClassificationOptions{.task = "multiclass", .num_classes = 5, .top_k = 2}));
  reference.add("top2", "top_k_accuracy_score", {data.target, data.logits}, {{"k", 2}, {"labels", {0, 1, 2, 3, 4}}});
  const auto expected = reference.compute();
  for (auto& [name, metric] : metrics) {
    update_in_batches(*metric, data.logits, data.target);
    expect_near(metric->compute(), expected.at(name), name);
  }
}

TEST(MulticlassMetrics, LabelPredictionsGiveWhatScoresGive) {
  const MulticlassData data;
  F1Score from_scores({.task = "multiclass", .num_classes = 5, .average = "macro"});
  F1Score from_labels({.task = "multiclass", .num_classes = 5, .average = "macro"});
  update_in_batches(from_scores, data.logits, data.target);
  update_in_batches(from_labels, data.labels, data.target);
  EXPECT_EQ(from_scores.compute().item<float>(), from_labels.compute().item<float>());
}

TEST(MulticlassMetrics, IgnoreIndexLeavesThoseSamplesOut) {
  const MulticlassData data;
  at::Tensor target = data.target.clone();
  target.narrow(0, 0, 40).fill_(-100);
  const at::Tensor kept = target.ne(-100);
  SklearnReference reference;
  reference.add("f1", "f1_score", {data.target.masked_select(kept), data.labels.masked_select(kept)},
                {{"average", "macro"}, {"zero_division", 0}});
  reference.add("accuracy", "accuracy_score", {data.target.masked_select(kept), data.labels.masked_select(kept)});
  const auto expected = reference.compute();
  F1Score f1({.task = "multiclass", .num_classes = 5, .average = "macro", .ignore_index = -100});
  Accuracy accuracy({.task = "multiclass", .num_classes = 5, .ignore_index = -100});
  update_in_batches(f1, data.logits, target);
  update_in_batches(accuracy, data.logits, target);
  expect_near(f1.compute(), expected.at("f1"), "f1");
  expect_near(accuracy.compute(), expected.at("accuracy"), "accuracy");
}

TEST(BinaryMetrics, MatchScikitLearnForProbabilitiesAndLogitsAlike) {
  auto gen = seeded(5);
  const at::Tensor logits = at::randn({257}, gen, at::kFloat);
  const at::Tensor probs = logits.sigmoid();
  const at::Tensor target = at::randint(0, 2, {257}, gen, at::kLong);
  const at::Tensor labels = probs.gt(0.5).to(at::kLong);
  const at::Tensor all_negative = at::zeros({257}, at::kLong);  // one class only
  SklearnReference reference;
  for (const auto& [suffix, truth] : {std::pair{"", target}, std::pair{"_one_class", all_negative}}) {
    const std::string s = suffix;
    reference.add("accuracy" + s, "accuracy_score", {truth, labels});
    reference.add("precision" + s, "precision_score", {truth, labels}, {{"zero_division", 0}});
    reference.add("recall" + s, "recall_score", {truth, labels}, {{"zero_division", 0}});
    reference.add("f1" + s, "f1_score", {truth, labels}, {{"zero_division", 0}});
    reference.add("f05" + s, "fbeta_score", {truth, labels}, {{"beta", 0.5}, {"zero_division", 0}});
    reference.add("specificity" + s, "specificity", {truth, labels}, {{"average", "none"}, {"labels", {1}}});
  }
  const auto expected = reference.compute();
  const ClassificationOptions binary{.task = "binary"};
  for (const auto& [suffix, truth] : {std::pair{"", target}, std::pair{"_one_class", all_negative}}) {
    const std::string s = suffix;
    std::vector<std::pair<std::string, std::function<std::unique_ptr<Metric>()>>> makers = {
        {"accuracy", [&] { return std::make_unique<Accuracy>(binary); }},
        {"precision", [&] { return std::make_unique<Precision>(binary); }},
        {"recall", [&] { return std::make_unique<Recall>(binary); }},
        {"f1", [&] { return std::make_unique<F1Score>(binary); }},
        {"f05", [&] { return std::make_unique<FBetaScore>(binary, 0.5); }},
        {"specificity", [&] { return std::make_unique<Specificity>(binary); }}};
    for (const auto& [name, make] : makers) {
      auto from_probs = make();
      auto from_logits = make();
      update_in_batches(*from_probs, probs, truth);
      update_in_batches(*from_logits, logits, truth);
      const at::Tensor value = from_probs->compute();
      EXPECT_EQ(value.dim(), 0) << name;
      const auto& reference_value = expected.at(name + s);
      expect_near(value, reference_value.is_array() ? reference_value[0] : reference_value, name + s);
      EXPECT_EQ(from_logits->compute().item<float>(), value.item<float>()) << name << s << ": logits go through a sigmoid";
    }
  }
}

TEST(MultilabelMetrics, MatchScikitLearnAndCountEveryLabelEntryForAccuracy) {
  auto gen = seeded(3);
  const at::Tensor probs = at::rand({200, 4}, gen, at::kFloat);
  const at::Tensor target = at::randint(0, 2, {200, 4}, gen, at::kLong);
  const at::Tensor labels = probs.gt(0.5).to(at::kLong);
  SklearnReference reference;
  std::vector<std::pair<std::string, std::unique_ptr<Metric>>> metrics;
  for (const auto& average : kAverages) {
    const ClassificationOptions options{.task = "multilabel", .num_labels = 4, .average = average};
    auto kwargs = sklearn_average(average, 4);
    metrics.emplace_back("precision_" + average, std::make_unique<Precision>(options));
    reference.add("precision_" + average, "precision_score", {target, labels}, kwargs);
    metrics.emplace_back("recall_" + average, std::make_unique<Recall>(options));
    reference.add("recall_" + average, "recall_score", {target, labels}, kwargs);
    metrics.emplace_back("f1_" + average, std::make_unique<F1Score>(options));
    reference.add("f1_" + average, "f1_score", {target, labels}, kwargs);
    metrics.emplace_back("accuracy_" + average, std::make_unique<Accuracy>(options));
    reference.add("accuracy_" + average, "label_accuracy", {target, labels}, {{"average", average}});
  }
  const auto expected = reference.compute();
  for (auto& [name, metric] : metrics) {
    update_in_batches(*metric, probs, target, 50);
    expect_near(metric->compute(), expected.at(name), name);
  }
}

TEST(ConfusionMatrix, MatchesScikitLearnCountedAndNormalizedForEachTask) {
  const MulticlassData data;
  auto gen = seeded(9);
  const at::Tensor probs = at::rand({150}, gen, at::kFloat);
  const at::Tensor binary_target = at::randint(0, 2, {150}, gen, at::kLong);
  const at::Tensor label_probs = at::rand({150, 3}, gen, at::kFloat);
  const at::Tensor label_target = at::randint(0, 2, {150, 3}, gen, at::kLong);
  SklearnReference reference;
  for (const char* normalize : {"none", "true", "pred", "all"}) {
    nlohmann::json kwargs{{"labels", {0, 1, 2, 3, 4}}};
    if (std::string(normalize) != "none") kwargs["normalize"] = normalize;
    reference.add(std::string("multiclass_") + normalize, "confusion_matrix", {data.target, data.labels}, kwargs);
  }
  reference.add("binary", "confusion_matrix", {binary_target, probs.gt(0.5).to(at::kLong)}, {{"labels", {0, 1}}});
  reference.add("multilabel", "multilabel_confusion_matrix", {label_target, label_probs.gt(0.5).to(at::kLong)});
  const auto expected = reference.compute();
  for (const char* normalize : {"none", "true", "pred", "all"}) {
    ConfusionMatrix matrix({.task = "multiclass", .num_classes = 5, .normalize = normalize});
    update_in_batches(matrix, data.logits, data.target);
    const at::Tensor value = matrix.compute();
    EXPECT_EQ(value.scalar_type(), std::string(normalize) == "none" ? at::kLong : at::kFloat) << normalize;
    expect_near(value, expected.at(std::string("multiclass_") + normalize), normalize);
  }
  ConfusionMatrix binary({.task = "binary"});
  update_in_batches(binary, probs, binary_target);
  expect_near(binary.compute(), expected.at("binary"), "binary");
  ConfusionMatrix multilabel({.task = "multilabel", .num_labels = 3});
  update_in_batches(multilabel, label_probs, label_target, 40);
  expect_near(multilabel.compute(), expected.at("multilabel"), "multilabel");
}

TEST(Metric, ForwardGivesTheBatchsOwnValueAndAddsTheBatchToTheEpoch) {
  const MulticlassData data;
  F1Score epoch({.task = "multiclass", .num_classes = 5, .average = "macro"});
  F1Score whole({.task = "multiclass", .num_classes = 5, .average = "macro"});
  for (int64_t start = 0; start < 300; start += 100) {
    const at::Tensor logits = data.logits.narrow(0, start, 100), target = data.target.narrow(0, start, 100);
    F1Score alone({.task = "multiclass", .num_classes = 5, .average = "macro"});
    alone.update(logits, target);
    EXPECT_EQ(epoch.forward(logits, target).item<float>(), alone.compute().item<float>());
    EXPECT_EQ(epoch.last_batch_value().item<float>(), alone.compute().item<float>());
  }
  update_in_batches(whole, data.logits, data.target, 100);
  EXPECT_EQ(epoch.update_count(), 3);
  EXPECT_EQ(epoch.compute().item<float>(), whole.compute().item<float>());
  epoch.reset();
  EXPECT_EQ(epoch.update_count(), 0);
  EXPECT_EQ(epoch.compute().item<float>(), 0.0f) << "nothing since the reset";
  EXPECT_FALSE(epoch.last_batch_value().defined());
}

TEST(Metric, CopiesAndClonesHaveStatesOfTheirOwn) {
  const MulticlassData data;
  Accuracy original({.task = "multiclass", .num_classes = 5});
  original.update(data.logits.narrow(0, 0, 100), data.target.narrow(0, 0, 100));
  const float before = original.compute().item<float>();
  auto clone = original.clone();
  Accuracy copy = original;
  original.update(data.logits.narrow(0, 100, 200), data.target.narrow(0, 100, 200));
  EXPECT_EQ(clone->compute().item<float>(), before);
  EXPECT_EQ(copy.compute().item<float>(), before);
  EXPECT_EQ(clone->name(), "Accuracy");
  EXPECT_NE(original.compute().item<float>(), before);
}

// ---- misuse ----------------------------------------------------------------------------------------

template <class Make>
MisconfigurationException error_of(Make&& make) {
  try {
    make();
  } catch (const MisconfigurationException& e) {
    return e;
  }
  ADD_FAILURE() << "expected a MisconfigurationException";
  return MisconfigurationException({});
}

TEST(ClassificationOptions, EveryBadOptionIsLC0801AtOnce) {
  auto e = error_of([] { Accuracy({.task = "multiclass", .num_classes = 1, .average = "marco", .top_k = 0}); });
  ASSERT_EQ(e.diagnostics().size(), 3u) << e.what();
  for (const auto& d : e.diagnostics()) EXPECT_EQ(d.code, "LC0801");
  EXPECT_EQ(e.diagnostics()[0].message, "Accuracy option `num_classes` must be an integer >= 2 for task \"multiclass\"");
  EXPECT_EQ(e.diagnostics()[0].where(), "Accuracy({.num_classes = ...})");
  EXPECT_EQ(e.diagnostics()[1].message, "Accuracy option `average` has an unknown value \"marco\"");
  EXPECT_EQ(e.diagnostics()[1].help, "did you mean \"macro\"?");
  EXPECT_EQ(e.diagnostics()[2].message, "Accuracy option `top_k` must be in [1, num_classes = 1]");
  EXPECT_NE(std::string(e.what()).find("3 errors found while building Accuracy"), std::string::npos);

  e = error_of([] { F1Score({.task = "multi_class"}); });
  ASSERT_EQ(e.diagnostics().size(), 1u);
  EXPECT_EQ(e.diagnostics()[0].message, "F1Score option `task` has an unknown value \"multi_class\"");
  EXPECT_EQ(e.diagnostics()[0].help, "did you mean \"multiclass\"?");
  e = error_of([] { Precision({.task = "multilabel", .threshold = 1.5}); });
  ASSERT_EQ(e.diagnostics().size(), 2u);
  EXPECT_EQ(e.diagnostics()[0].message, "Precision option `num_labels` must be an integer >= 2 for task \"multilabel\"");
  EXPECT_EQ(e.diagnostics()[0].received, "unset");
  EXPECT_EQ(e.diagnostics()[1].message, "Precision option `threshold` must be in [0, 1]");
  e = error_of([] { FBetaScore({.task = "binary"}, 0.0); });
  EXPECT_EQ(e.diagnostics().at(0).message, "FBetaScore option `beta` must be positive");
  e = error_of([] { ConfusionMatrix({.task = "multiclass", .num_classes = 3, .normalize = "rows"}); });
  EXPECT_EQ(e.diagnostics().at(0).message, "ConfusionMatrix option `normalize` has an unknown value \"rows\"");
}

TEST(ClassificationInputs, AWidthOtherThanNumClassesIsLC0802NamingBoth) {
  Accuracy accuracy({.task = "multiclass", .num_classes = 10});
  auto e = error_of([&] { accuracy.update(at::zeros({4, 7}), at::zeros({4}, at::kLong)); });
  ASSERT_EQ(e.diagnostics().size(), 1u);
  const Diagnostic& d = e.diagnostics()[0];
  EXPECT_EQ(d.code, "LC0802");
  EXPECT_EQ(d.message, "Accuracy (task \"multiclass\"): the predictions have 7 columns, but num_classes is 10");
  EXPECT_EQ(d.received, "preds [4, 7] Float, target [4] Long");
  EXPECT_EQ(d.expected, "preds [N, 10] of scores, or [N] class indices");
  EXPECT_EQ(accuracy.update_count(), 0) << "a batch that does not fit is not added";

  Precision binary({.task = "binary"});
  e = error_of([&] { binary.update(at::rand({4, 2}), at::zeros({4}, at::kLong)); });
  EXPECT_EQ(e.diagnostics().at(0).message, "Precision (task \"binary\"): task \"binary\" was given 2 columns of scores");
  EXPECT_EQ(e.diagnostics().at(0).help,
            "use task \"multiclass\" with .num_classes = 2, or pass the positive class's column");
  e = error_of([&] { binary.update(at::rand({4}), at::zeros({4})); });
  EXPECT_EQ(e.diagnostics().at(0).message, "Precision (task \"binary\"): the target must hold integers");
  e = error_of([&] { binary.update(at::rand({4}), at::zeros({5}, at::kLong)); });
  EXPECT_EQ(e.diagnostics().at(0).message, "Precision (task \"binary\"): preds and target do not pair");
}

TEST(ClassificationInputs, TargetsOutsideTheClassesAreLC0803OnTheFirstBatchAndWhenComputedAfterIt) {
  Recall recall({.task = "multiclass", .num_classes = 3, .ignore_index = -1});
  const at::Tensor scores = at::rand({4, 3});
  auto e = error_of([&] { recall.update(scores, at::tensor({0, 3, 7, -1}, at::kLong)); });
  ASSERT_EQ(e.diagnostics().size(), 1u);
  const Diagnostic& d = e.diagnostics()[0];
  EXPECT_EQ(d.code, "LC0803");
  EXPECT_EQ(d.message, "Recall (task \"multiclass\"): 2 target values are outside class indices 0 to 2");
  EXPECT_EQ(d.received, "target values from 3 to 7");
  EXPECT_EQ(d.expected, "class indices 0 to 2 (or ignore_index = -1)");
  // A later batch is not read on the host: its bad targets are left out and counted.
  recall.update(scores, at::tensor({0, 1, 2, -1}, at::kLong));
  recall.update(scores, at::tensor({0, 5, 2, 1}, at::kLong));
  e = error_of([&] { recall.compute(); });
  EXPECT_EQ(e.diagnostics().at(0).code, "LC0803");
  EXPECT_EQ(e.diagnostics().at(0).message,
            "Recall (task \"multiclass\"): 1 target (or predicted label) outside class indices 0 to 2 were left out");
  EXPECT_EQ(e.stage(), "when Recall was computed");
}

}  // namespace
}  // namespace lightning::metrics
