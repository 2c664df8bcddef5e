#pragma once
// Shared test doubles: a boring module (Lightning's BoringModel), random data, a recording
// callback and an in-memory logger.

#include <lightning/lightning.h>

#include <torch/cuda.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/sgd.h>

#include <filesystem>
#include <string>
#include <vector>

/// The first line of a _CUDA test: it skips itself where this LibTorch has no CUDA or the machine
/// no GPU.
#define LIGHTNING_SKIP_WITHOUT_CUDA() \
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device"

namespace lightning::testing {

/// A fresh folder under the system's temporary folder, removed with everything in it at the end
/// of the scope.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

/// Names of the files in `folder`, sorted.
std::vector<std::string> files_in(const std::filesystem::path& folder);

/// Runs a shell command and returns what it printed on stdout; fails the test when it exits non-zero.
std::string run_command(const std::string& command);

/// Runs the Python `script` (python -c) with `arguments` as sys.argv[1:], through run_command: the
/// python3 that has python3-torch, for reading and writing checkpoints as PyTorch does.
std::string run_python(const std::string& script, const std::vector<std::string>& arguments = {});

/// Features [n, 32] and integer labels [n] in {0, 1}, from a fixed seed.
TensorDataset random_dataset(int64_t n, uint64_t seed = 0, int64_t features = 32);

/// A loader over `random_dataset(n)`.
DataLoader random_loader(int64_t n, int64_t batch_size, bool shuffle = false);

/// Linear(32, 2) with a cross-entropy loss and SGD(lr 0.1); logs "train_loss", "val_loss",
/// "test_loss". Counts its steps.
struct BoringModel : LightningModule {
  torch::nn::Linear layer{nullptr};
  int64_t training_steps = 0;
  int64_t validation_steps = 0;
  int64_t test_steps = 0;
  double lr = 0.1;

  BoringModel();
  at::Tensor forward(const at::Tensor& x) { return layer->forward(x); }
  at::Tensor loss(const Batch& batch) {
    return torch::nn::functional::cross_entropy(forward(batch[0]), batch[1]);
  }
  StepOutput training_step(const Batch& batch, int64_t batch_idx) override;
  StepOutput validation_step(const Batch& batch, int64_t batch_idx) override;
  StepOutput test_step(const Batch& batch, int64_t batch_idx) override;
  Batch predict_step(const Batch& batch, int64_t batch_idx) override;
  OptimizerConfig configure_optimizers() override;
};

/// A BoringModel whose validation logs "val_loss" = values[current_epoch] (the last value after
/// the list ends), so callbacks that monitor it see a scripted sequence.
struct ScriptedMetricModel : BoringModel {
  std::vector<double> values;
  explicit ScriptedMetricModel(std::vector<double> values) : values(std::move(values)) {}
  StepOutput validation_step(const Batch& batch, int64_t batch_idx) override;
};

/// Logs "a" = the global step in each training step and "val_x" = 10 * epoch in validation, so
/// loggers receive values a test can predict.
struct CountingModule : BoringModel {
  StepOutput training_step(const Batch& batch, int64_t batch_idx) override;
  StepOutput validation_step(const Batch& batch, int64_t batch_idx) override;
};

/// Every parameter of a module flattened into one tensor, for comparisons.
at::Tensor flat_parameters(torch::nn::Module& module);

/// Keeps every call to log_metrics.
struct MemoryLogger : Logger {
  std::vector<std::pair<int64_t, std::map<std::string, double>>> rows;
  std::vector<HyperParameters> hparams;
  std::vector<std::string> finalized;
  std::string name() const override { return "memory"; }
  std::string version() const override { return "0"; }
  std::string log_dir() const override { return "."; }
  void log_metrics(const std::map<std::string, double>& metrics, int64_t step) override {
    rows.emplace_back(step, metrics);
  }
  void log_hyperparams(const HyperParameters& params) override { hparams.push_back(params); }
  void finalize(const std::string& status) override { finalized.push_back(status); }
};

}  // namespace lightning::testing
