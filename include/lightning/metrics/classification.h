#pragma once
// Classification metrics with torchmetrics' task interface, options and results.
//
//   pl::metrics::F1Score f1({.task = "multiclass", .num_classes = 10, .average = "macro"});
//   f1.update(logits, target);   // logits [N, 10] (or labels [N]), target [N] class indices
//
// Predictions: "binary" takes [N] probabilities, logits (a sigmoid is applied when a value lies
// outside [0, 1]) or 0/1 labels; "multiclass" takes [N, C] scores (the top_k highest count) or [N]
// labels; "multilabel" takes [N, L] probabilities or logits. Targets are integers: [N] class
// indices, or [N, L] of 0 and 1 for multilabel. A target equal to `ignore_index` is left out.
// Each metric checks its options when built and its inputs on the first update, every problem at
// once, in a MisconfigurationException (LC0801-LC0803).

#include <lightning/metrics/metric.h>

#include <cstdint>
#include <optional>
#include <string>

namespace lightning::metrics {

/// Options shared by the classification metrics (torchmetrics' task wrappers).
struct ClassificationOptions {
  std::string task;                                ///< "binary", "multiclass" or "multilabel"
  std::optional<int64_t> num_classes = std::nullopt;  ///< multiclass: the number of classes (>= 2)
  std::optional<int64_t> num_labels = std::nullopt;   ///< multilabel: the number of labels (>= 2)
  double threshold = 0.5;                          ///< binary, multilabel: a probability above it is positive
  /// How classes (or labels) combine: "micro" (count every prediction), "macro" (mean over classes),
  /// "weighted" (by each class's support), "none" (one value per class). Not used by "binary".
  std::string average = "micro";
  int64_t top_k = 1;                               ///< multiclass scores: a hit among the k highest
  std::optional<int64_t> ignore_index = std::nullopt;  ///< a target value that is left out
};

namespace detail {
/// The true/false positive/negative counts per class (or label) that the stat-score metrics share.
class StatScores : public Metric {
 protected:
  explicit StatScores(std::string metric, ClassificationOptions options);
  void check_inputs(const at::Tensor& preds, const at::Tensor& target) const override;
  void update_state(const at::Tensor& preds, const at::Tensor& target) override;
  /// `numerator / denominator` of the counts, reduced over classes by `average` as torchmetrics
  /// does (macro leaves out classes a multiclass task never saw nor predicted).
  at::Tensor reduce(const at::Tensor& numerator, const at::Tensor& denominator) const;
  const at::Tensor& tp() const { return state(tp_); }
  const at::Tensor& fp() const { return state(fp_); }
  const at::Tensor& tn() const { return state(tn_); }
  const at::Tensor& fn() const { return state(fn_); }
  const ClassificationOptions& options() const { return options_; }
  bool multilabel() const { return options_.task == "multilabel"; }

 private:
  std::string metric_;
  ClassificationOptions options_;
  std::size_t tp_ = 0, fp_ = 0, tn_ = 0, fn_ = 0, invalid_ = 0;
};

template <class Derived>
class StatScoresMetric : public StatScores {
 public:
  std::unique_ptr<Metric> clone() const override { return std::make_unique<Derived>(static_cast<const Derived&>(*this)); }

 protected:
  using StatScores::StatScores;
};
}  // namespace detail

/// The fraction of correct predictions: micro over every prediction (multilabel: every label
/// entry), macro/weighted over the classes' recalls.
class Accuracy : public detail::StatScoresMetric<Accuracy> {
 public:
  explicit Accuracy(ClassificationOptions options);
  std::string name() const override { return "Accuracy"; }

 protected:
  at::Tensor compute_state() const override;
};

/// tp / (tp + fp).
class Precision : public detail::StatScoresMetric<Precision> {
 public:
  explicit Precision(ClassificationOptions options);
  std::string name() const override { return "Precision"; }

 protected:
  at::Tensor compute_state() const override;
};

/// tp / (tp + fn).
class Recall : public detail::StatScoresMetric<Recall> {
 public:
  explicit Recall(ClassificationOptions options);
  std::string name() const override { return "Recall"; }

 protected:
  at::Tensor compute_state() const override;
};

/// tn / (tn + fp).
class Specificity : public detail::StatScoresMetric<Specificity> {
 public:
  explicit Specificity(ClassificationOptions options);
  std::string name() const override { return "Specificity"; }

 protected:
  at::Tensor compute_state() const override;
};

/// (1 + beta²) tp / ((1 + beta²) tp + beta² fn + fp): beta > 1 weighs recall more.
class FBetaScore : public detail::StatScoresMetric<FBetaScore> {
 public:
  /// Throws MisconfigurationException (LC0801) for beta <= 0, besides the options' own checks.
  explicit FBetaScore(ClassificationOptions options, double beta = 1.0);
  std::string name() const override { return "FBetaScore"; }

 protected:
  FBetaScore(std::string metric, ClassificationOptions options, double beta);
  at::Tensor compute_state() const override;

 private:
  double beta_;
};

/// FBetaScore with beta = 1.
class F1Score : public FBetaScore {
 public:
  explicit F1Score(ClassificationOptions options);
  std::string name() const override { return "F1Score"; }
  std::unique_ptr<Metric> clone() const override { return std::make_unique<F1Score>(*this); }
};

struct ConfusionMatrixOptions {
  std::string task;                                   ///< "binary", "multiclass" or "multilabel"
  std::optional<int64_t> num_classes = std::nullopt;
  std::optional<int64_t> num_labels = std::nullopt;
  double threshold = 0.5;
  /// "none" (counts), "true" (each row, a true class, sums to 1), "pred" (each column), "all".
  std::string normalize = "none";
  std::optional<int64_t> ignore_index = std::nullopt;
};

/// Rows are true classes, columns predicted ones: [C, C] (multiclass), [2, 2] (binary), [L, 2, 2]
/// (multilabel). Counts are int64; a normalized matrix is float, with 0 where a row or column is empty.
class ConfusionMatrix : public Cloneable<ConfusionMatrix> {
 public:
  explicit ConfusionMatrix(ConfusionMatrixOptions options);
  std::string name() const override { return "ConfusionMatrix"; }

 protected:
  void check_inputs(const at::Tensor& preds, const at::Tensor& target) const override;
  void update_state(const at::Tensor& preds, const at::Tensor& target) override;
  at::Tensor compute_state() const override;

 private:
  ConfusionMatrixOptions options_;
  ClassificationOptions task_;  ///< the same task, as the shared input checks read it
  std::size_t matrix_ = 0, invalid_ = 0;
};

/// Options of the ranking metrics (AUROC, AveragePrecision).
struct CurveOptions {
  std::string task;                                   ///< "binary", "multiclass" or "multilabel"
  std::optional<int64_t> num_classes = std::nullopt;
  std::optional<int64_t> num_labels = std::nullopt;
  /// Unset: exact, from every score seen (states grow with the epoch). N >= 2: N thresholds evenly
  /// spaced in [0, 1], with a fixed-size state (torchmetrics' binned mode).
  std::optional<int64_t> thresholds = std::nullopt;
  /// Classes or labels: "macro" (their mean), "weighted" (by support), "none" (one value each).
  std::string average = "macro";
  std::optional<int64_t> ignore_index = std::nullopt;
};

namespace detail {
/// Scores and targets, kept whole (exact) or counted at fixed thresholds (binned), per class.
class RankingMetric : public Metric {
 protected:
  RankingMetric(std::string metric, CurveOptions options);
  void check_inputs(const at::Tensor& preds, const at::Tensor& target) const override;
  void update_state(const at::Tensor& preds, const at::Tensor& target) override;
  at::Tensor compute_state() const override;
  /// One class's value from its curve's counts at decreasing thresholds: true and false
  /// positives at each, with their totals.
  virtual at::Tensor from_counts(const at::Tensor& tps, const at::Tensor& fps, const at::Tensor& positives,
                                 const at::Tensor& negatives) const = 0;

 private:
  /// The counts at each threshold of class `k`, highest threshold first.
  std::pair<at::Tensor, at::Tensor> counts(int64_t k) const;
  std::string metric_;
  CurveOptions options_;
  ClassificationOptions task_;
  std::size_t scores_ = 0, targets_ = 0;          // exact: every score and target, as lists
  std::size_t tps_ = 0, fps_ = 0, totals_ = 0;     // binned: counts per class and threshold
  std::size_t invalid_ = 0;
};

template <class Derived>
class RankingMetricOf : public RankingMetric {
 public:
  std::unique_ptr<Metric> clone() const override { return std::make_unique<Derived>(static_cast<const Derived&>(*this)); }

 protected:
  using RankingMetric::RankingMetric;
};
}  // namespace detail

/// The area under the ROC curve (scikit-learn's roc_auc_score; one-vs-rest for multiclass).
class AUROC : public detail::RankingMetricOf<AUROC> {
 public:
  explicit AUROC(CurveOptions options);
  std::string name() const override { return "AUROC"; }

 protected:
  at::Tensor from_counts(const at::Tensor& tps, const at::Tensor& fps, const at::Tensor& positives,
                         const at::Tensor& negatives) const override;
};

/// The precision-recall curve summarised as the sum of precisions weighted by each step in recall
/// (scikit-learn's average_precision_score).
class AveragePrecision : public detail::RankingMetricOf<AveragePrecision> {
 public:
  explicit AveragePrecision(CurveOptions options);
  std::string name() const override { return "AveragePrecision"; }

 protected:
  at::Tensor from_counts(const at::Tensor& tps, const at::Tensor& fps, const at::Tensor& positives,
                         const at::Tensor& negatives) const override;
};

}  // namespace lightning::metrics
