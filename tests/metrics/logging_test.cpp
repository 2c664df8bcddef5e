// Metrics under the Trainer: `log(name, metric)` logs the epoch's compute(), resets each epoch,
// and the probe leaves the metrics as they were.

#include <lightning/lightning.h>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/nn/functional/loss.h>

#include "support/support.h"

#include <functional>
#include <vector>

namespace lightning::metrics {
namespace {

using testing::BoringModel;
using testing::random_loader;

/// Logs a macro F1 of its validation batches, and records what a hand count needs to check it.
struct ValidatedModel : BoringModel {
  F1Score& val_f1 = register_metric("val_f1", F1Score({.task = "multiclass", .num_classes = 2, .average = "macro"}));
  std::vector<at::Tensor> val_logits, val_targets;  // of the last validation run
  std::vector<int64_t> updates_at_epoch_end;
  std::vector<double> batch_values;

  StepOutput validation_step(const Batch& batch, int64_t batch_idx) override {
    if (batch_idx == 0) val_logits.clear(), val_targets.clear(), batch_values.clear();
    const at::Tensor logits = forward(batch[0]).detach();
    batch_values.push_back(val_f1.forward(logits, batch[1]).item<double>());
    val_logits.push_back(logits);
    val_targets.push_back(batch[1]);
    log("val_f1", val_f1);
    return {};
  }
  void on_validation_epoch_end() override { updates_at_epoch_end.push_back(val_f1.update_count()); }
};

TEST(MetricLogging, TheEpochValueIsTheMetricOverTheEpochAndEachEpochStartsAfresh) {
  ValidatedModel model;
  Trainer trainer({.max_epochs = 2, .logger = false, .enable_progress_bar = false, .enable_model_summary = false,
                   .enable_checkpointing = false});
  trainer.fit(model, random_loader(64, 16), random_loader(72, 8));
  // The probe (its one batch, then the module's epoch-end hook), the sanity check (2 batches), then
  // 9 batches in each epoch: the probe's batch left no trace in the sanity check's count.
  EXPECT_EQ(model.updates_at_epoch_end, (std::vector<int64_t>{1, 2, 9, 9}));
  F1Score by_hand({.task = "multiclass", .num_classes = 2, .average = "macro"});
  by_hand.update(at::cat(model.val_logits), at::cat(model.val_targets));
  const double epoch = trainer.callback_metrics().at("val_f1");
  EXPECT_FLOAT_EQ(static_cast<float>(epoch), by_hand.compute().item<float>());
  double mean_of_batches = 0;
  for (double v : model.batch_values) mean_of_batches += v / static_cast<double>(model.batch_values.size());
  EXPECT_GT(std::abs(epoch - mean_of_batches), 1e-4) << "a macro F1 over the epoch is not the mean of the batches'";
  EXPECT_EQ(model.val_f1.update_count(), 0) << "reset when the last validation ended";
}

/// Logs a training accuracy on step and epoch, counting its hits by hand.
struct TrainedModel : BoringModel {
  Accuracy& train_acc = register_metric("train_acc", Accuracy({.task = "multiclass", .num_classes = 2}));
  int64_t correct = 0, seen = 0;
  double last_batch = -1;
  StepOutput training_step(const Batch& batch, int64_t batch_idx) override {
    if (batch_idx == 0) correct = seen = 0;
    const at::Tensor logits = forward(batch[0]);
    const at::Tensor hits = logits.argmax(1).eq(batch[1]);
    correct += hits.sum().item<int64_t>();
    seen += hits.numel();
    last_batch = hits.to(at::kDouble).mean().item<double>();
    train_acc.forward(logits.detach(), batch[1]);
    log("train_acc", train_acc, {.on_step = true, .on_epoch = true});
    return torch::nn::functional::cross_entropy(logits, batch[1]);
  }
};

TEST(MetricLogging, OnStepLogsTheBatchsForwardAndOnEpochTheEpochsCompute) {
  TrainedModel model;
  Trainer trainer({.max_epochs = 2, .logger = false, .enable_progress_bar = false, .enable_model_summary = false,
                   .enable_checkpointing = false});
  trainer.fit(model, random_loader(40, 8));
  const auto& metrics = trainer.callback_metrics();
  EXPECT_DOUBLE_EQ(metrics.at("train_acc_step"), static_cast<double>(static_cast<float>(model.last_batch)));
  EXPECT_FLOAT_EQ(static_cast<float>(metrics.at("train_acc_epoch")),
                  static_cast<float>(static_cast<double>(model.correct) / static_cast<double>(model.seen)));
  EXPECT_EQ(model.seen, 40) << "the second epoch's batches alone";
}

// ---- misuse, caught by the probe before the first step -------------------------------------------

/// A module whose training_step runs `step` (with its metrics at hand) and returns the loss.
struct MisusingModel : BoringModel {
  Accuracy& train_acc = register_metric("train_acc", Accuracy({.task = "multiclass", .num_classes = 2}));
  ConfusionMatrix& matrix = register_metric("matrix", ConfusionMatrix({.task = "multiclass", .num_classes = 2}));
  Accuracy unregistered{{.task = "multiclass", .num_classes = 2}};
  std::function<void(MisusingModel&, const at::Tensor&, const at::Tensor&)> step;
  std::function<void(MisusingModel&, const at::Tensor&, const at::Tensor&)> validation;
  StepOutput training_step(const Batch& batch, int64_t) override {
    const at::Tensor logits = forward(batch[0]);
    step(*this, logits.detach(), batch[1]);
    return torch::nn::functional::cross_entropy(logits, batch[1]);
  }
  StepOutput validation_step(const Batch& batch, int64_t) override {
    if (validation) validation(*this, forward(batch[0]).detach(), batch[1]);
    return {};
  }
};

MisconfigurationException misuse(std::function<void(MisusingModel&, const at::Tensor&, const at::Tensor&)> step,
                                 std::function<void(MisusingModel&, const at::Tensor&, const at::Tensor&)> validation = {}) {
  MisusingModel model;
  model.step = std::move(step);
  model.validation = std::move(validation);
  Trainer trainer({.max_epochs = 1, .logger = false, .enable_progress_bar = false, .enable_model_summary = false,
                   .enable_checkpointing = false});
  try {
    if (model.validation) {
      trainer.fit(model, random_loader(16, 8), random_loader(16, 8));
    } else {
      trainer.fit(model, random_loader(16, 8));
    }
  } catch (const MisconfigurationException& e) {
    EXPECT_EQ(trainer.global_step(), 0) << "found before the first step";
    EXPECT_EQ(model.train_acc.update_count(), 0) << "the probe left the metric as it was";
    return e;
  }
  ADD_FAILURE() << "expected a MisconfigurationException";
  return MisconfigurationException({});
}

TEST(MetricLogging, MisusesAreCodedDiagnosticsBeforeTheFirstStep) {
  auto e = misuse([](MisusingModel& m, const at::Tensor& logits, const at::Tensor& y) {
    m.unregistered.update(logits, y);
    m.log("acc", m.unregistered);
  });
  ASSERT_TRUE(e.has("LC0805")) << e.what();
  EXPECT_EQ(e.diagnostics()[0].message, "log(\"acc\") was given a metric the module did not register: Accuracy");

  e = misuse([](MisusingModel& m, const at::Tensor& logits, const at::Tensor& y) {
    m.train_acc.update(logits, y);
    m.log("train_acc", m.train_acc);  // on_step by default in training_step
  });
  ASSERT_TRUE(e.has("LC0806")) << e.what();
  EXPECT_EQ(e.diagnostics()[0].message,
            "\"train_acc\" is logged on_step, but its Accuracy has no batch value: forward() was not called");

  e = misuse([](MisusingModel& m, const at::Tensor& logits, const at::Tensor& y) {
    m.matrix.forward(logits, y);
    m.log("matrix", m.matrix);
  });
  ASSERT_TRUE(e.has("LC0807")) << e.what();
  EXPECT_EQ(e.diagnostics()[0].message,
            "\"matrix\" logs the metric ConfusionMatrix, which computes 4 values; a logged value is one number");

  e = misuse([](MisusingModel& m, const at::Tensor& logits, const at::Tensor& y) {
    m.log("train_acc", m.train_acc.forward(logits, y));
    m.log("train_acc", m.train_acc);
  });
  ASSERT_TRUE(e.has("LC0808")) << e.what();
  EXPECT_EQ(e.diagnostics()[0].message, "\"train_acc\" is logged as two things: a number and the metric Accuracy");

  e = misuse(
      [](MisusingModel& m, const at::Tensor& logits, const at::Tensor& y) {
        m.train_acc.forward(logits, y);
        m.log("train_acc", m.train_acc);
      },
      [](MisusingModel& m, const at::Tensor& logits, const at::Tensor& y) {
        m.train_acc.update(logits, y);
        m.log("val_acc", m.train_acc);
      });
  ASSERT_TRUE(e.has("LC0809")) << e.what();
  EXPECT_EQ(e.diagnostics()[0].message,
            "one Accuracy is logged as \"train_acc\" in training and as \"val_acc\" in an evaluation: its states "
            "would mix both");
}

}  // namespace
}  // namespace lightning::metrics
