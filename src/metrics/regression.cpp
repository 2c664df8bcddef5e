#include <lightning/metrics/regression.h>

#include <lightning/diagnostics/diagnostic.h>

#include "metrics/classification_inputs.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <vector>

namespace lightning::metrics {
namespace {

using detail::shape_of;

void check_outputs(DiagnosticCollector& problems, const std::string& metric, int64_t num_outputs) {
  check_at_least(problems, "LC0801", {metric, {"num_outputs"}}, num_outputs, 1, "1 for one value per sample");
}

/// Predictions and targets of one floating shape: [N] for one output, [N, outputs] for several (LC0802).
void check_pair(const std::string& metric, int64_t outputs, const at::Tensor& preds, const at::Tensor& target) {
  const bool fits = preds.defined() && target.defined() && preds.sizes().equals(target.sizes()) &&
                    at::isFloatingType(preds.scalar_type()) && at::isFloatingType(target.scalar_type()) &&
                    (outputs == 1 ? preds.dim() == 1 || (preds.dim() == 2 && preds.size(1) == 1)
                                  : preds.dim() == 2 && preds.size(1) == outputs);
  if (fits) return;
  throw MisconfigurationException(
      {{.code = "LC0802",
        .message = fmt::format("{}: preds and target do not pair", metric),
        .subject = {fmt::format("{}::update(preds, target)", metric)},
        .received = fmt::format("preds {}, target {}", shape_of(preds), shape_of(target)),
        .expected = outputs == 1 ? std::string("floating preds and target of one shape, [N]")
                                 : fmt::format("floating preds and target of one shape, [N, {}]", outputs),
        .help = outputs == 1 ? "squeeze a [N, 1] model output to [N] and convert integer targets: target.to(at::kFloat)"
                             : "set .num_outputs to the model's outputs"}},
      fmt::format("in the first batch given to {}", metric));
}

/// The batch as float64 [N, outputs].
at::Tensor rows(const at::Tensor& t, int64_t outputs) { return t.to(at::kDouble).reshape({-1, outputs}); }

at::Tensor zeros(int64_t outputs) { return at::zeros({outputs}, at::kDouble); }

/// One value per output, or the one value when there is a single output.
at::Tensor per_output(const at::Tensor& values, int64_t outputs) {
  return (outputs == 1 ? values.squeeze(0) : values).to(at::kFloat);
}

}  // namespace

MeanSquaredError::MeanSquaredError(MeanSquaredErrorOptions options) : options_(options) {
  DiagnosticCollector problems("while building MeanSquaredError");
  check_outputs(problems, name(), options_.num_outputs);
  problems.throw_if_errors();
  sum_ = add_state("sum_squared_error", zeros(options_.num_outputs), Reduction::kSum);
  total_ = add_state("total", at::zeros({}, at::kLong), Reduction::kSum);
}

void MeanSquaredError::check_inputs(const at::Tensor& preds, const at::Tensor& target) const {
  check_pair(name(), options_.num_outputs, preds, target);
}

void MeanSquaredError::update_state(const at::Tensor& preds, const at::Tensor& target) {
  const at::Tensor diff = rows(preds, options_.num_outputs) - rows(target, options_.num_outputs);
  state(sum_).add_((diff * diff).sum(0));
  state(total_).add_(diff.size(0));
}

at::Tensor MeanSquaredError::compute_state() const {
  const at::Tensor mse = state(sum_) / state(total_).to(at::kDouble);
  return per_output(options_.squared ? mse : mse.sqrt(), options_.num_outputs);
}

MeanAbsoluteError::MeanAbsoluteError(MeanAbsoluteErrorOptions options) : options_(options) {
  DiagnosticCollector problems("while building MeanAbsoluteError");
  check_outputs(problems, name(), options_.num_outputs);
  problems.throw_if_errors();
  sum_ = add_state("sum_abs_error", zeros(options_.num_outputs), Reduction::kSum);
  total_ = add_state("total", at::zeros({}, at::kLong), Reduction::kSum);
}

void MeanAbsoluteError::check_inputs(const at::Tensor& preds, const at::Tensor& target) const {
  check_pair(name(), options_.num_outputs, preds, target);
}

void MeanAbsoluteError::update_state(const at::Tensor& preds, const at::Tensor& target) {
  const at::Tensor diff = rows(preds, options_.num_outputs) - rows(target, options_.num_outputs);
  state(sum_).add_(diff.abs().sum(0));
  state(total_).add_(diff.size(0));
}

at::Tensor MeanAbsoluteError::compute_state() const {
  return per_output(state(sum_) / state(total_).to(at::kDouble), options_.num_outputs);
}

R2Score::R2Score(R2ScoreOptions options) : options_(std::move(options)) {
  DiagnosticCollector problems("while building R2Score");
  check_outputs(problems, name(), options_.num_outputs);
  check_at_least(problems, "LC0801", {name(), {"adjusted"}}, options_.adjusted, 0, "0 for the plain R²");
  const std::vector<std::string> kinds = {"uniform_average", "variance_weighted", "raw_values"};
  if (std::find(kinds.begin(), kinds.end(), options_.multioutput) == kinds.end()) {
    problems.error(unknown_choice("LC0801",
                                  fmt::format("R2Score option `multioutput` has an unknown value \"{}\"", options_.multioutput),
                                  {name(), {"multioutput"}}, options_.multioutput, kinds));
  }
  problems.throw_if_errors();
  sum_target_ = add_state("sum_target", zeros(options_.num_outputs), Reduction::kSum);
  sum_squared_target_ = add_state("sum_squared_target", zeros(options_.num_outputs), Reduction::kSum);
  residual_ = add_state("residual", zeros(options_.num_outputs), Reduction::kSum);
  total_ = add_state("total", at::zeros({}, at::kLong), Reduction::kSum);
}

void R2Score::check_inputs(const at::Tensor& preds, const at::Tensor& target) const {
  check_pair(name(), options_.num_outputs, preds, target);
}

void R2Score::update_state(const at::Tensor& preds, const at::Tensor& target) {
  const at::Tensor y = rows(target, options_.num_outputs);
  const at::Tensor diff = rows(preds, options_.num_outputs) - y;
  state(sum_target_).add_(y.sum(0));
  state(sum_squared_target_).add_((y * y).sum(0));
  state(residual_).add_((diff * diff).sum(0));
  state(total_).add_(y.size(0));
}

at::Tensor R2Score::compute_state() const {
  const at::Tensor n = state(total_).to(at::kDouble);
  const at::Tensor& sum = state(sum_target_);
  const at::Tensor total_squares = state(sum_squared_target_) - sum * sum / n;
  const at::Tensor& residual = state(residual_);
  // scikit-learn's rule for targets that do not vary: 1 when predicted exactly, else 0.
  const at::Tensor constant = total_squares.le(0);
  at::Tensor raw = at::where(constant, at::where(residual.eq(0), at::ones_like(residual), at::zeros_like(residual)),
                             1 - residual / total_squares);
  at::Tensor r2;
  if (options_.multioutput == "raw_values") {
    r2 = raw;
  } else if (options_.multioutput == "variance_weighted") {
    const at::Tensor total = total_squares.sum();
    r2 = total.le(0).item<bool>() ? raw.mean() : (raw * total_squares).sum() / total;
  } else {
    r2 = raw.mean();
  }
  if (options_.adjusted > 0) r2 = 1 - (1 - r2) * (n - 1) / (n - static_cast<double>(options_.adjusted) - 1);
  return (options_.multioutput == "raw_values" && options_.num_outputs > 1 ? r2 : r2.reshape({})).to(at::kFloat);
}

PearsonCorrCoef::PearsonCorrCoef(PearsonCorrCoefOptions options) : options_(options) {
  DiagnosticCollector problems("while building PearsonCorrCoef");
  check_outputs(problems, name(), options_.num_outputs);
  problems.throw_if_errors();
  const int64_t outputs = options_.num_outputs;
  sum_x_ = add_state("sum_preds", zeros(outputs), Reduction::kSum);
  sum_y_ = add_state("sum_target", zeros(outputs), Reduction::kSum);
  sum_xx_ = add_state("sum_squared_preds", zeros(outputs), Reduction::kSum);
  sum_yy_ = add_state("sum_squared_target", zeros(outputs), Reduction::kSum);
  sum_xy_ = add_state("sum_products", zeros(outputs), Reduction::kSum);
  total_ = add_state("total", at::zeros({}, at::kLong), Reduction::kSum);
}

void PearsonCorrCoef::check_inputs(const at::Tensor& preds, const at::Tensor& target) const {
  check_pair(name(), options_.num_outputs, preds, target);
}

void PearsonCorrCoef::update_state(const at::Tensor& preds, const at::Tensor& target) {
  const at::Tensor x = rows(preds, options_.num_outputs), y = rows(target, options_.num_outputs);
  state(sum_x_).add_(x.sum(0));
  state(sum_y_).add_(y.sum(0));
  state(sum_xx_).add_((x * x).sum(0));
  state(sum_yy_).add_((y * y).sum(0));
  state(sum_xy_).add_((x * y).sum(0));
  state(total_).add_(x.size(0));
}

at::Tensor PearsonCorrCoef::compute_state() const {
  const at::Tensor n = state(total_).to(at::kDouble);
  const at::Tensor& sx = state(sum_x_);
  const at::Tensor& sy = state(sum_y_);
  const at::Tensor covariance = n * state(sum_xy_) - sx * sy;
  const at::Tensor spread = (n * state(sum_xx_) - sx * sx) * (n * state(sum_yy_) - sy * sy);
  return per_output(covariance / spread.sqrt(), options_.num_outputs);
}

}  // namespace lightning::metrics
