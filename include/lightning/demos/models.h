#pragma once
// General models a config can train without C++ (Lightning's `lightning.pytorch.demos`): an MLP
// for classification and one for regression, over batches of `{features, target}`.

#include <lightning/core/module.h>

#include <torch/nn/modules/container/sequential.h>

#include <cstdint>
#include <string>
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

/// Cross-entropy over `out_features` classes; logs `train_loss`, and `<stage>_loss`/`<stage>_acc`
/// in validation and test; `predict_step` returns class probabilities.
///
///   model: {class_path: MLPClassifier, init_args: {in_features: 64, out_features: 10}}
class MLPClassifier : public LightningModule {
 public:
  explicit MLPClassifier(MLPOptions options);
  at::Tensor forward(const at::Tensor& x);
  StepOutput training_step(const Batch& batch, int64_t batch_idx) override;
  StepOutput validation_step(const Batch& batch, int64_t batch_idx) override;
  StepOutput test_step(const Batch& batch, int64_t batch_idx) override;
  Batch predict_step(const Batch& batch, int64_t batch_idx) override;
  OptimizerConfig configure_optimizers() override;
  const MLPOptions& options() const { return options_; }

 private:
  StepOutput evaluate(const Batch& batch, const std::string& stage);
  MLPOptions options_;
  torch::nn::Sequential net_{nullptr};
};

/// Mean squared error on `out_features` targets; logs `train_loss`, `<stage>_loss` and
/// `<stage>_mae`; `predict_step` returns the predictions.
class MLPRegressor : public LightningModule {
 public:
  explicit MLPRegressor(MLPOptions options);
  at::Tensor forward(const at::Tensor& x);
  StepOutput training_step(const Batch& batch, int64_t batch_idx) override;
  StepOutput validation_step(const Batch& batch, int64_t batch_idx) override;
  StepOutput test_step(const Batch& batch, int64_t batch_idx) override;
  Batch predict_step(const Batch& batch, int64_t batch_idx) override;
  OptimizerConfig configure_optimizers() override;

 private:
  StepOutput evaluate(const Batch& batch, const std::string& stage);
  MLPOptions options_;
  torch::nn::Sequential net_{nullptr};
};

}  // namespace lightning::demos
