// AUROC and AveragePrecision: both read a class's curve of (false positives, true positives) at
// decreasing thresholds, kept exactly (every score) or at fixed thresholds (binned).

#include <lightning/metrics/classification.h>

#include <lightning/diagnostics/diagnostic.h>

#include "metrics/classification_inputs.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <vector>

namespace lightning::metrics {
namespace {

using detail::safe_divide;

ClassificationOptions task_of(const CurveOptions& o) {
  return {.task = o.task, .num_classes = o.num_classes, .num_labels = o.num_labels, .ignore_index = o.ignore_index};
}

CurveOptions checked(const std::string& metric, CurveOptions o) {
  DiagnosticCollector problems(fmt::format("while building {}", metric));
  detail::check_classification_options(problems, metric, task_of(o), {.average = false, .top_k = false});
  std::vector<std::string> averages = {"macro", "weighted", "none"};
  if (o.task == "multilabel") averages.insert(averages.begin(), "micro");
  if (o.task != "binary" && std::find(averages.begin(), averages.end(), o.average) == averages.end()) {
    problems.error(unknown_choice("LC0801", fmt::format("{} option `average` has an unknown value \"{}\"", metric, o.average),
                                  {metric, {"average"}}, o.average, averages));
  }
  if (o.thresholds && *o.thresholds < 2) {
    problems.error(out_of_range("LC0801", {metric, {"thresholds"}}, "at least 2", std::to_string(*o.thresholds),
                                "unset (exact), or a number of thresholds >= 2", "e.g. .thresholds = 100"));
  }
  problems.throw_if_errors();
  return o;
}

/// Scores as probabilities: softmax over classes, or a sigmoid, when any value lies outside [0, 1]
/// (torchmetrics' rule, decided on the device).
at::Tensor probabilities(const std::string& task, const at::Tensor& preds) {
  const at::Tensor p = preds.to(at::kDouble);
  const at::Tensor logits = (p.lt(0) | p.gt(1)).any();
  return at::where(logits, task == "multiclass" ? p.softmax(1) : p.sigmoid(), p);
}

}  // namespace

namespace detail {

RankingMetric::RankingMetric(std::string metric, CurveOptions options)
    : metric_(std::move(metric)), options_(checked(metric_, std::move(options))), task_(task_of(options_)) {
  const int64_t k = width(task_);
  if (options_.thresholds) {
    const int64_t n = *options_.thresholds;
    tps_ = add_state("tps", at::zeros({k, n}, at::kLong), Reduction::kSum);
    fps_ = add_state("fps", at::zeros({k, n}, at::kLong), Reduction::kSum);
    totals_ = add_state("positives_negatives", at::zeros({k, 2}, at::kLong), Reduction::kSum);
  } else {
    scores_ = add_list_state("preds");
    targets_ = add_list_state("target");
  }
  invalid_ = add_state("invalid", at::zeros({}, at::kLong), Reduction::kSum);
}

void RankingMetric::check_inputs(const at::Tensor& preds, const at::Tensor& target) const {
  if (preds.defined() && !at::isFloatingType(preds.scalar_type())) {
    throw MisconfigurationException(
        {{.code = "LC0802",
          .message = fmt::format("{} (task \"{}\"): ranking needs scores, not labels", metric_, options_.task),
          .subject = {fmt::format("{}::update(preds, target)", metric_)},
          .received = fmt::format("preds of {}", c10::toString(preds.scalar_type())),
          .expected = "floating scores: probabilities or logits",
          .help = "pass the model's output (logits or probabilities), not its argmax"}},
        fmt::format("in the first batch given to {}", metric_));
  }
  check_classification_inputs(metric_, task_, preds, target);
}

void RankingMetric::update_state(const at::Tensor& preds, const at::Tensor& target) {
  // The 0/1 target matrix, and which entries count (not ignored, in range).
  const Indicators x = indicators(task_, at::zeros_like(target, at::kLong), target);
  state(invalid_).add_(x.invalid);
  const int64_t k = width(task_);
  const at::Tensor scores = probabilities(options_.task, preds).reshape({-1, k});
  const at::Tensor kept = x.keep.expand_as(x.target);
  if (!options_.thresholds) {
    append(scores_, scores.detach());
    append(targets_, at::where(kept.eq(1), x.target, at::full_like(x.target, -1)));  // -1: left out
    return;
  }
  const at::Tensor thresholds = at::linspace(0, 1, *options_.thresholds, scores.options());
  // above[i][c][j]: sample i's score for class c reaches threshold j.
  const at::Tensor above = scores.unsqueeze(-1).ge(thresholds).to(at::kLong) * kept.unsqueeze(-1);
  state(tps_).add_((above * x.target.unsqueeze(-1)).sum(0));
  state(fps_).add_((above * (1 - x.target).unsqueeze(-1)).sum(0));
  state(totals_).add_(at::stack({(x.target * kept).sum(0), ((1 - x.target) * kept).sum(0)}, 1));
}

std::pair<at::Tensor, at::Tensor> RankingMetric::counts(int64_t k) const {
  if (options_.thresholds) {
    // Highest threshold first, as the exact curve runs.
    const at::Tensor tps = k < 0 ? state(tps_).sum(0) : state(tps_)[k];
    const at::Tensor fps = k < 0 ? state(fps_).sum(0) : state(fps_)[k];
    return {tps.flip(0), fps.flip(0)};
  }
  const at::Tensor all_scores = concatenated(scores_, at::kDouble);
  const at::Tensor all_targets = concatenated(targets_, at::kLong);
  if (all_scores.numel() == 0) return {at::zeros({1}, at::kLong), at::zeros({1}, at::kLong)};
  const at::Tensor s = k < 0 ? all_scores.reshape({-1}) : all_scores.select(1, k);
  const at::Tensor t = k < 0 ? all_targets.reshape({-1}) : all_targets.select(1, k);
  const at::Tensor kept = t.ge(0);
  const at::Tensor scores = s.masked_select(kept), targets = t.masked_select(kept);
  const auto sorted = at::sort(scores, /*stable=*/true, /*dim=*/0, /*descending=*/true);
  const at::Tensor& ordered = std::get<0>(sorted);
  const at::Tensor hits = targets.index_select(0, std::get<1>(sorted));
  // The last position of each distinct score: ties share one point of the curve.
  const at::Tensor last = at::cat({at::nonzero(ordered.slice(0, 1).ne(ordered.slice(0, 0, -1))).reshape({-1}),
                                   at::full({1}, ordered.size(0) - 1, at::kLong)});
  const at::Tensor tps = hits.cumsum(0).index_select(0, last);
  const at::Tensor fps = last + 1 - tps;
  // Starting at (0, 0), as scikit-learn's curve does.
  return {at::cat({at::zeros({1}, at::kLong), tps}), at::cat({at::zeros({1}, at::kLong), fps})};
}

at::Tensor RankingMetric::compute_state() const {
  report_invalid_targets(metric_, task_, state(invalid_));
  const auto value_of = [&](int64_t k) {
    auto [tps, fps] = counts(k);
    at::Tensor positives, negatives;
    if (options_.thresholds) {
      const at::Tensor totals = k < 0 ? state(totals_).sum(0) : state(totals_)[k];
      positives = totals[0];
      negatives = totals[1];
    } else {
      positives = tps[-1];
      negatives = fps[-1];
    }
    return from_counts(tps, fps, positives, negatives);
  };
  if (options_.task == "binary") return value_of(0).to(at::kFloat);
  if (options_.average == "micro") return value_of(-1).to(at::kFloat);
  const int64_t k = width(task_);
  std::vector<at::Tensor> per_class;
  for (int64_t c = 0; c < k; ++c) per_class.push_back(value_of(c));
  const at::Tensor values = at::stack(per_class);
  if (options_.average == "none") return values.to(at::kFloat);
  if (options_.average == "weighted") {
    at::Tensor support;
    if (options_.thresholds) {
      support = state(totals_).select(1, 0).to(at::kDouble);
    } else {
      const at::Tensor t = concatenated(targets_, at::kLong);
      support = (t.numel() == 0 ? at::zeros({k}, at::kLong) : (t.clamp_min(0)).sum(0)).to(at::kDouble);
    }
    return safe_divide((values * support).sum(), support.sum()).to(at::kFloat);
  }
  return values.mean().to(at::kFloat);
}

}  // namespace detail

AUROC::AUROC(CurveOptions options) : RankingMetricOf("AUROC", std::move(options)) {}

at::Tensor AUROC::from_counts(const at::Tensor& tps, const at::Tensor& fps, const at::Tensor& positives,
                              const at::Tensor& negatives) const {
  const at::Tensor tpr = safe_divide(tps, positives.expand_as(tps));
  const at::Tensor fpr = safe_divide(fps, negatives.expand_as(fps));
  // The trapezoids under the curve, which runs from low to high false-positive rates.
  const at::Tensor width = fpr.slice(0, 1) - fpr.slice(0, 0, -1);
  return (width * (tpr.slice(0, 1) + tpr.slice(0, 0, -1)) / 2).sum();
}

AveragePrecision::AveragePrecision(CurveOptions options) : RankingMetricOf("AveragePrecision", std::move(options)) {}

at::Tensor AveragePrecision::from_counts(const at::Tensor& tps, const at::Tensor& fps, const at::Tensor& positives,
                                         const at::Tensor&) const {
  // Each step in recall, times the precision where it is reached (1 where nothing is predicted).
  const at::Tensor precision = safe_divide(tps, tps + fps, 1.0);
  const at::Tensor recall = safe_divide(tps, positives.expand_as(tps));
  const at::Tensor step = at::cat({recall.slice(0, 0, 1), recall.slice(0, 1) - recall.slice(0, 0, -1)});
  return (step * precision).sum();
}

}  // namespace lightning::metrics
