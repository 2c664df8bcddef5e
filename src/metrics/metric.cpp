#include <lightning/metrics/metric.h>

#include <ATen/ATen.h>

#include <utility>

namespace lightning::metrics {
namespace {

MetricState deep_copy(const MetricState& state) {
  MetricState copy{.name = state.name, .reduction = state.reduction};
  if (state.default_value.defined()) copy.default_value = state.default_value.clone();
  if (state.value.defined()) copy.value = state.value.clone();
  for (const auto& part : state.parts) copy.parts.push_back(part.clone());
  return copy;
}

/// `accumulated` and one batch's `batch` states as one; `updates` counts both (for "mean").
void merge(MetricState& batch, const MetricState& accumulated, int64_t updates) {
  switch (batch.reduction) {
    case Reduction::kSum:
      batch.value = accumulated.value + batch.value;
      break;
    case Reduction::kMean:  // torchmetrics' running mean over the updates
      batch.value = (accumulated.value * static_cast<double>(updates - 1) + batch.value) / static_cast<double>(updates);
      break;
    case Reduction::kMax:
      batch.value = at::maximum(accumulated.value, batch.value);
      break;
    case Reduction::kMin:
      batch.value = at::minimum(accumulated.value, batch.value);
      break;
    case Reduction::kCat: {
      std::vector<at::Tensor> parts = accumulated.parts;
      parts.insert(parts.end(), batch.parts.begin(), batch.parts.end());
      batch.parts = std::move(parts);
      break;
    }
  }
}

}  // namespace

Metric::Metric(const Metric& other)
    : last_batch_value_(other.last_batch_value_.defined() ? other.last_batch_value_.clone() : at::Tensor()),
      update_count_(other.update_count_),
      inputs_checked_(other.inputs_checked_) {
  states_.reserve(other.states_.size());
  for (const auto& state : other.states_) states_.push_back(deep_copy(state));
}

Metric& Metric::operator=(const Metric& other) {
  if (this == &other) return *this;
  std::vector<MetricState> states;
  states.reserve(other.states_.size());
  for (const auto& state : other.states_) states.push_back(deep_copy(state));
  states_ = std::move(states);
  last_batch_value_ = other.last_batch_value_.defined() ? other.last_batch_value_.clone() : at::Tensor();
  update_count_ = other.update_count_;
  inputs_checked_ = other.inputs_checked_;
  return *this;
}

std::size_t Metric::add_state(std::string name, at::Tensor default_value, Reduction reduction) {
  at::Tensor value = default_value.clone();
  states_.push_back({.name = std::move(name), .reduction = reduction, .default_value = std::move(default_value),
                     .value = std::move(value)});
  return states_.size() - 1;
}

std::size_t Metric::add_list_state(std::string name) {
  states_.push_back({.name = std::move(name), .reduction = Reduction::kCat});
  return states_.size() - 1;
}

at::Tensor Metric::concatenated(std::size_t index, c10::ScalarType dtype) const {
  const auto& parts = states_[index].parts;
  if (parts.empty()) return at::empty({0}, at::TensorOptions(dtype));
  return parts.size() == 1 ? parts.front() : at::cat(parts);
}

void Metric::update(const at::Tensor& first, const at::Tensor& second) {
  if (!inputs_checked_) {
    check_inputs(first, second);
    inputs_checked_ = true;
  }
  update_state(first, second);
  ++update_count_;
}

at::Tensor Metric::forward(const at::Tensor& first, const at::Tensor& second) {
  // The batch's value comes from states that hold this batch alone; then the batch joins the rest.
  std::vector<MetricState> accumulated = std::move(states_);
  const int64_t updates = update_count_;
  states_.clear();
  for (const auto& state : accumulated) {
    states_.push_back({.name = state.name, .reduction = state.reduction, .default_value = state.default_value,
                       .value = state.default_value.defined() ? state.default_value.clone() : at::Tensor()});
  }
  try {
    update(first, second);
  } catch (...) {
    states_ = std::move(accumulated);  // a batch that cannot be added leaves the metric as it was
    update_count_ = updates;
    throw;
  }
  last_batch_value_ = compute_state();
  update_count_ = updates + 1;
  for (std::size_t i = 0; i < states_.size(); ++i) merge(states_[i], accumulated[i], update_count_);
  return last_batch_value_;
}

at::Tensor Metric::compute() const { return compute_state(); }

void Metric::reset() {
  for (auto& state : states_) {
    if (state.default_value.defined()) state.value = state.default_value.clone();
    state.parts.clear();
  }
  last_batch_value_ = at::Tensor();
  update_count_ = 0;
}

void Metric::to(const c10::Device& device) {
  for (auto& state : states_) {
    if (state.default_value.defined()) state.default_value = state.default_value.to(device);
    if (state.value.defined()) state.value = state.value.to(device);
    for (auto& part : state.parts) part = part.to(device);
  }
  if (last_batch_value_.defined()) last_batch_value_ = last_batch_value_.to(device);
}

}  // namespace lightning::metrics
