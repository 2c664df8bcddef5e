#pragma once
// General models a config can train without C++ (Lightning's `lightning.pytorch.demos`): an MLP
// for classification and one for regression, over batches of `{features, target}`.

#include <lightning/core/module.h>

#include <torch/nn/modules/container/sequential.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace lightning::demos {

struct MLPOptions {
  /// Features per sample (columns of the data, without the target).
  int64_t in_features = 0;
  /// Classes (MLPClassifier) or target values (MLPRegressor) per sample.
  int64_t out_features = 1;
  /// Units of each hidden layer, each followed by a ReLU.
  std::vector<int64_t> hidden = {128};
  /// Probability of zeroing a hidden unit while training.
  double dropout = 0.0;
  /// "adam", "adamw" or "sgd" (with momentum 0.9).
  std::string optimizer = "adam";
  double lr = 1e-3;
  double weight_decay = 0.0;
};

/// What both MLPs share: the network (Linear and ReLU layers, dropout), its optimizer, and the
/// evaluation steps; each says what its loss and its metric are.
class MLPModule : public LightningModule {
 public:
  at::Tensor forward(const at::Tensor& x);
  StepOutput training_step(const Batch& batch, int64_t batch_idx) override;
  StepOutput validation_step(const Batch& batch, int64_t batch_idx) override;
  StepOutput test_step(const Batch& batch, int64_t batch_idx) override;
  OptimizerConfig configure_optimizers() override;
  const MLPOptions& options() const { return options_; }

 protected:
  /// Checks `options` (LC0710, naming `class_name`) and builds the network.
  MLPModule(MLPOptions options, const std::string& class_name);
  /// The loss of `output` against the batch's target.
  virtual at::Tensor loss(const at::Tensor& output, const at::Tensor& target) = 0;
  /// The metric logged as `<stage>_<name>` in validation and test: its name and value.
  virtual std::pair<std::string, at::Tensor> metric(const at::Tensor& output, const at::Tensor& target) = 0;

 private:
  StepOutput evaluate(const Batch& batch, const std::string& stage);
  MLPOptions options_;
  torch::nn::Sequential net_{nullptr};
};

/// Cross-entropy over `out_features` classes; logs `train_loss`, and `<stage>_loss`/`<stage>_acc`
/// in validation and test; `predict_step` returns class probabilities.
///
///   model: {class_path: MLPClassifier, init_args: {in_features: 64, out_features: 10}}
class MLPClassifier : public MLPModule {
 public:
  explicit MLPClassifier(MLPOptions options) : MLPModule(std::move(options), "MLPClassifier") {}
  Batch predict_step(const Batch& batch, int64_t batch_idx) override;

 protected:
  at::Tensor loss(const at::Tensor& output, const at::Tensor& target) override;
  std::pair<std::string, at::Tensor> metric(const at::Tensor& output, const at::Tensor& target) override;
};

/// Mean squared error on `out_features` targets; logs `train_loss`, `<stage>_loss` and
/// `<stage>_mae`; `predict_step` returns the predictions.
class MLPRegressor : public MLPModule {
 public:
  explicit MLPRegressor(MLPOptions options) : MLPModule(std::move(options), "MLPRegressor") {}
  Batch predict_step(const Batch& batch, int64_t batch_idx) override;

 protected:
  at::Tensor loss(const at::Tensor& output, const at::Tensor& target) override;
  std::pair<std::string, at::Tensor> metric(const at::Tensor& output, const at::Tensor& target) override;
};

}  // namespace lightning::demos
