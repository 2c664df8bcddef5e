#include <lightning/metrics/classification.h>

#include <lightning/diagnostics/diagnostic.h>

#include "metrics/classification_inputs.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <vector>

namespace lightning::metrics {
namespace {

/// a / b as float32 (the results' dtype), 0 where b is 0.
at::Tensor safe_divide(const at::Tensor& a, const at::Tensor& b) { return detail::safe_divide(a, b).to(at::kFloat); }

ClassificationOptions checked(const std::string& metric, ClassificationOptions options, detail::OptionUse use,
                              double beta = 1.0) {
  DiagnosticCollector problems(fmt::format("while building {}", metric));
  detail::check_classification_options(problems, metric, options, use);
  if (!(beta > 0.0)) {
    problems.error(out_of_range("LC0801", {metric, {"beta"}}, "positive", fmt::format("{}", beta), "beta > 0",
                                "1 weighs precision and recall alike; 2 weighs recall more"));
  }
  problems.throw_if_errors();
  return options;
}

}  // namespace

namespace detail {

StatScores::StatScores(std::string metric, ClassificationOptions options)
    : metric_(std::move(metric)), options_(std::move(options)) {
  const at::Tensor zeros = at::zeros({width(options_)}, at::kLong);
  tp_ = add_state("tp", zeros, Reduction::kSum);
  fp_ = add_state("fp", zeros, Reduction::kSum);
  tn_ = add_state("tn", zeros, Reduction::kSum);
  fn_ = add_state("fn", zeros, Reduction::kSum);
  invalid_ = add_state("invalid", at::zeros({}, at::kLong), Reduction::kSum);
}

void StatScores::check_inputs(const at::Tensor& preds, const at::Tensor& target) const {
  check_classification_inputs(metric_, options_, preds, target);
}

void StatScores::update_state(const at::Tensor& preds, const at::Tensor& target) {
  const Indicators x = indicators(options_, preds, target);
  const at::Tensor positive = x.preds * x.keep, negative = (1 - x.preds) * x.keep;
  state(tp_).add_((positive * x.target).sum(0));
  state(fp_).add_((positive * (1 - x.target)).sum(0));
  state(fn_).add_((negative * x.target).sum(0));
  state(tn_).add_((negative * (1 - x.target)).sum(0));
  state(invalid_).add_(x.invalid);
}

at::Tensor StatScores::reduce(const at::Tensor& numerator, const at::Tensor& denominator) const {
  report_invalid_targets(metric_, options_, state(invalid_));
  if (options_.task == "binary") return safe_divide(numerator, denominator).squeeze(0);
  if (options_.average == "micro") return safe_divide(numerator.sum(), denominator.sum());
  const at::Tensor score = safe_divide(numerator, denominator);
  if (options_.average == "none") return score;
  at::Tensor weights;
  if (options_.average == "weighted") {
    weights = (tp() + fn()).to(at::kFloat);
  } else {  // macro: a multiclass task leaves out the classes it never saw nor predicted
    weights = at::ones_like(score);
    if (!multilabel()) weights = at::where((tp() + fp() + fn()).eq(0), at::zeros_like(weights), weights);
  }
  return safe_divide(weights * score, weights.sum()).sum();
}

}  // namespace detail

Accuracy::Accuracy(ClassificationOptions options)
    : StatScoresMetric("Accuracy", checked("Accuracy", std::move(options), {})) {}

at::Tensor Accuracy::compute_state() const {
  // Binary and multilabel count every label entry, true negatives included; multiclass counts
  // each sample once, so its per-class accuracy is the class's recall.
  if (multilabel() || options().task == "binary") return reduce(tp() + tn(), tp() + tn() + fp() + fn());
  return reduce(tp(), tp() + fn());
}

Precision::Precision(ClassificationOptions options)
    : StatScoresMetric("Precision", checked("Precision", std::move(options), {})) {}

at::Tensor Precision::compute_state() const { return reduce(tp(), tp() + fp()); }

Recall::Recall(ClassificationOptions options) : StatScoresMetric("Recall", checked("Recall", std::move(options), {})) {}

at::Tensor Recall::compute_state() const { return reduce(tp(), tp() + fn()); }

Specificity::Specificity(ClassificationOptions options)
    : StatScoresMetric("Specificity", checked("Specificity", std::move(options), {})) {}

at::Tensor Specificity::compute_state() const { return reduce(tn(), tn() + fp()); }

FBetaScore::FBetaScore(ClassificationOptions options, double beta) : FBetaScore("FBetaScore", std::move(options), beta) {}

FBetaScore::FBetaScore(std::string metric, ClassificationOptions options, double beta)
    : StatScoresMetric(metric, checked(metric, std::move(options), {}, beta)), beta_(beta) {}

at::Tensor FBetaScore::compute_state() const {
  const double b2 = beta_ * beta_;
  const at::Tensor weighted_tp = tp().to(at::kDouble) * (1 + b2);
  return reduce(weighted_tp, weighted_tp + fn().to(at::kDouble) * b2 + fp().to(at::kDouble));
}

F1Score::F1Score(ClassificationOptions options) : FBetaScore("F1Score", std::move(options), 1.0) {}

// ---- ConfusionMatrix ------------------------------------------------------------------------------

namespace {

const std::vector<std::string> kNormalizations = {"none", "true", "pred", "all"};

ClassificationOptions task_of(const ConfusionMatrixOptions& o) {
  return {.task = o.task, .num_classes = o.num_classes, .num_labels = o.num_labels, .threshold = o.threshold,
          .ignore_index = o.ignore_index};
}

std::vector<int64_t> matrix_shape(const ClassificationOptions& o) {
  if (o.task == "multiclass") return {detail::width(o), detail::width(o)};
  if (o.task == "multilabel") return {detail::width(o), 2, 2};
  return {2, 2};
}

}  // namespace

ConfusionMatrix::ConfusionMatrix(ConfusionMatrixOptions options) : options_(std::move(options)), task_(task_of(options_)) {
  DiagnosticCollector problems("while building ConfusionMatrix");
  detail::check_classification_options(problems, "ConfusionMatrix", task_, {.average = false, .top_k = false});
  if (std::find(kNormalizations.begin(), kNormalizations.end(), options_.normalize) == kNormalizations.end()) {
    problems.error(unknown_choice("LC0801",
                                  fmt::format("ConfusionMatrix option `normalize` has an unknown value \"{}\"",
                                              options_.normalize),
                                  {"ConfusionMatrix", {"normalize"}}, options_.normalize, kNormalizations));
  }
  problems.throw_if_errors();
  matrix_ = add_state("confmat", at::zeros(matrix_shape(task_), at::kLong), Reduction::kSum);
  invalid_ = add_state("invalid", at::zeros({}, at::kLong), Reduction::kSum);
}

void ConfusionMatrix::check_inputs(const at::Tensor& preds, const at::Tensor& target) const {
  detail::check_classification_inputs("ConfusionMatrix", task_, preds, target);
}

void ConfusionMatrix::update_state(const at::Tensor& preds, const at::Tensor& target) {
  const detail::Indicators x = detail::indicators(task_, preds, target);
  at::Tensor cells;  // each kept entry's cell in the flattened matrix
  if (task_.task == "multiclass") {
    const int64_t k = detail::width(task_);
    cells = x.target.argmax(1) * k + x.preds.argmax(1);
  } else {
    const int64_t labels = x.preds.size(1);
    cells = at::arange(labels, x.preds.options()).mul(4).unsqueeze(0) + x.target * 2 + x.preds;
  }
  state(matrix_).view({-1}).index_add_(0, cells.reshape({-1}), x.keep.reshape({-1}));
  state(invalid_).add_(x.invalid);
}

at::Tensor ConfusionMatrix::compute_state() const {
  detail::report_invalid_targets("ConfusionMatrix", task_, state(invalid_));
  const at::Tensor& matrix = state(matrix_);
  if (options_.normalize == "none") return matrix.clone();
  const at::Tensor counts = matrix.to(at::kFloat);
  at::Tensor total;
  if (options_.normalize == "true") {
    total = counts.sum(-1, /*keepdim=*/true);
  } else if (options_.normalize == "pred") {
    total = counts.sum(-2, /*keepdim=*/true);
  } else {
    total = counts.sum({-2, -1}, /*keepdim=*/true);
  }
  return safe_divide(counts, total.expand_as(counts));
}

}  // namespace lightning::metrics
