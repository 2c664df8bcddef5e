#pragma once
// Data modules a config can name: any numeric CSV file, and the digits data set.

#include <lightning/core/datamodule.h>
#include <lightning/data/dataset.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace lightning::demos {

struct CSVDataModuleOptions {
  /// A numeric CSV file, plain or gzip-compressed (DigitsDataModule: "" is the digits file).
  std::string path = "";
  /// The target's column; negative counts from the end (-1: the last).
  int64_t target_column = -1;
  /// Header lines to skip.
  int64_t skip_rows = 0;
  /// Integer class labels (classification) or float targets (regression).
  bool integer_targets = true;
  /// The classes a label must be one of (CSVDatasetOptions::num_classes); unset: any whole number.
  std::optional<int64_t> num_classes = std::nullopt;
  /// Fractions of the shuffled rows held out for validation and test; the rest trains.
  double val_fraction = 0.15;
  double test_fraction = 0.15;
  /// Seed of the split's permutation, so that every run and every stage sees the same split.
  int64_t split_seed = 0;
  /// Scale each feature to mean 0 and standard deviation 1, with the training rows' statistics.
  bool standardize = true;
  int64_t batch_size = 32;
  int64_t num_workers = 0;
};

/// A numeric CSV file split into train, validation and test; `predict_dataloader` gives the test
/// rows. Throws (naming the path, line and column) from `setup` when the file cannot be read.
///
///   data: {class_path: CSVDataModule, init_args: {path: iris.csv, skip_rows: 1}}
class CSVDataModule : public DataModule {
 public:
  explicit CSVDataModule(CSVDataModuleOptions options);
  void setup(const std::string& stage) override;
  std::optional<DataLoader> train_dataloader() override;
  std::vector<DataLoader> val_dataloader() override;
  std::vector<DataLoader> test_dataloader() override;
  std::vector<DataLoader> predict_dataloader() override;
  /// Features per row, known after `setup`.
  int64_t num_features() const;
  /// The number of classes labels are checked against when the options leave `num_classes` unset
  /// (the `lightning-cpp` command gives an MLPClassifier's out_features); call before `setup`.
  void default_num_classes(int64_t classes);

 private:
  DataLoader loader(const std::shared_ptr<TensorDataset>& part, bool shuffle) const;
  CSVDataModuleOptions options_;
  std::shared_ptr<TensorDataset> train_, val_, test_;
};

/// The digits data set: 1797 8x8 images of handwritten digits as 64 pixel counts (0-16) and a
/// label 0-9 in the last column, split like CSVDataModule; an empty `path` is the copy shipped
/// with lightning-cpp.
///
///   data: DigitsDataModule
class DigitsDataModule : public CSVDataModule {
 public:
  explicit DigitsDataModule(CSVDataModuleOptions options = {});
  /// Where the digits file is when `path` is "": the installed copy, else the source tree's.
  static std::string default_path();
};

struct FashionMNISTDataModuleOptions {
  /// Debian's dataset-fashion-mnist package (the four IDX files, gzip-compressed).
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  /// Where the IDX files are unpacked once for LibTorch's reader ("": a folder under the system's
  /// temporary folder).
  std::string cache_dir = "";
  /// Training images held out for validation (the last ones of the training file).
  int64_t val_size = 5000;
  /// Images as vectors of 784 values (for an MLP) instead of 1x28x28.
  bool flatten = false;
  int64_t batch_size = 64;
  int64_t num_workers = 1;
};

/// Fashion-MNIST: 60,000 training images (minus `val_size` for validation) and 10,000 test images
/// of clothes, 28x28 grey levels in [0, 1], labels 0-9. `predict_dataloader` gives the test images.
///
///   data: {class_path: FashionMNISTDataModule, init_args: {flatten: true}}
class FashionMNISTDataModule : public DataModule {
 public:
  explicit FashionMNISTDataModule(FashionMNISTDataModuleOptions options = {});
  /// Unpacks the files into the cache (once; a second process waits for nothing: each writes its
  /// own partial file and renames it).
  void prepare_data() override;
  void setup(const std::string& stage) override;
  std::optional<DataLoader> train_dataloader() override;
  std::vector<DataLoader> val_dataloader() override;
  std::vector<DataLoader> test_dataloader() override;
  std::vector<DataLoader> predict_dataloader() override;

 private:
  std::string cache() const;
  DataLoader loader(const std::shared_ptr<TensorDataset>& part, bool shuffle) const;
  FashionMNISTDataModuleOptions options_;
  std::shared_ptr<TensorDataset> train_, val_, test_;
};

}  // namespace lightning::demos
