#include <lightning/metrics/aggregation.h>

#include <lightning/diagnostics/diagnostic.h>
#include <lightning/utilities/console.h>

#include "metrics/classification_inputs.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <limits>

namespace lightning::metrics {
namespace detail {

Aggregation::Aggregation() { nans_ = add_state("nans", at::zeros({}, at::kLong), Reduction::kSum); }

void Aggregation::update(double value, double weight) {
  update(at::scalar_tensor(value, at::kDouble), at::scalar_tensor(weight, at::kDouble));
}

void Aggregation::check_inputs(const at::Tensor& value, const at::Tensor& weight) const {
  DiagnosticCollector problems(fmt::format("in the first value given to {}", name()));
  const auto describe = detail::shape_of;
  if (!value.defined() || at::isComplexType(value.scalar_type())) {
    problems.error({.code = "LC0802",
                    .message = fmt::format("{} needs a real value to aggregate", name()),
                    .subject = {fmt::format("{}::update(value)", name())},
                    .received = describe(value),
                    .expected = "a tensor of numbers, or a number",
                    .help = "pass the value, e.g. update(loss.detach())"});
  }
  if (value.defined() && weight.defined()) {
    try {
      (void)at::infer_size(value.sizes(), weight.sizes());
    } catch (const c10::Error&) {
      problems.error({.code = "LC0802",
                      .message = fmt::format("{}: the weight does not broadcast to the value", name()),
                      .subject = {fmt::format("{}::update(value, weight)", name())},
                      .received = fmt::format("value {}, weight {}", describe(value), describe(weight)),
                      .expected = "a weight of the value's shape, or one that broadcasts to it (a number)",
                      .help = "pass one weight per value, or a single weight"});
    }
  }
  problems.throw_if_errors();
}

at::Tensor Aggregation::kept(const at::Tensor& value, at::Tensor& kept_mask) {
  const at::Tensor v = value.to(at::kDouble);
  const at::Tensor nan = v.isnan();
  state(nans_).add_(nan.sum());
  kept_mask = (~nan).to(at::kDouble);
  return at::where(nan, at::zeros_like(v), v);
}

void Aggregation::report_nans() const {
  const int64_t nans = state(nans_).item<int64_t>();
  if (nans == 0) return;
  console::warn_once(Diagnostic{.code = "LC0804",
                                .severity = Severity::kWarning,
                                .message = fmt::format("{} left out {} NaN value{}", name(), nans, nans == 1 ? "" : "s"),
                                .subject = {fmt::format("{}::update(value)", name())},
                                .received = fmt::format("{} NaN value{}", nans, nans == 1 ? "" : "s"),
                                .expected = "numbers",
                                .help = "find where the NaNs come from (a loss that diverged, an empty batch)"}
                         .render());
}

}  // namespace detail

MeanMetric::MeanMetric() {
  sum_ = add_state("mean_value", at::zeros({}, at::kDouble), Reduction::kSum);
  weight_ = add_state("weight", at::zeros({}, at::kDouble), Reduction::kSum);
}

void MeanMetric::update_state(const at::Tensor& value, const at::Tensor& weight) {
  at::Tensor keep;
  const at::Tensor v = kept(value, keep);
  const at::Tensor w = (weight.defined() ? weight.to(at::kDouble) : at::ones_like(v)).expand_as(v) * keep;
  state(sum_).add_((v * w).sum());
  state(weight_).add_(w.sum());
}

at::Tensor MeanMetric::compute_state() const {
  report_nans();
  return (state(sum_) / state(weight_)).to(at::kFloat);
}

SumMetric::SumMetric() { sum_ = add_state("sum_value", at::zeros({}, at::kDouble), Reduction::kSum); }

void SumMetric::update_state(const at::Tensor& value, const at::Tensor&) {
  at::Tensor keep;
  state(sum_).add_(kept(value, keep).sum());
}

at::Tensor SumMetric::compute_state() const {
  report_nans();
  return state(sum_).to(at::kFloat);
}

MaxMetric::MaxMetric() {
  max_ = add_state("max_value", at::full({}, -std::numeric_limits<double>::infinity(), at::kDouble), Reduction::kMax);
}

void MaxMetric::update_state(const at::Tensor& value, const at::Tensor&) {
  at::Tensor keep;
  const at::Tensor v = kept(value, keep);
  const at::Tensor candidates = at::where(keep.to(at::kBool), v, at::full_like(v, -std::numeric_limits<double>::infinity()));
  if (candidates.numel() > 0) state(max_) = at::maximum(state(max_), candidates.max());
}

at::Tensor MaxMetric::compute_state() const {
  report_nans();
  return state(max_).to(at::kFloat);
}

MinMetric::MinMetric() {
  min_ = add_state("min_value", at::full({}, std::numeric_limits<double>::infinity(), at::kDouble), Reduction::kMin);
}

void MinMetric::update_state(const at::Tensor& value, const at::Tensor&) {
  at::Tensor keep;
  const at::Tensor v = kept(value, keep);
  const at::Tensor candidates = at::where(keep.to(at::kBool), v, at::full_like(v, std::numeric_limits<double>::infinity()));
  if (candidates.numel() > 0) state(min_) = at::minimum(state(min_), candidates.min());
}

at::Tensor MinMetric::compute_state() const {
  report_nans();
  return state(min_).to(at::kFloat);
}

CatMetric::CatMetric() { values_ = add_list_state("value"); }

void CatMetric::update_state(const at::Tensor& value, const at::Tensor&) {
  // NaNs stay: a concatenation keeps what it was given, in order (leaving them out would need
  // the batch's size of kept values, a host read).
  append(values_, value.detach().reshape({-1}).clone());
}

at::Tensor CatMetric::compute_state() const { return concatenated(values_, at::kFloat); }

}  // namespace lightning::metrics
