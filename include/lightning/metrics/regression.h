#pragma once
// Regression metrics with torchmetrics' names, options and results. Predictions and targets are
// floating tensors of one shape: [N], or [N, num_outputs] (one value per output unless averaged).
// States are summed in float64; results are float32, as torchmetrics gives them for float32 input.

#include <lightning/metrics/metric.h>

#include <cstdint>
#include <string>

namespace lightning::metrics {

struct MeanSquaredErrorOptions {
  bool squared = true;      ///< false: the root of the mean squared error
  int64_t num_outputs = 1;
};

class MeanSquaredError : public Cloneable<MeanSquaredError> {
 public:
  explicit MeanSquaredError(MeanSquaredErrorOptions options = {});
  std::string name() const override { return "MeanSquaredError"; }

 protected:
  void check_inputs(const at::Tensor& preds, const at::Tensor& target) const override;
  void update_state(const at::Tensor& preds, const at::Tensor& target) override;
  at::Tensor compute_state() const override;

 private:
  MeanSquaredErrorOptions options_;
  std::size_t sum_ = 0, total_ = 0;
};

struct MeanAbsoluteErrorOptions {
  int64_t num_outputs = 1;
};

class MeanAbsoluteError : public Cloneable<MeanAbsoluteError> {
 public:
  explicit MeanAbsoluteError(MeanAbsoluteErrorOptions options = {});
  std::string name() const override { return "MeanAbsoluteError"; }

 protected:
  void check_inputs(const at::Tensor& preds, const at::Tensor& target) const override;
  void update_state(const at::Tensor& preds, const at::Tensor& target) override;
  at::Tensor compute_state() const override;

 private:
  MeanAbsoluteErrorOptions options_;
  std::size_t sum_ = 0, total_ = 0;
};

struct R2ScoreOptions {
  int64_t num_outputs = 1;
  /// The number of regressors for the adjusted R² (0: the plain one).
  int64_t adjusted = 0;
  /// Several outputs: "uniform_average", "variance_weighted" or "raw_values".
  std::string multioutput = "uniform_average";
};

/// 1 - SS_res / SS_tot. An output whose targets do not vary scores 1 when predicted exactly and 0
/// otherwise (scikit-learn's rule), not a division by zero.
class R2Score : public Cloneable<R2Score> {
 public:
  explicit R2Score(R2ScoreOptions options = {});
  std::string name() const override { return "R2Score"; }

 protected:
  void check_inputs(const at::Tensor& preds, const at::Tensor& target) const override;
  void update_state(const at::Tensor& preds, const at::Tensor& target) override;
  at::Tensor compute_state() const override;

 private:
  R2ScoreOptions options_;
  std::size_t sum_target_ = 0, sum_squared_target_ = 0, residual_ = 0, total_ = 0;
};

struct PearsonCorrCoefOptions {
  int64_t num_outputs = 1;
};

/// Pearson's r between predictions and targets, from summed moments.
class PearsonCorrCoef : public Cloneable<PearsonCorrCoef> {
 public:
  explicit PearsonCorrCoef(PearsonCorrCoefOptions options = {});
  std::string name() const override { return "PearsonCorrCoef"; }

 protected:
  void check_inputs(const at::Tensor& preds, const at::Tensor& target) const override;
  void update_state(const at::Tensor& preds, const at::Tensor& target) override;
  at::Tensor compute_state() const override;

 private:
  PearsonCorrCoefOptions options_;
  std::size_t sum_x_ = 0, sum_y_ = 0, sum_xx_ = 0, sum_yy_ = 0, sum_xy_ = 0, total_ = 0;
};

}  // namespace lightning::metrics
