// The three situations of Lightning's misconfiguration article, written the right way in C++:
//   1. training data wrapped in a DataLoader (a bare Dataset is a compile error, see
//      tests/compile_fail/fit_with_dataset.cpp);
//   2. a custom Callback overriding on_train_batch_end(trainer, module, outputs, batch, batch_idx);
//   3. the accelerator chosen by name, "cpu".
// Each wrong variant is reported before training (docs/errors.md): the end of main shows what a
// misspelt accelerator gives; a dataset passed as a loader and a mis-declared hook do not compile
// (tests/compile_fail/).

#include <lightning/lightning.h>

#include <torch/torch.h>

#include <cstdio>

namespace pl = lightning;

struct Classifier : pl::LightningModule {
  torch::nn::Linear fc{nullptr};
  Classifier() { fc = register_module("fc", torch::nn::Linear(10, 2)); }
  torch::Tensor forward(torch::Tensor x) { return fc(x); }
  pl::StepOutput training_step(const pl::Batch& batch, int64_t) override {
    auto loss = torch::nn::functional::cross_entropy(forward(batch[0]), batch[1]);
    log("train_loss", loss, {.prog_bar = true});
    return loss;
  }
  pl::OptimizerConfig configure_optimizers() override {
    return std::make_unique<torch::optim::Adam>(parameters(), torch::optim::AdamOptions(0.02));
  }
};

/// Counts batches and keeps the last loss, from the outputs the trainer hands over.
struct LossTracker : pl::Callback {
  int64_t batches = 0;
  double last_loss = 0;
  void on_train_batch_end(const pl::TrainerView&, pl::LightningModule&, const pl::StepOutput& outputs,
                          const pl::Batch&, int64_t) override {
    ++batches;
    last_loss = outputs.loss.item<double>();
  }
};

int main() {
  pl::seed_everything(0);
  auto x = torch::randn({256, 10});
  auto y = (x.select(1, 0) + x.select(1, 1) > 0).to(torch::kLong);
  auto loader = pl::DataLoader(pl::TensorDataset(x, y), {.batch_size = 32, .shuffle = true});
  auto tracker = std::make_shared<LossTracker>();
  pl::Trainer trainer({.max_epochs = 5, .accelerator = "cpu", .callbacks = {tracker}});
  Classifier model;
  trainer.fit(model, loader);
  std::printf("batches seen by the callback: %lld\n", static_cast<long long>(tracker->batches));
  std::printf("global_step: %lld\n", static_cast<long long>(trainer.global_step()));
  std::printf("last loss: %.4f\n", tracker->last_loss);

  // The wrong variant of situation 3: a misspelt accelerator, caught when the Trainer is built.
  try {
    pl::Trainer wrong({.max_epochs = 5, .accelerator = "my_cpu"});
  } catch (const pl::MisconfigurationException& e) {
    std::printf("\nwith .accelerator = \"my_cpu\":\n%s\n", e.what());
  }
  return 0;
}
