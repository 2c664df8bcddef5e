// Built against the installed tree by tests/examples/consumer_test.sh.
#include <lightning/lightning.h>

#include <torch/nn/functional/loss.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/sgd.h>

#include <cstdio>

namespace pl = lightning;

struct Regressor : pl::LightningModule {
  torch::nn::Linear fc{nullptr};
  Regressor() { fc = register_module("fc", torch::nn::Linear(1, 1)); }
  pl::StepOutput training_step(const pl::Batch& batch, int64_t) override {
    return torch::nn::functional::mse_loss(fc->forward(batch[0]), batch[1]);
  }
  pl::OptimizerConfig configure_optimizers() override {
    return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(0.1));
  }
};

int main() {
  pl::seed_everything(0);
  auto x = torch::linspace(-1, 1, 64).unsqueeze(1);
  auto y = 3 * x + 1;
  Regressor model;
  pl::Trainer trainer({.max_epochs = 200});
  trainer.fit(model, pl::DataLoader(pl::TensorDataset(x, y), {.batch_size = 16}));
  std::printf("weight %.3f bias %.3f steps %lld\n", model.fc->weight.item<double>(), model.fc->bias.item<double>(),
              static_cast<long long>(trainer.global_step()));
  return 0;
}
