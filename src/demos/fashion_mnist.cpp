#include <lightning/demos/datamodules.h>

#include <lightning/diagnostics/diagnostic.h>

#include "demos/loader_checks.h"

#include <torch/data/datasets/mnist.h>
#include <fmt/format.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

namespace lightning::demos {
namespace fs = std::filesystem;
namespace {

const char* const kFiles[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                              "t10k-labels-idx1-ubyte"};

void check(const FashionMNISTDataModuleOptions& o) {
  DiagnosticCollector problems("while building FashionMNISTDataModule");
  auto option = [](const char* name) { return Subject{"FashionMNISTDataModule", {name}}; };
  for (const char* name : kFiles) {
    const auto file = fs::path(o.data_dir) / (std::string(name) + ".gz");
    if (!fs::is_regular_file(file)) {
      problems.error({.code = "LC0711",
                      .message = fmt::format("FashionMNISTDataModule finds no `{}` in `data_dir`", file.filename().string()),
                      .subject = option("data_dir"), .received = fmt::format("\"{}\"", o.data_dir),
                      .expected = "a folder with Fashion-MNIST's four .gz IDX files",
                      .help = "`make deps` installs Debian's dataset-fashion-mnist into /usr/share/datasets/fashion-mnist"});
      break;
    }
  }
  if (o.val_size < 0 || o.val_size >= 60000) {
    problems.error(out_of_range("LC0711", option("val_size"), "in [0, 60000)", std::to_string(o.val_size),
                                "0 <= val_size < 60000 (the training images)", "5000 is Lightning's usual split"));
  }
  check_loader_options(problems, "FashionMNISTDataModule", o.batch_size, o.num_workers);
  problems.throw_if_errors();
}

/// Inflates `source` into `target` through a file of this process's own, renamed when complete, so
/// that no reader ever sees a half-written file.
void inflate(const fs::path& source, const fs::path& target) {
  std::unique_ptr<gzFile_s, int (*)(gzFile)> in(gzopen(source.c_str(), "rb"), gzclose);
  if (!in) throw std::runtime_error(fmt::format("cannot open {}", source.string()));
  const fs::path partial = fmt::format("{}.partial.{}", target.string(), ::getpid());
  {
    std::ofstream out(partial, std::ios::binary);
    char buffer[1 << 16];
    int n = 0;
    while ((n = gzread(in.get(), buffer, sizeof buffer)) > 0) out.write(buffer, n);
    if (n < 0 || !out) {
      fs::remove(partial);
      throw std::runtime_error(fmt::format("cannot inflate {} into {}", source.string(), partial.string()));
    }
  }
  fs::rename(partial, target);
}

}  // namespace

FashionMNISTDataModule::FashionMNISTDataModule(FashionMNISTDataModuleOptions options) : options_(std::move(options)) {
  check(options_);
  save_hyperparameters({{"val_size", options_.val_size}, {"flatten", options_.flatten}, {"batch_size", options_.batch_size}});
}

std::string FashionMNISTDataModule::cache() const {
  return options_.cache_dir.empty() ? (fs::temp_directory_path() / "lightning-cpp-fashion-mnist").string()
                                    : options_.cache_dir;
}

void FashionMNISTDataModule::prepare_data() {
  fs::create_directories(cache());
  for (const char* name : kFiles) {
    const auto target = fs::path(cache()) / name;
    if (!fs::exists(target)) inflate(fs::path(options_.data_dir) / (std::string(name) + ".gz"), target);
  }
}

void FashionMNISTDataModule::setup(const std::string&) {
  if (train_) return;
  using Mode = torch::data::datasets::MNIST::Mode;
  auto images = [&](const torch::data::datasets::MNIST& mnist) {
    return options_.flatten ? mnist.images().flatten(1) : mnist.images();
  };
  torch::data::datasets::MNIST train(cache(), Mode::kTrain);
  torch::data::datasets::MNIST test(cache(), Mode::kTest);
  const int64_t n_train = train.images().size(0) - options_.val_size;
  auto x = images(train);
  train_ = std::make_shared<TensorDataset>(x.narrow(0, 0, n_train), train.targets().narrow(0, 0, n_train));
  val_ = std::make_shared<TensorDataset>(x.narrow(0, n_train, options_.val_size),
                                         train.targets().narrow(0, n_train, options_.val_size));
  test_ = std::make_shared<TensorDataset>(images(test), test.targets());
}

DataLoader FashionMNISTDataModule::loader(const std::shared_ptr<TensorDataset>& part, bool shuffle) const {
  return DataLoader(part, {.batch_size = options_.batch_size, .shuffle = shuffle, .num_workers = options_.num_workers});
}

std::optional<DataLoader> FashionMNISTDataModule::train_dataloader() { return loader(train_, true); }
std::vector<DataLoader> FashionMNISTDataModule::val_dataloader() {
  if (val_->size() == 0) return {};
  return {loader(val_, false)};
}
std::vector<DataLoader> FashionMNISTDataModule::test_dataloader() { return {loader(test_, false)}; }
std::vector<DataLoader> FashionMNISTDataModule::predict_dataloader() { return test_dataloader(); }

}  // namespace lightning::demos
