#pragma once
// Aggregations of logged values with torchmetrics' names: update(value) or, for MeanMetric,
// update(value, weight). A value is any tensor (every element counts) or a number. NaN values are
// left out on the device, without a host read, and compute() says how many were (warning LC0804);
// CatMetric keeps them, in order.

#include <lightning/metrics/metric.h>

#include <string>

namespace lightning::metrics {

namespace detail {
/// What the aggregations share: their value's checks and the count of NaNs left out.
class Aggregation : public Metric {
 public:
  using Metric::update;
  void update(double value, double weight = 1.0);

 protected:
  Aggregation();
  void check_inputs(const at::Tensor& value, const at::Tensor& weight) const override;
  /// `value` as float64 with NaNs left out (`kept` 0 there), counting them.
  at::Tensor kept(const at::Tensor& value, at::Tensor& kept_mask);
  /// Warns (once) when NaNs were left out.
  void report_nans() const;

 private:
  std::size_t nans_ = 0;
};

template <class Derived>
class AggregationMetric : public Aggregation {
 public:
  std::unique_ptr<Metric> clone() const override { return std::make_unique<Derived>(static_cast<const Derived&>(*this)); }
};
}  // namespace detail

/// The weighted mean: sum(value * weight) / sum(weight); weight broadcasts to the value's shape.
class MeanMetric : public detail::AggregationMetric<MeanMetric> {
 public:
  MeanMetric();
  std::string name() const override { return "MeanMetric"; }

 protected:
  void update_state(const at::Tensor& value, const at::Tensor& weight) override;
  at::Tensor compute_state() const override;

 private:
  std::size_t sum_ = 0, weight_ = 0;
};

class SumMetric : public detail::AggregationMetric<SumMetric> {
 public:
  SumMetric();
  std::string name() const override { return "SumMetric"; }

 protected:
  void update_state(const at::Tensor& value, const at::Tensor& weight) override;
  at::Tensor compute_state() const override;

 private:
  std::size_t sum_ = 0;
};

/// The largest value seen (-inf before any).
class MaxMetric : public detail::AggregationMetric<MaxMetric> {
 public:
  MaxMetric();
  std::string name() const override { return "MaxMetric"; }

 protected:
  void update_state(const at::Tensor& value, const at::Tensor& weight) override;
  at::Tensor compute_state() const override;

 private:
  std::size_t max_ = 0;
};

/// The smallest value seen (+inf before any).
class MinMetric : public detail::AggregationMetric<MinMetric> {
 public:
  MinMetric();
  std::string name() const override { return "MinMetric"; }

 protected:
  void update_state(const at::Tensor& value, const at::Tensor& weight) override;
  at::Tensor compute_state() const override;

 private:
  std::size_t min_ = 0;
};

/// Every value seen, flattened and concatenated in order.
class CatMetric : public detail::AggregationMetric<CatMetric> {
 public:
  CatMetric();
  std::string name() const override { return "CatMetric"; }

 protected:
  void update_state(const at::Tensor& value, const at::Tensor& weight) override;
  at::Tensor compute_state() const override;

 private:
  std::size_t values_ = 0;
};

}  // namespace lightning::metrics
