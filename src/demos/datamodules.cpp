#include <lightning/demos/datamodules.h>

#include <lightning/diagnostics/diagnostic.h>

#include "demos/loader_checks.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <filesystem>

namespace lightning::demos {
namespace {

void check(const CSVDataModuleOptions& o) {
  DiagnosticCollector problems("while building CSVDataModule");
  auto option = [](const char* name) { return Subject{"CSVDataModule", {name}}; };
  if (o.path.empty()) {
    problems.error({.code = "LC0711", .message = "CSVDataModule option `path` is empty", .subject = option("path"),
                    .received = "\"\"", .expected = "the path of a numeric CSV file",
                    .help = "e.g. path: examples/data/iris.csv"});
  } else if (!std::filesystem::is_regular_file(o.path)) {
    // Its contents are read in setup (a bad row is named there); a missing file is known now.
    problems.error({.code = "LC0711", .message = fmt::format("CSVDataModule finds no file at `{}`", o.path),
                    .subject = option("path"), .received = fmt::format("\"{}\"", o.path),
                    .expected = "the path of a numeric CSV file (plain or .gz)",
                    .help = fmt::format("check the path; relative paths start at {}", std::filesystem::current_path().string())});
  }
  auto fraction = [&](const char* name, double value) {
    if (value < 0.0 || value >= 1.0) {
      problems.error(out_of_range("LC0711", option(name), "a fraction below 1", fmt::format("{}", value),
                                  "0.0 <= fraction < 1.0", "0.15 holds out 15% of the rows"));
    }
  };
  fraction("val_fraction", o.val_fraction);
  fraction("test_fraction", o.test_fraction);
  if (o.val_fraction + o.test_fraction >= 1.0) {
    problems.error({.code = "LC0711", .message = "CSVDataModule holds out every row: nothing is left to train on",
                    .subject = option("val_fraction"),
                    .received = fmt::format("val_fraction {} + test_fraction {}", o.val_fraction, o.test_fraction),
                    .expected = "val_fraction + test_fraction < 1.0", .help = "e.g. 0.15 and 0.15"});
  }
  if (o.num_classes && *o.num_classes < 1) {
    problems.error(out_of_range("LC0711", option("num_classes"), "at least 1", std::to_string(*o.num_classes),
                                ">= 1, or unset", "the number of distinct class labels, e.g. 3 for iris"));
  }
  check_loader_options(problems, "CSVDataModule", o.batch_size, o.num_workers);
  problems.throw_if_errors();
}

}  // namespace

void check_loader_options(DiagnosticCollector& problems, const std::string& class_name, int64_t batch_size,
                          int64_t num_workers) {
  if (batch_size < 1) {
    problems.error(out_of_range("LC0711", {class_name, {"batch_size"}}, "at least 1", std::to_string(batch_size), ">= 1",
                                "e.g. batch_size: 32"));
  }
  if (num_workers < 0) {
    problems.error(out_of_range("LC0711", {class_name, {"num_workers"}}, "at least 0", std::to_string(num_workers), ">= 0",
                                "0 loads in the training thread"));
  }
}

CSVDataModule::CSVDataModule(CSVDataModuleOptions options) : options_(std::move(options)) {
  check(options_);
  save_hyperparameters({{"path", options_.path}, {"batch_size", options_.batch_size},
                        {"val_fraction", options_.val_fraction}, {"test_fraction", options_.test_fraction},
                        {"split_seed", options_.split_seed}, {"standardize", options_.standardize}});
}

void CSVDataModule::default_num_classes(int64_t classes) {
  if (!options_.num_classes && options_.integer_targets) options_.num_classes = classes;
}

void CSVDataModule::setup(const std::string&) {
  if (train_) return;
  CSVDataset all(options_.path, {.target_column = options_.target_column,
                                 .skip_rows = options_.skip_rows,
                                 .integer_targets = options_.integer_targets,
                                 .num_classes = options_.num_classes});
  const int64_t rows = all.size();
  // Its own generator: the split is the same whatever the run's seed and whatever ran before.
  auto generator = at::detail::createCPUGenerator(static_cast<uint64_t>(options_.split_seed));
  auto order = at::randperm(rows, generator, at::TensorOptions().dtype(at::kLong));
  auto x = all.features().index_select(0, order);
  auto y = all.targets().index_select(0, order);
  const auto n_val = static_cast<int64_t>(static_cast<double>(rows) * options_.val_fraction);
  const auto n_test = static_cast<int64_t>(static_cast<double>(rows) * options_.test_fraction);
  const int64_t n_train = rows - n_val - n_test;
  if (options_.standardize) {
    auto train_x = x.narrow(0, 0, n_train);
    auto mean = train_x.mean(0);
    auto std = train_x.std(0);
    std = at::where(std > 0, std, at::ones_like(std));  // a constant column stays constant
    x = (x - mean) / std;
  }
  auto part = [&](int64_t begin, int64_t count) {
    return std::make_shared<TensorDataset>(x.narrow(0, begin, count).clone(), y.narrow(0, begin, count).clone());
  };
  train_ = part(0, n_train);
  val_ = part(n_train, n_val);
  test_ = part(n_train + n_val, n_test);
}

DataLoader CSVDataModule::loader(const std::shared_ptr<TensorDataset>& part, bool shuffle) const {
  return DataLoader(part, {.batch_size = options_.batch_size, .shuffle = shuffle, .num_workers = options_.num_workers});
}

std::optional<DataLoader> CSVDataModule::train_dataloader() { return loader(train_, true); }
std::vector<DataLoader> CSVDataModule::val_dataloader() {
  if (val_->size() == 0) return {};
  return {loader(val_, false)};
}
std::vector<DataLoader> CSVDataModule::test_dataloader() {
  if (test_->size() == 0) return {};
  return {loader(test_, false)};
}
std::vector<DataLoader> CSVDataModule::predict_dataloader() { return test_dataloader(); }
std::string DigitsDataModule::default_path() {
  for (const char* folder : {LIGHTNING_INSTALLED_DATA_DIR, LIGHTNING_SOURCE_DATA_DIR}) {
    const auto path = std::filesystem::path(folder) / "digits.csv.gz";
    if (std::filesystem::is_regular_file(path)) return path.string();
  }
  return (std::filesystem::path(LIGHTNING_INSTALLED_DATA_DIR) / "digits.csv.gz").string();  // named by LC0711
}

DigitsDataModule::DigitsDataModule(CSVDataModuleOptions options)
    : CSVDataModule([&] {
        if (options.path.empty()) options.path = default_path();
        return options;
      }()) {}

int64_t CSVDataModule::num_features() const { return train_ ? train_->tensors()[0].size(1) : 0; }

}  // namespace lightning::demos
