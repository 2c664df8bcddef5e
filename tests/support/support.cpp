#include "support/support.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/utils/convert_parameters.h>

namespace lightning::testing {

TensorDataset random_dataset(int64_t n, uint64_t seed, int64_t features) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto x = at::randn({n, features}, generator, at::TensorOptions().dtype(at::kFloat));
  auto y = (x.select(1, 0) > 0).to(at::kLong);
  return TensorDataset(x, y);
}

DataLoader random_loader(int64_t n, int64_t batch_size, bool shuffle) {
  return DataLoader(random_dataset(n), {.batch_size = batch_size, .shuffle = shuffle, .seed = 7});
}

BoringModel::BoringModel() { layer = register_module("layer", torch::nn::Linear(32, 2)); }

// The diagnostics probe runs a step before training; the counters count the real ones.
StepOutput BoringModel::training_step(const Batch& batch, int64_t) {
  if (!trainer().probing()) ++training_steps;
  auto value = loss(batch);
  log("train_loss", value);
  return value;
}

StepOutput BoringModel::validation_step(const Batch& batch, int64_t) {
  if (!trainer().probing()) ++validation_steps;
  auto value = loss(batch);
  log("val_loss", value);
  return value;
}

StepOutput BoringModel::test_step(const Batch& batch, int64_t) {
  ++test_steps;
  auto value = loss(batch);
  log("test_loss", value);
  return value;
}

Batch BoringModel::predict_step(const Batch& batch, int64_t) { return Batch(forward(batch[0])); }

OptimizerConfig BoringModel::configure_optimizers() {
  return std::make_unique<torch::optim::SGD>(parameters(), torch::optim::SGDOptions(lr));
}

at::Tensor flat_parameters(torch::nn::Module& module) {
  return torch::nn::utils::parameters_to_vector(module.parameters()).detach().clone();
}

}  // namespace lightning::testing
