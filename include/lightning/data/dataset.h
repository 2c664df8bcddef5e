#pragma once

#include <lightning/data/batch.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace lightning {

/// A map-style dataset: a size and the sample at an index (Lightning's / PyTorch's `Dataset`).
class Dataset {
 public:
  virtual ~Dataset() = default;
  /// Number of samples.
  virtual int64_t size() const = 0;
  /// The sample at `index`, 0 <= index < size().
  virtual Batch get(int64_t index) const = 0;
  /// The samples at `indices` already collated. The default stacks `get(i)` with `collate`;
  /// datasets that hold whole tensors override it with one gather per tensor.
  virtual Batch get_batch(std::span<const int64_t> indices) const;
};

/// Stacks samples of the same shape into a batch: tensors are stacked along a new first dimension,
/// tuples and maps are collated element by element. Throws std::invalid_argument naming the path
/// of the first element whose samples disagree.
Batch collate(const std::vector<Batch>& samples);

/// Samples are the rows of the given tensors, which share their first dimension.
///
///   pl::TensorDataset dataset(features, labels);   // dataset.get(i) is Batch{features[i], labels[i]}
class TensorDataset : public Dataset {
 public:
  /// Throws MisconfigurationException (LC0207) for no tensor, a tensor without a first dimension, or
  /// tensors that disagree on it.
  explicit TensorDataset(std::vector<at::Tensor> tensors);
  template <class... T>
    requires(sizeof...(T) > 0 && (std::convertible_to<T, at::Tensor> && ...))
  explicit TensorDataset(T... tensors) : TensorDataset(std::vector<at::Tensor>{tensors...}) {}

  int64_t size() const override { return size_; }
  Batch get(int64_t index) const override;
  Batch get_batch(std::span<const int64_t> indices) const override;
  const std::vector<at::Tensor>& tensors() const { return tensors_; }

 private:
  std::vector<at::Tensor> tensors_;
  int64_t size_ = 0;
};

struct CSVDatasetOptions {
  /// Index of the target column; negative counts from the end (-1: the last column).
  int64_t target_column = -1;
  /// Lines to skip before the data (a header).
  int64_t skip_rows = 0;
  char delimiter = ',';
  /// Targets as int64 class labels (classification) or float32 values (regression).
  bool integer_targets = true;
  /// With integer targets: the number of classes, so that a label outside 0 .. num_classes - 1 is
  /// found in the file (LC0205 at its line) instead of failing the loss mid-training; unset: any
  /// whole number.
  std::optional<int64_t> num_classes = std::nullopt;
};

/// A numeric table: every column but the target becomes a float32 feature.
/// Reads plain text or gzip-compressed files (`.gz`) directly. Samples are Batch{features, target}.
///
///   pl::CSVDataset digits("examples/data/digits.csv.gz", {.target_column = -1});
class CSVDataset : public TensorDataset {
 public:
  /// Throws MisconfigurationException for a value that cannot be trained on, at its line and
  /// column (LC0205: not a number, a ragged row, no rows, a class target that is no whole number
  /// or outside `num_classes`, nan or inf), and for options that do not fit the file (LC0206); std::runtime_error naming the
  /// path when the file cannot be read.
  explicit CSVDataset(const std::filesystem::path& path, CSVDatasetOptions options = {});
  const at::Tensor& features() const { return tensors()[0]; }
  const at::Tensor& targets() const { return tensors()[1]; }
};

}  // namespace lightning
