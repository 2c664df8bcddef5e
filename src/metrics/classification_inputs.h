#pragma once
// What the classification metrics share: their options' checks, the first batch's checks, and a
// batch turned into 0/1 indicators without reading anything back to the host.

#include <lightning/diagnostics/diagnostic.h>
#include <lightning/metrics/classification.h>

#include <ATen/core/Tensor.h>

#include <string>

namespace lightning::metrics::detail {

/// Which of the options a metric reads, for its checks.
struct OptionUse {
  bool average = true;  ///< Accuracy, Precision, ...: `average`
  bool top_k = true;    ///< the stat-score metrics; not the confusion matrix
};

/// Every problem of the options (LC0801), in `problems`.
void check_classification_options(DiagnosticCollector& problems, const std::string& metric,
                                  const ClassificationOptions& options, OptionUse use);

/// The first batch against the task: shapes and dtypes (LC0802), then values (LC0803). Reads the
/// batch's extremes to the host; throws MisconfigurationException.
void check_classification_inputs(const std::string& metric, const ClassificationOptions& options,
                                 const at::Tensor& preds, const at::Tensor& target);

/// a / b in float64, `when_zero` where b is 0 (torchmetrics' `_safe_divide`).
at::Tensor safe_divide(const at::Tensor& a, const at::Tensor& b, double when_zero = 0.0);

/// "[4, 7] Float", or "none" for an undefined tensor: how diagnostics show an input.
std::string shape_of(const at::Tensor& t);

/// Classes for multiclass, labels for multilabel, 1 for binary.
int64_t width(const ClassificationOptions& options);

/// A batch as int64 0/1 matrices [N, K] (K = width), with `keep` 0 for the entries that are left
/// out (an ignored target, or one outside the task's values, which `invalid` counts, as a
/// 0-dimensional int64 tensor, so that compute() can report it).
struct Indicators {
  at::Tensor preds, target, keep, invalid;
};
Indicators indicators(const ClassificationOptions& options, const at::Tensor& preds, const at::Tensor& target);

/// The error (LC0803) compute() raises when `invalid` counted targets outside the task's values
/// after the first batch; returns without reading when there is nothing to report.
void report_invalid_targets(const std::string& metric, const ClassificationOptions& options,
                            const at::Tensor& invalid);

}  // namespace lightning::metrics::detail
