#pragma once
// Metrics with torchmetrics' names and results: each keeps the states its formula needs (counts,
// sums, the scores themselves), summed over batches and, in a distributed run, over ranks, so a
// macro F1 or an AUROC is the value over the whole epoch, not a mean of batch values.
//
//   pl::metrics::Accuracy accuracy({.task = "multiclass", .num_classes = 10});
//   accuracy.update(logits, target);          // adds a batch; reads nothing back to the host
//   at::Tensor batch = accuracy.forward(logits, target);  // adds it and gives its own value
//   double epoch = accuracy.compute().item<double>();     // over every batch since reset()
//   accuracy.reset();

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lightning::metrics {

/// How the batches of `forward`, and the ranks of a distributed run, combine a state
/// (torchmetrics' `dist_reduce_fx`).
enum class Reduction { kSum, kMean, kMax, kMin, kCat };

/// A named state of a metric. Tensor states hold `value`; "cat" states hold the batches' tensors
/// in `parts`, concatenated along the first dimension when they are read.
struct MetricState {
  std::string name;
  Reduction reduction = Reduction::kSum;
  at::Tensor default_value;  ///< what reset() restores (empty for "cat" states)
  at::Tensor value;
  std::vector<at::Tensor> parts;
};

/// The base of every metric (torchmetrics' `Metric`). A metric declares its states in its
/// constructor (`add_state`); `update` adds a batch to them, `compute` applies the formula.
/// Copies are deep: a copied metric's states are its own.
class Metric {
 public:
  virtual ~Metric() = default;
  Metric(const Metric& other);
  Metric& operator=(const Metric& other);
  Metric(Metric&&) noexcept = default;
  Metric& operator=(Metric&&) noexcept = default;

  /// torchmetrics' class name, e.g. "Accuracy".
  virtual std::string name() const = 0;
  /// A deep copy, of the same class.
  virtual std::unique_ptr<Metric> clone() const = 0;

  /// Adds a batch: predictions and targets for classification and regression; a value and an
  /// optional weight for the aggregations. The first update checks its inputs (a
  /// MisconfigurationException names what does not fit); later ones read nothing to the host.
  void update(const at::Tensor& first, const at::Tensor& second = {});
  /// Adds the batch and returns the metric of that batch alone (torchmetrics' `forward`).
  at::Tensor forward(const at::Tensor& first, const at::Tensor& second = {});
  /// The value over every batch added since the last reset().
  at::Tensor compute() const;
  /// Back to the states' defaults.
  void reset();
  /// Moves the states to `device` (as a module's parameters move).
  void to(const c10::Device& device);

  /// The value the last forward() returned; undefined before the first.
  const at::Tensor& last_batch_value() const { return last_batch_value_; }
  /// update() or forward() calls since the last reset().
  int64_t update_count() const { return update_count_; }
  /// The states in declaration order: what a checkpoint saves and what ranks combine.
  const std::vector<MetricState>& states() const { return states_; }
  std::vector<MetricState>& states() { return states_; }

 protected:
  Metric() = default;
  /// Declares a tensor state with its default and how it combines; returns its index.
  std::size_t add_state(std::string name, at::Tensor default_value, Reduction reduction);
  /// Declares a "cat" state (a list of the batches' tensors); returns its index.
  std::size_t add_list_state(std::string name);
  at::Tensor& state(std::size_t index) { return states_[index].value; }
  const at::Tensor& state(std::size_t index) const { return states_[index].value; }
  /// A "cat" state's batches, concatenated (an empty tensor of `dtype` when there are none).
  at::Tensor concatenated(std::size_t index, c10::ScalarType dtype) const;
  void append(std::size_t index, at::Tensor part) { states_[index].parts.push_back(std::move(part)); }

  /// Checks a batch's inputs once, on the first update since construction; may read to the host.
  virtual void check_inputs(const at::Tensor& first, const at::Tensor& second) const {}
  virtual void update_state(const at::Tensor& first, const at::Tensor& second) = 0;
  virtual at::Tensor compute_state() const = 0;

 private:
  std::vector<MetricState> states_;
  at::Tensor last_batch_value_;
  int64_t update_count_ = 0;
  bool inputs_checked_ = false;
};

/// `clone()` for a metric class: `class Accuracy : public Cloneable<Accuracy> {...}`.
template <class Derived>
class Cloneable : public Metric {
 public:
  std::unique_ptr<Metric> clone() const override { return std::make_unique<Derived>(static_cast<const Derived&>(*this)); }
};

}  // namespace lightning::metrics
